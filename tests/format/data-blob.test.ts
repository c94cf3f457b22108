import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { crc32 } from 'node:zlib'

import zstd from 'zstd-napi/binding.js'

import { CorruptionError, CryptoError, ValidationError } from '../../src/errors.js'
import {
  BLOB_HEADER_SIZE,
  blobCryptMode,
  blobHeaderSize,
  blobIsCompressed,
  blobIsEncrypted,
  COMPRESSED_BLOB_MAGIC_1_0,
  computeBlobCrc,
  CryptConfig,
  decodeBlob,
  ENCR_COMPR_BLOB_MAGIC_1_0,
  ENCRYPTED_BLOB_HEADER_SIZE,
  ENCRYPTED_BLOB_MAGIC_1_0,
  encodeBlob,
  MAX_BLOB_SIZE,
  plainDigest,
  setBlobCrc,
  UNCOMPRESSED_BLOB_MAGIC_1_0,
  verifyBlobCrc,
} from '../../src/format/index.js'

const MiB = 1024 * 1024
const crypt = new CryptConfig(randomBytes(32))
const compressible = Buffer.from('proxmox backup '.repeat(10_000))
const incompressible = randomBytes(64 * 1024)

describe('DataBlob round trip', () => {
  const variants: Array<{
    name: string
    compress: boolean
    encrypt: boolean
    magic: Buffer
    header: number
  }> = [
    { name: 'uncompressed', compress: false, encrypt: false, magic: UNCOMPRESSED_BLOB_MAGIC_1_0, header: 12 },
    { name: 'compressed', compress: true, encrypt: false, magic: COMPRESSED_BLOB_MAGIC_1_0, header: 12 },
    { name: 'encrypted', compress: false, encrypt: true, magic: ENCRYPTED_BLOB_MAGIC_1_0, header: 44 },
    {
      name: 'encrypted+compressed',
      compress: true,
      encrypt: true,
      magic: ENCR_COMPR_BLOB_MAGIC_1_0,
      header: 44,
    },
  ]
  for (const v of variants) {
    it(`${v.name}: magic, header, crc over the payload, decode gives the data back`, () => {
      const raw = encodeBlob(compressible, { compress: v.compress, crypt: v.encrypt ? crypt : undefined })
      assert.deepEqual(raw.subarray(0, 8), v.magic)
      assert.equal(blobHeaderSize(raw), v.header)
      assert.equal(raw.readUInt32LE(8), crc32(raw.subarray(v.header)))
      assert.equal(computeBlobCrc(raw), raw.readUInt32LE(8))
      assert.equal(blobCryptMode(raw), v.encrypt ? 'encrypt' : 'none')
      assert.equal(blobIsEncrypted(raw), v.encrypt)
      assert.equal(blobIsCompressed(raw), v.compress)
      if (v.compress) assert.ok(raw.length < compressible.length / 10, 'compressed form is used')
      else assert.equal(raw.length, v.header + compressible.length)
      assert.deepEqual(decodeBlob(raw, v.encrypt ? crypt : undefined), compressible)
    })
  }

  it('encrypted layout is magic|crc|iv|tag|ciphertext (44-byte packed header); the crc excludes iv and tag', () => {
    const raw = encodeBlob(Buffer.from('hello'), { compress: false, crypt })
    assert.equal(ENCRYPTED_BLOB_HEADER_SIZE, 8 + 4 + 16 + 16)
    assert.equal(raw.length, 44 + 5)
    assert.deepEqual(
      crypt.decrypt(raw.subarray(12, 28), raw.subarray(28, 44), raw.subarray(44)),
      Buffer.from('hello'),
    )
    const tampered = Buffer.from(raw)
    tampered[20] = (tampered[20] as number) ^ 0xff // inside the IV: crc still fine, GCM must fail
    assert.doesNotThrow(() => verifyBlobCrc(tampered))
    assert.throws(() => decodeBlob(tampered, crypt), CryptoError)
  })

  it('round-trips empty data (stored uncompressed even when compression is asked)', () => {
    const raw = encodeBlob(Buffer.alloc(0), { compress: true })
    assert.equal(raw.length, BLOB_HEADER_SIZE)
    assert.deepEqual(raw.subarray(0, 8), UNCOMPRESSED_BLOB_MAGIC_1_0)
    assert.equal(decodeBlob(raw).length, 0)
  })

  it('keeps incompressible data uncompressed, with and without encryption', () => {
    const plain = encodeBlob(incompressible, { compress: true })
    assert.deepEqual(plain.subarray(0, 8), UNCOMPRESSED_BLOB_MAGIC_1_0)
    assert.equal(plain.length, BLOB_HEADER_SIZE + incompressible.length)
    const enc = encodeBlob(incompressible, { compress: true, crypt })
    assert.deepEqual(enc.subarray(0, 8), ENCRYPTED_BLOB_MAGIC_1_0)
    assert.deepEqual(decodeBlob(enc, crypt), incompressible)
  })

  it('uses the compressed form only if it fits: boundary between "fits" and "does not fit"', () => {
    // A compressible prefix followed by random bytes: the frame is a little larger or smaller
    // than the input depending on the prefix length. Find the crossover and check both sides.
    const tail = randomBytes(4000)
    const build = (n: number) => Buffer.concat([Buffer.alloc(n), tail])
    let fits = -1
    for (let n = 0; n <= 1024; n++) {
      if (blobIsCompressed(encodeBlob(build(n), { compress: true }))) {
        fits = n
        break
      }
    }
    assert.ok(fits > 0, 'some prefix length makes the frame fit')
    const atBoundary = encodeBlob(build(fits), { compress: true })
    assert.ok(atBoundary.length - BLOB_HEADER_SIZE <= fits + tail.length)
    const below = encodeBlob(build(fits - 1), { compress: true })
    assert.equal(blobIsCompressed(below), false)
    assert.equal(below.length, BLOB_HEADER_SIZE + fits - 1 + tail.length)
    assert.deepEqual(decodeBlob(atBoundary), build(fits))
  })

  it('decodeBlob checks an expected digest (plain and keyed)', () => {
    const data = Buffer.from('digest me')
    const plain = encodeBlob(data, { compress: false })
    assert.doesNotThrow(() => decodeBlob(plain, undefined, { expectedDigest: plainDigest(data) }))
    assert.throws(() => decodeBlob(plain, undefined, { expectedDigest: Buffer.alloc(32) }), /wrong digest/)
    const enc = encodeBlob(data, { compress: true, crypt })
    assert.doesNotThrow(() => decodeBlob(enc, crypt, { expectedDigest: crypt.computeDigest(data) }))
    assert.throws(() => decodeBlob(enc, crypt, { expectedDigest: plainDigest(data) }), CorruptionError)
  })
})

