import assert from 'node:assert/strict'
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'

import { CryptoError } from '../../src/errors.js'
import {
  CryptConfig,
  formatFingerprint,
  parseFingerprint,
  parseKeyMaterial,
  plainDigest,
  serializeKeyConfig,
} from '../../src/format/index.js'

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')

describe('CryptConfig', () => {
  const config = new CryptConfig(KEY)
  const idKey = pbkdf2Sync(KEY, '_id_key', 10, 32, 'sha256')

  it('computes keyed digests as SHA256(data || id_key)', () => {
    const data = Buffer.from('some chunk data')
    assert.deepEqual(config.computeDigest(data), createHash('sha256').update(data).update(idKey).digest())
    assert.notDeepEqual(config.computeDigest(data), plainDigest(data))
  })

  it('computes auth tags as HMAC-SHA256 keyed with id_key', () => {
    assert.deepEqual(config.computeAuthTag('msg'), createHmac('sha256', idKey).update('msg').digest())
  })

  it('derives the fingerprint from the fixed input and id_key, full and short', () => {
    const input = createHash('sha256').update('Proxmox Backup Encryption Key Fingerprint').digest()
    const expected = createHash('sha256').update(input).update(idKey).digest()
    assert.deepEqual(config.fingerprint, expected)
    const full = config.fingerprintString()
    assert.match(full, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
    assert.equal(full, formatFingerprint(expected))
    assert.equal(config.shortFingerprint(), full.slice(0, 23))
  })

  it('round-trips AES-256-GCM with a 16-byte IV and equal-length ciphertext', () => {
    const plain = randomBytes(1000)
    const enc = config.encrypt(plain)
    assert.equal(enc.iv.length, 16)
    assert.equal(enc.tag.length, 16)
    assert.equal(enc.ciphertext.length, plain.length)
    assert.deepEqual(config.decrypt(enc.iv, enc.tag, enc.ciphertext), plain)
  })

  it('uses a fresh random IV per encryption', () => {
    const a = config.encrypt(Buffer.from('x'))
    const b = config.encrypt(Buffer.from('x'))
    assert.notDeepEqual(a.iv, b.iv)
  })

  it('rejects a wrong key and a modified ciphertext with CryptoError', () => {
    const enc = config.encrypt(Buffer.from('secret'))
    const other = new CryptConfig(randomBytes(32))
    assert.throws(() => other.decrypt(enc.iv, enc.tag, enc.ciphertext), CryptoError)
    const bad = Buffer.from(enc.ciphertext)
    bad[0] = (bad[0] as number) ^ 1
    assert.throws(() => config.decrypt(enc.iv, enc.tag, bad), /wrong key or corrupted data/)
  })

  it('rejects keys that are not 32 bytes', () => {
    assert.throws(() => new CryptConfig(Buffer.alloc(16)), CryptoError)
  })

  it('never exposes key material in JSON', () => {
    const json = JSON.stringify(config)
    assert.ok(!json.includes(KEY.toString('hex')))
    assert.ok(json.includes(config.fingerprintString()))
  })

  it('sameKey compares keys by fingerprint', () => {
    assert.equal(config.sameKey(new CryptConfig(KEY)), true)
    assert.equal(config.sameKey(new CryptConfig(randomBytes(32))), false)
  })
})

describe('fingerprint text', () => {
  it('parses with or without colons and in upper case', () => {
    const bytes = randomBytes(32)
    const text = formatFingerprint(bytes)
    assert.deepEqual(parseFingerprint(text), bytes)
    assert.deepEqual(parseFingerprint(text.toUpperCase().replace(/:/g, '')), bytes)
    assert.throws(() => parseFingerprint('12:34'), /32 bytes/)
  })
})

describe('parseKeyMaterial', () => {
  it('accepts a raw 32-byte key', () => {
    assert.deepEqual(parseKeyMaterial(KEY), KEY)
  })

  it('accepts a key file without password and checks its fingerprint', () => {
    const text = serializeKeyConfig(KEY, 1_700_000_000)
    const parsed = JSON.parse(text) as Record<string, unknown>
    assert.equal(parsed.kdf, null)
    assert.equal(parsed.created, '2023-11-14T22:13:20Z')
    assert.equal(parsed.fingerprint, new CryptConfig(KEY).fingerprintString())
    assert.deepEqual(parseKeyMaterial(Buffer.from(text)), KEY)
  })

  it('accepts a PBS-style key file with offset timestamps and no fingerprint', () => {
    const text = JSON.stringify({
      kdf: null,
      created: '2020-06-26T15:56:05+02:00',
      modified: '2020-06-26T15:56:05+02:00',
      data: KEY.toString('base64'),
    })
    assert.deepEqual(parseKeyMaterial(Buffer.from(text)), KEY)
  })

  const rejects: Array<[string, unknown, RegExp]> = [
    [
      'password-protected (scrypt)',
      { kdf: { Scrypt: { n: 65536, r: 8, p: 1, salt: 'AA==' } }, data: 'AA==' },
      /password-protected key files are not supported yet/,
    ],
    [
      'password-protected (pbkdf2)',
      { kdf: { PBKDF2: { iter: 65535, salt: 'AA==' } }, data: 'AA==' },
      /password-protected/,
    ],
    [
      'wrong fingerprint',
      { kdf: null, data: KEY.toString('base64'), fingerprint: formatFingerprint(Buffer.alloc(32)) },
      /wrong fingerprint/,
    ],
    ['short data', { kdf: null, data: Buffer.alloc(16).toString('base64') }, /16 bytes, expected 32/],
    ['missing data', { kdf: null }, /no base64 'data'/],
    ['not an object', [1, 2, 3], /not a JSON object/],
  ]
  for (const [name, json, message] of rejects) {
    it(`rejects a key file with ${name}`, () => {
      assert.throws(
        () => parseKeyMaterial(Buffer.from(JSON.stringify(json))),
        (e: unknown) => e instanceof CryptoError && message.test(e.message),
      )
    })
  }

  it('rejects bytes that are neither a raw key nor JSON', () => {
    assert.throws(() => parseKeyMaterial(randomBytes(31)), CryptoError)
  })
})
