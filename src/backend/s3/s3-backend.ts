/**
 * The S3 backend (spec §8): the bucket holds the datastore under `<store>/`, the local directory
 * is the cache. Besides the single-object calls of the seam, it owns the S3 snapshot move with
 * an intent journal (DESIGN.md "orphan-free S3 moves"):
 *
 * per batch of snapshots (one group, oldest first):
 *   1. list every source snapshot prefix (paged);
 *   2. write ONE intent file `<cache>/.s3-move-intents/<uuid>.json` (atomic) naming, per snapshot,
 *      the source and target prefixes, the local paths and every key, and hold an flock on it;
 *   3. copy every object to its target key, all snapshots in parallel (the store bounds it);
 *   4. in order, oldest first: wait for the snapshot's copies, rename its cache dir — the commit
 *      point —, and queue its source keys; the first failure stops the renames;
 *   5. roll back the uncommitted snapshots (delete their target copies), delete the queued source
 *      keys in DeleteObjects batches, and remove the intent.
 * A crash or a failed delete leaves the intent behind; recoverMoves (run before every move and by
 * `pbs-store s3 cleanup`) rolls each entry forward when its target cache dir exists, else back.
 */
import { randomUUID } from 'node:crypto'
import { renameSync } from 'node:fs'
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'

import {
  BackupNamespace,
  formatSnapshotPath,
  parseSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
} from '../../api-types/index.js'
import { AbortedError, StorageError, errorMessage } from '../../errors.js'
import { fsyncDir } from '../../io/replace-file.js'
import { acquireFileLock, type LockGuard } from '../../lock/index.js'
import type {
  ChunkObject,
  ChunkUploadResult,
  DatastoreBackend,
  MoveRecoveryOptions,
  MoveRecoveryResult,
  MoveSnapshotsOptions,
  MoveSnapshotsResult,
  SnapshotMoveItem,
} from '../datastore-backend.js'
import { emptyRecoveryResult } from '../datastore-backend.js'
import {
  badChunkKey,
  chunkKey,
  chunksPrefix,
  groupOwnerKey,
  groupNotesKey,
  groupPrefix,
  namespaceMarkerKey,
  protectedMarkerKey,
  rebaseKey,
  snapshotFileKey,
  snapshotPrefix,
} from './s3-keys.js'
import type { S3ObjectStore } from './s3-object-store.js'

/** Directory of the move intents inside the cache (dot-named: GC and refresh never look at it). */
export const S3_MOVE_INTENT_DIR = '.s3-move-intents'

/** One snapshot of a move intent. */
export interface S3MoveIntentEntry {
  sourceNs: string
  targetNs: string
  /** `type/id/time`. */
  snapshot: string
  sourcePrefix: string
  targetPrefix: string
  sourcePath: string
  targetPath: string
  /** Source keys (relative to the store prefix). */
  keys: string[]
}

/** The intent file. */
export interface S3MoveIntent {
  version: 1
  created: string
  entries: S3MoveIntentEntry[]
}

const CHUNK_KEY_RE = /^\.chunks\/([a-f0-9]{4})\/([a-f0-9]{64})(?:\.(\d)\.bad)?$/

/**
 * @internal Crash points for tests: when PBS_STORE_S3_MOVE_CRASH_AT names a step
 * (`after-intent`, `after-copy`, `after-rename`, `after-delete`) the process exits there.
 */
