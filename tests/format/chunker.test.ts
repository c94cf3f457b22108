import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'

import { ValidationError } from '../../src/errors.js'
import { BUZHASH_TABLE, Chunker, splitFixed } from '../../src/format/index.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Chunk end offsets when the whole buffer is available at once. */
function boundariesWhole(data: Uint8Array, avg: number): number[] {
  const chunker = new Chunker(avg)
  const ends: number[] = []
  let pos = 0
  for (;;) {
    const k = chunker.scan(data.subarray(pos))
    if (k === 0) break
    pos += k
    ends.push(pos)
  }
  return ends
}

/** Chunk end offsets when data arrives in pieces of `nextSize()` bytes (as ChunkStream feeds it). */
function boundariesPieces(data: Uint8Array, avg: number, nextSize: () => number): number[] {
  const chunker = new Chunker(avg)
  const ends: number[] = []
  let pos = 0
  while (pos < data.length) {
    const n = Math.min(Math.max(1, nextSize()), data.length - pos)
    let piece = data.subarray(pos, pos + n)
    let base = pos
    for (;;) {
      const k = chunker.scan(piece)
      if (k === 0) break
      base += k
      ends.push(base)
      piece = piece.subarray(k)
    }
    pos += n
  }
  return ends
}

/** Deterministic pseudo-random sizes, so a failure can be reproduced. */
function lcg(seed: number, max: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return 1 + (s % max)
  }
}

describe('buzhash table', () => {
  it('has 256 u32 entries with the casync first and last values', () => {
    assert.equal(BUZHASH_TABLE.length, 256)
    assert.equal(BUZHASH_TABLE[0], 0x458be752)
    assert.equal(BUZHASH_TABLE[1], 0xc10748cc)
    assert.equal(BUZHASH_TABLE[255], 0xd95ddf11)
    assert.ok(BUZHASH_TABLE.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff))
    assert.equal(new Set(BUZHASH_TABLE).size, 256)
  })
})

