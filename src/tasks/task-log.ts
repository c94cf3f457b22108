/**
 * Task log files in the PBS layout (spec/pbs-api.md §5.2–§5.3): `<logDir>/tasks/<HH>/<UPID>`
 * with `HH` = `%02X` of `pstart & 0xFF`; each line `<local RFC 3339 time>: <message>`; the last
 * line `TASK OK`, `TASK WARNINGS: <n>` or `TASK ERROR: <message>`.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'

import type { Upid } from '../api-types/upid.js'
import { ValidationError } from '../errors.js'

/** The final state of a task as PBS displays it (`OK`, `WARNINGS: n`, the error text, `unknown`). */
export type TaskState =
  | { kind: 'ok'; endtime: number }
  | { kind: 'warnings'; count: number; endtime: number }
  | { kind: 'error'; message: string; endtime: number }
  | { kind: 'unknown'; endtime: number }

/** The display form of a state (used for `exitstatus`, list `status` and archive lines). */
export function formatTaskState(state: TaskState): string {
  switch (state.kind) {
    case 'ok':
      return 'OK'
    case 'warnings':
      return `WARNINGS: ${state.count}`
    case 'error':
      return state.message
    case 'unknown':
      return 'unknown'
  }
}

/** Parses the display form back (archive lines). */
export function parseTaskStateText(text: string, endtime: number): TaskState {
  if (text === 'OK') return { kind: 'ok', endtime }
  if (text === 'unknown') return { kind: 'unknown', endtime }
  const w = /^WARNINGS: (\d+)$/.exec(text)
  if (w) return { kind: 'warnings', count: Number(w[1]), endtime }
  return { kind: 'error', message: text.replace(/^ERROR: /, ''), endtime }
}

/**
 * `<tasksDir>/<HH>/<upid>`. The UPID text is the file name: one that could leave the directory
 * ('/', NUL - a formatted UPID has neither) is refused here too, whatever the caller checked.
 * @throws ValidationError
 */
export function taskLogPath(tasksDir: string, upidText: string, upid: Upid): string {
  if (upidText.includes('/') || upidText.includes('\0') || upidText === '.' || upidText === '..')
    throw new ValidationError('upid', upidText, 'is not a task log file name')
  return join(tasksDir, (upid.pstart & 0xff).toString(16).toUpperCase().padStart(2, '0'), upidText)
}

/** Local time with a numeric offset, e.g. `2026-05-01T12:00:00+02:00` (PBS log prefix). */
export function formatLocalRfc3339(date: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  const off = -date.getTimezoneOffset()
  const sign = off >= 0 ? '+' : '-'
  const abs = Math.abs(off)
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`
  )
}

/** Parses the time prefix of a log line; undefined when it is not RFC 3339. */
function parseLineTime(prefix: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(prefix)) return undefined
  const t = Date.parse(prefix)
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000)
}

/**
 * Reads the final state from the last 8 KiB of a task log (PBS upid_read_status): the last line
 * with a time prefix decides; `TASK …` lines give the state, anything else is `unknown` at that
 * line's time. A missing or unparsable log is `unknown` at the start time.
 */
export async function readTaskStateFromLog(path: string, starttime: number): Promise<TaskState> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const { size } = await fh.stat()
      const len = Math.min(size, 8192)
      const buf = Buffer.alloc(len)
      await fh.read(buf, 0, len, size - len)
      text = buf.toString('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return { kind: 'unknown', endtime: starttime }
  }
  const lines = text.split('\n').reverse()
  for (const line of lines) {
    const idx = line.indexOf(': ')
    if (idx < 0) continue
    const time = parseLineTime(line.slice(0, idx))
    if (time === undefined) continue
    const rest = line.slice(idx + 2)
    if (!rest.startsWith('TASK ')) return { kind: 'unknown', endtime: time }
    const body = rest.slice(5)
    if (body === 'OK') return { kind: 'ok', endtime: time }
    const w = /^WARNINGS: (\d+)$/.exec(body)
    if (w) return { kind: 'warnings', count: Number(w[1]), endtime: time }
    if (body.startsWith('ERROR: ')) return { kind: 'error', message: body.slice(7), endtime: time }
    if (body === 'unknown') return { kind: 'unknown', endtime: time }
    return { kind: 'error', message: body, endtime: time }
  }
  return { kind: 'unknown', endtime: starttime }
}