/** A zstd frame without content size in its header, as streaming encoders write it. */
function streamingFrame(data: Buffer): Buffer {
  const cctx = new zstd.CCtx()
  cctx.setParameter(zstd.CParameter.compressionLevel, 1)
  const out = Buffer.alloc(zstd.compressBound(data.length) + 64)
  const [, first] = cctx.compressStream2(out, data, zstd.EndDirective.continue)
  const [remaining, second] = cctx.compressStream2(
    out.subarray(first),
    Buffer.alloc(0),
    zstd.EndDirective.end,
  )
  assert.equal(remaining, 0)
  return out.subarray(0, first + second)
}

/** A compressed blob around an arbitrary zstd payload. */
function compressedBlob(payload: Buffer): Buffer {
  const raw = Buffer.concat([COMPRESSED_BLOB_MAGIC_1_0, Buffer.alloc(4), payload])
  setBlobCrc(raw)
  return raw
}

describe('DataBlob zstd frames written by other encoders', () => {
  const data = Buffer.from('frame data '.repeat(50_000))

  it('decodes a frame without content size (streaming decoder path)', () => {
    const frame = streamingFrame(data)
    assert.equal(zstd.getFrameContentSize(frame), null)
    assert.deepEqual(decodeBlob(compressedBlob(frame)), data)
  })

  it('decodes concatenated frames', () => {
    const two = Buffer.concat([streamingFrame(data), streamingFrame(Buffer.from('tail'))])
    assert.deepEqual(decodeBlob(compressedBlob(two)), Buffer.concat([data, Buffer.from('tail')]))
  })

  it('rejects a truncated streaming frame instead of returning partial data', () => {
    const frame = streamingFrame(data)
    assert.throws(() => decodeBlob(compressedBlob(frame.subarray(0, frame.length - 4))), CorruptionError)
  })

  it('refuses frames that claim more than 128 MiB', () => {
    const dst = Buffer.alloc(MiB)
    const written = zstd.compress(dst, Buffer.alloc(MAX_BLOB_SIZE + 1), 1)
    assert.throws(() => decodeBlob(compressedBlob(dst.subarray(0, written))), /exceeds 134217728 bytes/)
  })
})

