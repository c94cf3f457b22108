// The streamed S3 snapshot move: a batch lists its source group prefix once (paged) instead of
// every snapshot, copies while the listing runs, commits oldest first and deletes in
// DeleteObjects batches; groups of more than 512 snapshots go in several batches with the same
// result. An abort stops at a clean time split and leaves an unsettled intent (requests may be in
// flight), which a recovery finishes after the grace period.
import assert from 'node:assert/strict'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, formatBackupTime, type BackupDirRef } from '../../src/api-types/index.js'
import { S3_MOVE_GRACE_ENV } from '../../src/backend/s3/s3-move-intent.js'
import { AbortedError } from '../../src/errors.js'
import { createNamespace, listSnapshotRefs } from '../../src/datastore/index.js'
import { moveGroup, recoverS3Moves } from '../../src/datastore/move/index.js'
import { localKeys } from '../backend/backend-conformance.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { makeS3Store, s3TestEndpoint, snapshotKeyMap, type S3TestStore } from '../helpers/s3-store.js'

const T0 = 1776359903
const A = BackupNamespace.parse('a')
const B = BackupNamespace.parse('b')

/** Lays out `count` snapshots of `vm/<id>` in `a` with `files` each: cache files and bucket objects. */
async function layout(s: S3TestStore, id: string, count: number, files: readonly string[]): Promise<void> {
  const group = { type: 'vm' as const, id }
  const groupDir = s.store.groupDir(A, group)
  await mkdir(groupDir, { recursive: true })
  await writeFile(join(groupDir, 'owner'), 'root@pam\n')
  await s.backend.putGroupFile(A, group, 'owner', 'root@pam\n')
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dir: BackupDirRef = { ...group, time: T0 + i * 60, timeString: formatBackupTime(T0 + i * 60) }
      const snapDir = join(groupDir, dir.timeString)
      await mkdir(snapDir)
      for (const f of files) {
        const body = Buffer.from(`${f} of ${id}/${dir.timeString}\n`)
        await s.backend.putSnapshotFile(A, dir, f, body)
        await writeFile(join(snapDir, f), body)
      }
    }),
  )
}

async function assertClean(s: S3TestStore): Promise<void> {
  assert.deepEqual(snapshotKeyMap(await s.keys()), snapshotKeyMap(await localKeys(s.store)), 'bucket = cache')
}

describe('streamed S3 snapshot moves', () => {
  let s: S3TestStore
  before(async () => {
    s = await makeS3Store()
    await createNamespace(s.store, A)
    await createNamespace(s.store, B)
  })
  after(() => s.cleanup())

  it(
    'two batches (600 snapshots): one LIST per batch, 600 copies, a DeleteObjects per batch',
    { timeout: 300_000 },
    async () => {
      await layout(s, '100', 600, ['index.json.blob'])
      s.backend.objects.resetCounters()
      const r = await moveGroup(s.store, A, { type: 'vm', id: '100' }, B)
      assert.equal(r.movedSnapshots, 600)
      assert.deepEqual(r.warnings, [])
      const { requests } = s.backend.objects.counters()
      // 2 group listings (512 + 88 snapshots, ≤ 1000 keys each) + the emptied source group's prefix
      assert.equal(requests.list, 3)
      assert.equal(requests.copy, 600)
      // a DeleteObjects per batch + the source group prefix
      assert.equal(requests.delete, 3)
      assert.equal(requests.put, 1, 'the new target group owner')
      assert.equal((await listSnapshotRefs(s.store, B, { type: 'vm', id: '100' })).length, 600)
      assert.deepEqual(await readdir(s.backend.intentDir), [])
      await assertClean(s)
    },
  )

  it(
    'a group listing of more than 1000 keys is paged and every key is moved',
    { timeout: 300_000 },
    async () => {
      await layout(s, '200', 300, ['index.json.blob', 'a.fidx', 'b.blob', 'c.blob'])
      s.backend.objects.resetCounters()
      const r = await moveGroup(s.store, A, { type: 'vm', id: '200' }, B)
      assert.equal(r.movedSnapshots, 300)
      const { requests } = s.backend.objects.counters()
      assert.equal(requests.list, 3, '1201 keys: two pages, plus the emptied source group')
      assert.equal(requests.copy, 1200)
      assert.equal(requests.delete, 3, '1200 source keys: two DeleteObjects, plus the source group')
      await assertClean(s)
    },
  )

  it(
    'an abort stops at a clean time split; the unsettled intent is finished after the grace',
    { timeout: 120_000 },
    async () => {
      const proxy = await FaultProxy.start(s3TestEndpoint())
      const p = await makeS3Store({ clientEndpoint: proxy.endpoint, name: 'store2' })
      const saved = process.env[S3_MOVE_GRACE_ENV]
      try {
        await createNamespace(p.store, A)
        await createNamespace(p.store, B)
        await layout(p, '300', 20, ['index.json.blob', 'x.blob'])
        // copies of later snapshots are slow: the abort finds them in flight
        proxy.addRule({
          kind: 'copy',
          match: (q) => !q.key.includes(formatBackupTime(T0)),
          action: { type: 'delay', ms: 400 },
        })
        const ac = new AbortController()
        await assert.rejects(
          moveGroup(p.store, A, { type: 'vm', id: '300' }, B, {
            signal: ac.signal,
            onProgress: (r) => {
              if (r.done >= 1) ac.abort()
            },
          }),
          (e: unknown) => e instanceof AbortedError,
        )
        proxy.clearRules()
        const moved = await listSnapshotRefs(p.store, B, { type: 'vm', id: '300' })
        const left = await listSnapshotRefs(p.store, A, { type: 'vm', id: '300' })
        assert.ok(moved.length >= 1 && left.length >= 1, `a partial move (${moved.length} moved)`)
        assert.equal(moved.length + left.length, 20)
        assert.ok(
          moved.every((m) => left.every((l) => m.time < l.time)),
          'a clean time split',
        )
        const names = await readdir(p.backend.intentDir)
        assert.equal(names.length, 1)
        assert.doesNotMatch(names[0]!, /settled/, 'aborted requests may still be applied: not settled')
        process.env[S3_MOVE_GRACE_ENV] = '500'
        const r = await recoverS3Moves(p.store)
        assert.deepEqual(r.warnings, [])
        assert.ok(r.rolledBack >= 1)
        assert.deepEqual(await readdir(p.backend.intentDir), [])
        await assertClean(p)
        const rerun = await moveGroup(p.store, A, { type: 'vm', id: '300' }, B)
        assert.equal(rerun.movedSnapshots, left.length)
        await assertClean(p)
      } finally {
        if (saved === undefined) delete process.env[S3_MOVE_GRACE_ENV]
        else process.env[S3_MOVE_GRACE_ENV] = saved
        await p.cleanup()
        await proxy.stop()
      }
    },
  )
})
