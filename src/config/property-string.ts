/**
 * PBS property strings: `key=value,key2=value2`, as in `tuning` or `backend` of datastore.cfg.
 *
 * Reading follows proxmox-schema's property iterator: an entry is `key=value` or, when the schema
 * has a default key, a bare `value`; a value may be double-quoted, with the escapes `\"`, `\\`
 * and `\n`, and then may contain ',' and '='. Stricter than PBS: empty entries (`a=1,,b=2`, a
 * trailing ',') and duplicate keys are errors here.
 */
import { ValidationError } from '../errors.js'

/** Parsed property string, in input order. */
export type PropertyMap = Map<string, string>

/** What formatPropertyString accepts: a map, or an object whose undefined values are skipped. */
export type PropertyInput =
  ReadonlyMap<string, string> | Readonly<Record<string, string | number | boolean | undefined>>

const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/
const KEY_RULE =
  "keys must start with a letter, digit or '_' and contain only letters, digits, '.', '_' and '-'"
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f]/

/**
 * Parses `key=value,…`; a bare value belongs to `defaultKey`. `input` names the string in errors
 * ("tuning", "backend" …).
 * @throws ValidationError on a malformed entry, a bad key, a duplicate key, or a bare value
 * without a default key.
 */
export function parsePropertyString(
  text: string,
  defaultKey?: string,
  input = 'property string',
): PropertyMap {
  const result: PropertyMap = new Map()
  const bad = (rule: string): never => {
    throw new ValidationError(input, text, rule)
  }
  let pos = 0
  while (pos < text.length) {
    let key: string | undefined
    let value: string
    if (text[pos] !== '"') {
      const eq = text.indexOf('=', pos)
      const comma = text.indexOf(',', pos)
      if (eq >= 0 && (comma < 0 || eq < comma)) {
        key = text.slice(pos, eq)
        pos = eq + 1
      }
    }
    if (text[pos] === '"') {
      const quoted = readQuoted(text, pos)
      if (typeof quoted === 'string') return bad(quoted)
      value = quoted.value
      pos = quoted.end
      if (pos < text.length && text[pos] !== ',') bad(`garbage after quoted string at offset ${pos}`)
    } else {
      const comma = text.indexOf(',', pos)
      const end = comma < 0 ? text.length : comma
      value = text.slice(pos, end)
      pos = end
      if (key === undefined && value === '') bad(`empty entry at offset ${pos}`)
    }
    if (key === undefined) {
      if (defaultKey === undefined) bad(`value '${value}' has no key and there is no default key`)
      key = defaultKey ?? ''
    }
    if (!KEY_RE.test(key)) bad(`invalid key '${key}' - ${KEY_RULE}`)
    if (result.has(key)) bad(`duplicate key '${key}'`)
    result.set(key, value)
    if (pos < text.length) {
      pos += 1 // the ','
      if (pos === text.length) bad('trailing comma')
    }
  }
  return result
}

/**
 * Formats entries as `key=value,…` in their order; the `defaultKey` entry is written bare, as
 * PBS's serializer does. Values with '"', '\', ',' or a newline (and bare values with '=' or
 * empty) are quoted.
 * @throws ValidationError on a bad key or a value with a control character other than newline.
 */
export function formatPropertyString(
  props: PropertyInput,
  defaultKey?: string,
  input = 'property string',
): string {
  const entries: [string, string][] = []
  const source: Iterable<[string, string | number | boolean | undefined]> =
    props instanceof Map ? (props as ReadonlyMap<string, string>).entries() : Object.entries(props)
  for (const [key, raw] of source) {
    if (raw === undefined) continue
    const value = String(raw)
    if (!KEY_RE.test(key)) throw new ValidationError(input, key, `invalid key - ${KEY_RULE}`)
    if (CONTROL_BUT_NEWLINE.test(value)) {
      throw new ValidationError(`${input} ${key}`, value, 'must not contain control characters')
    }
    entries.push([key, value])
  }
  return entries
    .map(([key, value]) => {
      const bare = key === defaultKey
      const needsQuotes = /["\\,\n]/.test(value) || (bare && (value === '' || value.includes('=')))
      const shown = needsQuotes ? quote(value) : value
      return bare ? shown : `${key}=${shown}`
    })
    .join(',')
}

/** Reads a quoted value starting at `start` (a '"'); returns the value and the index after it, or an error rule. */
function readQuoted(text: string, start: number): { value: string; end: number } | string {
  let value = ''
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i]
    if (ch === '"') return { value, end: i + 1 }
    if (ch !== '\\') {
      value += ch
      continue
    }
    i += 1
    const next = text[i]
    if (next === '"' || next === '\\') value += next
    else if (next === 'n') value += '\n'
    else if (next === undefined) break
    else return `unsupported escape sequence '\\${next}' at offset ${i - 1}`
  }
  return `unterminated quoted string at offset ${start}`
}

/** Counterpart of readQuoted. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`
}
