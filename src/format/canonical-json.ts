/**
 * JSON writers matching serde_json byte for byte where it matters.
 *
 * Both sort object keys by code point (= UTF-8 byte order, as Rust's BTreeMap<String> does) at
 * every level and never rely on JS property order, which puts integer-like keys first. Canonical
 * form (`proxmox-serde/src/json.rs`) is what manifest signatures are computed over: no
 * whitespace, and `null` is an error. Pretty form is `serde_json::to_string_pretty` of a Value.
 */
import { ValidationError } from '../errors.js'

/** Canonical JSON: sorted keys, no whitespace; null, non-integers and non-JSON values are errors. */
export function canonicalJson(value: unknown): string {
  const out: string[] = []
  write(value, out, undefined, '', '$')
  return out.join('')
}

/**
 * serde_json `to_string_pretty` layout (2-space indent, `"key": value`, empty `{}`/`[]`) with
 * keys sorted at every level. Undefined object properties are left out, like JSON.stringify.
 */
export function prettyJson(value: unknown): string {
  const out: string[] = []
  write(value, out, '  ', '', '$')
  return out.join('')
}

/** Code-point order; equals the byte order of the UTF-8 encodings. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) as number
    const cb = b.codePointAt(i) as number
    if (ca !== cb) return ca - cb
    if (ca > 0xffff) i++ // skip the low surrogate of an equal astral character
  }
  return a.length - b.length
}

/** Appends the serialisation of `value`; `indent` undefined means canonical (compact, strict). */
function write(
  value: unknown,
  out: string[],
  indent: string | undefined,
  current: string,
  path: string,
): void {
  const canonical = indent === undefined
  switch (typeof value) {
    case 'string':
      // JSON.stringify escapes exactly what serde_json escapes for valid Unicode strings.
      out.push(JSON.stringify(value))
      return
    case 'boolean':
      out.push(value ? 'true' : 'false')
      return
    case 'bigint':
      out.push(value.toString())
      return
    case 'number':
      if (!Number.isFinite(value))
        throw new ValidationError('JSON value', String(value), `${path} is not a finite number`)
      if (canonical && !Number.isSafeInteger(value)) {
        // serde_json prints floats with ryu, which JS cannot reproduce for every value.
        throw new ValidationError(
          'JSON value',
          value,
          `${path}: only integers are supported in canonical JSON`,
        )
      }
      out.push(String(value))
      return
    case 'object':
      break
    default:
      throw new ValidationError('JSON value', typeof value, `${path} cannot be represented in JSON`)
  }
  if (value === null) {
    if (canonical)
      throw new ValidationError('JSON value', null, `${path}: null is not allowed in canonical JSON`)
    out.push('null')
    return
  }
  const inner = indent === undefined ? '' : current + indent
  const sep = indent === undefined ? ',' : ',\n' + inner
  const open = indent === undefined ? '' : '\n' + inner
  const close = indent === undefined ? '' : '\n' + current
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]')
      return
    }
    out.push('[', open)
    value.forEach((item, i) => {
      if (i > 0) out.push(sep)
      write(item, out, indent, inner, `${path}[${i}]`)
    })
    out.push(close, ']')
    return
  }
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort(compareKeys)
  if (keys.length === 0) {
    out.push('{}')
    return
  }
  out.push('{', open)
  keys.forEach((k, i) => {
    if (i > 0) out.push(sep)
    out.push(JSON.stringify(k), indent === undefined ? ':' : ': ')
    write((value as Record<string, unknown>)[k], out, indent, inner, `${path}.${k}`)
  })
  out.push(close, '}')
}
