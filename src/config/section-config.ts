/**
 * PBS "section config" text codec (datastore.cfg, s3.cfg, user.cfg …), pure and schema-free.
 *
 * File shape (proxmox-section-config, default syntax):
 *
 *     <type>: <id>
 *     \t<key> <value>
 *     \t<key2> <value2>
 *
 *     <type>: <id2>
 *     \t<key> <value>
 *
 * Reading follows PBS: a header starts with a letter and splits at the first ':'; a property line
 * starts with whitespace, the key runs to the next whitespace and the value is the rest, trimmed;
 * a blank line ends a section; a duplicate key is an error. Beyond PBS we accept key-only lines
 * (value ''), '#' comment lines at column 0 outside properties, and sections of any type.
 *
 * Round trip: parse → write of a file written in this shape gives the same bytes, including
 * comment and blank lines before, between and after sections. What is normalised on write:
 * property indentation (always one TAB), whitespace around the header ':' and at line ends,
 * CRLF line ends (→ LF), a missing final newline (added), and a '#' line directly after a
 * section's last property (a blank line is put before it, since it belongs to the next section).
 */
import { ConfigError } from '../errors.js'

/** One section: `<type>: <id>` plus its properties in file order. */
export interface SectionConfigSection {
  /** Section type, e.g. 'datastore', 's3-endpoint'. */
  type: string
  /** Section id (unique in the file). */
  id: string
  /** Properties in file order; a key-only line has the value ''. */
  properties: Map<string, string>
  /** Blank and '#' lines between the previous section and this header, kept verbatim. */
  preamble?: string[]
  /** 1-based line number of the header, set by the parser (for error messages). */
  line?: number
}

/** A parsed section-config file. */
export interface SectionConfigData {
  /** Sections in file order. */
  sections: SectionConfigSection[]
  /** Blank and '#' lines before the first section (the file's own comments). */
  leading?: string[]
  /** Blank and '#' lines after the last section's last property. */
  trailing?: string[]
}

/** An empty section-config file. */
export function emptySectionConfig(): SectionConfigData {
  return { sections: [], leading: [], trailing: [] }
}

/** The section with this id, or undefined. */
export function findSection(data: SectionConfigData, id: string): SectionConfigSection | undefined {
  return data.sections.find((s) => s.id === id)
}

const isBlank = (line: string): boolean => line.trim() === ''
const isComment = (line: string): boolean => line.startsWith('#')
/** Control characters that would break the line structure (TAB is allowed inside values). */
// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\x00-\x08\x0a-\x1f\x7f]/
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\x00-\x1f\x7f]/

/**
 * Parses section-config text; `fileName` only names the file in errors.
 * @throws ConfigError "parsing '<file>' failed - line N: <cause>" with data { file, line }.
 */
export function parseSectionConfig(text: string, fileName: string): SectionConfigData {
  const lines = splitLines(text)
  const sections: SectionConfigSection[] = []
  const ids = new Set<string>()
  let pending: string[] = []
  let leading: string[] | undefined
  let current: SectionConfigSection | undefined

  function fail(lineNo: number, cause: string): never {
    throw new ConfigError(`parsing '${fileName}' failed - line ${lineNo}: ${cause}`, {
      file: fileName,
      line: lineNo,
    })
  }

  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1
    if (current !== undefined) {
      if (isBlank(line) || isComment(line)) {
        current = undefined
        pending.push(line)
        continue
      }
      if (!/^\s/.test(line)) fail(lineNo, 'syntax error (expected section properties)')
      const match = /^(\S+)(?:\s+(.*))?$/.exec(line.trim())
      const key = match?.[1] ?? ''
      if (key.startsWith('#')) fail(lineNo, 'comments are only allowed outside sections, at column 0')
      if (current.properties.has(key)) fail(lineNo, `duplicate property '${key}'`)
      current.properties.set(key, (match?.[2] ?? '').trim())
      continue
    }
    if (isBlank(line) || isComment(line)) {
      pending.push(line)
      continue
    }
    const header = parseHeader(line) ?? fail(lineNo, 'syntax error (expected header)')
    if (ids.has(header.id)) fail(lineNo, `duplicate section id '${header.id}'`)
    ids.add(header.id)
    if (leading === undefined) {
      leading = pending
      pending = []
    }
    current = { type: header.type, id: header.id, properties: new Map(), preamble: pending, line: lineNo }
    pending = []
    sections.push(current)
  }

  if (leading === undefined) return { sections, leading: pending, trailing: [] }
  return { sections, leading, trailing: pending }
}

/**
 * Writes section-config text: `type: id`, TAB-indented `key value` lines, a blank line between
 * sections, a final newline. `fileName` only names the file in errors.
 * @throws ConfigError when a type, id, key, value or comment would not read back the same.
 */
export function writeSectionConfig(data: SectionConfigData, fileName = 'section config'): string {
  const out: string[] = []
  function fail(cause: string): never {
    throw new ConfigError(`writing '${fileName}' failed - ${cause}`, { file: fileName })
  }
  const checkExtraLines = (lines: readonly string[], where: string): void => {
    for (const line of lines) {
      if (line.includes('\n') || line.includes('\r') || !(isBlank(line) || isComment(line))) {
        fail(`${where}: only blank and '#' comment lines can be kept, got ${JSON.stringify(line)}`)
      }
    }
  }

  checkExtraLines(data.leading ?? [], 'leading lines')
  out.push(...(data.leading ?? []))
  const ids = new Set<string>()
  data.sections.forEach((section, index) => {
    const what = `section '${section.id}'`
    if (!/^[A-Za-z][^\s:]*$/.test(section.type)) fail(`${what}: invalid section type '${section.type}'`)
    if (section.id === '' || /\s/.test(section.id) || ANY_CONTROL.test(section.id)) {
      fail(`invalid section id ${JSON.stringify(section.id)}`)
    }
    if (ids.has(section.id)) fail(`duplicate section id '${section.id}'`)
    ids.add(section.id)

    let preamble = section.preamble ?? []
    checkExtraLines(preamble, what)
    if (index === 0) {
      // A separator blank kept from a section that was removed before this one.
      if (preamble.length > 0 && isBlank(preamble[0] ?? '')) preamble = preamble.slice(1)
    } else if (preamble.length === 0 || !isBlank(preamble[0] ?? '')) {
      out.push('')
    }
    out.push(...preamble, `${section.type}: ${section.id}`)

    for (const [key, value] of section.properties) {
      if (!/^[^\s#]\S*$/.test(key) || ANY_CONTROL.test(key))
        fail(`${what}: invalid property key ${JSON.stringify(key)}`)
      if (LINE_BREAKING.test(value)) fail(`${what}: value of '${key}' contains a control character`)
      out.push(value === '' ? `\t${key}` : `\t${key} ${value}`)
    }
  })
  const trailing = data.trailing ?? []
  checkExtraLines(trailing, 'trailing lines')
  out.push(...trailing)
  return out.length === 0 ? '' : `${out.join('\n')}\n`
}

/** Lines without their terminators; a final newline does not start another line. */
function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  if (text.endsWith('\n')) lines.pop()
  return lines
}

/** `<type>: <id>` as PBS reads it: starts with a letter, split at the first ':'. */
function parseHeader(line: string): { type: string; id: string } | undefined {
  if (!/^\p{L}/u.test(line)) return undefined
  const colon = line.indexOf(':')
  if (colon < 0) return undefined
  const type = line.slice(0, colon).trim()
  const id = line.slice(colon + 1).trim()
  if (type === '' || id === '' || /\s/.test(type) || /\s/.test(id)) return undefined
  return { type, id }
}
