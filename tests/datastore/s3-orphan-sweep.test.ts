// `pbs-store s3 cleanup` sweeps content objects without a cache counterpart (docs/reliability.md,
// open finding 2): a namespace marker whose DELETE failed, the files of a failed backup whose abort
// failed, group files of a group that is gone - made for real through the fault proxy or uploaded
// directly - are deleted, so the bucket census finds no orphan; busy groups, young objects, a
// live move's objects and a backup running right now are left alone and removed by a later cleanup.
import assert from 'node:assert/strict'
import { readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, type BackupGroupRef } from '../../src/api-types/index.js'
import { S3MoveIntentFile } from '../../src/backend/s3/s3-move-intent.js'
import type { S3ObjectStore } from '../../src/backend/s3/s3-object-store.js'
import {
  BackupSession,
  backupSnapshot,
  createNamespace,
  deleteNamespace,
  setNotes,
  verifyDatastore,
  type Datastore,
} from '../../src/datastore/index.js'
import { cleanupS3 } from '../../src/datastore/s3-cleanup.js'
import { parseContentKey, type S3OrphanSweepResult } from '../../src/datastore/s3-orphan-sweep.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { testObjectStore } from '../helpers/moto.js'
import { runCli } from '../helpers/run-cli.js'
import { makeS3Store, s3TestEndpoint, testUpid, type S3TestStore } from '../helpers/s3-store.js'
import { censusProblems, s3Census } from '../reliability/s3-census.js'

const T0 = 1776359903
const ROOT = BackupNamespace.ROOT
const Y = BackupNamespace.parse('y')
const YC = BackupNamespace.parse('y/c')
const VM100: BackupGroupRef = { type: 'vm', id: '100' }
const CT200: BackupGroupRef = { type: 'ct', id: '200' }