function crashPoint(step: string): void {
  if (process.env.PBS_STORE_S3_MOVE_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}

/** The backend of an S3 datastore. */
export class S3Backend implements DatastoreBackend {
  readonly type = 's3' as const
  readonly remote = true
  /** The bucket client (store prefix = datastore name). */
  readonly objects: S3ObjectStore
  /** The local cache directory. */
  readonly cacheDir: string

  constructor(objects: S3ObjectStore, cacheDir: string) {
    this.objects = objects
    this.cacheDir = cacheDir
  }

  /** `<cache>/.s3-move-intents`. */
  get intentDir(): string {
    return join(this.cacheDir, S3_MOVE_INTENT_DIR)
  }

  putChunk(digest: string, blob: Uint8Array): Promise<ChunkUploadResult> {
    return this.objects.putObject(chunkKey(digest), blob, { replace: false })
  }

  getChunk(digest: string): Promise<Buffer | undefined> {
    return this.objects.getObject(chunkKey(digest))
  }

  async markChunkBad(digest: string, n: number): Promise<void> {
    if ((await this.objects.headObject(chunkKey(digest))) === undefined) return
    await this.objects.copyObject(chunkKey(digest), badChunkKey(digest, n))
    await this.objects.deleteObjects([chunkKey(digest)])
  }

  async *listChunkObjects(signal?: AbortSignal): AsyncGenerator<ChunkObject[]> {
    for await (const page of this.objects.listObjectPages(chunksPrefix(), signal ? { signal } : {})) {
      const out: ChunkObject[] = []
      for (const o of page) {
        const m = CHUNK_KEY_RE.exec(o.key)
        if (m === null || !m[2]!.startsWith(m[1]!)) continue
        out.push({
          key: o.key,
          digest: m[2]!,
          bad: m[3] === undefined ? undefined : Number(m[3]),
          size: o.size,
        })
      }
      if (out.length > 0) yield out
    }
  }

  async deleteChunkObjects(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.objects.deleteObjects(keys)
  }

  async createNamespaceMarker(ns: BackupNamespace): Promise<void> {
    await this.objects.putObject(namespaceMarkerKey(ns), '', { replace: false })
  }

  async removeNamespaceMarker(ns: BackupNamespace): Promise<void> {
    await this.objects.deleteObjects([namespaceMarkerKey(ns)])
  }

  async putGroupFile(
    ns: BackupNamespace,
    group: BackupGroupRef,
    file: 'owner' | 'notes',
    content: string,
  ): Promise<void> {
    const key = file === 'owner' ? groupOwnerKey(ns, group) : groupNotesKey(ns, group)
    await this.objects.putObject(key, content, { replace: true })
  }

  deleteGroup(ns: BackupNamespace, group: BackupGroupRef): Promise<number> {
    return this.objects.deletePrefix(groupPrefix(ns, group))
  }

  async putSnapshotFile(
    ns: BackupNamespace,
    dir: BackupDirRef,
    file: string,
    body: Uint8Array,
  ): Promise<void> {
    await this.objects.putObject(snapshotFileKey(ns, dir, file), body, { replace: true })
  }

  async putProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void> {
    await this.objects.putObject(protectedMarkerKey(ns, dir), '', { replace: false })
  }

  async deleteProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void> {
    await this.objects.deleteObjects([protectedMarkerKey(ns, dir)])
  }

  deleteSnapshot(ns: BackupNamespace, dir: BackupDirRef): Promise<number> {
    return this.objects.deletePrefix(snapshotPrefix(ns, dir))
  }

  async moveSnapshots(
    items: readonly SnapshotMoveItem[],
    options: MoveSnapshotsOptions = {},
  ): Promise<MoveSnapshotsResult> {
    if (items.length === 0) return { moved: 0, warnings: [] }
    const req = options.signal === undefined ? {} : { signal: options.signal }
    // 1. list (paged), all snapshots at once
    const entries: S3MoveIntentEntry[] = await Promise.all(
      items.map(async (item) => {
        const sourcePrefix = snapshotPrefix(item.sourceNs, item.dir)
        const keys: string[] = []
        for await (const o of this.objects.listObjects(sourcePrefix, req)) keys.push(o.key)
        return {
          sourceNs: item.sourceNs.toString(),
          targetNs: item.targetNs.toString(),
          snapshot: formatSnapshotPath(item.dir),
          sourcePrefix,
          targetPrefix: snapshotPrefix(item.targetNs, item.dir),
          sourcePath: item.sourcePath,
          targetPath: item.targetPath,
          keys,
        }
      }),
    )
    // 2. the intent, held by an flock while this run lives
    const { path: intentPath, lock } = await this.#writeIntent(entries)
    crashPoint('after-intent')
    const warnings: string[] = []
    let moved = 0
    let failure: unknown
    const committed: S3MoveIntentEntry[] = []
    try {
      // 3. copies, every snapshot in parallel (bounded by the client's limiter)
      const copies = entries.map((e) => {
        const p = Promise.all(
          e.keys.map((k) => this.objects.copyObject(k, rebaseKey(k, e.sourcePrefix, e.targetPrefix), req)),
        )
        p.catch(() => undefined) // awaited in order below
        return p
      })
      // 4. commit in order
      for (const [i, e] of entries.entries()) {
        try {
          if (options.signal?.aborted)
            throw new AbortedError(`moving snapshots aborted after ${moved} snapshot(s)`, { moved })
          await copies[i]
          if (i === 0) crashPoint('after-copy')
          renameSync(e.sourcePath, e.targetPath)
        } catch (err) {
          failure = err
          break
        }
        committed.push(e)
        moved++
        options.onMoved?.(i)
        if (i === 0) crashPoint('after-rename')
      }
      // 5a. roll back what was not committed (wait for its copies to settle first)
      const uncommitted = entries.slice(committed.length)
      if (uncommitted.length > 0) {
        await Promise.allSettled(copies.slice(committed.length))
        const targets = uncommitted.flatMap((e) =>
          e.keys.map((k) => rebaseKey(k, e.sourcePrefix, e.targetPrefix)),
        )
        try {
          await this.objects.deleteObjects(targets)
        } catch (err) {
          warnings.push(
            `removing ${targets.length} partial target cop(ies) failed - ${errorMessage(err)}; 'pbs-store s3 cleanup' removes them`,
          )
        }
      }
      // 5b. delete the committed sources
      const sources = committed.flatMap((e) => e.keys)
      try {
        await this.objects.deleteObjects(sources)
        crashPoint('after-delete')
      } catch (err) {
        warnings.push(
          `deleting ${sources.length} source object(s) of ${committed.length} moved snapshot(s) failed - ${errorMessage(err)}; the snapshots are moved, 'pbs-store s3 cleanup' removes the orphans`,
        )
      }
      if (warnings.length === 0) await rm(intentPath, { force: true })
    } finally {
      await lock.release()
    }
    if (failure !== undefined)
      throw failure instanceof Error ? failure : new Error('moving snapshots failed', { cause: failure })
    return { moved, warnings }
  }

  async recoverMoves(options: MoveRecoveryOptions = {}): Promise<MoveRecoveryResult> {
    const result = emptyRecoveryResult()
    let names: string[]
    try {
      names = (await readdir(this.intentDir)).sort()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result
      throw e
    }
    for (const name of names) {
      const path = join(this.intentDir, name)
      if (!name.endsWith('.json')) {
        // a crash while writing an intent: nothing was copied under it yet
        if (name.endsWith('.tmp_intent')) {
          // a crash while writing an intent (nothing was copied under it yet) - unless it is live
          try {
            const l = await acquireFileLock(path, { mode: 'exclusive', timeoutMs: 0, what: 'S3 move intent' })
            await rm(path, { force: true })
            await l.release()
          } catch {
            /* live or gone */
          }
        }
        continue
      }
      let lock: LockGuard
      try {
        lock = await acquireFileLock(path, {
          mode: 'exclusive',
          timeoutMs: 0,
          what: `S3 move intent '${name}'`,
        })
      } catch {
        result.busy++
        continue
      }
      try {
        let intent: S3MoveIntent
        try {
          const text = await readFile(path, 'utf8')
          if (text === '') {
            // removed by its move after our readdir (the lock re-created it empty)
            await rm(path, { force: true })
            continue
          }
          intent = JSON.parse(text) as S3MoveIntent
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue // finished meanwhile
          result.warnings.push(`S3 move intent '${name}' is unreadable - ${errorMessage(e)}; left in place`)
          continue
        }
        result.intents++
        let ok = true
        for (const entry of intent.entries) {
          try {
            await this.#recoverEntry(entry, result, options)
          } catch (e) {
            ok = false
            result.warnings.push(
              `recovering the S3 move of snapshot '${entry.snapshot}' failed - ${errorMessage(e)}`,
            )
          }
        }
        if (ok) await rm(path, { force: true })
      } finally {
        await lock.release()
      }
    }
    return result
  }

  async #recoverEntry(
    entry: S3MoveIntentEntry,
    result: MoveRecoveryResult,
    options: MoveRecoveryOptions,
  ): Promise<void> {
    const dir = parseSnapshotPath(entry.snapshot)
    const sourceNs = BackupNamespace.parse(entry.sourceNs)
    const guard = await options.lockSnapshot?.(sourceNs, dir)
    try {
      const targets = entry.keys.map((k) => rebaseKey(k, entry.sourcePrefix, entry.targetPrefix))
      if (await exists(entry.targetPath)) {
        // committed: complete the target, then drop the source (unless a new snapshot took its place)
        const present = new Set<string>()
        for await (const o of this.objects.listObjects(entry.targetPrefix)) present.add(o.key)
        for (const [i, k] of entry.keys.entries()) {
          if (present.has(targets[i]!)) continue
          if ((await this.objects.headObject(k)) === undefined) continue
          await this.objects.copyObject(k, targets[i]!)
          result.copiedObjects++
        }
        if (!(await exists(entry.sourcePath)))
          result.deletedObjects += await this.objects.deleteObjects(entry.keys)
        result.rolledForward++
      } else {
        // not committed: the source is intact, the target copies are leftovers
        result.deletedObjects += await this.objects.deleteObjects(targets)
        result.rolledBack++
      }
    } finally {
      await guard?.[Symbol.asyncDispose]()
    }
  }

  async #writeIntent(entries: S3MoveIntentEntry[]): Promise<{ path: string; lock: LockGuard }> {
    await mkdir(this.intentDir, { recursive: true, mode: 0o750 })
    const id = randomUUID()
    const path = join(this.intentDir, `${id}.json`)
    const tmp = join(this.intentDir, `${id}.tmp_intent`)
    const intent: S3MoveIntent = { version: 1, created: new Date().toISOString(), entries }
    try {
      // Written, synced and locked under a tmp name, then renamed: a recovery never sees it unlocked
      // (flock follows the inode), and it is on disk before the first copy exists.
      const fh = await open(tmp, 'wx', 0o640)
      try {
        await fh.writeFile(JSON.stringify(intent))
        await fh.sync()
      } finally {
        await fh.close()
      }
      const lock = await acquireFileLock(tmp, {
        mode: 'exclusive',
        timeoutMs: 0,
        what: `S3 move intent '${path}'`,
      })
      try {
        await rename(tmp, path)
        await fsyncDir(this.intentDir)
      } catch (e) {
        await lock.release()
        throw e
      }
      return { path, lock }
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw new StorageError(
        `writing S3 move intent '${path}' failed - ${errorMessage(e)}`,
        { path },
        { cause: e },
      )
    }
  }

  close(): void {
    this.objects.destroy()
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}
