/**
 * What a parsed `.fidx` and `.didx` share: the header fields and the digests, each the last 32
 * bytes of a fixed-size entry, with index_csum over the whole entry area.
 */
import { entriesCsum, type IndexHeaderFields } from './index-header.js'

/** Digest bytes at the end of every entry. */
const DIGEST_SIZE = 32

/** Base of FixedIndex and DynamicIndex. Digests are views into the parsed buffer; do not mutate it. */
export abstract class IndexFile {
  /** 16-byte uuid from the header. */
  readonly uuid: Buffer
  /** Creation time, epoch seconds. */
  readonly ctime: number
  /** index_csum as stored in the header. */
  readonly indexCsum: Buffer
  /** Number of entries (chunks). */
  readonly count: number
  readonly #entries: Buffer
  readonly #entrySize: number
  /** `fixed index` / `dynamic index`, for messages. */
  readonly #what: string

  /** `entries` holds whole entries of `entrySize` bytes, each ending in a digest. */
  protected constructor(header: IndexHeaderFields, entries: Buffer, entrySize: number, what: string) {
    this.uuid = header.uuid
    this.ctime = header.ctime
    this.indexCsum = header.indexCsum
    this.count = entries.length / entrySize
    this.#entries = entries
    this.#entrySize = entrySize
    this.#what = what
  }

  /** Digest of chunk i (a view). @throws RangeError for an index out of range. */
  digest(i: number): Buffer {
    const at = this.#digestAt(i)
    return this.#entries.subarray(at, at + DIGEST_SIZE)
  }

  /** Digest of chunk i as lowercase hex (the chunk file name). */
  digestHex(i: number): string {
    const at = this.#digestAt(i)
    return this.#entries.toString('hex', at, at + DIGEST_SIZE)
  }

  /** All digests in order (views). */
  *digests(): IterableIterator<Buffer> {
    for (let i = 0; i < this.count; i++) yield this.digest(i)
  }

  /** index_csum recomputed from the entries (they are stored exactly as hashed). */
  computeCsum(): Buffer {
    return entriesCsum(this.#entries)
  }

  /** True when the stored index_csum matches the entries. */
  csumMatches(): boolean {
    return this.computeCsum().equals(this.indexCsum)
  }

  /** @throws RangeError unless 0 ≤ i < count. */
  protected checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`chunk index ${i} out of range (${this.#what} has ${this.count} chunks)`)
    }
  }

  #digestAt(i: number): number {
    this.checkIndex(i)
    return (i + 1) * this.#entrySize - DIGEST_SIZE
  }
}
