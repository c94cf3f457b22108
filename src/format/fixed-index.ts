/**
 * Fixed index `.fidx` (`pbs-datastore/src/fixed_index.rs`): a 4096-byte header followed by one
 * 32-byte digest per `chunk_size` slice of the image.
 *
 * Header: magic[8] | uuid[16] | ctime i64 | index_csum[32] | size u64 | chunk_size u64 | zeros.
 * The file length must be exactly 4096 + 32 * ceil(size / chunk_size); only the last chunk may
 * be short. index_csum = SHA256 of all digests in order. PBS never writes a fidx without chunks.
 */
import { createHash } from 'node:crypto'

import { CorruptionError, ValidationError } from '../errors.js'
import { asBuffer, readU64, writeU64 } from './bytes.js'
import { IndexFile } from './index-file.js'
import { checkDigest, encodeIndexFile, INDEX_HEADER_SIZE, parseIndexHeader } from './index-header.js'
import type { IndexBuilderOptions } from './index-header.js'
import { FIXED_SIZED_CHUNK_INDEX_1_0 } from './magic.js'

/** Bytes per fidx entry (one digest). */
export const FIXED_INDEX_ENTRY_SIZE = 32
/** Chunk sizes `ChunkStore::verify_chunk_size` accepts (64 KiB … 4 MiB, powers of two). */
export const VALID_FIXED_CHUNK_SIZES: readonly number[] = Object.freeze([
  65536, 131072, 262144, 524288, 1048576, 2097152, 4194304,
])

/** Half-open byte range `[start, end)` of a chunk in the reconstructed stream. */
export interface ChunkRange {
  start: number
  end: number
}

/** A parsed fidx. Entries are views into the buffer it was parsed from; do not mutate that buffer. */
export class FixedIndex extends IndexFile {
  /** Total content bytes. */
  readonly size: number
  /** Bytes per chunk (power of two). */
  readonly chunkSize: number

  /** Use {@link parseFixedIndex}. */
  constructor(fields: {
    uuid: Buffer
    ctime: number
    indexCsum: Buffer
    size: number
    chunkSize: number
    entries: Buffer
  }) {
    super(fields, fields.entries, FIXED_INDEX_ENTRY_SIZE, 'fixed index')
    this.size = fields.size
    this.chunkSize = fields.chunkSize
  }

  /** Byte range chunk i covers; only the last one may be shorter than chunkSize. */
  chunkRange(i: number): ChunkRange {
    this.checkIndex(i)
    const start = i * this.chunkSize
    return { start, end: Math.min(start + this.chunkSize, this.size) }
  }

  /** Index of the chunk holding byte `offset`. @throws RangeError outside [0, size). */
  chunkIndexAt(offset: number): number {
    if (!(offset >= 0 && offset < this.size))
      throw new RangeError(`offset ${offset} outside fixed index (size ${this.size})`)
    return Math.floor(offset / this.chunkSize)
  }
}

/**
 * Parses a complete fidx file.
 * @throws CorruptionError naming the problem: truncated header, wrong magic, bad chunk size, wrong file size.
 */
export function parseFixedIndex(raw: Uint8Array): FixedIndex {
  const what = 'fixed index'
  const buf = asBuffer(raw)
  const header = parseIndexHeader(buf, FIXED_SIZED_CHUNK_INDEX_1_0, what)
  const size = readU64(buf, 64)
  const chunkSize = readU64(buf, 72)
  if (size === undefined) {
    throw new CorruptionError(`unable to parse ${what} - size exceeds 2^53 bytes`)
  }
  if (chunkSize === undefined || chunkSize === 0 || !isPowerOfTwo(chunkSize)) {
    throw new CorruptionError(
      `unable to parse ${what} - chunk size ${chunkSize ?? 'out of range'} is not a power of two`,
      {
        chunkSize: chunkSize ?? null,
      },
    )
  }
  const count = Math.ceil(size / chunkSize)
  const expected = INDEX_HEADER_SIZE + count * FIXED_INDEX_ENTRY_SIZE
  if (buf.length !== expected) {
    throw new CorruptionError(
      `unable to parse ${what} - wrong file size ${buf.length}, expected ${expected} (size ${size}, chunk size ${chunkSize})`,
      { actual: buf.length, expected },
    )
  }
  return new FixedIndex({ ...header, size, chunkSize, entries: buf.subarray(INDEX_HEADER_SIZE) })
}

/** index_csum of a fidx: SHA256 over the digests in order. */
export function computeFixedIndexCsum(digests: Iterable<Uint8Array>): Buffer {
  const hash = createHash('sha256')
  for (const d of digests) hash.update(d)
  return hash.digest()
}

/** Number of chunks an image of `size` bytes has at `chunkSize`. */
export function fixedChunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize)
}

/**
 * Builds fidx bytes. Digests are placed by index (`push`, `setDigest`) or by byte offset
 * (`addChunk`, with PBS's alignment rules); `finish` checks every slot is filled.
 */
