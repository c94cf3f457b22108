/**
 * The S3 move intent journal (DESIGN.md "orphan-free S3 moves"): one file per batch of snapshot
 * moves in `<cache>/.s3-move-intents/`, on disk before the batch's first request that changes the
 * bucket, flock-ed by its writer for as long as the writer lives, removed when the batch is done.
 *
 * Names and states:
 *   `<uuid>.json`          the writer is running, or died (crash, kill) - its requests may still be
 *                          in flight at the server. While it runs, the writer touches the file's
 *                          mtime every S3_MOVE_HEARTBEAT_MS, so a recovery knows when it stopped.
 *   `<uuid>.settled.json`  the writer ended normally but left work (a failed delete): every request
 *                          it sent was answered, nothing of it can land later.
 *   `<uuid>.tmp_intent`    being written (never holds anything a recovery must act on).
 *
 * An entry names a snapshot's source and target prefix and its local paths, not its keys: the
 * intent is written before the source is listed, so listing and copying can overlap, and a
 * recovery lists the prefixes instead (version 1 files also carry `keys`; they are read alike).
 * An intent may instead (or also) guard single objects - a group's owner or notes, a namespace
 * marker - around a step that changes the object and its local counterpart in two requests a
 * crash could separate; a recovery makes each match its counterpart.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

import { StorageError, errorMessage } from '../../errors.js'
import { fsyncDir } from '../../io/replace-file.js'
import { acquireFileLock, type LockGuard } from '../../lock/index.js'

/** Directory of the move intents inside the cache (dot-named: GC and refresh never look at it). */
export const S3_MOVE_INTENT_DIR = '.s3-move-intents'

/** How often a running move touches its intent's mtime. */
export const S3_MOVE_HEARTBEAT_MS = 1000

/**
 * How long after a writer stopped a request it sent may still be applied by the server (S3 does
 * not stop working on a request whose client vanished; a busy server may only start on it late).
 * A rollback of an intent whose writer stopped less than this ago waits (or is re-checked later).
 */
export const S3_MOVE_DEFAULT_GRACE_MS = 30_000

/** Environment variable overriding S3_MOVE_DEFAULT_GRACE_MS (milliseconds). */
export const S3_MOVE_GRACE_ENV = 'PBS_STORE_S3_MOVE_GRACE_MS'

const SETTLED_SUFFIX = '.settled.json'
const LIVE_SUFFIX = '.json'
const TMP_SUFFIX = '.tmp_intent'

/** One snapshot of a move intent. */
export interface S3MoveIntentEntry {
  sourceNs: string
  targetNs: string
  /** `type/id/time`. */
  snapshot: string
  /** `.cnt/…/<time>/` (relative to the store prefix, ends in '/'). */
  sourcePrefix: string
  targetPrefix: string
  /** Local (cache) directories; the rename from source to target is the commit point. */
  sourcePath: string
  targetPath: string
  /** Version 1 only: the source keys listed before the intent was written (recovery ignores them). */
  keys?: string[]
}

/** A guarded object: after a crash it is made to match its local counterpart. */
export interface S3GuardedObjectEntry {
  kind: 'group-file' | 'namespace-marker'
  /** Namespace (`a/b`, '' for the root). */
  ns: string
  /** `type/id` of a group file. */
  group?: string
  /** Relative key. */
  key: string
  /** The local file (group file) or directory (namespace) the object mirrors. */
  localPath: string
}

/** The intent file. */
export interface S3MoveIntent {
  /** 1: entries carry `keys`; 2: prefixes only, plus the writer's pid and host. */
  version: 1 | 2
  created: string
  pid?: number
  host?: string
  entries: S3MoveIntentEntry[]
  /** Version 2: guarded single objects. */
  objects?: S3GuardedObjectEntry[]
}

/** The grace period in effect (environment override or the default). */
export function s3MoveGraceMs(): number {
  const v = process.env[S3_MOVE_GRACE_ENV]
  if (v === undefined || v === '') return S3_MOVE_DEFAULT_GRACE_MS
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? n : S3_MOVE_DEFAULT_GRACE_MS
}

