import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'

import { CorruptionError } from '../../src/errors.js'
import {
  blobCryptMode,
  blobIsCompressed,
  buildZeroChunk,
  chunkDigest,
  CryptConfig,
  decodeBlob,
  encodeBlob,
  encodeChunk,
  verifyUnencryptedChunk,
  ZERO_CHUNK_4M_DIGEST,
} from '../../src/format/index.js'

describe('chunk digests', () => {
  it('the digest of 4 MiB of zeros is bb9f8df6…3af8', () => {
    const digest = createHash('sha256')
      .update(Buffer.alloc(4 * 1024 * 1024))
      .digest('hex')
    assert.ok(digest.startsWith('bb9f8df6'))
    assert.ok(digest.endsWith('3af8'))
    assert.equal(ZERO_CHUNK_4M_DIGEST, digest)
  })

  it('buildZeroChunk is the compressed 4 MiB zero chunk with that digest', () => {
    const { digest, blob } = buildZeroChunk()
    assert.equal(digest.toString('hex'), ZERO_CHUNK_4M_DIGEST)
    assert.equal(blobIsCompressed(blob), true)
    assert.ok(blob.length < 1024)
    assert.equal(decodeBlob(blob).length, 4 * 1024 * 1024)
  })

  it('the digest does not depend on compression, but on the key', () => {
    const data = Buffer.from('x'.repeat(5000))
    const a = encodeChunk(data, { compress: true })
    const b = encodeChunk(data, { compress: false })
    assert.deepEqual(a.digest, b.digest)
    assert.notDeepEqual(a.blob, b.blob)
    const crypt = new CryptConfig(randomBytes(32))
    const c = encodeChunk(data, { crypt })
    assert.deepEqual(c.digest, chunkDigest(data, crypt))
    assert.notDeepEqual(c.digest, a.digest)
    assert.equal(blobCryptMode(c.blob), 'encrypt')
  })
})

describe('verifyUnencryptedChunk (server upload check)', () => {
  const data = Buffer.from('chunk payload '.repeat(100))
  const { digest, blob } = encodeChunk(data)

  it('accepts the right digest and size', () => {
    assert.doesNotThrow(() => verifyUnencryptedChunk(blob, data.length, digest))
  })

  it('rejects a wrong digest', () => {
    assert.throws(() => verifyUnencryptedChunk(blob, data.length, Buffer.alloc(32)), /wrong digest/)
  })

  it('rejects a wrong size', () => {
    assert.throws(
      () => verifyUnencryptedChunk(blob, data.length + 1, digest),
      (e: unknown) => e instanceof CorruptionError && /wrong length/.test(e.message),
    )
  })

  it('does not check the crc (the server recomputes it) and lets encrypted chunks pass', () => {
    const noCrc = Buffer.from(blob)
    noCrc.writeUInt32LE(0, 8)
    assert.doesNotThrow(() => verifyUnencryptedChunk(noCrc, data.length, digest))
    const enc = encodeBlob(data, { compress: true, crypt: new CryptConfig(randomBytes(32)) })
    assert.doesNotThrow(() => verifyUnencryptedChunk(enc, 1, Buffer.alloc(32)))
  })
})
