/**
 * GC phase 2 on S3 (spec §7.4): lists `<store>/.chunks/` and decides per object with the local
 * cache file's atime; objects with no local file and no `.using` marker are unreferenced and are
 * deleted. Each decided key keeps its chunk lock until its DeleteObjects batch went out, so a
 * backup re-inserting the chunk waits and then uploads it again.
 */
import type { Stats } from 'node:fs'
import { lstat, rm, unlink, writeFile } from 'node:fs/promises'

import type { DatastoreBackend } from '../../backend/datastore-backend.js'
import { StorageError, errorMessage } from '../../errors.js'
import type { ChunkStore } from '../chunk-store.js'
import { isErrno } from '../fs-util.js'
import { throwIfAborted, type OperationContext } from '../operation-context.js'
import type { GcStatus } from './gc-status.js'

/** Keys per DeleteObjects flush (PBS S3_DELETE_BATCH_LIMIT). */
export const S3_GC_DELETE_BATCH = 100
/** A queued key waits at most this long for its flush (PBS S3_DELETE_DEFER_LIMIT_SECONDS). */
export const S3_GC_DELETE_DEFER_MS = 300_000

/** Inputs of the S3 sweep. */
export interface S3SweepOptions extends OperationContext {
  minAtime: number
  oldestWriter: number
}

/**
 * Sweeps the bucket's chunk objects into `status`.
 * @throws StorageError when a delete fails ("failed to delete some objects"), AbortedError.
 */
export async function sweepS3Chunks(
  backend: DatastoreBackend,
  chunks: ChunkStore,
  status: GcStatus,
  options: S3SweepOptions,
): Promise<void> {
  let queue: { key: string; lock: AsyncDisposable }[] = []
  let firstQueued = 0
  const flush = async (): Promise<void> => {
    const batch = queue
    queue = []
    try {
      await backend.deleteChunkObjects(batch.map((q) => q.key))
    } catch (e) {
      throw new StorageError(
        `garbage collection failed to delete some objects - ${errorMessage(e)}`,
        {},
        { cause: e },
      )
    } finally {
      for (const q of batch) await q.lock[Symbol.asyncDispose]()
    }
  }
  try {
    for await (const page of backend.listChunkObjects(options.signal)) {
      for (const obj of page) {
        throwIfAborted(options.signal, 'garbage collection')
        let lock: AsyncDisposable
        try {
          lock = await chunks.lockChunk(obj.digest, 0)
        } catch {
          continue // in use by a writer: decided next run
        }
        let queued = false
        try {
          const path = chunks.chunkPath(obj.digest)
          const local = obj.bad === undefined ? path : `${path}.${obj.bad}.bad`
          const st = await lstatIfExists(local)
          let remove = false
          if (st !== undefined) {
            const atime = Math.floor(st.atimeMs / 1000)
            if (atime < options.minAtime) remove = true
            else if (atime < options.oldestWriter) {
              if (obj.bad === undefined) status.pendingChunks++
              else status.stillBad++
              status.pendingBytes += obj.size
            } else {
              if (obj.bad === undefined) status.diskChunks++
              status.diskBytes += obj.size
            }
          } else if (obj.bad === undefined && (await lstatIfExists(`${path}.using`)) !== undefined) {
            // referenced (phase 1 found no local file): keep, and remember it locally as a marker
            await unlink(`${path}.using`).catch(() => undefined)
            await writeFile(path, '', { mode: 0o644, flag: 'wx' }).catch(() => undefined)
            status.diskChunks++
            status.diskBytes += obj.size
          } else {
            remove = true
          }
          if (remove) {
            await rm(local, { force: true })
            if (obj.bad === undefined) {
              chunks.forgetCached(obj.digest)
              status.removedChunks++
            } else status.removedBad++
            status.removedBytes += obj.size
            if (queue.length === 0) firstQueued = Date.now()
            queue.push({ key: obj.key, lock })
            queued = true
          }
        } finally {
          if (!queued) await lock[Symbol.asyncDispose]()
        }
        if (
          queue.length >= S3_GC_DELETE_BATCH ||
          (queue.length > 0 && Date.now() - firstQueued >= S3_GC_DELETE_DEFER_MS)
        )
          await flush()
      }
    }
    if (queue.length > 0) await flush()
  } finally {
    for (const q of queue) await q.lock[Symbol.asyncDispose]()
  }
}

async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    const st = await lstat(path)
    return st.isFile() ? st : undefined
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}