/** What an intent file name says about it. */
export function intentFileKind(name: string): 'live' | 'settled' | 'tmp' | 'other' {
  if (name.endsWith(SETTLED_SUFFIX)) return 'settled'
  if (name.endsWith(LIVE_SUFFIX)) return 'live'
  if (name.endsWith(TMP_SUFFIX)) return 'tmp'
  return 'other'
}

/**
 * When the requests of an unsettled intent's writer are surely done: its last heartbeat (mtime)
 * plus one heartbeat interval (it may have died just before the next one) plus the grace.
 */
export async function intentSettlesAt(path: string, graceMs: number): Promise<number> {
  const { mtimeMs } = await stat(path)
  return mtimeMs + S3_MOVE_HEARTBEAT_MS + graceMs
}

/** The intent of a running batch: its file, the flock on it and the heartbeat. */
export class S3MoveIntentFile {
  /** Current path (changes when the intent is settled). */
  path: string
  readonly #lock: LockGuard
  #timer: NodeJS.Timeout | undefined

  private constructor(path: string, lock: LockGuard) {
    this.path = path
    this.#lock = lock
    // The heartbeat touches the inode through the lock's own handle: no path lookups, and it
    // never outlives the lock.
    this.#timer = setInterval(() => {
      if (this.#lock.released) return
      const now = new Date()
      this.#lock.file.utimes(now, now).catch(() => undefined)
    }, S3_MOVE_HEARTBEAT_MS)
    this.#timer.unref()
  }

  /**
   * Locks, writes and fsyncs the intent under a tmp name, then renames it into place (and fsyncs
   * the directory): it is on disk before the first request, and locked for as long as it lives.
   * @throws StorageError
   */
  static async create(
    dir: string,
    entries: S3MoveIntentEntry[],
    objects: S3GuardedObjectEntry[] = [],
  ): Promise<S3MoveIntentFile> {
    await mkdir(dir, { recursive: true, mode: 0o750 })
    const id = randomUUID()
    const path = join(dir, `${id}${LIVE_SUFFIX}`)
    const tmp = join(dir, `${id}${TMP_SUFFIX}`)
    const intent: S3MoveIntent = {
      version: 2,
      created: new Date().toISOString(),
      pid: process.pid,
      host: hostname(),
      entries,
      ...(objects.length > 0 ? { objects } : {}),
    }
    try {
      // Locked first and written through the lock's own handle: a recovery never finds the tmp
      // file unlocked with content, nor the final name unlocked (the lock follows the inode).
      const lock = await acquireFileLock(tmp, {
        mode: 'exclusive',
        timeoutMs: 0,
        what: `S3 move intent '${path}'`,
      })
      try {
        await lock.file.writeFile(JSON.stringify(intent))
        await lock.file.sync()
        await rename(tmp, path)
        await fsyncDir(dir)
      } catch (e) {
        await lock.release()
        throw e
      }
      return new S3MoveIntentFile(path, lock)
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw new StorageError(
        `writing S3 move intent '${path}' failed - ${errorMessage(e)}`,
        { path },
        { cause: e },
      )
    }
  }

  /** Stops the heartbeat (the mtime then says when the writer stopped). */
  #stopHeartbeat(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** The batch is done: removes the intent and releases it. */
  async remove(): Promise<void> {
    this.#stopHeartbeat()
    try {
      await rm(this.path, { force: true })
    } finally {
      await this.#lock.release()
    }
  }

  /**
   * Leaves the intent for a recovery. `settled`: every request this writer sent was answered,
   * so a recovery needs no grace (the rename keeps the inode, hence the lock). Otherwise the
   * last heartbeat is set to now, the moment the writer let go.
   */
  async leave(settled: boolean): Promise<void> {
    this.#stopHeartbeat()
    try {
      if (settled) {
        const to = this.path.slice(0, -LIVE_SUFFIX.length) + SETTLED_SUFFIX
        await rename(this.path, to)
        this.path = to
      } else {
        const now = new Date()
        await this.#lock.file.utimes(now, now)
      }
    } catch {
      // the last heartbeat (< 1 interval ago) stays: a recovery still waits the grace from it
    } finally {
      await this.#lock.release()
    }
  }
}
