/**
 * Loading an encryption key for backup and restore: a raw 32-byte key file or a PBS key file
 * (`KeyConfig` JSON without password). The key bytes never appear in messages.
 */
import { readFile } from 'node:fs/promises'

import { CryptoError, NotFoundError, errorMessage } from '../errors.js'
import { CryptConfig, parseKeyMaterial } from '../format/index.js'
import { isErrno } from './fs-util.js'

/** A loaded key: the raw bytes (worker threads need them) and its CryptConfig. */
export interface EncryptionKey {
  /** The 32-byte AES key. */
  readonly key: Buffer
  /** Digest, encryption and signing helpers for it. */
  readonly crypt: CryptConfig
}

/**
 * Reads a key file.
 * @throws NotFoundError (missing file), CryptoError (not a usable key: password-protected,
 *   malformed, wrong length, fingerprint mismatch).
 */
export async function loadKeyFile(path: string): Promise<EncryptionKey> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    if (isErrno(e, 'ENOENT'))
      throw new NotFoundError(`loading encryption key failed - key file '${path}' does not exist`, { path })
    throw new CryptoError(
      `loading encryption key from '${path}' failed - ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
  const key = parseKeyMaterial(bytes)
  return { key, crypt: new CryptConfig(key) }
}
