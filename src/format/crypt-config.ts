/**
 * Encryption key handling (`pbs-tools/src/crypt_config.rs`, `pbs-key-config`).
 *
 * A 32-byte `enc_key` is used directly for AES-256-GCM. A second key, `id_key`, is derived from
 * it with PBKDF2 and keys everything that must not leak plaintext: chunk digests of encrypted
 * data, the manifest HMAC and the key fingerprint. Keys are held in #private fields and never
 * appear in messages.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'

import { CryptoError, ValidationError } from '../errors.js'

/** Length of the raw encryption key in bytes (AES-256). */
export const ENCRYPTION_KEY_LENGTH = 32
/** Length of the random IV PBS uses for AES-GCM (16, not the usual 12). */
export const GCM_IV_LENGTH = 16
/** Length of the AES-GCM authentication tag. */
export const GCM_TAG_LENGTH = 16

const ID_KEY_SALT = '_id_key'
const ID_KEY_ITERATIONS = 10
let fingerprintInput: Buffer | undefined

/** SHA256 of the fixed fingerprint string, computed on first use (no work at import time). */
function getFingerprintInput(): Buffer {
  fingerprintInput ??= createHash('sha256').update('Proxmox Backup Encryption Key Fingerprint').digest()
  return fingerprintInput
}

/** Result of AES-256-GCM encryption: the three parts stored in an encrypted blob. */
export interface EncryptedData {
  /** 16 random bytes. */
  iv: Buffer
  /** 16-byte GCM tag. */
  tag: Buffer
  /** Same length as the plaintext. */
  ciphertext: Buffer
}

/** An encryption key with its derived id key and fingerprint. */
export class CryptConfig {
  readonly #encKey: Buffer
  readonly #idKey: Buffer
  readonly #fingerprint: Buffer

  /** @throws CryptoError when the key is not exactly 32 bytes. */
  constructor(encKey: Uint8Array) {
    if (encKey.length !== ENCRYPTION_KEY_LENGTH) {
      throw new CryptoError(
        `invalid encryption key - expected ${ENCRYPTION_KEY_LENGTH} bytes, got ${encKey.length}`,
        {
          length: encKey.length,
        },
      )
    }
    this.#encKey = Buffer.from(encKey)
    this.#idKey = pbkdf2Sync(this.#encKey, ID_KEY_SALT, ID_KEY_ITERATIONS, 32, 'sha256')
    this.#fingerprint = this.computeDigest(getFingerprintInput())
  }

  /** Chunk digest of plaintext under this key: SHA256(data || id_key); the key goes last against length extension. */
  computeDigest(data: Uint8Array): Buffer {
    return createHash('sha256').update(data).update(this.#idKey).digest()
  }

  /** HMAC-SHA256 keyed with id_key (manifest signatures). */
  computeAuthTag(data: Uint8Array | string): Buffer {
    return createHmac('sha256', this.#idKey).update(data).digest()
  }

  /** The 32 fingerprint bytes (a copy). */
  get fingerprint(): Buffer {
    return Buffer.from(this.#fingerprint)
  }

  /** Full fingerprint, `xx:xx:…` over 32 bytes, as stored in manifests and key files. */
  fingerprintString(): string {
    return formatFingerprint(this.#fingerprint)
  }

  /** Short fingerprint (first 8 bytes), as PBS displays it. */
  shortFingerprint(): string {
    return formatFingerprint(this.#fingerprint.subarray(0, 8))
  }

  /** True when `other` is the same key (compared via fingerprints, in constant time). */
  sameKey(other: CryptConfig): boolean {
    return timingSafeEqual(this.#fingerprint, other.#fingerprint)
  }

  /** AES-256-GCM with a 16-byte IV (random unless given) and empty AAD. */
  encrypt(plain: Uint8Array, iv: Uint8Array = randomBytes(GCM_IV_LENGTH)): EncryptedData {
    if (iv.length !== GCM_IV_LENGTH) {
      throw new ValidationError('iv', `${iv.length} bytes`, `must be ${GCM_IV_LENGTH} bytes`)
    }
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv, { authTagLength: GCM_TAG_LENGTH })
    const head = cipher.update(plain)
    const tail = cipher.final()
    const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail])
    return { iv: Buffer.from(iv), tag: cipher.getAuthTag(), ciphertext }
  }

  /**
   * Decrypts and authenticates.
   * @throws CryptoError when authentication fails (wrong key or modified data).
   */
  decrypt(iv: Uint8Array, tag: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (iv.length !== GCM_IV_LENGTH || tag.length !== GCM_TAG_LENGTH) {
      throw new CryptoError('decryption failed - bad iv or tag length', {
        ivLength: iv.length,
        tagLength: tag.length,
      })
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#encKey, iv, { authTagLength: GCM_TAG_LENGTH })
    decipher.setAuthTag(tag)
    const head = decipher.update(ciphertext)
    try {
      const tail = decipher.final()
      return tail.length === 0 ? head : Buffer.concat([head, tail])
    } catch (e) {
      throw new CryptoError(
        'decryption failed - wrong key or corrupted data (authentication failed)',
        {},
        { cause: e },
      )
    }
  }

  /** Never print key material. */
  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprintString() }
  }
}

/** Digest of unencrypted chunk data: plain SHA256. */
export function plainDigest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/** Formats bytes as lowercase `xx:xx:…` (the PBS fingerprint notation). */
export function formatFingerprint(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':')
}

/**
 * Parses a full 32-byte fingerprint in `xx:xx:…` form (colons optional, any case).
 * @throws ValidationError when it is not 32 bytes of hex.
 */
export function parseFingerprint(text: string): Buffer {
  const hex = text.replace(/:/g, '')
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ValidationError('fingerprint', text, 'must be 32 bytes as colon-separated hex')
  }
  return Buffer.from(hex, 'hex')
}