describe('DataBlob corruption and key errors', () => {
  const good = encodeBlob(compressible, { compress: true })
  const goodEnc = encodeBlob(compressible, { compress: true, crypt })

  const flip = (raw: Buffer, at: number): Buffer => {
    const copy = Buffer.from(raw)
    copy[at] = (copy[at] as number) ^ 0x01
    return copy
  }

  const cases: Array<{
    name: string
    raw: () => Buffer
    key?: CryptConfig
    error: new (...a: never[]) => Error
    message: RegExp
  }> = [
    {
      name: 'flipped payload byte',
      raw: () => flip(good, 40),
      error: CorruptionError,
      message: /crc mismatch/,
    },
    { name: 'flipped crc byte', raw: () => flip(good, 9), error: CorruptionError, message: /crc mismatch/ },
    {
      name: 'flipped ciphertext byte',
      raw: () => flip(goodEnc, 60),
      key: crypt,
      error: CorruptionError,
      message: /crc mismatch/,
    },
    {
      name: 'truncated header (11 bytes)',
      raw: () => good.subarray(0, 11),
      error: CorruptionError,
      message: /blob too small \(11 bytes\)/,
    },
    {
      name: 'encrypted blob shorter than its 44-byte header',
      raw: () => goodEnc.subarray(0, 43),
      key: crypt,
      error: CorruptionError,
      message: /encrypted blob too small \(43 bytes\)/,
    },
    { name: 'unknown magic', raw: () => flip(good, 0), error: CorruptionError, message: /wrong magic/ },
    { name: 'missing key', raw: () => goodEnc, error: CryptoError, message: /missing encryption key/ },
    {
      name: 'wrong key',
      raw: () => goodEnc,
      key: new CryptConfig(randomBytes(32)),
      error: CryptoError,
      message: /wrong key or corrupted data/,
    },
  ]
  for (const c of cases) {
    it(`detects ${c.name}`, () => {
      assert.throws(
        () => decodeBlob(c.raw(), c.key),
        (e: unknown) => e instanceof c.error && c.message.test(e.message),
      )
    })
  }

  it('verifyBlobCrc passes good blobs and names a crc mismatch', () => {
    assert.doesNotThrow(() => verifyBlobCrc(good))
    assert.throws(() => verifyBlobCrc(flip(good, 30)), /crc mismatch/)
  })

  it('setBlobCrc repairs an unset crc in place (server-side upload handling)', () => {
    const raw = Buffer.from(good)
    raw.writeUInt32LE(0, 8)
    assert.throws(() => verifyBlobCrc(raw), CorruptionError)
    assert.equal(setBlobCrc(raw), good.readUInt32LE(8))
    assert.doesNotThrow(() => verifyBlobCrc(raw))
  })

  it('reports corrupt zstd data inside a blob with a valid crc', () => {
    const raw = Buffer.from(good)
    raw.fill(0x55, 16, 50)
    setBlobCrc(raw)
    assert.throws(
      () => decodeBlob(raw),
      (e: unknown) => e instanceof CorruptionError && /decompress/.test(e.message),
    )
  })

  it('reports a truncated zstd frame', () => {
    const raw = Buffer.from(good.subarray(0, good.length - 5))
    setBlobCrc(raw)
    assert.throws(() => decodeBlob(raw), CorruptionError)
  })

  it('checks the 128 MiB limit before doing any work', () => {
    // allocUnsafe does not touch the pages; exactly the limit is allowed, one byte more is not.
    const big = Buffer.allocUnsafe(MAX_BLOB_SIZE + 1)
    assert.throws(
      () => encodeBlob(big, { compress: true, crypt }),
      (e: unknown) => e instanceof ValidationError && /maximum of 134217728 bytes/.test(e.message),
    )
    const atLimit = encodeBlob(big.subarray(0, MAX_BLOB_SIZE), { compress: false })
    assert.equal(atLimit.length, MAX_BLOB_SIZE + BLOB_HEADER_SIZE)
  })
})

describe('DataBlob throughput (informational)', () => {
  it('prints encode/decode MB/s for a 4 MiB chunk', (t) => {
    const chunk = Buffer.concat([
      randomBytes(2 * 1024 * 1024),
      Buffer.from('text '.repeat(419431)).subarray(0, 2 * 1024 * 1024),
    ])
    const rounds = 8
    const mb = (rounds * chunk.length) / 1048576
    const results: string[] = []
    for (const [name, opts] of [
      ['plain', { compress: false }],
      ['zstd', { compress: true }],
      ['zstd+aes', { compress: true, crypt }],
    ] as const) {
      let raw: Buffer = Buffer.alloc(0)
      const t0 = performance.now()
      for (let i = 0; i < rounds; i++) raw = encodeBlob(chunk, opts)
      const t1 = performance.now()
      for (let i = 0; i < rounds; i++) decodeBlob(raw, 'crypt' in opts ? opts.crypt : undefined)
      const t2 = performance.now()
      results.push(
        `${name}: encode ${(mb / ((t1 - t0) / 1000)).toFixed(0)} MB/s, decode ${(mb / ((t2 - t1) / 1000)).toFixed(0)} MB/s`,
      )
    }
    t.diagnostic(results.join('; '))
    assert.equal(results.length, 3)
  })
})
