/** Chooses the chunk codec: inline on this thread, or a pool of worker threads. */
import { availableParallelism } from 'node:os'

import { ValidationError } from '../../errors.js'
import type { ChunkCodec, ChunkKey } from './chunk-codec.js'
import { InlineChunkCodec } from './chunk-codec.js'
import { WorkerChunkCodec } from './worker-chunk-codec.js'

/** Inputs below this size are not worth starting threads for (a worker takes ~30 ms to boot). */
export const MIN_BYTES_FOR_WORKERS = 64 * 1024 * 1024
/** Most worker threads the automatic choice starts. */
export const MAX_AUTO_WORKERS = 4

/**
 * Worker count for an ingest of `bytes` (undefined = unknown size, e.g. stdin): one per core up to
 * MAX_AUTO_WORKERS when there are at least two cores and the input is big enough; else 0.
 */
export function autoWorkerCount(bytes: number | undefined): number {
  const cores = availableParallelism()
  if (cores < 2 || (bytes !== undefined && bytes < MIN_BYTES_FOR_WORKERS)) return 0
  return Math.min(cores, MAX_AUTO_WORKERS)
}

/**
 * A codec for `key` with `workers` threads (0 = inline). A key given only as CryptConfig cannot
 * be handed to threads (its bytes are private), so it always runs inline.
 * @throws ValidationError for a negative or non-integer worker count.
 */
export function createChunkCodec(key: ChunkKey | undefined, workers: number): ChunkCodec {
  if (!Number.isSafeInteger(workers) || workers < 0 || workers > 64) {
    throw new ValidationError('workers', workers, 'must be an integer from 0 to 64')
  }
  if (workers === 0 || (key !== undefined && !(key instanceof Uint8Array))) return new InlineChunkCodec(key)
  return new WorkerChunkCodec(workers, key)
}
