/**
 * Ticket and CSRF keys (spec/pbs-api.md §2.3–§2.4), kept in `<home>/etc` as PBS keeps them:
 * `authkey.key` / `authkey.pub` — an Ed25519 key pair (what new PBS installs generate; tickets
 * are signed without a digest) — and `csrf.key`, a base64 HMAC key. Generated on first start
 * with exclusive create, so two processes starting at once end up with the same keys.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { isErrno } from './fs-errors.js'

/** Ticket lifetime (PBS TICKET_LIFETIME): 2 h. */
export const TICKET_LIFETIME_SECONDS = 7200
/** Accepted clock skew for tickets and CSRF tokens. */
export const CLOCK_SKEW_SECONDS = 300

/** The loaded keys. */
export class AuthKeys {
  readonly #private: KeyObject
  readonly #public: KeyObject
  readonly #csrf: Buffer

  private constructor(priv: KeyObject, pub: KeyObject, csrf: Buffer) {
    this.#private = priv
    this.#public = pub
    this.#csrf = csrf
  }

  /** Loads the keys from `etcDir`, creating them on first use. */
  static async load(etcDir: string): Promise<AuthKeys> {
    await mkdir(etcDir, { recursive: true, mode: 0o750 })
    const keyPath = join(etcDir, 'authkey.key')
    const pubPath = join(etcDir, 'authkey.pub')
    const csrfPath = join(etcDir, 'csrf.key')
    const pair = generateKeyPairSync('ed25519')
    await createOnce(keyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600)
    const priv = createPrivateKey(await readFile(keyPath, 'utf8'))
    await createOnce(pubPath, createPublicKey(priv).export({ type: 'spki', format: 'pem' }).toString(), 0o640)
    await createOnce(csrfPath, `${randomBytes(32).toString('base64')}\n`, 0o640)
    const pub = createPublicKey(await readFile(pubPath, 'utf8'))
    const csrf = Buffer.from((await readFile(csrfPath, 'utf8')).trim(), 'base64')
    return new AuthKeys(priv, pub, csrf)
  }

  /** Signs bytes (Ed25519 without digest; RSA keys with SHA-256, as PBS). */
  sign(data: string): string {
    const algo = this.#private.asymmetricKeyType === 'rsa' ? 'sha256' : null
    return sign(algo, Buffer.from(data), this.#private).toString('base64').replace(/=+$/, '')
  }

  /** Verifies a signature made by {@link sign}. */
  verify(data: string, signature: string): boolean {
    const algo = this.#public.asymmetricKeyType === 'rsa' ? 'sha256' : null
    try {
      return verify(algo, Buffer.from(data), this.#public, Buffer.from(signature, 'base64'))
    } catch {
      return false
    }
  }

  /** HMAC-SHA3-256 with the CSRF key, base64 without padding. */
  csrfMac(text: string): string {
    return createHmac('sha3-256', this.#csrf).update(text).digest('base64').replace(/=+$/, '')
  }
}

async function createOnce(path: string, content: string, mode: number): Promise<void> {
  try {
    await writeFile(path, content, { flag: 'wx', mode })
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e
  }
}
