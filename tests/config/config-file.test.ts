import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { StorageError } from '../../src/errors.js'
import { readConfigFile, writeConfigFileAtomic } from '../../src/config/config-file.js'

describe('config files', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbs-store-config-file-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads a missing file as empty content', async () => {
    assert.equal(await readConfigFile(join(dir, 'datastore.cfg')), '')
  })

  it('reads an existing file as UTF-8', async () => {
    await writeFile(join(dir, 'a.cfg'), 'datastore: äöü\n')
    assert.equal(await readConfigFile(join(dir, 'a.cfg')), 'datastore: äöü\n')
  })

  it('fails loudly on read errors other than a missing file', async () => {
    await mkdir(join(dir, 'sub.cfg'))
    await assert.rejects(readConfigFile(join(dir, 'sub.cfg')), (e: unknown) => {
      assert.ok(e instanceof StorageError)
      assert.match(e.message, /^reading config file '.*sub\.cfg' failed - /)
      return true
    })
  })

  it('creates and replaces content, leaving no temp files, with the requested mode', async () => {
    const path = join(dir, 'datastore.cfg')
    await writeConfigFileAtomic(path, 'first\n')
    assert.equal(await readFile(path, 'utf8'), 'first\n')
    assert.equal((await stat(path)).mode & 0o777, 0o640)
    await writeConfigFileAtomic(path, 'second, longer content\n', 0o600)
    assert.equal(await readFile(path, 'utf8'), 'second, longer content\n')
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    await writeConfigFileAtomic(path, '')
    assert.equal(await readFile(path, 'utf8'), '')
    assert.deepEqual(await readdir(dir), ['datastore.cfg'])
  })

  it('removes its temp file when the rename fails', async () => {
    const path = join(dir, 'taken.cfg')
    await mkdir(path)
    await assert.rejects(writeConfigFileAtomic(path, 'x\n'), (e: unknown) => {
      assert.ok(e instanceof StorageError)
      assert.match(e.message, /^writing config file '.*taken\.cfg' failed - /)
      return true
    })
    assert.deepEqual(await readdir(dir), ['taken.cfg'])
  })

  it('never shows a reader a partial file while writers race', async () => {
    const path = join(dir, 'race.cfg')
    const a = `${'a'.repeat(256 * 1024)}\n`
    const b = `${'b'.repeat(300 * 1024)}\n`
    await writeConfigFileAtomic(path, a)
    const writers = Array.from({ length: 20 }, (_, i) => writeConfigFileAtomic(path, i % 2 === 0 ? a : b))
    const seen = new Set<string>()
    const readers = Array.from({ length: 40 }, async () => {
      const text = await readConfigFile(path)
      assert.ok(text === a || text === b, `reader saw ${text.length} bytes of mixed content`)
      seen.add(text[0] ?? '')
    })
    await Promise.all([...writers, ...readers])
    const final = await readFile(path, 'utf8')
    assert.ok(final === a || final === b)
    assert.deepEqual(await readdir(dir), ['race.cfg'])
    assert.ok(seen.size >= 1)
  })
})
