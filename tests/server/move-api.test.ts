// Moves through the API (spec/move.md §4): the privilege matrix, dry-run plans, a move task
// followed to OK, abort of a long move (clean time split, rerun finishes), ACL re-pointing after a
// namespace move, and a task list that survives a server restart.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { createNamespace, listSnapshotRefs } from '../../src/datastore/index.js'
import { buildServer } from '../../src/server/build-server.js'
import { makeBulkSnapshots } from '../helpers/bulk-snapshots.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ServerFixture, type Identity } from '../helpers/server-fixture.js'

const T0 = 1776359903
const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const enc = encodeURIComponent

describe('move endpoints', () => {
  let fx: ServerFixture
  before(async () => {
    fx = await ServerFixture.create()
    for (const n of ['src', 'dst', 'm', 'm/child', 'm2', 'p', 'p/x', 'q'])
      await createNamespace(fx.store, ns(n))
    await makeFakeSnapshot(fx.store, ns('src'), 'vm', 'owned', T0, { owner: 'pu@pbs' })
    await makeFakeSnapshot(fx.store, ns('src'), 'vm', 'foreign', T0, { owner: 'other@pbs' })
  })
  after(async () => {
    await fx.close()
  })

  /** A dry-run move-group of src:vm/<id> → dst by `who`: the HTTP status. */
  async function tryMoveGroup(who: Identity, id: string): Promise<number> {
    const r = await fx.call(
      'POST',
      '/admin/datastore/store1/move-group',
      { ns: 'src', 'target-ns': 'dst', 'backup-type': 'vm', 'backup-id': id, 'dry-run': true },
      who,
    )
    return r.status
  }

  it('move-group privilege matrix', async () => {
    const S = '/datastore/store1/src'
    const D = '/datastore/store1/dst'
    type Row = {
      name: string
      user: [string, string][]
      token?: [string, string][]
      as: 'user' | 'token'
      id: string
      status: number
    }
    const rows: Row[] = [
      {
        name: 'Modify on both',
        user: [['/datastore/store1', 'DatastoreAdmin']],
        as: 'user',
        id: 'foreign',
        status: 200,
      },
      {
        name: 'Modify on both (per namespace)',
        user: [
          [S, 'DatastoreAdmin'],
          [D, 'DatastoreAdmin'],
        ],
        as: 'user',
        id: 'foreign',
        status: 200,
      },
      {
        name: 'Prune+Backup, owner',
        user: [['/datastore/store1', 'DatastorePowerUser']],
        as: 'user',
        id: 'owned',
        status: 200,
      },
      {
        name: 'Prune+Backup, not owner',
        user: [['/datastore/store1', 'DatastorePowerUser']],
        as: 'user',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'Prune on source, Modify on target, owner',
        user: [
          [S, 'DatastorePowerUser'],
          [D, 'DatastoreAdmin'],
        ],
        as: 'user',
        id: 'owned',
        status: 200,
      },
      {
        name: 'Prune on source, Modify on target, not owner',
        user: [
          [S, 'DatastorePowerUser'],
          [D, 'DatastoreAdmin'],
        ],
        as: 'user',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'Modify on source, Backup on target, not owner',
        user: [
          [S, 'DatastoreAdmin'],
          [D, 'DatastoreBackup'],
        ],
        as: 'user',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'Modify on source, Backup on target, owner',
        user: [
          [S, 'DatastoreAdmin'],
          [D, 'DatastoreBackup'],
        ],
        as: 'user',
        id: 'owned',
        status: 200,
      },
      {
        name: 'Backup only on source',
        user: [['/datastore/store1', 'DatastoreBackup']],
        as: 'user',
        id: 'owned',
        status: 403,
      },
      { name: 'nothing on target', user: [[S, 'DatastoreAdmin']], as: 'user', id: 'foreign', status: 403 },
      {
        name: 'Audit only',
        user: [['/datastore/store1', 'DatastoreAudit']],
        as: 'user',
        id: 'owned',
        status: 403,
      },
      {
        name: 'NoAccess on target blocks inheritance',
        user: [
          ['/datastore/store1', 'DatastoreAdmin'],
          [D, 'NoAccess'],
        ],
        as: 'user',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'token narrower than user',
        user: [['/datastore/store1', 'DatastoreAdmin']],
        token: [['/datastore/store1', 'DatastoreAudit']],
        as: 'token',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'token wider than user is cut to the user',
        user: [['/datastore/store1', 'DatastoreAudit']],
        token: [['/datastore/store1', 'DatastoreAdmin']],
        as: 'token',
        id: 'foreign',
        status: 403,
      },
      {
        name: 'token with Modify (user too)',
        user: [['/datastore/store1', 'DatastoreAdmin']],
        token: [['/datastore/store1', 'DatastoreAdmin']],
        as: 'token',
        id: 'foreign',
        status: 200,
      },
      {
        name: "token does not own its user's group",
        user: [['/datastore/store1', 'DatastorePowerUser']],
        token: [['/datastore/store1', 'DatastorePowerUser']],
        as: 'token',
        id: 'owned',
        status: 403,
      },
    ]
    let n = 0
    for (const row of rows) {
      // A fresh pu@pbs-like user per row would lose ownership; rows needing ownership use pu@pbs itself.
      const userid = row.id === 'owned' ? 'pu@pbs' : `u${n++}@pbs`
      await fx.access.updateAcl((acl) => {
        acl.entries = acl.entries.filter((e) => !e.ugid.startsWith(`${userid}`))
      })
      const ids = await fx.identity(userid, row.user, row.token ?? row.user)
      const status = await tryMoveGroup(ids[row.as], row.id)
      assert.equal(status, row.status, `${row.name}: expected ${row.status}, got ${status}`)
    }
  })

  it('move-group denial texts follow PBS', async () => {
    const { user } = await fx.identity('texts@pbs', [['/datastore/store1', 'DatastoreAudit']])
    const r = await fx.call(
      'POST',
      '/admin/datastore/store1/move-group',
      { ns: 'src', 'target-ns': 'dst', 'backup-type': 'vm', 'backup-id': 'owned' },
      user,
    )
    assert.equal(r.status, 403)
    assert.equal(
      r.text,
      'permission check failed - missing Datastore.Modify|Datastore.Prune on /datastore/store1/src',
    )
    const { user: pu } = await fx.identity('pu@pbs', [['/datastore/store1', 'DatastorePowerUser']])
    const o = await fx.call(
      'POST',
      '/admin/datastore/store1/move-group',
      { ns: 'src', 'target-ns': 'dst', 'backup-type': 'vm', 'backup-id': 'foreign' },
      pu,
    )
    assert.equal(o.text, 'backup owner check failed (pu@pbs != other@pbs)')
  })

  it('move-namespace privilege matrix: Modify on the parents of source and target', async () => {
    type Row = { name: string; acl: [string, string][]; ns: string; target: string; status: number }
    const rows: Row[] = [
      {
        name: 'Modify on the store',
        acl: [['/datastore/store1', 'DatastoreAdmin']],
        ns: 'p/x',
        target: 'q/x',
        status: 200,
      },
      {
        name: 'Modify on both parents',
        acl: [
          ['/datastore/store1/p', 'DatastoreAdmin'],
          ['/datastore/store1/q', 'DatastoreAdmin'],
        ],
        ns: 'p/x',
        target: 'q/x',
        status: 200,
      },
      {
        name: 'Modify on the source itself only',
        acl: [
          ['/datastore/store1/p/x', 'DatastoreAdmin'],
          ['/datastore/store1/q', 'DatastoreAdmin'],
        ],
        ns: 'p/x',
        target: 'q/x',
        status: 403,
      },
      {
        name: 'Modify on source parent only',
        acl: [['/datastore/store1/p', 'DatastoreAdmin']],
        ns: 'p/x',
        target: 'q/x',
        status: 403,
      },
      {
        name: 'Prune+Backup is not enough',
        acl: [['/datastore/store1', 'DatastorePowerUser']],
        ns: 'p/x',
        target: 'q/x',
        status: 403,
      },
      {
        name: 'root source is refused',
        acl: [['/datastore/store1', 'DatastoreAdmin']],
        ns: '',
        target: 'q/x',
        status: 400,
      },
      {
        name: 'root target is refused',
        acl: [['/datastore/store1', 'DatastoreAdmin']],
        ns: 'p/x',
        target: '',
        status: 400,
      },
    ]
    let n = 0
    for (const row of rows) {
      const { user } = await fx.identity(`nsmove${n++}@pbs`, row.acl)
      const r = await fx.call(
        'POST',
        '/admin/datastore/store1/move-namespace',
        { ns: row.ns, 'target-ns': row.target, 'dry-run': true },
        user,
      )
      assert.equal(r.status, row.status, `${row.name}: ${r.text}`)
    }
  })

  it('dry-run returns the plan synchronously and changes nothing', async () => {
    const r = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'dst',
      'backup-type': 'vm',
      'backup-id': 'owned',
      'dry-run': true,
    })
    assert.equal(r.status, 200)
    const plan = r.data as { groups: { action: string; snapshots: number }[]; 'total-snapshots': number }
    assert.equal(plan.groups[0]!.action, 'create')
    assert.equal(plan['total-snapshots'], 1)
    assert.equal((await listSnapshotRefs(fx.store, ns('src'), { type: 'vm', id: 'owned' })).length, 1)
  })

  it('pre-check errors are synchronous 4xx answers', async () => {
    const same = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'src',
      'backup-type': 'vm',
      'backup-id': 'owned',
    })
    assert.equal(same.status, 400)
    assert.match(same.text, /'target-ns': source and target namespace must be different/)
    const missing = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'nope',
      'backup-type': 'vm',
      'backup-id': 'owned',
    })
    assert.equal(missing.status, 404)
    assert.match(missing.text, /target namespace 'nope' does not exist/)
    const bad = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'dst',
      'backup-type': 'vm',
      'backup-id': 'owned',
      'merge-group': 'x',
    })
    assert.equal(bad.status, 400)
    assert.match(bad.text, /'merge-group'/)
  })

  it('move-group through the API: a UPID, followed to OK through status and log', async () => {
    for (let i = 1; i < 5; i++)
      await makeFakeSnapshot(fx.store, ns('src'), 'vm', 'owned', T0 + i * 60, { owner: 'pu@pbs' })
    const r = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'dst',
      'backup-type': 'vm',
      'backup-id': 'owned',
    })
    assert.equal(r.status, 200, r.text)
    const upid = r.data as string
    assert.match(upid, /:move-group:store1\\x3asrc-vm-owned\\x3adst:admin@pbs!t:$/)
    const st = await fx.waitTask(upid)
    assert.equal(st.exitstatus, 'OK')
    assert.equal(st.type, 'move-group')
    assert.equal(st.id, 'store1:src/vm/owned:dst')
    assert.equal(st.user, 'admin@pbs')
    assert.equal(st.tokenid, 't')
    const log = await fx.call('GET', `/nodes/localhost/tasks/${enc(upid)}/log`, { limit: 0 })
    const text = (log.data as { t: string }[]).map((l) => l.t).join('\n')
    assert.match(text, /moved 5 snapshot\(s\) of group 'vm\/owned' from 'src' to 'dst'/)
    assert.match(text, /TASK OK$/)
    assert.equal((await listSnapshotRefs(fx.store, ns('dst'), { type: 'vm', id: 'owned' })).length, 5)
  })

  it('abort: a long move aborted via DELETE leaves a clean time split, and a rerun finishes', async () => {
    const COUNT = 6000
    makeBulkSnapshots(fx.store, ns('src'), 'vm', 'big', T0, COUNT)
    const r = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'dst',
      'backup-type': 'vm',
      'backup-id': 'big',
    })
    const upid = r.data as string
    // Abort as soon as the first snapshots have moved (progress shows up in the status).
    for (;;) {
      const s = (await fx.call('GET', `/nodes/localhost/tasks/${enc(upid)}/status`)).data as Record<
        string,
        unknown
      >
      if (s.status === 'stopped') assert.fail(`move finished before the abort: ${JSON.stringify(s)}`)
      const p = s.progress as { done: number; total: number } | undefined
      if (p && p.done > 0) {
        assert.equal(p.total, COUNT)
        break
      }
      await new Promise((res) => setImmediate(res))
    }
    const del = await fx.call('DELETE', `/nodes/localhost/tasks/${enc(upid)}`)
    assert.equal(del.status, 200)
    assert.equal(del.data, null)
    const st = await fx.waitTask(upid)
    assert.match(String(st.exitstatus), /abort/)
    const log = (await fx.call('GET', `/nodes/localhost/tasks/${enc(upid)}/log`, { limit: 0 })).data as {
      t: string
    }[]
    assert.ok(log.some((l) => l.t.endsWith('received abort request ...')))
    assert.match(log[log.length - 1]!.t, /TASK ERROR: .*abort/)

    const moved = await listSnapshotRefs(fx.store, ns('dst'), { type: 'vm', id: 'big' })
    const left = await listSnapshotRefs(fx.store, ns('src'), { type: 'vm', id: 'big' })
    assert.ok(
      moved.length > 0 && left.length > 0,
      `partial move expected (moved ${moved.length}, left ${left.length})`,
    )
    assert.equal(moved.length + left.length, COUNT)
    assert.ok(
      moved[moved.length - 1]!.time < left[0]!.time,
      'everything at the target is older than everything left',
    )

    const rerun = await fx.call('POST', '/admin/datastore/store1/move-group', {
      ns: 'src',
      'target-ns': 'dst',
      'backup-type': 'vm',
      'backup-id': 'big',
    })
    assert.equal((await fx.waitTask(rerun.data as string)).exitstatus, 'OK')
    assert.equal((await listSnapshotRefs(fx.store, ns('dst'), { type: 'vm', id: 'big' })).length, COUNT)
  })

  it('a second move of the same group while one runs is refused (one task per type and id)', async () => {
    makeBulkSnapshots(fx.store, ns('src'), 'vm', 'twice', T0, 3000)
    const p = { ns: 'src', 'target-ns': 'dst', 'backup-type': 'vm', 'backup-id': 'twice' }
    const first = await fx.call('POST', '/admin/datastore/store1/move-group', p)
    const second = await fx.call('POST', '/admin/datastore/store1/move-group', p)
    assert.equal(second.status, 409, second.text)
    assert.match(second.text, /already running/)
    assert.equal((await fx.waitTask(first.data as string)).exitstatus, 'OK')
  })

  it('move-namespace re-points ACL entries on the moved paths, and logs it', async () => {
    await makeFakeSnapshot(fx.store, ns('m/child'), 'ct', '1', T0)
    await fx.identity('watcher@pbs', [])
    await fx.access.modifyAcl({ path: '/datastore/store1/m', role: 'DatastoreAudit', authid: 'watcher@pbs' })
    await fx.access.modifyAcl({
      path: '/datastore/store1/m/child',
      role: 'DatastoreBackup',
      authid: 'watcher@pbs',
    })
    await fx.access.modifyAcl({
      path: '/datastore/store1/mx',
      role: 'DatastoreBackup',
      authid: 'watcher@pbs',
    })
    const r = await fx.call('POST', '/admin/datastore/store1/move-namespace', {
      ns: 'm',
      'target-ns': 'm2/moved',
    })
    assert.equal(r.status, 200, r.text)
    const st = await fx.waitTask(r.data as string)
    assert.equal(st.exitstatus, 'OK')
    assert.equal(st.id, 'store1:m:m2/moved')
    const acl = (await fx.access.acl()).config.entries
      .filter((e) => e.ugid === 'watcher@pbs')
      .map((e) => `${e.path} ${e.roleid}`)
      .sort()
    assert.deepEqual(acl, [
      '/datastore/store1/m2/moved DatastoreAudit',
      '/datastore/store1/m2/moved/child DatastoreBackup',
      '/datastore/store1/mx DatastoreBackup',
    ])
    const log = (
      (await fx.call('GET', `/nodes/localhost/tasks/${enc(r.data as string)}/log`, { limit: 0 })).data as {
        t: string
      }[]
    )
      .map((l) => l.t)
      .join('\n')
    assert.match(
      log,
      /re-pointed ACL entry 'DatastoreAudit' of 'watcher@pbs' from '\/datastore\/store1\/m' to '\/datastore\/store1\/m2\/moved'/,
    )
    assert.equal((await listSnapshotRefs(fx.store, ns('m2/moved/child'), { type: 'ct', id: '1' })).length, 1)
  })

  it('the task list survives a server restart', async () => {
    const before = (await fx.call('GET', '/nodes/localhost/tasks', { limit: 0 })).data as {
      upid: string
      status?: string
    }[]
    assert.ok(before.length >= 4)
    const second = await buildServer({ installation: fx.home.installation, authFailureDelayMs: 0 })
    try {
      const res = await second.app.inject({
        method: 'GET',
        url: '/api2/json/nodes/localhost/tasks?limit=0',
        headers: fx.admin.headers,
      })
      const after = (JSON.parse(res.body) as { data: { upid: string; status?: string }[] }).data
      assert.deepEqual(
        after.map((t) => [t.upid, t.status]),
        before.map((t) => [t.upid, t.status]),
      )
      const st = await second.app.inject({
        method: 'GET',
        url: `/api2/json/nodes/localhost/tasks/${enc(before[0]!.upid)}/status`,
        headers: fx.admin.headers,
      })
      assert.equal((JSON.parse(st.body) as { data: { status: string } }).data.status, 'stopped')
    } finally {
      await second.close()
    }
  })
})
