/**
 * DataBlob codec (`pbs-datastore/src/data_blob.rs`): the byte format of `*.blob` files and of
 * every chunk file.
 *
 * Layout: `magic[8] | crc32 LE[4] | payload` (12-byte header), or for encrypted blobs
 * `magic[8] | crc32 LE[4] | iv[16] | tag[16] | ciphertext` (44-byte header). The CRC covers only
 * the bytes after the header (for encrypted blobs the ciphertext, not iv/tag); it detects storage
 * corruption and nothing else. Compression is zstd level 1 and is kept only if the frame is no
 * longer than the data; encryption is AES-256-GCM applied after compression.
 */
import { crc32 } from 'node:zlib'

import { CorruptionError, CryptoError, ValidationError } from '../errors.js'
import { asBuffer } from './bytes.js'
import { plainDigest } from './crypt-config.js'
import type { CryptConfig } from './crypt-config.js'
import {
  COMPRESSED_BLOB_MAGIC_1_0,
  ENCR_COMPR_BLOB_MAGIC_1_0,
  ENCRYPTED_BLOB_MAGIC_1_0,
  hasMagic,
  UNCOMPRESSED_BLOB_MAGIC_1_0,
} from './magic.js'
import { zstdCompressIfSmaller, zstdDecompress } from './zstd.js'

/** Largest plaintext a blob may hold (128 MiB, `MAX_BLOB_SIZE`). */
export const MAX_BLOB_SIZE = 128 * 1024 * 1024
/** Header length of unencrypted blobs (magic + crc). */
export const BLOB_HEADER_SIZE = 12
/**
 * Header length of encrypted blobs: magic 8 + crc 4 + iv 16 + tag 16 = 44 (`EncryptedDataBlobHeader`
 * is `repr(C, packed)`). pbs-format.md §4.2 says 48, which does not add up; the struct wins.
 */
export const ENCRYPTED_BLOB_HEADER_SIZE = 44
/** Offset of the little-endian CRC-32 inside every blob header. */
const CRC_OFFSET = 8

/** Crypt mode as derived from a blob's magic. */
export type BlobCryptMode = 'none' | 'encrypt'

/** Options for {@link encodeBlob}. */
export interface EncodeBlobOptions {
  /** Try zstd level 1; the compressed form is used only when it is not larger. */
  compress: boolean
  /** Encrypt (after compressing) with this key. */
  crypt?: CryptConfig | undefined
}

/** What the magic says about a blob. */
interface BlobKind {
  encrypted: boolean
  compressed: boolean
  headerSize: number
}

const KINDS: ReadonlyArray<readonly [Buffer, BlobKind]> = [
  [UNCOMPRESSED_BLOB_MAGIC_1_0, { encrypted: false, compressed: false, headerSize: BLOB_HEADER_SIZE }],
  [COMPRESSED_BLOB_MAGIC_1_0, { encrypted: false, compressed: true, headerSize: BLOB_HEADER_SIZE }],
  [ENCRYPTED_BLOB_MAGIC_1_0, { encrypted: true, compressed: false, headerSize: ENCRYPTED_BLOB_HEADER_SIZE }],
  [ENCR_COMPR_BLOB_MAGIC_1_0, { encrypted: true, compressed: true, headerSize: ENCRYPTED_BLOB_HEADER_SIZE }],
]

/**
 * Encodes data as a DataBlob (the exact bytes PBS would store, up to the random IV).
 * @throws ValidationError when data exceeds 128 MiB (checked before any work is done).
 */
export function encodeBlob(data: Uint8Array, options: EncodeBlobOptions): Buffer {
  if (data.length > MAX_BLOB_SIZE) {
    throw new ValidationError(
      'blob data',
      `${data.length} bytes`,
      `larger than the maximum of ${MAX_BLOB_SIZE} bytes`,
    )
  }
  const compressed = options.compress ? zstdCompressIfSmaller(data, 1) : undefined
  const payload = compressed ?? data
  const crypt = options.crypt
  if (crypt === undefined) {
    const raw = Buffer.allocUnsafe(BLOB_HEADER_SIZE + payload.length)
    ;(compressed ? COMPRESSED_BLOB_MAGIC_1_0 : UNCOMPRESSED_BLOB_MAGIC_1_0).copy(raw, 0)
    raw.set(payload, BLOB_HEADER_SIZE)
    raw.writeUInt32LE(crc32(payload), CRC_OFFSET)
    return raw
  }
  const { iv, tag, ciphertext } = crypt.encrypt(payload)
  const raw = Buffer.allocUnsafe(ENCRYPTED_BLOB_HEADER_SIZE + ciphertext.length)
  ;(compressed ? ENCR_COMPR_BLOB_MAGIC_1_0 : ENCRYPTED_BLOB_MAGIC_1_0).copy(raw, 0)
  iv.copy(raw, 12)
  tag.copy(raw, 28)
  ciphertext.copy(raw, ENCRYPTED_BLOB_HEADER_SIZE)
  raw.writeUInt32LE(crc32(ciphertext), CRC_OFFSET)
  return raw
}

/** Options for {@link decodeBlob}. */
export interface DecodeBlobOptions {
  /** Check the decoded plaintext against this chunk digest (keyed for encrypted blobs). */
  expectedDigest?: Uint8Array | undefined
  /** Default true. False only where PBS skips it (upload checks recompute the CRC instead). */
  checkCrc?: boolean
}

