/**
 * Password and token-secret hashes (spec/pbs-api.md §2.7): `shadow.json` maps the user NAME of a
 * `pbs`-realm user (without `@pbs`) to a hash; `token.shadow` maps a full token id to the hash of
 * its secret. PBS writes crypt(3) yescrypt strings; we write node:crypto scrypt in a crypt-like
 * form `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<hash b64>` with a random 32-byte salt.
 * Hashes from a real PBS (`$y$`, `$5$`) are not verifiable here and fail closed.
 */
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'

import { ConfigError } from '../errors.js'
import { readConfigFile, writeConfigFileAtomic } from './config-file.js'

/** Password hashes, keyed by user name without realm. */
export const SHADOW_FILE = 'shadow.json'
/** Token secret hashes, keyed by token id. */
export const TOKEN_SHADOW_FILE = 'token.shadow'

const SCRYPT_LOG_N = 14
const SCRYPT_R = 8
const SCRYPT_P = 1
const KEY_LENGTH = 32

function scryptAsync(secret: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** Hashes a password or token secret with a fresh random salt. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(32)
  const key = await scryptAsync(secret, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
  return `$scrypt$ln=${SCRYPT_LOG_N},r=${SCRYPT_R},p=${SCRYPT_P}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Checks a secret against a stored hash in constant time; unknown schemes fail. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored)
  if (!m) return false
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false
  const expected = Buffer.from(m[5]!, 'base64')
  const key = await scryptAsync(secret, Buffer.from(m[4]!, 'base64'), logN, r, p)
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** A new token secret: a random lowercase hyphenated UUID, as PBS generates. */
export function generateTokenSecret(): string {
  return randomUUID()
}

/** One of the two JSON secret files. */
export type SecretFile = typeof SHADOW_FILE | typeof TOKEN_SHADOW_FILE

/** Loads a secret file as a key → hash map (missing = empty). @throws ConfigError */
export async function loadSecrets(etcDir: string, file: SecretFile): Promise<Map<string, string>> {
  const text = await readConfigFile(join(etcDir, file))
  if (text.trim() === '') return new Map()
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`parsing '${file}' failed - ${(e as Error).message}`, { file })
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new ConfigError(`parsing '${file}' failed - expected a JSON object`, { file })
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(obj as Record<string, unknown>))
    if (typeof v === 'string') out.set(k, v)
  return out
}

/** Saves a secret file (mode 0600); shadow.json pretty-printed, token.shadow compact, as PBS. */
export async function saveSecrets(
  etcDir: string,
  file: SecretFile,
  secrets: Map<string, string>,
): Promise<void> {
  const obj = Object.fromEntries(secrets)
  const text = file === SHADOW_FILE ? `${JSON.stringify(obj, null, 2)}\n` : JSON.stringify(obj)
  await writeConfigFileAtomic(join(etcDir, file), text, 0o600)
}

/** The shadow.json key of a pbs-realm user: the name without `@pbs`. */
export function shadowKey(userid: string): string {
  return userid.slice(0, userid.lastIndexOf('@'))
}
