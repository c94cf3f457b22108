/**
 * Phase 2 (PBS `sweep_unused_chunks`, filesystem backend): walks `.chunks/0000`…`ffff` and removes
 * chunk files whose atime is older than the cutoff; counts what is pending and what stays.
 *
 * The file system calls are synchronous, one prefix directory at a time, with a yield to the event
 * loop in between: 65,536 mostly small directories are ~4x faster so than through the threadpool,
 * and no single step blocks for long.
 */
import { lstatSync, readdirSync, unlinkSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'

import { StorageError, errorMessage } from '../../errors.js'
import { isErrno } from '../fs-util.js'
import { ProgressTracker, throwIfAborted, type OperationContext } from '../operation-context.js'
import type { GcStatus } from './gc-status.js'

/** Number of chunk prefix directories. */
export const CHUNK_PREFIX_DIRS = 0x10000

const CHUNK_NAME = /^[0-9a-f]{64}$/
const BAD_NAME = /^([0-9a-f]{64})\.\d\.bad$/
const USING_NAME = /^[0-9a-f]{64}\.using$/

/** Inputs of the sweep. */
export interface SweepOptions extends OperationContext {
  /** Files with atime (epoch seconds) below this are removed. */
  minAtime: number
  /** Files with atime below this (but not below minAtime) are pending. */
  oldestWriter: number
  /** @internal Test hook: runs before each prefix directory is read. */
  beforeChunkDir?: (index: number) => void | Promise<void>
}

/**
 * Sweeps every prefix directory into `status`. Aborting is checked between directories.
 * @throws AbortedError, StorageError when a file cannot be removed or a directory read.
 */
export async function sweepUnusedChunks(
  chunkDir: string,
  status: GcStatus,
  options: SweepOptions,
): Promise<void> {
  const progress = new ProgressTracker(CHUNK_PREFIX_DIRS, 'chunk directories', options.onProgress)
  let lastPercent = -1
  for (let i = 0; i < CHUNK_PREFIX_DIRS; i++) {
    throwIfAborted(options.signal, 'garbage collection')
    await options.beforeChunkDir?.(i)
    const dir = join(chunkDir, i.toString(16).padStart(4, '0'))
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw sweepError(dir, e)
      names = []
    }
    for (const name of names) sweepEntry(dir, name, status, options)
    progress.add()
    if (names.length > 0 || i % 256 === 255) await yieldToLoop()
    const percent = Math.floor(((i + 1) * 100) / CHUNK_PREFIX_DIRS)
    if (percent !== lastPercent && percent % 10 === 0) {
      lastPercent = percent
      options.log?.info(
        `processed ${percent}% (${status.removedChunks + status.pendingChunks + status.diskChunks} chunks)`,
      )
    }
  }
}

function sweepEntry(dir: string, name: string, status: GcStatus, options: SweepOptions): void {
  const bad = BAD_NAME.exec(name)
  if (!bad && !CHUNK_NAME.test(name) && !USING_NAME.test(name)) return
  const path = join(dir, name)
  let st: Stats
  try {
    st = lstatSync(path)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return
    throw sweepError(path, e)
  }
  if (!st.isFile()) return
  if (USING_NAME.test(name)) {
    removeChunkFile(path)
    return
  }
  const atime = Math.floor(st.atimeMs / 1000)
  if (bad) {
    // A good copy exists again (re-uploaded or repaired): the corrupt one is no longer needed.
    if (atime < options.minAtime || existsFile(join(dir, bad[1] as string))) {
      if (removeChunkFile(path)) {
        status.removedBad++
        status.removedBytes += st.size
      }
    } else if (atime < options.oldestWriter) {
      status.stillBad++
      status.pendingBytes += st.size
    } else {
      status.diskBytes += st.size
    }
    return
  }
  if (atime < options.minAtime) {
    if (removeChunkFile(path)) {
      status.removedChunks++
      status.removedBytes += st.size
    }
  } else if (atime < options.oldestWriter) {
    status.pendingChunks++
    status.pendingBytes += st.size
  } else {
    status.diskChunks++
    status.diskBytes += st.size
  }
}

/** Unlinks; false when it was already gone. */
function removeChunkFile(path: string): boolean {
  try {
    unlinkSync(path)
    return true
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false
    throw new StorageError(
      `removing chunk file '${path}' failed - ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
}

function existsFile(path: string): boolean {
  try {
    return lstatSync(path).isFile()
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false
    throw sweepError(path, e)
  }
}

function sweepError(path: string, e: unknown): StorageError {
  return new StorageError(
    `sweeping chunk store at '${path}' failed - ${errorMessage(e)}`,
    { path },
    { cause: e },
  )
}
