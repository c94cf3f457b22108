import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'

import { CorruptionError, ValidationError } from '../../src/errors.js'
import {
  computeDynamicIndexCsum,
  DYNAMIC_SIZED_CHUNK_INDEX_1_0,
  DynamicIndexBuilder,
  parseDynamicIndex,
} from '../../src/format/index.js'

/** Builds a didx from chunk lengths with random digests. */
function build(lengths: number[]) {
  const b = new DynamicIndexBuilder({ ctime: 42, uuid: Buffer.alloc(16, 9) })
  const entries: Array<{ end: number; digest: Buffer }> = []
  for (const len of lengths) {
    const digest = randomBytes(32)
    b.addChunk(len, digest)
    entries.push({ end: b.size, digest })
  }
  return { raw: b.finish(), entries }
}

describe('dynamic index round trip', () => {
  const cases: Array<[string, number[]]> = [
    ['no chunks', []],
    ['one chunk', [1234]],
    ['many chunks', Array.from({ length: 300 }, (_, i) => 1000 + i * 17)],
    ['end offsets above 2^32', [3 * 2 ** 31, 2 ** 31, 5]],
  ]
  for (const [name, lengths] of cases) {
    it(name, () => {
      const { raw, entries } = build(lengths)
      assert.equal(raw.length, 4096 + 40 * lengths.length)
      assert.deepEqual(raw.subarray(0, 8), DYNAMIC_SIZED_CHUNK_INDEX_1_0)
      assert.ok(
        raw.subarray(64, 4096).every((b) => b === 0),
        'reserved area is zero',
      )
      const idx = parseDynamicIndex(raw)
      assert.equal(idx.count, lengths.length)
      assert.equal(idx.ctime, 42)
      assert.deepEqual(idx.uuid, Buffer.alloc(16, 9))
      assert.equal(
        idx.size,
        lengths.reduce((a, b) => a + b, 0),
      )
      entries.forEach((e, i) => {
        assert.equal(idx.chunkEnd(i), e.end)
        assert.deepEqual(idx.digest(i), e.digest)
        assert.deepEqual(idx.chunkRange(i), { start: i === 0 ? 0 : entries[i - 1]!.end, end: e.end })
        assert.equal(raw.readBigUInt64LE(4096 + 40 * i), BigInt(e.end), 'end offset is u64 LE')
      })
      const manual = createHash('sha256')
      for (const e of entries) {
        const le = Buffer.alloc(8)
        le.writeBigUInt64LE(BigInt(e.end))
        manual.update(le).update(e.digest)
      }
      const csum = manual.digest()
      assert.deepEqual(idx.indexCsum, csum)
      assert.deepEqual(computeDynamicIndexCsum(entries), csum)
      assert.equal(idx.csumMatches(), true)
    })
  }

  it('finds the chunk holding an offset', () => {
    const { raw } = build([10, 20, 30])
    const idx = parseDynamicIndex(raw)
    const expected: Array<[number, number]> = [
      [0, 0],
      [9, 0],
      [10, 1],
      [29, 1],
      [30, 2],
      [59, 2],
    ]
    for (const [offset, chunk] of expected) assert.equal(idx.chunkIndexAt(offset), chunk, `offset ${offset}`)
    assert.throws(() => idx.chunkIndexAt(60), RangeError)
  })

  it('pushEnd takes absolute end offsets', () => {
    const b = new DynamicIndexBuilder()
    b.pushEnd(100, randomBytes(32))
    b.pushEnd(250, randomBytes(32))
    assert.throws(() => b.pushEnd(250, randomBytes(32)), ValidationError)
    assert.throws(() => b.addChunk(0, randomBytes(32)), ValidationError)
    const idx = parseDynamicIndex(b.finish())
    assert.deepEqual(idx.chunkRange(1), { start: 100, end: 250 })
  })
})

describe('dynamic index parse errors', () => {
  const { raw } = build([100, 200, 300])
  const withEnd = (i: number, value: bigint) => {
    const copy = Buffer.from(raw)
    copy.writeBigUInt64LE(value, 4096 + 40 * i)
    return copy
  }
  const cases: Array<[string, () => Buffer, RegExp]> = [
    ['truncated header', () => raw.subarray(0, 100), /truncated header/],
    ['wrong magic', () => Buffer.concat([Buffer.alloc(8, 1), raw.subarray(8)]), /wrong magic/],
    ['partial entry', () => raw.subarray(0, raw.length - 1), /not a multiple of 40/],
    ['decreasing end offsets', () => withEnd(1, 50n), /not strictly increasing at entry 1 \(50 after 100\)/],
    ['repeated end offset', () => withEnd(2, 300n), /not strictly increasing at entry 2/],
    ['zero-length first chunk', () => withEnd(0, 0n), /not strictly increasing at entry 0/],
    ['end offset beyond 2^53', () => withEnd(2, 1n << 62n), /exceeds 2\^53/],
  ]
  for (const [name, make, message] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseDynamicIndex(make()),
        (e: unknown) => e instanceof CorruptionError && message.test(e.message),
      )
    })
  }
})