export class FixedIndexBuilder {
  /** Bytes per chunk. */
  readonly chunkSize: number
  readonly #options: IndexBuilderOptions
  readonly #knownSize: number | undefined
  #entries: Buffer
  #filled: Uint8Array
  #count = 0

  /**
   * @param chunkSize power of two (PBS servers always use 4 MiB)
   * @param size total image bytes when known up front; enables range checks in addChunk
   * @throws ValidationError for a bad chunk size or size
   */
  constructor(chunkSize: number = 4 * 1024 * 1024, size?: number, options: IndexBuilderOptions = {}) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || !isPowerOfTwo(chunkSize)) {
      throw new ValidationError('chunk size', chunkSize, 'must be a power of two')
    }
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw new ValidationError('fixed index size', size, 'must be a non-negative integer')
    }
    this.chunkSize = chunkSize
    this.#knownSize = size
    this.#options = options
    const capacity = size === undefined ? 128 : Math.max(1, fixedChunkCount(size, chunkSize))
    this.#entries = Buffer.alloc(capacity * FIXED_INDEX_ENTRY_SIZE)
    this.#filled = new Uint8Array(capacity)
  }

  /** Number of slots up to the highest one set. */
  get count(): number {
    return this.#count
  }

  /** Appends a digest after the highest slot set so far. */
  push(digest: Uint8Array): void {
    this.setDigest(this.#count, digest)
  }

  /** Sets the digest of chunk `index`. */
  setDigest(index: number, digest: Uint8Array): void {
    checkDigest(digest)
    if (!Number.isSafeInteger(index) || index < 0)
      throw new ValidationError('chunk index', index, 'must be >= 0')
    if (this.#knownSize !== undefined && index >= fixedChunkCount(this.#knownSize, this.chunkSize)) {
      throw new ValidationError('chunk index', index, `beyond the end of the image (size ${this.#knownSize})`)
    }
    this.#ensure(index + 1)
    this.#entries.set(digest, index * FIXED_INDEX_ENTRY_SIZE)
    this.#filled[index] = 1
    if (index >= this.#count) this.#count = index + 1
  }

  /**
   * Adds a chunk at byte `offset` (must be chunk-aligned) of `length` bytes; only the final chunk
   * of a known-size image may be shorter than chunkSize.
   */
  addChunk(offset: number, length: number, digest: Uint8Array): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % this.chunkSize !== 0) {
      throw new ValidationError('chunk offset', offset, `must be aligned to the chunk size ${this.chunkSize}`)
    }
    const end = offset + length
    if (this.#knownSize !== undefined) {
      if (end > this.#knownSize) {
        throw new ValidationError('chunk', `${offset}+${length}`, `exceeds the image size ${this.#knownSize}`)
      }
      if (length !== this.chunkSize && end !== this.#knownSize) {
        throw new ValidationError(
          'chunk length',
          length,
          `must be ${this.chunkSize} except for the last chunk`,
        )
      }
    } else if (length <= 0 || length > this.chunkSize) {
      throw new ValidationError('chunk length', length, `must be between 1 and ${this.chunkSize}`)
    }
    this.setDigest(offset / this.chunkSize, digest)
  }

  /**
   * Produces the file bytes for an image of `size` bytes (defaults to the size given at construction).
   * @throws ValidationError for 0 chunks, a digest count not matching size, or unfilled slots.
   */
  finish(size: number | undefined = this.#knownSize, options: IndexBuilderOptions = this.#options): Buffer {
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new ValidationError('fixed index size', size, 'must be a non-negative integer')
    }
    const count = fixedChunkCount(size, this.chunkSize)
    if (count === 0) {
      throw new ValidationError('fixed index', `size ${size}`, 'fidx file must have at least one chunk')
    }
    if (count !== this.#count) {
      throw new ValidationError(
        'fixed index',
        `${this.#count} digests`,
        `size ${size} at chunk size ${this.chunkSize} needs exactly ${count} digests`,
      )
    }
    const missing = this.#filled.subarray(0, count).indexOf(0)
    if (missing !== -1) throw new ValidationError('fixed index', `chunk ${missing}`, 'digest was never set')
    const entries = this.#entries.subarray(0, count * FIXED_INDEX_ENTRY_SIZE)
    return encodeIndexFile(FIXED_SIZED_CHUNK_INDEX_1_0, options, entries, (header) => {
      writeU64(header, size, 64)
      writeU64(header, this.chunkSize, 72)
    })
  }

  /** Grows capacity in powers of two, as the PBS writer does for unknown sizes. */
  #ensure(slots: number): void {
    if (slots <= this.#filled.length) return
    let capacity = this.#filled.length
    while (capacity < slots) capacity *= 2
    const entries = Buffer.alloc(capacity * FIXED_INDEX_ENTRY_SIZE)
    this.#entries.copy(entries)
    const filled = new Uint8Array(capacity)
    filled.set(this.#filled)
    this.#entries = entries
    this.#filled = filled
  }
}

/** True for 1, 2, 4, … (safe integers only). */
function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n
}
