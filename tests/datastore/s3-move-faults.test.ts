// S3 moves under injected faults (fault proxy in front of moto): a copy that keeps failing leaves
// the source intact and a clean time split, and the rerun finishes with no orphans; a failing
// delete is reported, and `s3 cleanup` (recoverS3Moves) removes the orphans.
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, formatBackupTime } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  createNamespace,
  listSnapshotRefs,
  verifyDatastore,
  type Datastore,
} from '../../src/datastore/index.js'
import { moveGroup, recoverS3Moves } from '../../src/datastore/move/index.js'
import { StorageError } from '../../src/errors.js'
import { localKeys } from '../backend/backend-conformance.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import {
  makeS3Store,
  s3TestEndpoint,
  snapshotKeyMap,
  testUpid,
  type S3TestStore,
} from '../helpers/s3-store.js'

const T0 = 1776359903
const ROOT = BackupNamespace.ROOT
const DST = BackupNamespace.parse('dst')

/** Every snapshot is at exactly one place, in the bucket and in the cache, with the same files. */
async function assertNoOrphans(s: S3TestStore): Promise<void> {
  const bucket = snapshotKeyMap(await s.keys())
  const local = snapshotKeyMap(await localKeys(s.store))
  assert.deepEqual(bucket, local, 'bucket snapshots = cache snapshots (no orphan, nothing missing)')
  const seen = new Map<string, string>()
  for (const prefix of bucket.keys()) {
    const snap = prefix.split('/').slice(-4, -1).join('/')
    assert.ok(!seen.has(snap), `snapshot ${snap} at two places: ${seen.get(snap)} and ${prefix}`)
    seen.set(snap, prefix)
  }
}

describe('S3 move with faults', () => {
  let proxy: FaultProxy
  let s: S3TestStore
  let store: Datastore

  before(async () => {
    proxy = await FaultProxy.start(s3TestEndpoint())
    s = await makeS3Store({ clientEndpoint: proxy.endpoint, overrides: { maxAttempts: 2 } })
    store = s.store
    await createNamespace(store, DST)
    for (const id of ['500', '5000', '600'])
      for (let i = 0; i < 4; i++)
        await backupSnapshot(store, {
          type: 'vm',
          id,
          time: T0 + i * 60,
          owner: 'root@pam',
          workers: 0,
          archives: [{ name: 'qemu-server.conf', source: Buffer.from(`${id} ${i}\n`) }],
        })
  })
  after(async () => {
    // The figures of docs/reliability.md §3: requests, faults by kind, client retries.
    const c = proxy.counts()
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0)
    const retries = s.backend.objects.counters().retries
    console.log(
      `# s3-move-faults: requests ${sum(c.requests)} ${JSON.stringify(c.requests)}, faults injected ` +
        `${sum(c.faults)} ${JSON.stringify(c.faults)} (by request kind ${JSON.stringify(c.injected)}), ` +
        `client retries ${sum(retries)}`,
    )
    await s.cleanup()
    await proxy.stop()
  })

  it('copy fails mid-group (retries exhausted): source intact, rerun finishes, no orphans', async () => {
    const failing = formatBackupTime(T0 + 120)
    const rule = proxy.addRule({
      kind: 'copy',
      match: (r) => r.key.includes(`/vm/500/${failing}/index.json.blob`),
      action: { type: 'error', status: 500 },
    })
    // the S3 error names the move, the object and the S3 cause
    await assert.rejects(moveGroup(store, ROOT, { type: 'vm', id: '500' }, DST), (e: unknown) => {
      assert.ok(e instanceof StorageError, String(e))
      assert.match(
        e.message,
        /^moving group 'vm\/500' from 'root' to 'dst' failed - S3 copy of '[^']+' .*InternalError/,
      )
      return true
    })
    assert.ok(rule.injected >= 2, 'the copy was retried and failed every time')
    rule.remove()
    const moved = await listSnapshotRefs(store, DST, { type: 'vm', id: '500' })
    const left = await listSnapshotRefs(store, ROOT, { type: 'vm', id: '500' })
    assert.equal(moved.length + left.length, 4)
    assert.ok(
      moved.every((m) => left.every((l) => m.time < l.time)),
      'a clean time split',
    )
    assert.ok(
      left.some((l) => l.timeString === failing),
      'the failed snapshot stayed at the source',
    )
    await assertNoOrphans(s)
    assert.deepEqual(await readdir(s.backend.intentDir), [], 'the failed batch was rolled back at once')

    const r = await moveGroup(store, ROOT, { type: 'vm', id: '500' }, DST)
    assert.equal(r.movedSnapshots, left.length)
    await assertNoOrphans(s)
    assert.ok(!(await s.keys()).some((k) => k.startsWith('.cnt/vm/500/')), 'source group prefix empty')
    assert.ok(
      (await s.keys()).some((k) => k.startsWith('.cnt/vm/5000/')),
      'vm/5000 untouched',
    )
    const v = await verifyDatastore(store, { ns: DST, upid: testUpid() })
    assert.equal(v.failed, 0)
  })

  it('delete fails: the move reports it, cleanup removes the orphans', async () => {
    const rule = proxy.addRule({ kind: 'delete', action: { type: 'error', status: 500 } })
    const r = await moveGroup(store, ROOT, { type: 'vm', id: '600' }, DST)
    rule.remove()
    assert.equal(r.movedSnapshots, 4)
    assert.ok(
      r.warnings.some((w) => /deleting \d+ source object\(s\)/.test(w)),
      `warned: ${r.warnings.join(' | ')}`,
    )
    const orphans = (await s.keys()).filter((k) => /^\.cnt\/vm\/600\/\d/.test(k))
    assert.equal(orphans.length, 8, 'the source objects are still there (4 snapshots × 2)')
    assert.equal((await readdir(s.backend.intentDir)).length, 1, 'the intent is kept for cleanup')

    const c = await recoverS3Moves(store)
    assert.equal(c.rolledForward, 4)
    assert.equal(c.deletedObjects, 8)
    assert.deepEqual(c.warnings, [])
    assert.deepEqual(await readdir(s.backend.intentDir), [])
    await assertNoOrphans(s)
    assert.ok(!(await s.keys()).some((k) => /^\.cnt\/vm\/600\/\d/.test(k)))
  })

  it('moving vm/5000 never touches vm/500 at the target, and the plan counts requests', async () => {
    const { planMoveGroups } = await import('../../src/datastore/move/index.js')
    const plan = await planMoveGroups(store, ROOT, [{ type: 'vm', id: '5000' }], DST, true)
    // 4 snapshots × 2 objects: 4 lists, 8 copies, 1 delete batch; owner put; group prefix list + delete
    assert.deepEqual(plan['s3-requests'], { list: 5, copy: 8, delete: 2, put: 1 })
    const before500 = (await s.keys()).filter((k) => k.startsWith('.cnt/ns/dst/vm/500/'))
    await moveGroup(store, ROOT, { type: 'vm', id: '5000' }, DST)
    assert.deepEqual(
      (await s.keys()).filter((k) => k.startsWith('.cnt/ns/dst/vm/500/')),
      before500,
    )
    await assertNoOrphans(s)
    void join
  })
})
