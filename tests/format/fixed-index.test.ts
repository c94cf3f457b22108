import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'

import { CorruptionError, ValidationError } from '../../src/errors.js'
import {
  computeFixedIndexCsum,
  FIXED_SIZED_CHUNK_INDEX_1_0,
  FixedIndexBuilder,
  parseFixedIndex,
} from '../../src/format/index.js'

const MiB = 1024 * 1024
const digests = (n: number): Buffer[] => Array.from({ length: n }, () => randomBytes(32))

/** Builds a fidx for `size` bytes at `chunkSize` with random digests. */
function build(size: number, chunkSize: number, ctime = 1_700_000_000) {
  const ds = digests(Math.ceil(size / chunkSize))
  const b = new FixedIndexBuilder(chunkSize)
  for (const d of ds) b.push(d)
  return { raw: b.finish(size, { ctime, uuid: Buffer.alloc(16, 7) }), ds }
}

describe('fixed index round trip', () => {
  const cases: Array<[string, number, number]> = [
    ['one full chunk', 4 * MiB, 4 * MiB],
    ['one short chunk', 1000, 4 * MiB],
    ['several chunks, short tail', 10 * MiB + 5, 4 * MiB],
    ['64 KiB chunks, exact multiple', 256 * 1024, 64 * 1024],
  ]
  for (const [name, size, chunkSize] of cases) {
    it(name, () => {
      const { raw, ds } = build(size, chunkSize)
      const n = Math.ceil(size / chunkSize)
      assert.equal(raw.length, 4096 + 32 * n)
      assert.deepEqual(raw.subarray(0, 8), FIXED_SIZED_CHUNK_INDEX_1_0)
      assert.ok(
        raw.subarray(80, 4096).every((b) => b === 0),
        'reserved area is zero',
      )
      const idx = parseFixedIndex(raw)
      assert.equal(idx.size, size)
      assert.equal(idx.chunkSize, chunkSize)
      assert.equal(idx.count, n)
      assert.equal(idx.ctime, 1_700_000_000)
      assert.deepEqual(idx.uuid, Buffer.alloc(16, 7))
      assert.deepEqual([...idx.digests()], ds)
      assert.equal(idx.digestHex(n - 1), ds[n - 1]!.toString('hex'))
      assert.deepEqual(idx.chunkRange(n - 1), { start: (n - 1) * chunkSize, end: size })
      assert.equal(idx.chunkIndexAt(size - 1), n - 1)
      const csum = createHash('sha256').update(Buffer.concat(ds)).digest()
      assert.deepEqual(idx.indexCsum, csum)
      assert.deepEqual(computeFixedIndexCsum(ds), csum)
      assert.equal(idx.csumMatches(), true)
    })
  }

  it('header fields sit at the spec offsets', () => {
    const { raw } = build(10 * MiB, 4 * MiB, 1234)
    assert.equal(raw.readBigInt64LE(24), 1234n)
    assert.equal(raw.readBigUInt64LE(64), BigInt(10 * MiB))
    assert.equal(raw.readBigUInt64LE(72), BigInt(4 * MiB))
  })

  it('random uuid and current ctime by default', () => {
    const mk = () => {
      const b = new FixedIndexBuilder(4 * MiB)
      b.push(randomBytes(32))
      return parseFixedIndex(b.finish(1))
    }
    const a = mk()
    const b = mk()
    assert.notDeepEqual(a.uuid, b.uuid)
    assert.ok(Math.abs(a.ctime - Date.now() / 1000) < 60)
  })

  it('csumMatches detects a modified digest', () => {
    const { raw } = build(8 * MiB, 4 * MiB)
    raw[4096 + 40] = (raw[4096 + 40] as number) ^ 1
    assert.equal(parseFixedIndex(raw).csumMatches(), false)
  })
})

describe('fixed index builder', () => {
  it('places chunks by offset and checks alignment and length', () => {
    const b = new FixedIndexBuilder(4 * MiB, 9 * MiB)
    const [d0, d1, d2] = digests(3) as [Buffer, Buffer, Buffer]
    b.addChunk(8 * MiB, MiB, d2)
    b.addChunk(0, 4 * MiB, d0)
    assert.throws(() => b.addChunk(MiB, 4 * MiB, d1), /aligned/)
    assert.throws(() => b.addChunk(4 * MiB, MiB, d1), /except for the last chunk/)
    assert.throws(() => b.addChunk(8 * MiB, 2 * MiB, d1), /exceeds the image size/)
    assert.throws(() => b.finish(), /chunk 1.*never set/)
    b.addChunk(4 * MiB, 4 * MiB, d1)
    assert.deepEqual([...parseFixedIndex(b.finish()).digests()], [d0, d1, d2])
  })

  it('grows beyond the initial capacity of 128 entries', () => {
    const ds = digests(300)
    const b = new FixedIndexBuilder(65536)
    for (const d of ds) b.push(d)
    assert.deepEqual([...parseFixedIndex(b.finish(300 * 65536)).digests()], ds)
  })

  const rejects: Array<[string, () => unknown, RegExp]> = [
    ['0 chunks', () => new FixedIndexBuilder(4 * MiB).finish(0), /at least one chunk/],
    [
      'digest count not matching size',
      () => {
        const b = new FixedIndexBuilder(4 * MiB)
        b.push(randomBytes(32))
        return b.finish(5 * MiB)
      },
      /needs exactly 2 digests/,
    ],
    ['chunk size not a power of two', () => new FixedIndexBuilder(3 * MiB), /power of two/],
    ['short digest', () => new FixedIndexBuilder(4 * MiB).push(Buffer.alloc(31)), /32 bytes/],
  ]
  for (const [name, fn, message] of rejects) {
    it(`rejects ${name}`, () => {
      assert.throws(fn, (e: unknown) => e instanceof ValidationError && message.test(e.message))
    })
  }
})

describe('fixed index parse errors', () => {
  const { raw } = build(10 * MiB, 4 * MiB)
  const withU64 = (offset: number, value: bigint) => {
    const copy = Buffer.from(raw)
    copy.writeBigUInt64LE(value, offset)
    return copy
  }
  const cases: Array<[string, () => Buffer, RegExp]> = [
    ['truncated header', () => raw.subarray(0, 4000), /truncated header \(4000 of 4096 bytes\)/],
    ['wrong magic', () => Buffer.concat([Buffer.alloc(8), raw.subarray(8)]), /wrong magic/],
    ['one digest byte missing', () => raw.subarray(0, raw.length - 1), /wrong file size 4191, expected 4192/],
    ['one byte too many', () => Buffer.concat([raw, Buffer.alloc(1)]), /wrong file size/],
    ['size not matching the entries', () => withU64(64, BigInt(20 * MiB)), /wrong file size/],
    [
      'chunk size not a power of two',
      () => withU64(72, 3n * BigInt(MiB)),
      /chunk size 3145728 is not a power of two/,
    ],
    ['chunk size 0', () => withU64(72, 0n), /not a power of two/],
    ['size beyond 2^53', () => withU64(64, 1n << 60n), /exceeds 2\^53/],
  ]
  for (const [name, make, message] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseFixedIndex(make()),
        (e: unknown) => e instanceof CorruptionError && message.test(e.message),
      )
    })
  }

  it('reads a header-only fidx of size 0 (which PBS never writes) as 0 chunks', () => {
    const copy = Buffer.from(raw.subarray(0, 4096))
    copy.writeBigUInt64LE(0n, 64)
    assert.equal(parseFixedIndex(copy).count, 0)
  })
})
