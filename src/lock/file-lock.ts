/**
 * PBS-compatible lock files (spec §3.3): open-or-create with mode 0660, flock shared/exclusive, then
 * the double-stat check. Waiting is a loop of non-blocking tries with short async sleeps, so the
 * event loop and libuv's threadpool stay free however long a lock is contended.
 */
import { constants, fchmodSync, fchownSync, fstatSync, statSync, type BigIntStats } from 'node:fs'
import { chown, mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname, relative, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { AbortedError, LockBusyError, StorageError, errorMessage } from '../errors.js'
import { tryFlock, unFlock, type LockMode } from './flock.js'
import { describeHolders, findLockHolders, type LockHolder } from './lock-holders.js'

export type { LockMode } from './flock.js'

/** Group lock: fail at once (spec §3.4). */
export const GROUP_LOCK_TIMEOUT_MS = 0
/** Snapshot lock, shared or exclusive: fail at once. */
export const SNAPSHOT_LOCK_TIMEOUT_MS = 0
/** Manifest lock: wait up to 5 s. */
export const MANIFEST_LOCK_TIMEOUT_MS = 5_000
/** Move-journal lock: wait up to 10 s. */
export const MOVE_JOURNAL_LOCK_TIMEOUT_MS = 10_000
/** S3 per-chunk lock for inserts and corrupt-renames: wait up to 3 h (GC uses 0). */
export const CHUNK_LOCK_TIMEOUT_MS = 3 * 60 * 60 * 1000

/** Mode of every lock file, whatever the umask (PBS creates them 0660). */
export const LOCK_FILE_MODE = 0o660

/** How often a vanished/replaced lock file is reopened before giving up. */
const MAX_IDENTITY_RETRIES = 5
const FIRST_BACKOFF_MS = 5
const MAX_BACKOFF_MS = 50

/** How to take a lock file. */
export interface LockOptions {
  /** Shared (readers) or exclusive. */
  mode: LockMode
  /** 0 = one non-blocking try; otherwise keep trying for this long. */
  timeoutMs: number
  /** The locked object for messages, e.g. `snapshot 'vm/100/2024-01-02T03:04:05Z'`. */
  what: string
  /** Owner for lock files and directories we create (backup:backup when sharing the lock dir with PBS). */
  owner?: { uid: number; gid: number }
  /** Stops a timed wait early with AbortedError. */
  signal?: AbortSignal
  /** @internal Test hook: runs after flock succeeded, before the double-stat check. */
  afterFlock?: (path: string) => void | Promise<void>
}

/** Result of comparing the locked fd with what the path names now. */
export type LockFileIdentity = 'same' | 'replaced' | 'removed'

/** A held lock file. Unlocking closes the fd; the file itself stays (PBS never deletes on unlock). */
export class LockGuard implements AsyncDisposable {
  /** Lock file path. */
  readonly path: string
  /** Mode held. */
  readonly mode: LockMode
  /** Inode of the locked file (the double-stat check guaranteed path named it at acquire time). */
  readonly ino: bigint
  #handle: FileHandle | undefined
  #releasing: Promise<void> | undefined

  constructor(handle: FileHandle, path: string, mode: LockMode, ino: bigint) {
    this.#handle = handle
    this.path = path
    this.mode = mode
    this.ino = ino
  }

  /** True once release() has been called. */
  get released(): boolean {
    return this.#releasing !== undefined
  }

  /** The open lock file (e.g. to append to the move journal). Never close it yourself: use release(). */
  get file(): FileHandle {
    if (!this.#handle || this.#releasing) throw new StorageError(`lock '${this.path}' was released`)
    return this.#handle
  }

  /** Unlock and close; safe to call more than once. */
  release(): Promise<void> {
    this.#releasing ??= this.#close()
    return this.#releasing
  }

  /** `await using` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  async #close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    if (!handle) return
    try {
      // Explicit unlock first: a duplicated fd (fork without exec) must not keep the lock alive.
      unFlock(handle.fd, this.path)
    } finally {
      await handle.close()
    }
  }
}

/** Take the lock file at `path`; throws LockBusyError when it cannot be had within `timeoutMs`. */
export async function acquireFileLock(path: string, opts: LockOptions): Promise<LockGuard> {
  const deadline = Date.now() + Math.max(0, opts.timeoutMs)
  let identityFailures = 0
  let lastIdentity: LockFileIdentity = 'same'
  for (;;) {
    const handle = await openLockFile(path, opts.owner)
    let keep = false
    try {
      await waitForFlock(handle, path, opts, deadline)
      await opts.afterFlock?.(path)
      const { identity, ino } = lockFileIdentityOf(handle, path)
      if (identity === 'same') {
        keep = true
        return new LockGuard(handle, path, opts.mode, ino)
      }
      // The file was deleted (destroy/move) or replaced after we opened it: our lock protects nothing.
      lastIdentity = identity
      if (++identityFailures > MAX_IDENTITY_RETRIES) {
        throw new LockBusyError(
          `unable to acquire ${opts.mode} lock on ${opts.what} - another process modified the lock file ` +
            `'${path}' (${lastIdentity}) ${identityFailures} times`,
          { what: opts.what, mode: opts.mode, path, reason: 'lock-file-replaced', pids: [] },
        )
      }
    } finally {
      if (!keep) await handle.close()
    }
  }
}

/** Run `fn` while holding the lock; the lock is released however `fn` ends. */
export async function withLock<T>(
  path: string,
  opts: LockOptions,
  fn: (guard: LockGuard) => T | Promise<T>,
): Promise<T> {
  const guard = await acquireFileLock(path, opts)
  try {
    return await fn(guard)
  } finally {
    await guard.release()
  }
}

/** The double-stat check: does `path` still name the file open on `handle`? */
export function checkLockFileIdentity(handle: FileHandle, path: string): Promise<LockFileIdentity> {
  return Promise.resolve(lockFileIdentityOf(handle, path).identity)
}

function lockFileIdentityOf(handle: FileHandle, path: string): { identity: LockFileIdentity; ino: bigint } {
  // Synchronous stats: two local syscalls cost less than one thread-pool round trip, and a move
  // takes thousands of snapshot locks.
  const held = fstatSync(handle.fd, { bigint: true })
  let now: BigIntStats | undefined
  try {
    now = statSync(path, { bigint: true, throwIfNoEntry: false })
  } catch (e) {
    throw new StorageError(`checking lock file '${path}' failed - ${errorMessage(e)}`, { path }, { cause: e })
  }
  if (now === undefined) return { identity: 'removed', ino: held.ino }
  const same = now.ino === held.ino && now.dev === held.dev
  return { identity: same ? 'same' : 'replaced', ino: held.ino }
}

/** Non-blocking tries with backoff until locked or the deadline passes. */
async function waitForFlock(handle: FileHandle, path: string, opts: LockOptions, deadline: number) {
  let backoff = FIRST_BACKOFF_MS
  for (;;) {
    if (tryFlock(handle.fd, opts.mode, path) === 'locked') return
    const left = deadline - Date.now()
    if (left <= 0) throw await busyError(handle, path, opts)
    if (opts.signal?.aborted) throw abortedError(path, opts)
    try {
      await sleep(Math.min(backoff, left), undefined, opts.signal ? { signal: opts.signal } : undefined)
    } catch (e) {
      if (opts.signal?.aborted) throw abortedError(path, opts, e)
      throw e
    }
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
  }
}

async function busyError(handle: FileHandle, path: string, opts: LockOptions): Promise<LockBusyError> {
  let holders: LockHolder[] = []
  try {
    const st = await handle.stat({ bigint: true })
    holders = await findLockHolders(st.dev, st.ino, 'FLOCK', opts.mode === 'shared')
  } catch {
    // Holder lookup is decoration; the lock failure is what gets reported.
  }
  const within = opts.timeoutMs > 0 ? ` within ${formatDuration(opts.timeoutMs)}` : ''
  return new LockBusyError(
    `unable to acquire ${opts.mode} lock on ${opts.what}${within} - locked by ${describeHolders(holders)}`,
    {
      what: opts.what,
      mode: opts.mode,
      path,
      timeoutMs: opts.timeoutMs,
      pids: holders.map((h) => h.pid),
      holders: holders.map((h) => ({ ...h })),
    },
  )
}

function abortedError(path: string, opts: LockOptions, cause?: unknown): AbortedError {
  return new AbortedError(
    `waiting for ${opts.mode} lock on ${opts.what} aborted`,
    { what: opts.what, mode: opts.mode, path },
    cause === undefined ? undefined : { cause },
  )
}

/**
 * Open the lock file, creating it (and its directory) when missing. Created files get exactly 0660 and
 * the requested owner. Retries when a concurrent destroy removes the file or directory in between.
 */
async function openLockFile(path: string, owner: LockOptions['owner']): Promise<FileHandle> {
  // libuv adds O_CLOEXEC to every open on Linux, so child processes never inherit lock fds.
  const createFlags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND
  const openFlags = constants.O_RDWR | constants.O_APPEND
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await makeLockDir(dirname(path), owner)
      try {
        const handle = await open(path, createFlags, LOCK_FILE_MODE)
        try {
          fixNewLockFile(handle, owner)
        } catch (e) {
          await handle.close()
          throw e
        }
        return handle
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e
      }
      return await open(path, openFlags)
    } catch (e) {
      lastError = e
      if (!isErrno(e, 'ENOENT')) break
      knownLockDirs.delete(dirname(path)) // the directory went away (tmpfs cleared): create it again
    }
  }
  throw new StorageError(
    `opening lock file '${path}' failed - ${errorMessage(lastError)}`,
    { path },
    { cause: lastError },
  )
}

function fixNewLockFile(handle: FileHandle, owner: LockOptions['owner']): void {
  // The umask (022 usually) strips group write; PBS daemons running as backup need it. We just
  // created the file, so set the mode unconditionally (synchronous: cheaper than a round trip).
  fchmodSync(handle.fd, LOCK_FILE_MODE)
  if (owner) fchownSync(handle.fd, owner.uid, owner.gid)
}

/** Lock directories known to exist; lock dirs are never removed while we run (a miss retries). */
const knownLockDirs = new Set<string>()

async function makeLockDir(dir: string, owner: LockOptions['owner']): Promise<void> {
  if (knownLockDirs.has(dir)) return
  await makeLockDirUncached(dir, owner)
  knownLockDirs.add(dir)
}

async function makeLockDirUncached(dir: string, owner: LockOptions['owner']): Promise<void> {
  const first = await mkdir(dir, { recursive: true })
  if (!owner || first === undefined) return
  // Hand every directory we just created to the owner, top-down from the first new one.
  let current = first
  await chown(current, owner.uid, owner.gid)
  for (const part of relative(first, dir)
    .split(sep)
    .filter((p) => p.length > 0)) {
    current = `${current}${sep}${part}`
    await chown(current, owner.uid, owner.gid)
  }
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code
}
