/**
 * Dynamic index `.didx` (`pbs-datastore/src/dynamic_index.rs`): a 4096-byte header followed by
 * 40-byte entries `end_offset u64 LE | digest[32]`.
 *
 * Header: magic[8] | uuid[16] | ctime i64 | index_csum[32] | zeros. Each end offset is the
 * exclusive end of its chunk in the reconstructed stream, so ends are cumulative and strictly
 * increasing; the total size is the last end (0 without entries). index_csum = SHA256 over
 * end_le || digest for every entry in order. PBS readers do not check the csum on open.
 */
import { createHash } from 'node:crypto'

import { CorruptionError, ValidationError } from '../errors.js'
import { asBuffer, readU64, writeU64 } from './bytes.js'
import type { ChunkRange } from './fixed-index.js'
import { IndexFile } from './index-file.js'
import { checkDigest, encodeIndexFile, INDEX_HEADER_SIZE, parseIndexHeader } from './index-header.js'
import type { IndexBuilderOptions } from './index-header.js'
import { DYNAMIC_SIZED_CHUNK_INDEX_1_0 } from './magic.js'

/** Bytes per didx entry (u64 end offset + digest). */
export const DYNAMIC_INDEX_ENTRY_SIZE = 40

/** A parsed didx. Digests are views into the parsed buffer; do not mutate that buffer. */
export class DynamicIndex extends IndexFile {
  /** End offsets decoded once; doubles hold every integer below 2^53 exactly. */
  readonly #ends: Float64Array

  /** Use {@link parseDynamicIndex}. */
  constructor(fields: {
    uuid: Buffer
    ctime: number
    indexCsum: Buffer
    entries: Buffer
    ends: Float64Array
  }) {
    super(fields, fields.entries, DYNAMIC_INDEX_ENTRY_SIZE, 'dynamic index')
    this.#ends = fields.ends
  }

  /** Total stream size: the last end offset, or 0 without entries. */
  get size(): number {
    return this.count === 0 ? 0 : (this.#ends[this.count - 1] as number)
  }

  /** Exclusive end offset of chunk i. */
  chunkEnd(i: number): number {
    this.checkIndex(i)
    return this.#ends[i] as number
  }

  /** Byte range chunk i covers. */
  chunkRange(i: number): ChunkRange {
    this.checkIndex(i)
    return { start: i === 0 ? 0 : (this.#ends[i - 1] as number), end: this.#ends[i] as number }
  }

  /** Index of the chunk holding byte `offset` (binary search). @throws RangeError outside [0, size). */
  chunkIndexAt(offset: number): number {
    if (!(offset >= 0 && offset < this.size))
      throw new RangeError(`offset ${offset} outside dynamic index (size ${this.size})`)
    let lo = 0
    let hi = this.count - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#ends[mid] as number) <= offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/**
 * Parses a complete didx file.
 * @throws CorruptionError naming the problem: truncated header, wrong magic, entry area not a
 *   multiple of 40, end offsets not strictly increasing or beyond 2^53.
 */
export function parseDynamicIndex(raw: Uint8Array): DynamicIndex {
  const what = 'dynamic index'
  const buf = asBuffer(raw)
  const header = parseIndexHeader(buf, DYNAMIC_SIZED_CHUNK_INDEX_1_0, what)
  const entriesLength = buf.length - INDEX_HEADER_SIZE
  if (entriesLength % DYNAMIC_INDEX_ENTRY_SIZE !== 0) {
    throw new CorruptionError(
      `unable to parse ${what} - entry area of ${entriesLength} bytes is not a multiple of ${DYNAMIC_INDEX_ENTRY_SIZE}`,
      { size: buf.length },
    )
  }
  const entries = buf.subarray(INDEX_HEADER_SIZE)
  const count = entriesLength / DYNAMIC_INDEX_ENTRY_SIZE
  const ends = new Float64Array(count)
  let previous = 0
  for (let i = 0; i < count; i++) {
    const end = readU64(entries, i * DYNAMIC_INDEX_ENTRY_SIZE)
    if (end === undefined) {
      throw new CorruptionError(`unable to parse ${what} - end offset of entry ${i} exceeds 2^53`, {
        entry: i,
      })
    }
    if (end <= previous) {
      throw new CorruptionError(
        `unable to parse ${what} - end offsets not strictly increasing at entry ${i} (${end} after ${previous})`,
        { entry: i, end, previous },
      )
    }
    ends[i] = end
    previous = end
  }
  return new DynamicIndex({ ...header, entries, ends })
}

/** index_csum of a didx from (end, digest) pairs: SHA256 over end_le || digest for each. */
export function computeDynamicIndexCsum(entries: Iterable<{ end: number; digest: Uint8Array }>): Buffer {
  const hash = createHash('sha256')
  const endLe = Buffer.alloc(8)
  for (const { end, digest } of entries) {
    writeU64(endLe, end, 0)
    hash.update(endLe).update(digest)
  }
  return hash.digest()
}

/** Builds didx bytes from chunks in stream order. */
export class DynamicIndexBuilder {
  readonly #options: IndexBuilderOptions
  #entries: Buffer = Buffer.alloc(128 * DYNAMIC_INDEX_ENTRY_SIZE)
  #count = 0
  #size = 0

  /** Options fix uuid/ctime (tests, deterministic output); defaults are random and now. */
  constructor(options: IndexBuilderOptions = {}) {
    this.#options = options
  }

  /** Entries so far. */
  get count(): number {
    return this.#count
  }

  /** Stream bytes covered so far (the last end offset). */
  get size(): number {
    return this.#size
  }

  /** Appends a chunk by its exclusive end offset. @throws ValidationError unless end > previous end. */
  pushEnd(end: number, digest: Uint8Array): void {
    checkDigest(digest)
    if (!Number.isSafeInteger(end) || end <= this.#size) {
      throw new ValidationError(
        'chunk end offset',
        end,
        `must be an integer greater than the previous end ${this.#size}`,
      )
    }
    if (this.#count * DYNAMIC_INDEX_ENTRY_SIZE === this.#entries.length) {
      const grown = Buffer.alloc(this.#entries.length * 2)
      this.#entries.copy(grown)
      this.#entries = grown
    }
    const at = this.#count * DYNAMIC_INDEX_ENTRY_SIZE
    writeU64(this.#entries, end, at)
    this.#entries.set(digest, at + 8)
    this.#count++
    this.#size = end
  }

  /** Appends a chunk by its length. @throws ValidationError for length < 1. */
  addChunk(length: number, digest: Uint8Array): void {
    if (!Number.isSafeInteger(length) || length < 1) {
      throw new ValidationError('chunk length', length, 'must be a positive integer')
    }
    this.pushEnd(this.#size + length, digest)
  }

  /** Produces the file bytes (header with csum, then entries). */
  finish(options: IndexBuilderOptions = this.#options): Buffer {
    const entries = this.#entries.subarray(0, this.#count * DYNAMIC_INDEX_ENTRY_SIZE)
    return encodeIndexFile(DYNAMIC_SIZED_CHUNK_INDEX_1_0, options, entries)
  }
}
