/**
 * Phase 1 marking (PBS `index_mark_used_chunks`): reads one index and touches the atime of every
 * chunk it references, so phase 2 keeps them.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { CorruptionError, StorageError, errorMessage } from '../../errors.js'
import { parseDynamicIndex, parseFixedIndex } from '../../format/index.js'
import { isErrno } from '../fs-util.js'
import type { OperationLog } from '../operation-context.js'
import type { DigestCache } from './digest-cache.js'
import type { GcStatus } from './gc-status.js'
import { touchAtime } from './touch-chunk.js'

/** Highest `<digest>.<n>.bad` suffix PBS ever creates. */
const MAX_BAD_SUFFIX = 9

/** Path of a chunk file: `<chunkDir>/<first 4 hex>/<64 hex>`. */
export function chunkPath(chunkDir: string, digestHex: string): string {
  return join(chunkDir, digestHex.slice(0, 4), digestHex)
}

/** Touches the chunks of index files and counts them into a GC status. */
export class ChunkMarker {
  readonly #chunkDir: string
  readonly #cache: DigestCache
  readonly #log: OperationLog
  readonly #status: GcStatus
  /** Chunks found missing (warned once each). */
  readonly missing = new Set<string>()

  readonly #onMissing: ((digest: string) => Promise<boolean>) | undefined

  /**
   * `onMissing` (S3): called for a chunk with no local file; true when it took care of it (a
   * `.using` marker), so it is not reported missing.
   */
  constructor(
    chunkDir: string,
    cache: DigestCache,
    log: OperationLog,
    status: GcStatus,
    onMissing?: (digest: string) => Promise<boolean>,
  ) {
    this.#chunkDir = chunkDir
    this.#cache = cache
    this.#log = log
    this.#status = status
    this.#onMissing = onMissing
  }

  /**
   * Marks every chunk of the index at `path`.
   * @returns false when the index does not exist (vanished: pruned or moved).
   * @throws CorruptionError for an unreadable index, StorageError for touch failures.
   */
  async markIndex(path: string): Promise<boolean> {
    let raw: Buffer
    try {
      raw = await readFile(path)
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return false
      throw new StorageError(`reading index '${path}' failed - ${errorMessage(e)}`, { path }, { cause: e })
    }
    let digests: { count: number; digestHex(i: number): string }
    let size: number
    try {
      const index = path.endsWith('.fidx') ? parseFixedIndex(raw) : parseDynamicIndex(raw)
      digests = index
      size = index.size
    } catch (e) {
      // Failing is the safe choice: its chunks cannot be marked, and sweeping them loses data.
      throw new CorruptionError(
        `marking chunks of index '${path}' failed - ${errorMessage(e)}`,
        { path },
        { cause: e },
      )
    }
    for (let i = 0; i < digests.count; i++) await this.#touch(digests.digestHex(i), path)
    this.#status.indexFileCount++
    this.#status.indexDataBytes += size
    return true
  }

  async #touch(digest: string, indexPath: string): Promise<void> {
    if (this.#cache.seen(digest)) return
    const path = chunkPath(this.#chunkDir, digest)
    if (await touchAtime(path)) return
    // Keep the corrupt copies alive: they may be the only data left to repair from.
    let bad = false
    for (let n = 0; n <= MAX_BAD_SUFFIX; n++) if (await touchAtime(`${path}.${n}.bad`)) bad = true
    if (!bad && this.#onMissing !== undefined && (await this.#onMissing(digest))) return
    if (!this.missing.has(digest)) {
      this.missing.add(digest)
      this.#log.warn(`warning: unable to access non-existent chunk ${digest}, required by '${indexPath}'`)
    }
  }
}
