// move-group (spec/move.md §2) on a filesystem store: preconditions in order, merge rules, notes,
// batches, lock conflicts with real processes (clean time split, rerun merges), mirror moves.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, type BackupGroupRef } from '../../src/api-types/index.js'
import {
  createDatastore,
  createNamespace,
  listGroups,
  listSnapshotRefs,
  setNotes,
  type Datastore,
} from '../../src/datastore/index.js'
import {
  MAX_SNAPSHOT_LOCKS,
  journalPathOf,
  moveGroup,
  planMoveGroups,
} from '../../src/datastore/move/index.js'
import { ConflictError, LockBusyError, NotFoundError, ValidationError } from '../../src/errors.js'
import { makeFakeGroup, makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { CLI_BIN } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903
const vm = (id: string): BackupGroupRef => ({ type: 'vm', id })

describe('move-group', () => {
  let home: TempHome
  let store: Datastore
  let n = 0
  /** A fresh pair of namespaces per test. */
  async function pair(): Promise<[BackupNamespace, BackupNamespace]> {
    n++
    const a = ns(`a${n}`)
    const b = ns(`b${n}`)
    await createNamespace(store, a)
    await createNamespace(store, b)
    return [a, b]
  }

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
  })
  after(() => home.cleanup())

  it('moves every snapshot by rename, keeps the owner, moves notes, removes the source group', async () => {
    const [a, b] = await pair()
    for (let i = 0; i < 3; i++)
      await makeFakeSnapshot(store, a, 'vm', '100', T0 + i, {
        owner: 'alice@pbs',
        files: ['disk.img.fidx', 'conf.blob'],
      })
    await setNotes(store, a, vm('100'), 'web frontend')
    const r = await moveGroup(store, a, vm('100'), b)
    assert.equal(r.movedSnapshots, 3)
    assert.equal(r.merged, false)
    assert.equal(existsSync(store.groupDir(a, vm('100'))), false, 'source group removed')
    assert.deepEqual(
      (await listSnapshotRefs(store, b, vm('100'))).map((s) => s.time),
      [T0, T0 + 1, T0 + 2],
    )
    assert.equal(await readFile(join(store.groupDir(b, vm('100')), 'owner'), 'utf8'), 'alice@pbs\n')
    assert.equal(await readFile(join(store.groupDir(b, vm('100')), 'notes'), 'utf8'), 'web frontend')
    const journal = (await readFile(journalPathOf(store), 'utf8')).trim().split('\n')
    for (let i = 0; i < 3; i++)
      assert.ok(
        journal.includes(join(store.snapshotDir(b, backupDir(vm('100'), T0 + i)), 'disk.img.fidx')),
        'journal names the new index path',
      )
    assert.ok(!journal.some((l) => l.endsWith('.blob')), 'only index files are journalled')
    const lockDir = join(home.installation.lockDir, 'store1', a.toString())
    const leftovers = existsSync(lockDir)
      ? (await readdir(lockDir)).filter((f) => f.startsWith('vm-100'))
      : []
    assert.deepEqual(leftovers, [], 'no stale source lock files')
  })

  it("removes the source group despite a crashed owner/notes write's tmp file, but not other files", async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', '101', T0, { owner: 'alice@pbs' })
    // what a SIGKILL during replaceFile of the owner or notes leaves behind
    await writeFile(join(store.groupDir(a, vm('101')), 'owner.tmp_AbC-9_'), 'alice@pbs\n')
    await writeFile(join(store.groupDir(a, vm('101')), 'notes.tmp_zzzzzz'), 'half')
    const r = await moveGroup(store, a, vm('101'), b)
    assert.deepEqual(r.warnings, [])
    assert.equal(existsSync(store.groupDir(a, vm('101'))), false, 'source group removed')
    assert.deepEqual(await readdir(store.typeDir(a, 'vm')), [], 'no hidden leftovers')

    // anything else is not ours to delete: the group stays, with a warning
    await makeFakeSnapshot(store, a, 'vm', '102', T0, { owner: 'alice@pbs' })
    await writeFile(join(store.groupDir(a, vm('102')), 'owner.tmp_toolong1'), 'x')
    const kept = await moveGroup(store, a, vm('102'), b)
    assert.match(kept.warnings.join('\n'), /not fully removed - unexpected files remain/)
    assert.ok(existsSync(join(store.groupDir(a, vm('102')), 'owner.tmp_toolong1')))
  })

  it('checks preconditions in the spec order with clear errors, changing nothing', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', '1', T0)
    await makeFakeSnapshot(store, b, 'vm', '1', T0 - 100)
    await assert.rejects(
      moveGroup(store, a, vm('1'), a),
      (e: unknown) => e instanceof ValidationError && /must be different/.test(e.message),
    )
    await assert.rejects(
      moveGroup(store, a, vm('1'), ns('nope')),
      (e: unknown) => e instanceof NotFoundError && /target namespace 'nope' does not exist/.test(e.message),
    )
    await assert.rejects(
      moveGroup(store, a, vm('2'), b),
      (e: unknown) =>
        e instanceof NotFoundError && /group 'vm\/2' does not exist in namespace/.test(e.message),
    )
    await assert.rejects(
      moveGroup(store, a, vm('1'), b, { mergeGroup: false }),
      (e: unknown) =>
        e instanceof ConflictError &&
        /moving group 'vm\/1' from 'a\d+' to 'b\d+' failed - target group exists and merge-group is disabled/.test(
          e.message,
        ),
    )
    assert.equal((await listSnapshotRefs(store, a, vm('1'))).length, 1)
    assert.equal((await listSnapshotRefs(store, b, vm('1'))).length, 1)
  })

  it('merges when owners match and every target snapshot is older', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', '5', T0 + 10)
    await makeFakeSnapshot(store, b, 'vm', '5', T0)
    const r = await moveGroup(store, a, vm('5'), b)
    assert.equal(r.merged, true)
    assert.deepEqual(
      (await listSnapshotRefs(store, b, vm('5'))).map((s) => s.time),
      [T0, T0 + 10],
    )
  })

  it('refuses a merge on owner mismatch, overlapping or equal times (RFC3339 in the message)', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', 'own', T0 + 10, { owner: 'alice@pbs' })
    await makeFakeSnapshot(store, b, 'vm', 'own', T0, { owner: 'bob@pbs' })
    await assert.rejects(
      moveGroup(store, a, vm('own'), b),
      /owner mismatch - source group is owned by 'alice@pbs', target group by 'bob@pbs'/,
    )
    await makeFakeSnapshot(store, a, 'vm', 'late', T0 + 10)
    await makeFakeSnapshot(store, b, 'vm', 'late', T0 + 20)
    await assert.rejects(
      moveGroup(store, a, vm('late'), b),
      /snapshot time mismatch - target snapshot 2026-04-16T17:18:43Z is not older than the oldest source snapshot 2026-04-16T17:18:33Z/,
    )
    await makeFakeSnapshot(store, a, 'vm', 'eq', T0)
    await makeFakeSnapshot(store, b, 'vm', 'eq', T0)
    await assert.rejects(
      moveGroup(store, a, vm('eq'), b),
      (e: unknown) => e instanceof ConflictError && /snapshot time mismatch/.test(e.message),
    )
    assert.equal(
      (await listSnapshotRefs(store, a, vm('eq'))).length,
      1,
      'refused merge leaves the source intact',
    )
  })

  it('notes: target notes win when both differ, with a warning', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', 'n', T0 + 5)
    await makeFakeSnapshot(store, b, 'vm', 'n', T0)
    await setNotes(store, a, vm('n'), 'source notes')
    await setNotes(store, b, vm('n'), 'target notes')
    const warnings: string[] = []
    const r = await moveGroup(store, a, vm('n'), b, {
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
    })
    assert.equal(await readFile(join(store.groupDir(b, vm('n')), 'notes'), 'utf8'), 'target notes')
    assert.equal(r.warnings.length, 1)
    assert.match(warnings[0]!, /group notes differ - kept the notes of the target group/)
  })

  it('moves an empty group (owner only)', async () => {
    const [a, b] = await pair()
    await makeFakeGroup(store, a, 'ct', 'empty', 'carol@pbs')
    await moveGroup(store, a, { type: 'ct', id: 'empty' }, b)
    const groups = await listGroups(store, b)
    assert.deepEqual(
      groups.map((g) => [g.id, g.owner, g.snapshotCount]),
      [['empty', 'carol@pbs', 0]],
    )
  })

  it(`moves more than ${MAX_SNAPSHOT_LOCKS} snapshots in batches`, async () => {
    const [a, b] = await pair()
    const count = MAX_SNAPSHOT_LOCKS + 88
    for (let i = 0; i < count; i++) await makeFakeSnapshot(store, a, 'vm', 'big', T0 + i * 60)
    const seen: number[] = []
    const r = await moveGroup(store, a, vm('big'), b, { onProgress: (p) => seen.push(p.done) })
    assert.equal(r.movedSnapshots, count)
    assert.equal((await listSnapshotRefs(store, b, vm('big'))).length, count)
    assert.equal(seen.at(-1), count, 'progress reaches the total')
  })

  it('a reader holding a shared snapshot lock makes the move fail soft with a clean time split; the rerun merges the rest', async () => {
    const [a, b] = await pair()
    const count = MAX_SNAPSHOT_LOCKS + 20
    for (let i = 0; i < count; i++) await makeFakeSnapshot(store, a, 'vm', 'rd', T0 + i)
    // The reader holds a snapshot of the second batch, so the first batch moves and the second fails.
    const held = backupDir(vm('rd'), T0 + MAX_SNAPSHOT_LOCKS + 5)
    const reader = await spawnNodeHolder('flock', store.snapshotLockFiles(a, held)[0], 'shared')
    try {
      await assert.rejects(moveGroup(store, a, vm('rd'), b), (e: unknown) => {
        assert.ok(e instanceof LockBusyError, `soft error expected, got ${String(e)}`)
        assert.match(e.message, /snapshot 'vm\/rd\/2026-04-16T17:27:00Z'.* - locked by pid \d+/)
        assert.match(e.message, /20 snapshot\(s\) remain at the source/)
        return true
      })
    } finally {
      await reader.release()
    }
    const atTarget = await listSnapshotRefs(store, b, vm('rd'))
    const atSource = await listSnapshotRefs(store, a, vm('rd'))
    assert.equal(atTarget.length, MAX_SNAPSHOT_LOCKS)
    assert.equal(atSource.length, 20)
    assert.ok(
      Math.max(...atTarget.map((s) => s.time)) < Math.min(...atSource.map((s) => s.time)),
      'clean split: target older than source',
    )
    const r = await moveGroup(store, a, vm('rd'), b)
    assert.equal(r.merged, true)
    assert.equal((await listSnapshotRefs(store, b, vm('rd'))).length, count)
    assert.equal(existsSync(store.groupDir(a, vm('rd'))), false)
  })

  it('a running backup (group lock held by another process) makes the move fail soft', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', 'busy', T0)
    const backup = await spawnNodeHolder('flock', store.groupLockFile(a, vm('busy')), 'exclusive')
    try {
      await assert.rejects(
        moveGroup(store, a, vm('busy'), b),
        (e: unknown) => e instanceof LockBusyError && /group 'vm\/busy'.*locked by pid/.test(e.message),
      )
    } finally {
      await backup.release()
    }
    assert.equal((await listSnapshotRefs(store, a, vm('busy'))).length, 1)
  })

  it('two processes moving A→B and B→A at once never deadlock', async () => {
    const [a, b] = await pair()
    for (let i = 0; i < 300; i++) await makeFakeSnapshot(store, a, 'vm', 'm', T0 + i)
    await makeFakeGroup(store, b, 'vm', 'm') // same-named group at both ends
    const run = (from: BackupNamespace, to: BackupNamespace): Promise<{ code: number; ms: number }> =>
      new Promise((resolve) => {
        const t = Date.now()
        const child = spawn(
          process.execPath,
          [
            CLI_BIN,
            'group',
            'move',
            'vm/m',
            '--store',
            'store1',
            '--ns',
            from.toString(),
            '--target-ns',
            to.toString(),
          ],
          {
            env: home.env,
            stdio: 'ignore',
          },
        )
        child.on('close', (code) => resolve({ code: code ?? -1, ms: Date.now() - t }))
      })
    const [x, y] = await Promise.all([run(a, b), run(b, a)])
    assert.ok(x.ms < 20_000 && y.ms < 20_000, 'both finished promptly')
    const total =
      (await listSnapshotRefs(store, a, vm('m'))).length + (await listSnapshotRefs(store, b, vm('m'))).length
    assert.equal(total, 300, 'every snapshot exists exactly once')
  })

  it('dry run shows the plan and changes nothing', async () => {
    const [a, b] = await pair()
    await makeFakeSnapshot(store, a, 'vm', 'p1', T0 + 5)
    await makeFakeSnapshot(store, a, 'vm', 'p2', T0)
    await makeFakeSnapshot(store, b, 'vm', 'p2', T0 + 9)
    const plan = await planMoveGroups(store, a, [vm('p1'), vm('p2')], b, true)
    assert.deepEqual(
      plan.groups.map((g) => [g.group, g.action]),
      [
        ['vm/p1', 'create'],
        ['vm/p2', 'conflict'],
      ],
    )
    assert.match(plan.groups[1]!.conflict!, /snapshot time mismatch/)
    assert.equal(plan.conflicts, 1)
    assert.equal((await listSnapshotRefs(store, a, vm('p1'))).length, 1)
  })
})
