/**
 * Chunks: DataBlobs named by the digest of their plaintext (`DataChunkBuilder`).
 *
 * The digest never covers the encoding: compressed or not, the same plaintext gives the same
 * digest. Encrypted chunks use the keyed digest SHA256(plaintext || id_key), so equal plaintext
 * under different keys never collides.
 */
import { CorruptionError } from '../errors.js'
import { asBuffer } from './bytes.js'
import { plainDigest } from './crypt-config.js'
import type { CryptConfig } from './crypt-config.js'
import { blobIsEncrypted, decodeBlob, encodeBlob } from './data-blob.js'

/** Default chunk size of fixed indexes and of the dynamic chunker's average (4 MiB). */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024

/** SHA256 of 4 MiB of zeros: the digest of PBS's (unencrypted) zero chunk. */
export const ZERO_CHUNK_4M_DIGEST = 'bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8'

/** An encoded chunk and its identity. */
export interface EncodedChunk {
  /** 32-byte digest (file name of the chunk, hex-encoded). */
  digest: Buffer
  /** Raw DataBlob bytes to store. */
  blob: Buffer
}

/** Options for {@link encodeChunk}. */
export interface EncodeChunkOptions {
  /** Default true, as the PBS client does. */
  compress?: boolean
  /** Encrypt with this key (the digest is then keyed too). */
  crypt?: CryptConfig | undefined
}

/** Digest of chunk plaintext: keyed when a key is given, plain SHA256 otherwise. */
export function chunkDigest(data: Uint8Array, crypt?: CryptConfig): Buffer {
  return crypt === undefined ? plainDigest(data) : crypt.computeDigest(data)
}

/** Encodes plaintext as a chunk blob and computes its digest. */
export function encodeChunk(data: Uint8Array, options: EncodeChunkOptions = {}): EncodedChunk {
  const blob = encodeBlob(data, { compress: options.compress ?? true, crypt: options.crypt })
  return { digest: chunkDigest(data, options.crypt), blob }
}

/** The chunk PBS writes for sparse/zero regions: `size` zero bytes, compressed (`build_zero_chunk`). */
export function buildZeroChunk(size: number = DEFAULT_CHUNK_SIZE, crypt?: CryptConfig): EncodedChunk {
  return encodeChunk(Buffer.alloc(size), { compress: true, crypt })
}

/**
 * The server's upload check (`verify_unencrypted`): decodes an unencrypted chunk and checks its
 * digest and plaintext length. Encrypted chunks cannot be checked and pass.
 * @throws CorruptionError for wrong digest, wrong length or undecodable data.
 */
export function verifyUnencryptedChunk(
  raw: Uint8Array,
  expectedSize: number,
  expectedDigest: Uint8Array,
): void {
  const buf = asBuffer(raw)
  if (blobIsEncrypted(buf)) return
  // Like PBS, no CRC check here: the caller recomputes or verifies the CRC separately.
  const data = decodeBlob(buf, undefined, { expectedDigest, checkCrc: false })
  if (data.length !== expectedSize) {
    throw new CorruptionError(`detected chunk with wrong length (${expectedSize} != ${data.length})`, {
      expected: expectedSize,
      actual: data.length,
    })
  }
}