/**
 * Checks length and CRC, decrypts and decompresses a raw blob; optionally checks the chunk digest
 * (SHA256 of the plaintext, or keyed with `crypt` for encrypted data). An uncompressed,
 * unencrypted result is a view into `raw`.
 * @throws CorruptionError (too short, wrong magic, crc mismatch, bad zstd data, wrong digest),
 *   CryptoError (missing key, wrong key / failed authentication).
 */
export function decodeBlob(raw: Uint8Array, crypt?: CryptConfig, options: DecodeBlobOptions = {}): Buffer {
  const buf = asBuffer(raw)
  const kind = blobKind(buf)
  if (options.checkCrc ?? true) verifyCrc(buf, kind)
  const expectedDigest = options.expectedDigest
  let data: Buffer
  if (!kind.encrypted) {
    const payload = buf.subarray(BLOB_HEADER_SIZE)
    data = kind.compressed ? decompressPayload(payload) : payload
  } else {
    if (crypt === undefined) {
      throw new CryptoError('unable to decrypt blob - missing encryption key')
    }
    let plain: Buffer
    try {
      plain = crypt.decrypt(
        buf.subarray(12, 28),
        buf.subarray(28, ENCRYPTED_BLOB_HEADER_SIZE),
        buf.subarray(ENCRYPTED_BLOB_HEADER_SIZE),
      )
    } catch (e) {
      throw new CryptoError(
        'unable to decrypt blob - wrong key or corrupted data (authentication failed)',
        { fingerprint: crypt.shortFingerprint() },
        { cause: e },
      )
    }
    data = kind.compressed ? decompressPayload(plain) : plain
  }
  if (expectedDigest !== undefined) {
    const digest = kind.encrypted && crypt !== undefined ? crypt.computeDigest(data) : plainDigest(data)
    if (!digest.equals(expectedDigest)) {
      throw new CorruptionError('detected chunk with wrong digest', {
        expected: Buffer.from(expectedDigest).toString('hex'),
        actual: digest.toString('hex'),
      })
    }
  }
  return data
}

/** Crypt mode from the magic. @throws CorruptionError for short data or an unknown magic. */
export function blobCryptMode(raw: Uint8Array): BlobCryptMode {
  return blobKind(asBuffer(raw)).encrypted ? 'encrypt' : 'none'
}

/** True when the magic says zstd-compressed. @throws CorruptionError for short data or an unknown magic. */
export function blobIsCompressed(raw: Uint8Array): boolean {
  return blobKind(asBuffer(raw)).compressed
}

/** True when the magic says encrypted. @throws CorruptionError for short data or an unknown magic. */
export function blobIsEncrypted(raw: Uint8Array): boolean {
  return blobKind(asBuffer(raw)).encrypted
}

/** Header length for this blob's magic (12 or 44). @throws CorruptionError as {@link blobCryptMode}. */
export function blobHeaderSize(raw: Uint8Array): number {
  return blobKind(asBuffer(raw)).headerSize
}

/** CRC-32 over the bytes after the header, as it should be stored. */
export function computeBlobCrc(raw: Uint8Array): number {
  const buf = asBuffer(raw)
  return crc32(buf.subarray(blobKind(buf).headerSize))
}

/**
 * Writes the correct CRC into `raw` in place (the server does this for uploaded chunks, whose
 * CRC the client need not fill in) and returns it.
 * @throws CorruptionError for short data or an unknown magic.
 */
export function setBlobCrc(raw: Uint8Array): number {
  const buf = asBuffer(raw)
  const crc = crc32(buf.subarray(blobKind(buf).headerSize))
  buf.writeUInt32LE(crc, CRC_OFFSET)
  return crc
}

/**
 * Checks header length, magic and stored CRC without decoding.
 * @throws CorruptionError naming what is wrong ("crc mismatch" for a bad checksum).
 */
export function verifyBlobCrc(raw: Uint8Array): void {
  const buf = asBuffer(raw)
  verifyCrc(buf, blobKind(buf))
}

/** Classifies the magic and checks the minimum length for it. */
function blobKind(buf: Buffer): BlobKind {
  if (buf.length < BLOB_HEADER_SIZE) {
    throw new CorruptionError(`blob too small (${buf.length} bytes)`, { size: buf.length })
  }
  const entry = KINDS.find(([magic]) => hasMagic(buf, magic))
  if (entry === undefined) {
    throw new CorruptionError('unable to parse raw blob - wrong magic', {
      magic: buf.subarray(0, 8).toString('hex'),
    })
  }
  const kind = entry[1]
  if (buf.length < kind.headerSize) {
    throw new CorruptionError(`encrypted blob too small (${buf.length} bytes)`, { size: buf.length })
  }
  return kind
}

/** Compares the stored CRC with the computed one. */
function verifyCrc(buf: Buffer, kind: BlobKind): void {
  const stored = buf.readUInt32LE(CRC_OFFSET)
  const computed = crc32(buf.subarray(kind.headerSize))
  if (stored !== computed) {
    throw new CorruptionError(
      `crc mismatch (stored ${stored.toString(16).padStart(8, '0')}, computed ${computed.toString(16).padStart(8, '0')})`,
      { stored, computed },
    )
  }
}

/** zstd-decodes a blob payload; no valid blob holds more than MAX_BLOB_SIZE bytes. */
function decompressPayload(payload: Uint8Array): Buffer {
  try {
    return zstdDecompress(payload, MAX_BLOB_SIZE)
  } catch (e) {
    if (e instanceof CorruptionError) {
      throw new CorruptionError(`unable to decompress blob - ${e.message}`, e.data, { cause: e })
    }
    throw e
  }
}