/** The subset of a PBS key file (`KeyConfig`) this module reads and writes. */
interface KeyFileJson {
  kdf?: unknown
  created?: unknown
  modified?: unknown
  data?: unknown
  fingerprint?: unknown
  hint?: unknown
}

/**
 * Extracts the raw 32-byte key from key material: either the raw key itself or a PBS key file
 * (JSON `KeyConfig`) without password (`"kdf": null`, `data` = base64 of the raw key). A
 * `fingerprint` in the file must match the key.
 * @throws CryptoError for password-protected key files, malformed files and fingerprint mismatches.
 */
export function parseKeyMaterial(bytes: Uint8Array): Buffer {
  if (bytes.length === ENCRYPTION_KEY_LENGTH) return Buffer.from(bytes)
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (e) {
    throw new CryptoError(
      `loading encryption key failed - neither a raw ${ENCRYPTION_KEY_LENGTH}-byte key nor a key file (JSON)`,
      { length: bytes.length },
      { cause: e },
    )
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CryptoError('loading encryption key failed - key file is not a JSON object')
  }
  const file = json as KeyFileJson
  if (file.kdf !== null && file.kdf !== undefined) {
    throw new CryptoError('password-protected key files are not supported yet', {
      kdf: typeof file.kdf === 'object' ? Object.keys(file.kdf).join(',') : JSON.stringify(file.kdf),
    })
  }
  if (typeof file.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(file.data)) {
    throw new CryptoError("loading encryption key failed - key file has no base64 'data'")
  }
  const key = Buffer.from(file.data, 'base64')
  if (key.length !== ENCRYPTION_KEY_LENGTH) {
    throw new CryptoError(
      `loading encryption key failed - key file holds ${key.length} bytes, expected ${ENCRYPTION_KEY_LENGTH}`,
    )
  }
  if (file.fingerprint !== undefined && file.fingerprint !== null) {
    const actual = new CryptConfig(key).fingerprintString()
    let stored: string
    try {
      if (typeof file.fingerprint !== 'string') throw new TypeError('not a string')
      stored = formatFingerprint(parseFingerprint(file.fingerprint))
    } catch (e) {
      throw new CryptoError("loading encryption key failed - malformed 'fingerprint'", {}, { cause: e })
    }
    if (stored !== actual) {
      throw new CryptoError(
        `loading encryption key failed - key file contains wrong fingerprint ${stored}, contained key has fingerprint ${actual}`,
        { stored, actual },
      )
    }
  }
  return key
}

/**
 * Serialises a key file without password (`"kdf": null`) in PBS's compact `KeyConfig` JSON.
 * `created` is epoch seconds; it is written as RFC 3339 UTC, which PBS parses.
 */
export function serializeKeyConfig(key: Uint8Array, created: number = Math.floor(Date.now() / 1000)): string {
  const config = new CryptConfig(key)
  const time = new Date(created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return JSON.stringify({
    kdf: null,
    created: time,
    modified: time,
    data: Buffer.from(key).toString('base64'),
    fingerprint: config.fingerprintString(),
  })
}
