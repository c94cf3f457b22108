/**
 * The chunk-store process lock on `<base>/.lock` (spec §3.6): fcntl(2) record locks, so a live PBS
 * sees our backups (shared) and our GC (exclusive) and we see theirs.
 *
 * fcntl locks belong to the process, not to an fd, and ANY close() of ANY fd on the file by this
 * process drops them all. Hence one instance (one fd, kept open for the process lifetime) per base
 * path, obtained through processLockFor(); nothing else in pbs-store may open `<base>/.lock`. The
 * registry is per JS realm: use it from the main thread only, never from worker threads.
 */
import { constants, openSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { LockBusyError, StorageError, errorMessage } from '../errors.js'
import { errnoName } from './flock.js'
import { libc, type FcntlFlock } from './libc.js'
import { describeHolders, describeProcessSync, type LockHolder } from './lock-holders.js'

const F_GETLK = 5
const F_SETLK = 6
const F_RDLCK = 0
const F_WRLCK = 1
const F_UNLCK = 2
const SEEK_SET = 0

/** Name of the process-lock file inside the datastore base. */
export const PROCESS_LOCK_FILE = '.lock'

type LockType = typeof F_RDLCK | typeof F_WRLCK | typeof F_UNLCK

/** Holds the process-wide shared lock (a running backup or sync); release when done. */
export class SharedGuard implements Disposable {
  /** Epoch seconds at which this guard was taken (feeds GC's oldest-writer cutoff). */
  readonly acquiredAt: number
  #release: (() => void) | undefined

  constructor(acquiredAt: number, release: () => void) {
    this.acquiredAt = acquiredAt
    this.#release = release
  }

  /** Drop this guard; the fcntl lock goes when the last shared guard goes. Idempotent. */
  release(): void {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.release()
  }
}

/** Holds the exclusive lock (GC); on release it downgrades to shared if shared guards remain. */
export class ExclusiveGuard implements Disposable {
  #release: (() => void) | undefined

  constructor(release: () => void) {
    this.#release = release
  }

  /** Drop the exclusive lock. Idempotent. */
  release(): void {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.release()
  }
}

/** Per-process state of the fcntl lock on one `<base>/.lock`, mirroring PBS's ProcessLocker. */
export class ChunkStoreProcessLock {
  /** Datastore base directory. */
  readonly basePath: string
  /** `<base>/.lock`. */
  readonly lockPath: string
  #fd: number | undefined
  #exclusive = false
  #shared = new Map<number, number>()
  #nextId = 1

  /** Prefer processLockFor(): two instances for one file would drop each other's locks. */
  constructor(basePath: string) {
    this.basePath = basePath
    this.lockPath = join(basePath, PROCESS_LOCK_FILE)
  }

  /** Number of live shared guards in this process. */
  get sharedCount(): number {
    return this.#shared.size
  }

  /** True while this process holds the exclusive lock. */
  get isExclusive(): boolean {
    return this.#exclusive
  }

  /** Take a shared guard; throws LockBusyError if another process holds the lock exclusively. */
  tryShared(): SharedGuard {
    if (this.#shared.size === 0 && !this.#exclusive) this.#setLock(F_RDLCK, 'shared')
    const id = this.#nextId++
    const acquiredAt = Math.floor(Date.now() / 1000)
    this.#shared.set(id, acquiredAt)
    return new SharedGuard(acquiredAt, () => this.#releaseShared(id))
  }

  /** Take the exclusive lock, non-blocking; throws LockBusyError naming the holder when busy. */
  tryExclusive(): ExclusiveGuard {
    if (this.#exclusive) {
      throw new LockBusyError(
        `unable to get exclusive lock on chunk store '${this.basePath}' - already locked exclusively by this process`,
        { path: this.lockPath, mode: 'exclusive', pids: [process.pid] },
      )
    }
    // Our own F_RDLCK (if shared guards exist) is converted in place; only other processes conflict.
    this.#setLock(F_WRLCK, 'exclusive')
    this.#exclusive = true
    return new ExclusiveGuard(() => this.#releaseExclusive())
  }

  /** Epoch seconds of the oldest live shared guard, or undefined when there is none. */
  oldestSharedLockTime(): number | undefined {
    let oldest: number | undefined
    for (const t of this.#shared.values()) if (oldest === undefined || t < oldest) oldest = t
    return oldest
  }

  #releaseShared(id: number): void {
    if (!this.#shared.delete(id)) return
    if (this.#shared.size === 0 && !this.#exclusive) this.#setLock(F_UNLCK, 'unlock')
  }

  #releaseExclusive(): void {
    this.#exclusive = false
    // Downgrading from write to read cannot conflict, so this never fails for contention.
    this.#setLock(this.#shared.size > 0 ? F_RDLCK : F_UNLCK, this.#shared.size > 0 ? 'downgrade' : 'unlock')
  }

  #setLock(type: LockType, action: 'shared' | 'exclusive' | 'downgrade' | 'unlock'): void {
    const fd = this.#openFd()
    const c = libc()
    for (;;) {
      const lk: FcntlFlock = { l_type: type, l_whence: SEEK_SET, l_start: 0, l_len: 0, l_pid: 0 }
      if (c.fcntlLock(fd, F_SETLK, lk) === 0) return
      const errno = c.errno()
      if (errno === c.errnos.EINTR) continue
      if ((errno === c.errnos.EAGAIN || errno === c.errnos.EACCES) && type !== F_UNLCK) {
        throw this.#busyError(type, action)
      }
      throw new StorageError(
        `${action} of chunk store lock '${this.lockPath}' failed - ${errnoName(errno)}`,
        { path: this.lockPath, errno },
      )
    }
  }

  #busyError(type: LockType, action: string): LockBusyError {
    const holder = this.#conflictingHolder(type)
    const mode = type === F_WRLCK ? 'exclusive' : 'shared'
    const how = holder?.type === F_WRLCK ? 'locked exclusively' : holder ? 'locked shared' : 'locked'
    const holders: LockHolder[] = holder && holder.pid > 0 ? [describeProcessSync(holder.pid)] : []
    const by = holders.length > 0 ? ` by ${describeHolders(holders)}` : ' by another process'
    return new LockBusyError(`unable to get ${mode} lock on chunk store '${this.basePath}' - ${how}${by}`, {
      path: this.lockPath,
      mode,
      action,
      pids: holders.map((h) => h.pid),
      holders: holders.map((h) => ({ ...h })),
    })
  }

  /** F_GETLK: the first lock of another process that would block `type`, if any. */
  #conflictingHolder(type: LockType): { type: number; pid: number } | undefined {
    try {
      const lk: FcntlFlock = { l_type: type, l_whence: SEEK_SET, l_start: 0, l_len: 0, l_pid: 0 }
      if (libc().fcntlLock(this.#openFd(), F_GETLK, lk) !== 0 || lk.l_type === F_UNLCK) return undefined
      return { type: lk.l_type, pid: lk.l_pid }
    } catch {
      return undefined
    }
  }

  #openFd(): number {
    if (this.#fd !== undefined) return this.#fd
    try {
      // O_RDWR: F_RDLCK needs read and F_WRLCK needs write access. Kept open forever (see file header).
      this.#fd = openSync(this.lockPath, constants.O_RDWR | constants.O_CREAT, 0o644)
    } catch (e) {
      throw new StorageError(
        `opening chunk store lock '${this.lockPath}' failed - ${errorMessage(e)}`,
        { path: this.lockPath },
        { cause: e },
      )
    }
    return this.#fd
  }
}

let registry: Map<string, ChunkStoreProcessLock> | undefined

/** The single process-lock instance for a datastore base (created on first use). */
export function processLockFor(basePath: string): ChunkStoreProcessLock {
  registry ??= new Map()
  const key = canonicalBase(basePath)
  let lock = registry.get(key)
  if (!lock) {
    lock = new ChunkStoreProcessLock(key)
    registry.set(key, lock)
  }
  return lock
}

/** Resolve symlinks so two spellings of one base never get two fds (closing one would drop the lock). */
function canonicalBase(basePath: string): string {
  try {
    return realpathSync.native(basePath)
  } catch {
    return resolve(basePath)
  }
}
