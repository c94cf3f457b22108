// move-namespace (spec/move.md §3): rename semantics, merge into an existing target, the §3.2
// checks, max-depth, delete-source rules, deferral of lock-conflicted groups, partial errors.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupGroupRef } from '../../src/api-types/index.js'
import {
  createDatastore,
  createNamespace,
  listNamespaces,
  listSnapshotRefs,
  type Datastore,
} from '../../src/datastore/index.js'
import { moveNamespace, planMoveNamespace } from '../../src/datastore/move/index.js'
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903
const vm = (id: string): BackupGroupRef => ({ type: 'vm', id })

describe('move-namespace', () => {
  let home: TempHome
  let store: Datastore
  const mk = async (...names: string[]): Promise<void> => {
    for (const n of names) await createNamespace(store, ns(n))
  }
  const names = async (under = ''): Promise<string[]> => (await listNamespaces(store, ns(under))).map(String)

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
  })
  after(() => home.cleanup())

  it('target-ns is the new full path: a/b → c/d moves the subtree and removes the source', async () => {
    await mk('r1', 'r1/a', 'r1/a/b', 'r1/a/b/x', 'r1/c')
    await makeFakeSnapshot(store, ns('r1/a/b'), 'vm', '1', T0)
    await makeFakeSnapshot(store, ns('r1/a/b/x'), 'ct', '2', T0)
    const r = await moveNamespace(store, ns('r1/a/b'), ns('r1/c/d'))
    assert.deepEqual(r.createdNamespaces, ['r1/c/d', 'r1/c/d/x'])
    assert.deepEqual(r.removedNamespaces, ['r1/a/b/x', 'r1/a/b'])
    assert.equal(r.movedSnapshots, 2)
    assert.deepEqual(await names('r1'), ['r1', 'r1/a', 'r1/c', 'r1/c/d', 'r1/c/d/x'])
    assert.equal((await listSnapshotRefs(store, ns('r1/c/d/x'), { type: 'ct', id: '2' })).length, 1)
  })

  it('merges into an existing target (groups merge, same-named children combine)', async () => {
    await mk('r2', 'r2/src', 'r2/src/k', 'r2/dst', 'r2/dst/k')
    await makeFakeSnapshot(store, ns('r2/src'), 'vm', '1', T0 + 10)
    await makeFakeSnapshot(store, ns('r2/dst'), 'vm', '1', T0)
    await makeFakeSnapshot(store, ns('r2/src/k'), 'vm', '2', T0)
    const r = await moveNamespace(store, ns('r2/src'), ns('r2/dst'))
    assert.deepEqual(r.createdNamespaces, [])
    assert.deepEqual(
      (await listSnapshotRefs(store, ns('r2/dst'), vm('1'))).map((s) => s.time),
      [T0, T0 + 10],
    )
    assert.equal(existsSync(store.namespaceDir(ns('r2/src'))), false)
  })

  it('moving into an ancestor is allowed; into the own subtree, root, same, missing are refused', async () => {
    await mk('r3', 'r3/a', 'r3/a/b')
    await makeFakeSnapshot(store, ns('r3/a/b'), 'vm', '9', T0)
    await assert.rejects(
      moveNamespace(store, ns('r3/a'), ns('r3/a/b/c')),
      (e: unknown) => e instanceof ValidationError && /into its own subtree/.test(e.message),
    )
    await assert.rejects(moveNamespace(store, BackupNamespace.ROOT, ns('r3/z')), /cannot move root namespace/)
    await assert.rejects(moveNamespace(store, ns('r3/a'), ns('r3/a')), /must be different/)
    await assert.rejects(
      moveNamespace(store, ns('r3/none'), ns('r3/z')),
      (e: unknown) =>
        e instanceof NotFoundError && /source namespace 'r3\/none' does not exist/.test(e.message),
    )
    await assert.rejects(
      moveNamespace(store, ns('r3/a'), ns('r3/q/z')),
      /target parent namespace 'r3\/q' does not exist/,
    )
    await moveNamespace(store, ns('r3/a/b'), ns('r3/a'))
    assert.equal((await listSnapshotRefs(store, ns('r3/a'), vm('9'))).length, 1)
    assert.deepEqual(await names('r3'), ['r3', 'r3/a'])
  })

  it('refuses a move that would exceed depth 7, before changing anything', async () => {
    await mk('r4', 'r4/s', 'r4/s/1', 'r4/s/1/2', 'r4/t', 'r4/t/u', 'r4/t/u/v', 'r4/t/u/v/w')
    await assert.rejects(
      moveNamespace(store, ns('r4/s'), ns('r4/t/u/v/w/new')),
      (e: unknown) => e instanceof ValidationError && /namespace too deep/.test(e.message),
    )
    assert.deepEqual(await names('r4/t/u/v/w'), ['r4/t/u/v/w'])
  })

  it('max-depth 0 moves only the groups of the namespace; the source stays because it has children', async () => {
    await mk('r5', 'r5/s', 'r5/s/c')
    await makeFakeSnapshot(store, ns('r5/s'), 'vm', '1', T0)
    await makeFakeSnapshot(store, ns('r5/s/c'), 'vm', '2', T0)
    const r = await moveNamespace(store, ns('r5/s'), ns('r5/t'), { maxDepth: 0 })
    assert.equal(r.movedGroups, 1)
    assert.equal((await listSnapshotRefs(store, ns('r5/s/c'), vm('2'))).length, 1, 'child untouched')
    assert.equal(existsSync(store.namespaceDir(ns('r5/s'))), true)
  })

  it('delete-source=false keeps the emptied source namespaces', async () => {
    await mk('r6', 'r6/s')
    await makeFakeSnapshot(store, ns('r6/s'), 'vm', '1', T0)
    await moveNamespace(store, ns('r6/s'), ns('r6/t'), { deleteSource: false })
    assert.equal(existsSync(store.namespaceDir(ns('r6/s'))), true)
    assert.equal((await listSnapshotRefs(store, ns('r6/t'), vm('1'))).length, 1)
  })

  it("removes an emptied source despite a crashed group creation's hidden directory, unless it is live", async () => {
    await mk('r20', 'r20/s', 'r20/t')
    await makeFakeSnapshot(store, ns('r20/s'), 'vm', '1', T0)
    // what a SIGKILL inside createLockedGroup leaves (it holds the group lock meanwhile)
    const leftover = join(store.typeDir(ns('r20/s'), 'vm'), '.tmp_new_7_0123abcd')
    await mkdir(leftover)
    await writeFile(join(leftover, 'owner'), 'root@pam\n')
    const r = await moveNamespace(store, ns('r20/s'), ns('r20/t'))
    assert.deepEqual(r.warnings, [])
    assert.deepEqual(r.removedNamespaces, ['r20/s'])

    // a creation in progress (its group lock held by another process) is left, and so is the namespace
    await mk('r20/s')
    await makeFakeSnapshot(store, ns('r20/s'), 'vm', '2', T0)
    const live = join(store.typeDir(ns('r20/s'), 'vm'), '.tmp_new_8_0123abcd')
    await mkdir(live)
    const holder = await spawnNodeHolder('flock', store.groupLockFile(ns('r20/s'), vm('8')), 'exclusive')
    try {
      const kept = await moveNamespace(store, ns('r20/s'), ns('r20/t'))
      assert.match(kept.warnings.join('\n'), /source namespace 'r20\/s' not fully removed/)
      assert.ok(existsSync(live), 'the live creation is untouched')
    } finally {
      await holder.release()
    }
  })

  it('a still-locked group is retried once, then reported as retryable; the rest moves; its namespace stays', async () => {
    await mk('r7', 'r7/s', 'r7/s/c')
    await makeFakeSnapshot(store, ns('r7/s'), 'vm', 'locked', T0)
    await makeFakeSnapshot(store, ns('r7/s'), 'vm', 'free', T0)
    await makeFakeSnapshot(store, ns('r7/s/c'), 'vm', 'child', T0)
    await makeFakeSnapshot(store, ns('r7/s'), 'vm', 'conflict', T0 + 5)
    await mk('r7/t')
    await makeFakeSnapshot(store, ns('r7/t'), 'vm', 'conflict', T0 + 50)
    const holder = await spawnNodeHolder('flock', store.groupLockFile(ns('r7/s'), vm('locked')), 'exclusive')
    const infos: string[] = []
    try {
      await assert.rejects(
        moveNamespace(store, ns('r7/s'), ns('r7/t'), {
          log: { info: (m) => infos.push(m), warn: () => undefined },
        }),
        (e: unknown) => {
          assert.ok(e instanceof ConflictError)
          assert.match(
            e.message,
            /namespace move partially completed; 2 group\(s\) could not be moved and remain at source/,
          )
          // the fatal group's cause is in the error line, without repeating the move prefix
          assert.match(
            e.message,
            /fatal \(investigate before retrying\): 'vm\/conflict' in 'r7\/s' \(snapshot time mismatch - target snapshot/,
          )
          assert.doesNotMatch(e.message, /\(moving group/)
          assert.match(
            e.message,
            /still locked \(rerun move-namespace or move-group may succeed\): 'vm\/locked' in 'r7\/s'/,
          )
          return true
        },
      )
    } finally {
      await holder.release()
    }
    assert.ok(infos.some((m) => /deferring group 'vm\/locked'/.test(m)))
    assert.equal((await listSnapshotRefs(store, ns('r7/t'), vm('free'))).length, 1)
    assert.equal((await listSnapshotRefs(store, ns('r7/t/c'), vm('child'))).length, 1)
    assert.equal(existsSync(store.namespaceDir(ns('r7/s/c'))), false, 'emptied child removed')
    assert.equal(existsSync(store.namespaceDir(ns('r7/s'))), true, 'source with failed groups kept')
  })

  it('dry run lists creations, merges, conflicts and removals, changing nothing', async () => {
    await mk('r8', 'r8/s', 'r8/s/c', 'r8/t')
    await makeFakeSnapshot(store, ns('r8/s'), 'vm', '1', T0)
    await makeFakeSnapshot(store, ns('r8/t'), 'vm', '1', T0 + 1)
    await makeFakeSnapshot(store, ns('r8/s/c'), 'vm', '2', T0)
    const plan = await planMoveNamespace(store, ns('r8/s'), ns('r8/t'))
    assert.deepEqual(plan['create-namespaces'], ['r8/t/c'])
    assert.deepEqual(
      plan.groups.map((g) => [g.ns, g['target-ns'], g.group, g.action]),
      [
        ['r8/s', 'r8/t', 'vm/1', 'conflict'],
        ['r8/s/c', 'r8/t/c', 'vm/2', 'create'],
      ],
    )
    assert.deepEqual(plan['remove-namespaces'], ['r8/s/c'])
    assert.equal(existsSync(store.namespaceDir(ns('r8/t/c'))), false)
  })
})