describe('s3 cleanup sweeps orphaned content objects', () => {
  let proxy: FaultProxy
  let s: S3TestStore
  let store: Datastore
  /** Reads the bucket straight from moto, past the proxy. */
  let direct: S3ObjectStore

  const sweep = async (graceMs = 0): Promise<S3OrphanSweepResult> => {
    const r = await cleanupS3(store, { graceMs })
    assert.ok(r.sweep !== undefined, 'an S3 store is swept')
    return r.sweep
  }
  const orphans = async (): Promise<string[]> => (await s3Census(store, direct)).orphanContent
  const exists = async (key: string): Promise<boolean> => (await direct.headObject(key)) !== undefined
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const keys: string[] = []
    for await (const o of direct.listObjects(prefix)) keys.push(o.key)
    return keys.sort()
  }
  const backup = (
    ns: BackupNamespace,
    group: BackupGroupRef,
    time: number,
  ): ReturnType<typeof backupSnapshot> =>
    backupSnapshot(store, {
      ns,
      ...group,
      time,
      owner: 'root@pam',
      workers: 0,
      archives: [
        { name: 'drive-scsi0.img', source: Buffer.alloc(8192, time % 251) },
        { name: 'qemu-server.conf', source: Buffer.from(`${group.id} ${time}\n`) },
      ],
    })

  before(async () => {
    proxy = await FaultProxy.start(s3TestEndpoint())
    s = await makeS3Store({ clientEndpoint: proxy.endpoint, overrides: { maxAttempts: 2 } })
    store = s.store
    direct = testObjectStore(s3TestEndpoint(), s.bucket)
    await createNamespace(store, Y)
    await createNamespace(store, YC)
    await backup(ROOT, VM100, T0)
    await backup(ROOT, VM100, T0 + 60)
    await backup(Y, CT200, T0)
    assert.deepEqual(await orphans(), [], 'a clean start')
  })
  after(async () => {
    direct.destroy()
    await s.cleanup()
    await proxy.stop()
  })

  it('parses content keys into markers, group files and snapshot files', () => {
    assert.deepEqual(parseContentKey('.cnt/ns/y/ns/c/.namespace'), { kind: 'marker', ns: YC })
    const g = parseContentKey('.cnt/ns/y/ct/200/owner')
    assert.equal(g.kind, 'group-file')
    const f = parseContentKey('.cnt/vm/519/2026-04-16T19:31:23Z/drive-scsi0.img.fidx')
    assert.ok(f.kind === 'snapshot-file' && f.dir.id === '519' && f.file === 'drive-scsi0.img.fidx')
    assert.equal(parseContentKey('.cnt/ns/y/stray').kind, 'unknown')
    assert.equal(parseContentKey('.cnt/.namespace').kind, 'unknown')
  })

  it('(a) the marker of a removed namespace whose DELETE failed goes (real CLI, JSON)', async () => {
    const rule = proxy.addRule({ kind: 'delete', action: { type: 'slowdown' } })
    try {
      await assert.rejects(deleteNamespace(store, YC))
    } finally {
      rule.remove()
    }
    assert.ok(rule.injected > 0, 'the marker DELETE was failed')
    const marker = '.cnt/ns/y/ns/c/.namespace'
    assert.deepEqual(await orphans(), [marker], 'the namespace is gone locally, its marker stayed')

    const r = await runCli(['s3', 'cleanup', '--store', store.name, '--output-format', 'json'], {
      ...s.home.env,
      PBS_STORE_S3_MOVE_GRACE_MS: '0',
    })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    assert.equal(out['orphans-deleted'], 1)
    assert.deepEqual(out['orphans-skipped'], [])
    assert.deepEqual(out.warnings, [])
    assert.equal(await exists(marker), false)
    assert.deepEqual(await orphans(), [])
    assert.ok(await exists('.cnt/ns/y/.namespace'), 'the parent marker stays')
  })

  it('(b) the files of a failed backup whose abort failed go', async () => {
    const time = T0 + 120
    const manifestPut = proxy.addRule({
      kind: 'put',
      match: (req) => req.key.endsWith('/index.json.blob'),
      action: { type: 'error', status: 500 },
    })
    const deletes = proxy.addRule({ kind: 'delete', action: { type: 'error', status: 503 } })
    try {
      await assert.rejects(backup(ROOT, VM100, time), (e: Error) => {
        // the S3 error names the snapshot, the step, the object and the cause
        assert.match(
          e.message,
          /^backup of snapshot 'vm\/100\/[^']+' .*: writing manifest of snapshot .* failed - S3 put of '.*index\.json\.blob'.*500.*; removing the failed snapshot failed too - S3 delete/,
        )
        return true
      })
    } finally {
      manifestPut.remove()
      deletes.remove()
    }
    assert.ok(deletes.injected > 0, 'the abort delete was failed')
    const prefix = `.cnt/vm/100/${backupDir(VM100, time).timeString}/`
    const left = (await orphans()).filter((k) => k.startsWith(prefix))
    assert.ok(left.includes(`${prefix}drive-scsi0.img.fidx`), `the index stayed: ${left.join(', ')}`)

    const r = await sweep()
    for (const k of left) assert.ok(r.deleted.includes(k), `${k} deleted`)
    assert.deepEqual(r.skipped, [])
    assert.deepEqual(await orphans(), [])
  })

  it('a backup whose chunk upload fails names its snapshot and leaves nothing behind', async () => {
    const time = T0 + 180
    const chunkPut = proxy.addRule({
      kind: 'put',
      match: (req) => req.key.includes('/.chunks/'),
      action: { type: 'error', status: 500 },
    })
    try {
      await assert.rejects(backup(ROOT, VM100, time), (e: Error) => {
        assert.match(
          e.message,
          /^backup of snapshot 'vm\/100\/[^']+' .*: inserting chunk '[0-9a-f]{64}' .* failed - S3 put of '.*\.chunks\/.*500/,
        )
        return true
      })
    } finally {
      chunkPut.remove()
    }
    assert.ok(chunkPut.injected > 0)
    assert.deepEqual(await orphans(), [], 'the abort removed what the backup had uploaded')
  })

  it('(c) owner/notes without their group, and notes whose local write never happened, go', async () => {
    // a PUT applied by the server whose reply was lost, retries too: setNotes fails, the object stays
    const lost = proxy.addRule({
      kind: 'put',
      match: (req) => req.key.endsWith('/vm/100/notes'),
      action: { type: 'reset-after-forward' },
    })
    try {
      await assert.rejects(setNotes(store, ROOT, VM100, 'never written locally'))
    } finally {
      lost.remove()
    }
    await s.backend.objects.putObject('.cnt/vm/777/owner', 'root@pam\n', { replace: true })
    await s.backend.objects.putObject('.cnt/ns/y/host/778/notes', 'gone', { replace: true })
    const expected = ['.cnt/ns/y/host/778/notes', '.cnt/vm/100/notes', '.cnt/vm/777/owner']
    assert.deepEqual(await orphans(), expected)

    const r = await sweep()
    assert.deepEqual(r.deleted, expected)
    assert.deepEqual(await orphans(), [])
    assert.ok(await exists('.cnt/vm/100/owner'), 'the live group keeps its owner')
  })

  it('restores what the cache lost instead: a group owner, a file its manifest lists', async () => {
    const ownerPath = join(store.groupDir(Y, CT200), 'owner')
    const owner = await readFile(ownerPath, 'utf8')
    const blobPath = join(store.snapshotDir(ROOT, backupDir(VM100, T0)), 'qemu-server.conf.blob')
    const blob = await readFile(blobPath)
    await rm(ownerPath)
    await rm(blobPath)
    assert.equal((await orphans()).length, 2)

    const r = await sweep()
    assert.deepEqual(r.deleted, [])
    assert.equal(r.restored.length, 2)
    assert.equal(await readFile(ownerPath, 'utf8'), owner)
    assert.deepEqual(await readFile(blobPath), blob)
    assert.deepEqual(await orphans(), [])
  })

  it('leaves a busy group alone and reports it; a later cleanup removes the orphan', async () => {
    const key = `.cnt/vm/100/${backupDir(VM100, T0 + 999).timeString}/stray.blob`
    await s.backend.objects.putObject(key, 'x', { replace: true })
    const holder = await spawnNodeHolder('flock', store.groupLockFile(ROOT, VM100), 'exclusive')
    try {
      const r = await sweep()
      assert.deepEqual(
        r.skipped.map((k) => [k.key, k.reason]),
        [[key, 'busy']],
      )
      assert.match(r.skipped[0]!.message, /group/)
      assert.ok(await exists(key), 'not deleted while the group is locked')
    } finally {
      await holder.release()
    }
    const r = await sweep()
    assert.deepEqual(r.deleted, [key])
    assert.deepEqual(await orphans(), [])
  })

  it('leaves an object younger than the grace period for a later cleanup', async () => {
    const key = '.cnt/vm/555/owner'
    await s.backend.objects.putObject(key, 'root@pam\n', { replace: true })
    const young = await sweep(60_000)
    assert.deepEqual(
      young.skipped.map((k) => [k.key, k.reason]),
      [[key, 'young']],
    )
    assert.ok(await exists(key))
    const later = await sweep(0)
    assert.deepEqual(later.deleted, [key])
  })

  it('leaves the objects of a live move intent to the move recovery', async () => {
    const time = backupDir(VM100, T0 + 5000).timeString
    const key = `.cnt/ns/y/vm/100/${time}/drive-scsi0.img.fidx`
    await s.backend.objects.putObject(key, 'copy', { replace: true })
    const intent = await S3MoveIntentFile.create(s.backend.intentDir, [
      {
        sourceNs: '',
        targetNs: 'y',
        snapshot: `vm/100/${time}`,
        sourcePrefix: `.cnt/vm/100/${time}/`,
        targetPrefix: `.cnt/ns/y/vm/100/${time}/`,
        sourcePath: join(store.base, 'vm', '100', time),
        targetPath: join(store.base, 'ns', 'y', 'vm', '100', time),
      },
    ])
    try {
      const r = await sweep()
      assert.deepEqual(
        r.skipped.map((k) => [k.key, k.reason]),
        [[key, 'move']],
      )
      assert.ok(await exists(key))
    } finally {
      await intent.remove()
    }
    const r = await sweep()
    assert.deepEqual(r.deleted, [key])
  })

  it('never deletes the objects of a backup running right now', async () => {
    const group: BackupGroupRef = { type: 'vm', id: '900' }
    const session = await BackupSession.start(store, { ns: ROOT, group, time: T0, owner: 'root@pam' })
    const prefix = `.cnt/vm/900/${session.dir.timeString}/`
    // a blob goes to S3 before its local file (spec §8.4): stand in for one in that window
    const pending = `${prefix}pending.conf.blob`
    try {
      await session.addBlob('qemu-server.conf.blob', Buffer.from('running\n'))
      await s.backend.objects.putObject(pending, 'soon local', { replace: true })
      const r = await sweep()
      assert.deepEqual(
        r.skipped.map((k) => [k.key, k.reason]),
        [[pending, 'busy']],
      )
      assert.deepEqual(r.deleted, [])
      assert.ok(await exists(pending))
      assert.ok(await exists(`${prefix}qemu-server.conf.blob`))
      assert.ok(await exists('.cnt/vm/900/owner'))
      await session.finish()
    } catch (e) {
      await session.abort().catch(() => undefined)
      throw e
    }
    // finished without it: now it is a plain orphan
    const r = await sweep()
    assert.deepEqual(r.deleted, [pending])
    assert.ok(await exists(`${prefix}index.json.blob`))
    assert.ok((await stat(join(store.snapshotDir(ROOT, session.dir), 'index.json.blob'))).isFile())
  })

  it('reports a failed delete as a warning (CLI exit 1); the next cleanup finishes', async () => {
    const key = '.cnt/vm/556/notes'
    await s.backend.objects.putObject(key, 'x', { replace: true })
    const rule = proxy.addRule({ kind: 'delete', action: { type: 'error', status: 500 } })
    let r
    try {
      r = await runCli(['s3', 'cleanup', '--store', store.name], {
        ...s.home.env,
        PBS_STORE_S3_MOVE_GRACE_MS: '0',
      })
    } finally {
      rule.remove()
    }
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stdout, new RegExp(`skipped '${key}' \\(failed\\)`))
    assert.match(r.stdout, /warning: deleting 1 orphaned object\(s\) failed/)
    assert.ok(await exists(key))
    assert.deepEqual((await sweep()).deleted, [key])
  })

  it('never deletes a finished snapshot the cache lost (a wiped cache), nor its group and marker', async () => {
    const groupDir = store.groupDir(Y, CT200)
    const saved = `${groupDir}.saved`
    await rename(groupDir, saved) // the cache "lost" group y/ct/200 with its finished snapshot
    try {
      const before = await keysUnder('.cnt/ns/y/')
      const r = await sweep()
      assert.deepEqual(r.deleted, [])
      assert.ok(r.skipped.length > 0 && r.skipped.every((k) => k.reason === 'finished-snapshot'))
      assert.ok(r.warnings.some((w) => /finished in the bucket \(manifest present\).*s3 refresh/.test(w)))
      assert.deepEqual(await keysUnder('.cnt/ns/y/'), before, 'nothing under y/ deleted')
    } finally {
      await rename(saved, groupDir)
    }
    // a snapshot the cache still has but whose manifest it lost gets the manifest back
    const manifest = join(store.snapshotDir(Y, backupDir(CT200, T0)), 'index.json.blob')
    const bytes = await readFile(manifest)
    await rm(manifest)
    const r = await sweep()
    assert.deepEqual(r.deleted, [])
    assert.ok(r.restored.some((k) => k.endsWith('/index.json.blob')))
    assert.deepEqual(await readFile(manifest), bytes)
    assert.deepEqual(await orphans(), [])
  })

  it('ends with a clean census and every snapshot verifying', async () => {
    const census = await s3Census(store, direct, { compareContent: true })
    assert.deepEqual(censusProblems(census, { allowUnreferencedChunks: true }), [])
    assert.equal(census.snapshots, 4)
    const v = await verifyDatastore(store, { upid: testUpid() })
    assert.equal(v.failed, 0)
    assert.equal(v.ok, 4)
  })
})
