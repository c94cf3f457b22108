/** Output formats of every command (PBS names). */
export type OutputFormat = 'text' | 'json' | 'json-pretty'

/** A column of a text table: header and how to get the cell from a row. */
export interface Column<T> {
  header: string
  value: (row: T) => string | number | boolean | undefined | null
}

/** Where command output goes; tests pass their own. */
export interface OutputSink {
  out(text: string): void
  err(text: string): void
}

/** The process's stdout/stderr. */
export const processSink: OutputSink = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
}

/** Renders rows as an aligned text table (or a line saying there is nothing). */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`
  const cells = rows.map((r) => columns.map((c) => cellText(c.value(r))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)))
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return (
    [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join(
      '\n',
    ) + '\n'
  )
}

function cellText(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return ''
  return String(v).replace(/[\r\n\t]/g, ' ')
}

/** Prints API-shaped data as JSON, or the text rendering. */
export function emit(sink: OutputSink, format: OutputFormat, data: unknown, text: () => string): void {
  if (format === 'json') sink.out(`${JSON.stringify(data ?? null)}\n`)
  else if (format === 'json-pretty') sink.out(`${JSON.stringify(data ?? null, null, 2)}\n`)
  else sink.out(text())
}

// C0, DEL and C1 control characters.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f-\x9f]/g
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * The message with control characters shown as escapes (`\n`, `\u0000` …), so that an error stays
 * one line and a hostile value quoted in it cannot move the cursor or colour the terminal.
 */
export function oneLine(message: string): string {
  return message.replace(
    CONTROL_CHARS,
    (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
