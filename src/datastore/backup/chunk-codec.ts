/**
 * The CPU half of ingest: digest (SHA-256, keyed when encrypting) and encoding (zstd level 1,
 * AES-GCM, CRC-32) of chunk data. Two steps, because a chunk the store already has is never
 * encoded: the writer asks for the digest first and only then, if needed, for the blob.
 *
 * All-zero chunks are recognised with a memcmp and get the precomputed digest of zeros of their
 * length; hashing them would give the same digest at ~20x the cost.
 */
import { CryptConfig, chunkDigest, encodeBlob } from '../../format/index.js'

/** A chunk that has been hashed and may still be encoded. */
export interface ChunkJob {
  /** 32-byte digest of the plaintext (keyed when encrypting). */
  readonly digest: Buffer
  /** Plaintext length. */
  readonly length: number
  /** True when every byte is zero. */
  readonly zero: boolean
  /** Encodes the chunk as a DataBlob (compressed, encrypted when a key is set). Call at most once. */
  encode(): Promise<Buffer>
  /** Forgets the data without encoding (the store has the chunk). */
  release(): void
}

/** Digest and encode chunks; the inline codec runs on the calling thread, the pool on workers. */
export interface ChunkCodec {
  /** Whether chunks are encrypted. */
  readonly encrypted: boolean
  /** Worker threads doing the work (0: the calling thread). */
  readonly parallelism: number
  /**
   * Hashes chunk data. The codec owns `data` from here on (a worker codec transfers its memory
   * away), so the caller must not touch it again.
   */
  begin(data: Buffer): Promise<ChunkJob>
  /** Stops worker threads, if any. */
  close(): Promise<void>
}

/** A key for chunk encryption: a CryptConfig (inline only) or the raw 32 bytes (inline or workers). */
export type ChunkKey = CryptConfig | Uint8Array

/** Caches the digest of an all-zero chunk per length (normally just 4 MiB and the image tail). */
export class ZeroDigests {
  readonly #crypt: CryptConfig | undefined
  readonly #digests = new Map<number, Buffer>()
  #zeros: Buffer = Buffer.alloc(0)

  constructor(crypt?: CryptConfig) {
    this.#crypt = crypt
  }

  /** True when `data` is all zeros (memcmp against a zero buffer). */
  isZero(data: Uint8Array): boolean {
    if (this.#zeros.length < data.length) this.#zeros = Buffer.alloc(data.length)
    return Buffer.compare(data, this.#zeros.subarray(0, data.length)) === 0
  }

  /** Digest of `length` zero bytes. */
  digest(length: number): Buffer {
    let d = this.#digests.get(length)
    if (!d) {
      d = chunkDigest(Buffer.alloc(length), this.#crypt)
      this.#digests.set(length, d)
    }
    return d
  }
}

/** Runs digest and encoding on the calling thread. */
export class InlineChunkCodec implements ChunkCodec {
  readonly encrypted: boolean
  readonly parallelism = 0
  readonly #crypt: CryptConfig | undefined
  readonly #zeros: ZeroDigests

  constructor(key?: ChunkKey) {
    this.#crypt = key === undefined ? undefined : key instanceof CryptConfig ? key : new CryptConfig(key)
    this.encrypted = this.#crypt !== undefined
    this.#zeros = new ZeroDigests(this.#crypt)
  }

  begin(data: Buffer): Promise<ChunkJob> {
    const zero = this.#zeros.isZero(data)
    const digest = zero ? this.#zeros.digest(data.length) : chunkDigest(data, this.#crypt)
    const crypt = this.#crypt
    let held: Buffer | undefined = data
    return Promise.resolve({
      digest,
      length: data.length,
      zero,
      encode: () => {
        const d = held
        held = undefined
        if (d === undefined) return Promise.reject(new Error('chunk was already encoded or released'))
        return Promise.resolve(encodeBlob(d, { compress: true, crypt }))
      },
      release: () => {
        held = undefined
      },
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
