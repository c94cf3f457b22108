/**
 * flock(2), always non-blocking. A blocking flock would park one of libuv's four threadpool threads
 * (or the main thread) for the whole wait, so timed waits are loops of these tries (see file-lock.ts).
 */
import { StorageError } from '../errors.js'
import { libc } from './libc.js'

/** Shared or exclusive, as the lock files of PBS use them. */
export type LockMode = 'exclusive' | 'shared'

/** Outcome of one non-blocking try: got it, or somebody else holds a conflicting lock. */
export type FlockResult = 'locked' | 'busy'

const LOCK_SH = 1
const LOCK_EX = 2
const LOCK_NB = 4
const LOCK_UN = 8

/** One non-blocking flock try on `fd`; throws StorageError for anything but "would block". */
export function tryFlock(fd: number, mode: LockMode, path: string): FlockResult {
  const c = libc()
  const op = (mode === 'exclusive' ? LOCK_EX : LOCK_SH) | LOCK_NB
  for (;;) {
    if (c.flock(fd, op) === 0) return 'locked'
    const errno = c.errno()
    if (errno === c.errnos.EINTR) continue
    if (errno === c.errnos.EWOULDBLOCK || errno === c.errnos.EAGAIN) return 'busy'
    throw new StorageError(`flock ${mode} on '${path}' failed - ${errnoName(errno)}`, { path, mode, errno })
  }
}

/** Drop the flock on `fd` without closing it. */
export function unFlock(fd: number, path: string): void {
  const c = libc()
  for (;;) {
    if (c.flock(fd, LOCK_UN) === 0) return
    const errno = c.errno()
    if (errno === c.errnos.EINTR) continue
    throw new StorageError(`unlocking '${path}' failed - ${errnoName(errno)}`, { path, errno })
  }
}

/** Symbolic name of an errno value ("EBADF"), or "errno N". */
export function errnoName(errno: number): string {
  const table = libc().errnos
  for (const [name, value] of Object.entries(table)) if (value === errno) return name
  return `errno ${errno}`
}
