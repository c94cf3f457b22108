// `pbs-store group move` and `namespace move` end to end: real processes, JSON output, dry-run,
// several groups at once, progress lines, and non-zero exits for refused or partial moves.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import {
  createDatastore,
  createNamespace,
  listSnapshotRefs,
  type Datastore,
} from '../../src/datastore/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903

describe('pbs-store move commands', () => {
  let home: TempHome
  let store: Datastore
  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    for (const n of ['prod', 'archive', 'old', 'old/x']) await createNamespace(store, ns(n))
    for (let i = 0; i < 5; i++) await makeFakeSnapshot(store, ns('prod'), 'vm', '100', T0 + i)
    await makeFakeSnapshot(store, ns('prod'), 'vm', '101', T0)
    await makeFakeSnapshot(store, ns('prod'), 'ct', '200', T0 + 50)
    await makeFakeSnapshot(store, ns('archive'), 'ct', '200', T0 + 100) // newer: merge conflict
    await makeFakeSnapshot(store, ns('old/x'), 'host', 'h1', T0)
  })
  after(() => home.cleanup())

  it('dry run prints the plan as JSON and changes nothing', async () => {
    const plan = await runCliJson<{
      groups: { group: string; action: string; conflict?: string }[]
      conflicts: number
    }>(
      [
        'group',
        'move',
        'vm/100',
        'ct/200',
        '--store',
        'store1',
        '--ns',
        'prod',
        '--target-ns',
        'archive',
        '--dry-run',
      ],
      home.env,
    )
    assert.deepEqual(
      plan.groups.map((g) => [g.group, g.action]),
      [
        ['vm/100', 'create'],
        ['ct/200', 'conflict'],
      ],
    )
    assert.match(plan.groups[1]!.conflict!, /snapshot time mismatch/)
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'vm', id: '100' })).length, 5)
    const text = await runCli(
      ['group', 'move', 'vm/100', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive', '--dry-run'],
      home.env,
    )
    assert.equal(text.code, 0)
    assert.match(text.stdout, /dry run - nothing changed/)
    assert.match(text.stdout, /5 snapshot\(s\) would move; 0 conflict/)
  })

  it('moves several groups in one call, reports each, prints progress lines', async () => {
    const r = await runCli(
      ['group', 'move', 'vm/100', 'vm/101', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive'],
      home.env,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /moved group 'vm\/100' \(5 snapshot\(s\)\) to 'archive'/)
    assert.match(r.stdout, /moved group 'vm\/101' \(1 snapshot\(s\)\) to 'archive'/)
    assert.match(r.stderr, /progress: 6\/6 snapshots \(100%\)/)
    assert.equal((await listSnapshotRefs(store, ns('archive'), { type: 'vm', id: '100' })).length, 5)
  })

  it('a refused merge exits 1 with the reason; other groups in the call still move', async () => {
    await makeFakeSnapshot(store, ns('prod'), 'vm', '102', T0)
    const r = await runCli(
      ['group', 'move', 'ct/200', 'vm/102', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive'],
      home.env,
    )
    assert.equal(r.code, 1)
    assert.match(r.stderr, /moving group 'ct\/200' from 'prod' to 'archive' failed - snapshot time mismatch/)
    assert.match(r.stderr, /1 of 2 group\(s\) could not be moved/)
    assert.equal((await listSnapshotRefs(store, ns('archive'), { type: 'vm', id: '102' })).length, 1)
  })

  it('namespace move: JSON result, and the source is gone', async () => {
    const r = await runCliJson<{
      'moved-groups': number
      'created-namespaces': string[]
      'removed-namespaces': string[]
    }>(['namespace', 'move', 'old', '--store', 'store1', '--target-ns', 'archive/old'], home.env)
    assert.equal(r['moved-groups'], 1)
    assert.deepEqual(r['created-namespaces'], ['archive/old', 'archive/old/x'])
    assert.deepEqual(r['removed-namespaces'], ['old/x', 'old'])
  })

  it('a partial namespace move exits 1 and names the group left behind', async () => {
    await createNamespace(store, ns('part'))
    await makeFakeSnapshot(store, ns('part'), 'vm', '7', T0)
    await makeFakeSnapshot(store, ns('part'), 'vm', '8', T0)
    const holder = await spawnNodeHolder(
      'flock',
      store.groupLockFile(ns('part'), { type: 'vm', id: '7' }),
      'exclusive',
    )
    try {
      const r = await runCli(
        ['namespace', 'move', 'part', '--store', 'store1', '--target-ns', 'moved'],
        home.env,
      )
      assert.equal(r.code, 1)
      assert.match(
        r.stderr,
        /still locked \(rerun move-namespace or move-group may succeed\): 'vm\/7' in 'part'/,
      )
    } finally {
      await holder.release()
    }
    const rerun = await runCli(
      ['namespace', 'move', 'part', '--store', 'store1', '--target-ns', 'moved'],
      home.env,
    )
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.equal((await listSnapshotRefs(store, ns('moved'), { type: 'vm', id: '7' })).length, 1)
  })

  it('bad input: clear errors, non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['group', 'move', 'vm/100', '--store', 'store1', '--ns', 'archive', '--target-ns', 'a/../b'],
        /invalid --target-ns 'a\/..\/b'/,
      ],
      [
        ['group', 'move', 'vm/100', '--store', 'store1', '--ns', 'archive', '--merge-group', 'perhaps'],
        /invalid --merge-group 'perhaps'/,
      ],
      [
        ['namespace', 'move', 'archive', '--store', 'store1', '--target-ns', 'archive/sub'],
        /into its own subtree/,
      ],
      [
        ['namespace', 'move', 'archive', '--store', 'store1', '--target-ns', 'z', '--max-depth', '8'],
        /invalid --max-depth '8'/,
      ],
      [['namespace', 'move', '', '--store', 'store1', '--target-ns', 'z'], /cannot move root namespace/],
    ]
    for (const [args, message] of cases) {
      const r = await runCli(args, home.env)
      assert.equal(r.code, 1, args.join(' '))
      assert.match(r.stderr, message, args.join(' '))
    }
  })
})