describe('Chunker', () => {
  it('reproduces the boundaries of the PBS chunker test (counter data, avg 64 KiB)', () => {
    // pbs-datastore/src/chunker.rs test_suggested_boundary: u32 LE counter bytes; after a cut at
    // 32768 the regular chunker finds 110609; after a cut at 372753 it finds 32768 (=405521),
    // then two max-size chunks and no boundary in the remaining 118767 bytes.
    const buf = Buffer.alloc(MiB)
    for (let i = 0; i < 262144; i++) buf.writeUInt32LE(i, i * 4)
    const fromOffset = (start: number) => boundariesWhole(buf.subarray(start), 64 * KiB)
    assert.deepEqual(fromOffset(32768)[0], 110609)
    assert.deepEqual(fromOffset(372753), [32768, 32768 + 262144, 32768 + 2 * 262144])
    assert.ok(fromOffset(143377)[0]! >= 229376, 'no boundary within the 229376 bytes PBS cut at a suggestion')
  })

  describe('split invariance (avg 64 KiB, random data)', () => {
    const data = randomBytes(20 * MiB)
    const reference = boundariesWhole(data, 64 * KiB)

    it('finds a plausible number of boundaries', () => {
      assert.ok(reference.length > 20 * 4 && reference.length < 20 * 16 * 2, `${reference.length} chunks`)
    })

    const feeds: Array<[string, () => number]> = [
      ['63-byte pieces (just under the window)', () => 63],
      ['64-byte pieces (the window)', () => 64],
      ['65-byte pieces', () => 65],
      ['4 KiB pieces', () => 4096],
      ['random pieces up to 1 KiB', lcg(1, 1024)],
      ['random pieces up to 300 KiB', lcg(2, 300 * KiB)],
      ['random pieces up to 3 MiB', lcg(3, 3 * MiB)],
    ]
    for (const [name, sizes] of feeds) {
      it(`gives the same boundaries fed in ${name}`, () => {
        assert.deepEqual(boundariesPieces(data, 64 * KiB, sizes), reference)
      })
    }

    it('gives the same boundaries fed 1 byte at a time (first 2 MiB)', () => {
      const part = data.subarray(0, 2 * MiB)
      assert.deepEqual(
        boundariesPieces(part, 64 * KiB, () => 1),
        boundariesWhole(part, 64 * KiB),
      )
    })

    it('respects min (16 KiB) and max (256 KiB) chunk sizes', () => {
      let prev = 0
      for (const end of reference) {
        const size = end - prev
        assert.ok(size >= 16 * KiB && size <= 256 * KiB, `chunk of ${size} bytes at ${prev}`)
        prev = end
      }
    })
  })

  it('cuts constant data at max size at the latest', () => {
    const ends = boundariesWhole(Buffer.alloc(3 * MiB), 64 * KiB)
    assert.ok(ends.length >= 11)
    let prev = 0
    for (const end of ends) {
      assert.ok(end - prev <= 256 * KiB && end - prev >= 16 * KiB)
      prev = end
    }
  })

  it('default avg 4 MiB: min 1 MiB, max 16 MiB; split invariance on 48 MiB; prints throughput', (t) => {
    const chunker = new Chunker()
    assert.deepEqual([chunker.avgSize, chunker.minSize, chunker.maxSize], [4 * MiB, MiB, 16 * MiB])
    const data = randomBytes(48 * MiB)
    const t0 = performance.now()
    const whole = boundariesWhole(data, 4 * MiB)
    const ms = performance.now() - t0
    t.diagnostic(
      `chunker throughput (avg 4 MiB): ${(48 / (ms / 1000)).toFixed(0)} MB/s, ${whole.length} boundaries`,
    )
    assert.ok(whole.length >= 2)
    assert.deepEqual(boundariesPieces(data, 4 * MiB, lcg(4, 2 * MiB)), whole)
    let prev = 0
    for (const end of whole) {
      assert.ok(end - prev >= MiB && end - prev <= 16 * MiB)
      prev = end
    }
  })

  it('returns 0 and keeps state when no boundary is in the data; reset forgets it', () => {
    const data = randomBytes(300 * KiB)
    const ref = boundariesWhole(data, 64 * KiB)[0]!
    const c = new Chunker(64 * KiB)
    assert.equal(c.scan(data.subarray(0, 10)), 0)
    assert.equal(c.scan(data.subarray(10)), ref - 10)
    c.scan(data.subarray(0, 5000))
    c.reset()
    assert.equal(c.scan(data), ref)
  })

  const badAvg: number[] = [0, 1000, 3 * 65536, 32, 2 ** 29]
  for (const avg of badAvg) {
    it(`rejects average size ${avg}`, () => assert.throws(() => new Chunker(avg), ValidationError))
  }
})

describe('splitFixed', () => {
  const cases: Array<[number, number, Array<[number, number]>]> = [
    [0, 4 * MiB, []],
    [1, 4 * MiB, [[0, 1]]],
    [4 * MiB, 4 * MiB, [[0, 4 * MiB]]],
    [
      4 * MiB + 1,
      4 * MiB,
      [
        [0, 4 * MiB],
        [4 * MiB, 1],
      ],
    ],
    [
      200 * KiB,
      64 * KiB,
      [
        [0, 64 * KiB],
        [64 * KiB, 64 * KiB],
        [128 * KiB, 64 * KiB],
        [192 * KiB, 8 * KiB],
      ],
    ],
  ]
  for (const [size, chunkSize, expected] of cases) {
    it(`splits ${size} bytes at ${chunkSize}`, () => {
      assert.deepEqual(
        splitFixed(size, chunkSize).map((s) => [s.offset, s.length]),
        expected,
      )
    })
  }

  it('defaults to 4 MiB and rejects bad arguments', () => {
    assert.equal(splitFixed(9 * MiB).length, 3)
    assert.throws(() => splitFixed(-1), ValidationError)
    assert.throws(() => splitFixed(10, 3000), ValidationError)
  })
})
