import { readFileSync } from 'node:fs'

/**
 * Start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`), the PSTART
 * of a UPID. The command name (field 2) may contain spaces and parentheses, so fields are counted
 * after its closing parenthesis. Undefined when the process does not exist (or no /proc).
 */
export function procStartTime(pid: number | 'self' = 'self'): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // rest[0] is field 3 (state), so field 22 is rest[19].
    const v = Number(rest[19])
    return Number.isSafeInteger(v) ? v : undefined
  } catch {
    return undefined
  }
}
