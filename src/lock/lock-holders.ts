/**
 * Who holds a lock: read from /proc/locks (flock and POSIX record locks by maj:min:inode) and the
 * holder's /proc/<pid>/cmdline, so a "busy" error can name the culprit as PBS users expect.
 * Best effort: any read failure just yields fewer details.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'

/** Kind of lock as /proc/locks spells it: flock(2) locks or fcntl(2) record locks. */
export type ProcLockKind = 'FLOCK' | 'POSIX'

/** One granted (not waiting) lock line of /proc/locks. */
export interface ProcLockEntry {
  kind: string
  access: 'READ' | 'WRITE'
  pid: number
  major: number
  minor: number
  ino: bigint
}

/** A process holding a lock, with a short command line when it can be read. */
export interface LockHolder {
  pid: number
  cmdline?: string
}

/** Parse /proc/locks text into granted locks; waiter lines (`->`) and junk are skipped. */
export function parseProcLocks(text: string): ProcLockEntry[] {
  const out: ProcLockEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    // "<n>: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<ino> <start> <end>"; waiters have "->" after "<n>:".
    if (f.length < 6 || f[1] === '->') continue
    const [, kind, , access, pidText, devIno] = f
    if (access !== 'READ' && access !== 'WRITE') continue
    const m = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/i.exec(devIno ?? '')
    const pid = Number(pidText)
    if (!m || !Number.isInteger(pid)) continue
    out.push({
      kind: kind ?? '',
      access,
      pid,
      major: parseInt(m[1]!, 16),
      minor: parseInt(m[2]!, 16),
      ino: BigInt(m[3]!),
    })
  }
  return out
}

/** Split a userspace st_dev (glibc encoding) into major/minor, the numbers /proc/locks prints. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn)
  return { major: Number(major), minor: Number(minor) }
}

/**
 * Processes holding a `kind` lock on the file (dev, ino). With `writersOnly` only exclusive holders
 * are listed (what blocks a shared request).
 */
export async function findLockHolders(
  dev: bigint,
  ino: bigint,
  kind: ProcLockKind,
  writersOnly = false,
): Promise<LockHolder[]> {
  let text: string
  try {
    text = await readFile('/proc/locks', 'utf8')
  } catch {
    return []
  }
  const { major, minor } = splitDev(dev)
  const pids = new Set<number>()
  for (const e of parseProcLocks(text)) {
    if (e.kind !== kind || e.ino !== ino || e.major !== major || e.minor !== minor) continue
    if (writersOnly && e.access !== 'WRITE') continue
    // pid 0 / -1: holder not visible from our pid namespace, or an OFD lock without an owner pid.
    if (e.pid > 0) pids.add(e.pid)
  }
  return Promise.all([...pids].sort((a, b) => a - b).map((pid) => describeProcess(pid)))
}

/** pid plus a short command line ("node …/lock-holder.js …"); "this process" for ourselves. */
export async function describeProcess(pid: number): Promise<LockHolder> {
  if (pid === process.pid) return { pid, cmdline: 'this process' }
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    const cmdline = shortenCmdline(raw)
    return cmdline ? { pid, cmdline } : { pid }
  } catch {
    return { pid }
  }
}

/** Synchronous describeProcess, for the synchronous fcntl lock paths (procfs reads do not block). */
export function describeProcessSync(pid: number): LockHolder {
  if (pid === process.pid) return { pid, cmdline: 'this process' }
  try {
    const cmdline = shortenCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
    return cmdline ? { pid, cmdline } : { pid }
  } catch {
    return { pid }
  }
}

/** NUL-separated argv → one bounded line (so a hostile argv cannot flood or forge error lines). */
export function shortenCmdline(raw: string): string {
  const args = raw.split('\0').filter((a) => a.length > 0)
  // argv[0] as a bare program name ("python3", not "/root/.pyenv/…/python3"): the name is what helps.
  if (args[0] !== undefined) args[0] = basename(args[0])
  // eslint-disable-next-line no-control-regex
  const line = args.join(' ').replace(/[\u0000-\u001f\u007f]/g, '?')
  return line.length > 60 ? `${line.slice(0, 59)}…` : line
}

/** "pid 1234 (node …)" / "pids 1, 2 (…)" / "another process" (holder unknown). */
export function describeHolders(holders: readonly LockHolder[]): string {
  if (holders.length === 0) return 'another process'
  const parts = holders.map((h) => (h.cmdline ? `${h.pid} (${h.cmdline})` : String(h.pid)))
  return `${holders.length === 1 ? 'pid' : 'pids'} ${parts.join(', ')}`
}
