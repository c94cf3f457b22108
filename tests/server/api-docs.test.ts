// docs/api.md lists every endpoint the server registers (run from the repository root).
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { ENDPOINTS } from '../../src/server/build-server.js'

describe('docs/api.md', () => {
  it('documents every endpoint with its parameters', async () => {
    const doc = await readFile(join(process.cwd(), 'docs', 'api.md'), 'utf8')
    for (const ep of ENDPOINTS) {
      const heading = `#### \`${ep.method} ${ep.path}\``
      assert.ok(doc.includes(heading), `missing ${heading}`)
      const section = doc.slice(doc.indexOf(heading), doc.indexOf('\n#### ', doc.indexOf(heading) + 1))
      for (const p of Object.keys(ep.params))
        assert.ok(section.includes(`\`${p}\``), `${heading}: parameter ${p} missing`)
    }
  })
})
