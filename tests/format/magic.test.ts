import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'

import * as format from '../../src/format/index.js'

describe('format magic numbers', () => {
  const cases = Object.entries(format.MAGIC_SOURCES)

  it('lists all seven magics', () => {
    assert.equal(cases.length, 7)
  })

  for (const [name, source] of cases) {
    it(`${name} is sha256(${JSON.stringify(source)})[0..8]`, () => {
      const constant = (format as unknown as Record<string, Buffer>)[name]
      assert.ok(Buffer.isBuffer(constant), `${name} is exported`)
      assert.deepEqual(constant, createHash('sha256').update(source, 'ascii').digest().subarray(0, 8))
    })
  }

  it('matches the decimal bytes of the spec table for the uncompressed blob magic', () => {
    assert.deepEqual([...format.UNCOMPRESSED_BLOB_MAGIC_1_0], [66, 171, 56, 7, 190, 131, 112, 161])
  })

  it('hasMagic compares only the first 8 bytes and rejects short input', () => {
    const buf = Buffer.concat([format.FIXED_SIZED_CHUNK_INDEX_1_0, Buffer.from('rest')])
    assert.equal(format.hasMagic(buf, format.FIXED_SIZED_CHUNK_INDEX_1_0), true)
    assert.equal(format.hasMagic(buf, format.DYNAMIC_SIZED_CHUNK_INDEX_1_0), false)
    assert.equal(format.hasMagic(buf.subarray(0, 7), format.FIXED_SIZED_CHUNK_INDEX_1_0), false)
  })
})
