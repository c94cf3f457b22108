import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { LegacyLockingError } from '../../src/errors.js'
import { assertNewStyleLocking, isOldLockingActive } from '../../src/lock/old-locking.js'

let runDir: string

before(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'pbs-store-run-'))
})
after(async () => {
  await rm(runDir, { recursive: true, force: true })
})

describe('old-locking refusal', () => {
  it('passes while no old-locking marker exists', () => {
    assert.equal(isOldLockingActive(runDir), false)
    assert.doesNotThrow(() => assertNewStyleLocking(runDir, 'move-group'))
    assert.doesNotThrow(() => assertNewStyleLocking(join(runDir, 'missing'), 'move-group'))
  })

  it('refuses with LegacyLockingError naming the action and the marker when it exists', async () => {
    const marker = join(runDir, 'old-locking')
    await writeFile(marker, '')
    assert.equal(isOldLockingActive(runDir), true)
    assert.throws(
      () => assertNewStyleLocking(runDir, 'move-namespace'),
      (e: unknown) => {
        assert.ok(e instanceof LegacyLockingError)
        assert.equal(e.code, 'LegacyLockingError')
        assert.match(
          e.message,
          /^move-namespace requires new-style file-based locking - '.*\/old-locking' exists/,
        )
        assert.match(e.message, /older than 3\.3\.5/)
        assert.deepEqual(e.data, { action: 'move-namespace', marker })
        return true
      },
    )
  })
})
