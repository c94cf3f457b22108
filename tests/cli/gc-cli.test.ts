// `pbs-store gc` end to end: a real CLI process, JSON = the PBS status object, `.gc-status` written.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { loadDatastoreConfig, saveDatastoreConfig } from '../../src/config/datastore-config.js'
import { createDatastore, type Datastore } from '../../src/datastore/index.js'
import { FixedIndexBuilder, encodeChunk } from '../../src/format/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const STATUS_KEYS = [
  'index-file-count',
  'index-data-bytes',
  'disk-bytes',
  'disk-chunks',
  'removed-bytes',
  'removed-chunks',
  'pending-bytes',
  'pending-chunks',
  'removed-bad',
  'still-bad',
  'cache-stats',
]

describe('pbs-store gc', () => {
  let home: TempHome
  let store: Datastore
  const chunkFile = (digest: string): string => join(store.chunkDir, digest.slice(0, 4), digest)

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'clistore', join(home.dir, 'clistore'))
    // Skip the 1 s atime check (it has its own test) through the real config file.
    const cfg = await loadDatastoreConfig(home.installation.etcDir)
    const entry = cfg.datastores.get('clistore')
    assert.ok(entry)
    entry.tuning['gc-atime-safety-check'] = false
    await saveDatastoreConfig(home.installation.etcDir, cfg)
  })
  after(() => home.cleanup())

  it('--output-format json prints the status with kebab-case keys and writes .gc-status', async () => {
    const old = Math.floor(Date.now() / 1000) - 2 * 86400
    const kept = encodeChunk(Buffer.alloc(5000, 1))
    const garbage = encodeChunk(Buffer.alloc(5000, 2))
    for (const c of [kept, garbage]) {
      await writeFile(chunkFile(c.digest.toString('hex')), c.blob)
      await utimes(chunkFile(c.digest.toString('hex')), old, old)
    }
    const snap = await makeFakeSnapshot(store, BackupNamespace.ROOT, 'vm', '100', 1776359903, { files: [] })
    const b = new FixedIndexBuilder(8192, 5000)
    b.push(kept.digest)
    await writeFile(join(snap, 'disk.img.fidx'), b.finish())

    const status = await runCliJson<Record<string, unknown>>(['gc', '--store', 'clistore'], home.env)
    assert.deepEqual(Object.keys(status), STATUS_KEYS)
    assert.equal(status['removed-chunks'], 1)
    assert.equal(status['removed-bytes'], garbage.blob.length)
    assert.equal(status['disk-chunks'], 1)
    assert.equal(status['index-file-count'], 1)
    assert.equal(status['index-data-bytes'], 5000)
    assert.equal(existsSync(chunkFile(garbage.digest.toString('hex'))), false)
    assert.equal(existsSync(chunkFile(kept.digest.toString('hex'))), true)
    const onDisk = JSON.parse(await readFile(join(store.base, '.gc-status'), 'utf8')) as unknown
    assert.deepEqual(onDisk, status)
  })

  it('text output is a summary with the dedup factor', async () => {
    const r = await runCli(['gc', '--store', 'clistore'], home.env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /garbage collection on store 'clistore' finished/)
    assert.match(r.stdout, /removed garbage: 0 B \(0 chunks\)/)
    assert.match(r.stdout, /on-disk usage: .* \(1 chunks\)/)
    assert.match(r.stdout, /deduplication factor: \d+\.\d\d/)
  })

  it('fails with exit code 1 for an unknown store', async () => {
    const r = await runCli(['gc', '--store', 'nope'], home.env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /nope/)
  })
})
