// The error catalogue stays honest (ANCHORS rule 4): every code has a class whose `code` equals
// its name, an HTTP status, and a section in docs/errors.md.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'

import { ERROR_CLASSES, ERROR_CODES, HTTP_STATUS_BY_CODE, ValidationError } from '../src/errors.js'

describe('error catalogue', () => {
  it('every code has a class named after it, a status and a docs section', async () => {
    const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    for (const code of ERROR_CODES) {
      const cls = ERROR_CLASSES[code] as unknown as new (m: string) => { code: string; name: string }
      const e = code === 'ValidationError' ? new ValidationError('x', 'y', 'rule') : new cls('message')
      assert.equal(e.code, code)
      assert.equal(e.name, code)
      assert.ok(HTTP_STATUS_BY_CODE[code] >= 400)
      assert.match(docs, new RegExp(`^## ${code}$`, 'm'), `docs/errors.md has a section for ${code}`)
    }
  })

  it('serialises without a stack and escapes control characters in values', () => {
    const e = new ValidationError('namespace', 'a\nb', 'bad')
    assert.deepEqual(Object.keys(e.toJSON()), ['code', 'message', 'data'])
    assert.equal(e.message, "invalid namespace 'a\\nb' - bad")
  })
})
