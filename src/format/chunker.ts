/**
 * Content-defined chunking (`pbs-datastore/src/chunker.rs` `ChunkerImpl`, a port of casync's
 * buzhash chunker) and the fixed split used for images.
 *
 * The rolling hash runs over a 64-byte window. The first 64 bytes of a chunk only fill the window
 * (no break test); after that every byte rolls the hash and is tested: a chunk ends at `max`
 * bytes, never before `min`, and otherwise where `(h & mask) >= mask - 2` with
 * `mask = 2 * avg - 1`. The state survives across `scan` calls, so boundaries do not depend on
 * how the input is split — required for deduplication against PBS-made backups.
 */
import { ValidationError } from '../errors.js'
import { BUZHASH_TABLE } from './buzhash-table.js'
import { DEFAULT_CHUNK_SIZE } from './chunk.js'

/** Window length of the rolling hash (`CA_CHUNKER_WINDOW_SIZE`). */
export const CHUNKER_WINDOW_SIZE = 64

let table: Int32Array | undefined

/** The table as Int32Array, built on first use; int32 keeps the hot loop in V8's small-integer path. */
function buzhashTable(): Int32Array {
  table ??= Int32Array.from(BUZHASH_TABLE, (v) => v | 0)
  return table
}

/** Incremental buzhash chunker. */
export class Chunker {
  /** Requested average chunk size (power of two). */
  readonly avgSize: number
  /** No boundary before this many bytes (avg / 4). */
  readonly minSize: number
  /** A boundary at the latest here (avg * 4). */
  readonly maxSize: number
  readonly #mask: number
  readonly #breakMin: number
  readonly #table: Int32Array
  readonly #window = new Uint8Array(CHUNKER_WINDOW_SIZE)
  #h = 0
  #windowSize = 0
  #chunkSize = 0

  /** @throws ValidationError unless avgSize is a power of two in [64, 2^28]. */
  constructor(avgSize: number = DEFAULT_CHUNK_SIZE) {
    if (
      !Number.isSafeInteger(avgSize) ||
      avgSize < 64 ||
      avgSize > 2 ** 28 ||
      (avgSize & (avgSize - 1)) !== 0
    ) {
      throw new ValidationError('average chunk size', avgSize, 'must be a power of two between 64 and 2^28')
    }
    this.avgSize = avgSize
    this.minSize = avgSize >> 2
    this.maxSize = avgSize * 4
    this.#mask = avgSize * 2 - 1
    this.#breakMin = this.#mask - 2
    this.#table = buzhashTable()
  }

  /**
   * Scans `data` (the bytes following everything passed before) for the next boundary.
   * Returns 0 when there is none in `data` (the caller passes the following bytes next time), or
   * the number of bytes of `data` up to and including the boundary; the state is then reset, so
   * the caller continues with the rest of `data`.
   */
  scan(data: Uint8Array): number {
    const T = this.#table
    const win = this.#window
    const len = data.length
    let h = this.#h
    let pos = 0

    if (this.#windowSize < CHUNKER_WINDOW_SIZE) {
      const take = Math.min(CHUNKER_WINDOW_SIZE - this.#windowSize, len)
      let ws = this.#windowSize
      for (; pos < take; pos++) {
        const b = data[pos] as number
        win[ws++] = b
        h = ((h << 1) | (h >>> 31)) ^ (T[b] as number)
      }
      this.#windowSize = ws
      this.#chunkSize += take
      if (ws < CHUNKER_WINDOW_SIZE) {
        this.#h = h
        return 0
      }
    }

    const min = this.minSize
    const max = this.maxSize
    const mask = this.#mask
    const breakMin = this.#breakMin
    let chunkSize = this.#chunkSize
    let idx = chunkSize & 63

    // Every byte of `data` before a boundary belongs to the current chunk, so from position 64 on
    // the byte leaving the window is simply data[pos - 64]; only the first 64 positions of a call
    // need the saved window.
    const head = Math.min(len, CHUNKER_WINDOW_SIZE)
    while (pos < head) {
      const enter = data[pos++] as number
      // The leaving byte needs no rotation: rotl by 64 is the identity on 32 bits.
      h = ((h << 1) | (h >>> 31)) ^ (T[win[idx] as number] as number) ^ (T[enter] as number)
      win[idx] = enter
      idx = (idx + 1) & 63
      chunkSize++
      if (chunkSize >= min && ((h & mask) >= breakMin || chunkSize >= max)) {
        this.reset()
        return pos
      }
    }

    // While the byte being added cannot reach min, no break test can succeed: roll only.
    if (chunkSize < min - 1 && pos < len) {
      const start = pos
      const stop = Math.min(len, pos + (min - 1 - chunkSize))
      while (pos < stop) {
        h =
          ((h << 1) | (h >>> 31)) ^
          (T[data[pos - 64] as number] as number) ^
          (T[data[pos] as number] as number)
        pos++
      }
      chunkSize += pos - start
    }

    while (pos < len) {
      h =
        ((h << 1) | (h >>> 31)) ^ (T[data[pos - 64] as number] as number) ^ (T[data[pos] as number] as number)
      pos++
      chunkSize++
      if ((h & mask) >= breakMin || chunkSize >= max) {
        this.reset()
        return pos
      }
    }

    if (len > CHUNKER_WINDOW_SIZE) {
      // Save the last 64 bytes where the next call expects them (slot = chunk position & 63).
      for (let j = len - CHUNKER_WINDOW_SIZE; j < len; j++) {
        win[(chunkSize - (len - j)) & 63] = data[j] as number
      }
    }
    this.#h = h
    this.#chunkSize = chunkSize
    return 0
  }

  /** Forgets any partial chunk (PBS `reset`). */
  reset(): void {
    this.#h = 0
    this.#windowSize = 0
    this.#chunkSize = 0
  }
}

/** One slice of a fixed-size split. */
export interface FixedChunkSlice {
  /** Byte offset of the slice. */
  offset: number
  /** Slice length; chunkSize except possibly for the last slice. */
  length: number
}

/**
 * Splits `size` bytes into consecutive `chunkSize` slices (the last may be shorter), as PBS
 * chunks images (`FixedChunkStream`). An empty input yields no slices.
 * @throws ValidationError for a negative size or a chunk size that is not a power of two.
 */
export function splitFixed(size: number, chunkSize: number = DEFAULT_CHUNK_SIZE): FixedChunkSlice[] {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new ValidationError('image size', size, 'must be a non-negative integer')
  if (
    !Number.isSafeInteger(chunkSize) ||
    chunkSize <= 0 ||
    2 ** Math.round(Math.log2(chunkSize)) !== chunkSize
  ) {
    throw new ValidationError('chunk size', chunkSize, 'must be a power of two')
  }
  const slices: FixedChunkSlice[] = []
  for (let offset = 0; offset < size; offset += chunkSize) {
    slices.push({ offset, length: Math.min(chunkSize, size - offset) })
  }
  return slices
}
