// Every datastore, task and access endpoint through inject(): a happy path, a bad parameter (400
// naming the parameter) and a caller without privileges (403).
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupType } from '../../src/api-types/index.js'
import { createNamespace, readNotes, setMaintenanceMode } from '../../src/datastore/index.js'
import { encodeManifestBlob, newManifest } from '../../src/format/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ServerFixture, type Identity } from '../helpers/server-fixture.js'

const T0 = 1776359903
const ROOT = BackupNamespace.ROOT

describe('datastore, task and access endpoints', () => {
  let fx: ServerFixture
  let nobody: Identity
  let auditor: Identity

  /** A snapshot with a real (empty) manifest, so notes, files and verify work. */
  async function realSnapshot(
    ns: BackupNamespace,
    type: BackupType,
    id: string,
    time: number,
    owner = 'admin@pbs',
  ): Promise<void> {
    const dir = await makeFakeSnapshot(fx.store, ns, type, id, time, { owner, files: [] })
    await writeFile(join(dir, 'index.json.blob'), encodeManifestBlob(newManifest(type, id, time)))
  }

  before(async () => {
    fx = await ServerFixture.create()
    nobody = (await fx.identity('nobody@pbs', [])).token
    auditor = (await fx.identity('auditor@pbs', [['/datastore', 'DatastoreAudit']])).token
    await createNamespace(fx.store, BackupNamespace.parse('a'))
    for (let i = 0; i < 3; i++) await realSnapshot(ROOT, 'vm', '100', T0 + i * 3600)
    await realSnapshot(ROOT, 'ct', '200', T0)
    await realSnapshot(BackupNamespace.parse('a'), 'host', 'h1', T0)
  })
  after(async () => {
    await fx.close()
  })

  /** Asserts 400 naming `param`. */
  function assert400(r: { status: number; text: string }, param: string): void {
    assert.equal(r.status, 400, r.text)
    assert.match(r.text, new RegExp(`'${param}'`))
  }
  /** Asserts 403 permission check failed. */
  function assert403(r: { status: number; text: string }): void {
    assert.equal(r.status, 403, r.text)
    assert.match(r.text, /permission check failed|missing permissions|not allowed|Unprivileged/)
  }

  it('GET /admin/datastore', async () => {
    const r = await fx.call('GET', '/admin/datastore')
    assert.equal(r.status, 200)
    assert.deepEqual(r.data, [
      { store: 'store1', comment: null, 'mount-status': 'nonremovable', 'backend-type': 'filesystem' },
    ])
    assert.deepEqual((await fx.call('GET', '/admin/datastore', {}, nobody)).data, [])
    assert400(await fx.call('GET', '/admin/datastore', { x: 1 }), 'x')
  })

  it('GET/POST/DELETE namespace', async () => {
    const list = await fx.call('GET', '/admin/datastore/store1/namespace')
    assert.deepEqual(list.data, [{ ns: '' }, { ns: 'a' }])
    assert400(await fx.call('GET', '/admin/datastore/store1/namespace', { 'max-depth': 9 }), 'max-depth')
    assert403(await fx.call('GET', '/admin/datastore/store1/namespace', {}, nobody))

    const created = await fx.call('POST', '/admin/datastore/store1/namespace', { name: 'x', parent: 'a' })
    assert.equal(created.data, 'a/x')
    assert400(await fx.call('POST', '/admin/datastore/store1/namespace', { name: 'bad name' }), 'name')
    const denied = await fx.call('POST', '/admin/datastore/store1/namespace', { name: 'y' }, nobody)
    assert403(denied)
    assert.match(denied.text, /missing Datastore\.Modify on \/datastore\/store1$/)

    const del = await fx.call('DELETE', '/admin/datastore/store1/namespace', { ns: 'a/x' })
    assert.deepEqual(del.data, { 'removed-groups': 0, 'protected-snapshots': 0, 'removed-snapshots': 0 })
    assert400(await fx.call('DELETE', '/admin/datastore/store1/namespace', {}), 'ns')
    assert403(await fx.call('DELETE', '/admin/datastore/store1/namespace', { ns: 'a' }, auditor))
    const root = await fx.call('DELETE', '/admin/datastore/store1/namespace', { ns: '' })
    assert.equal(root.status, 400)
  })

  it('GET groups', async () => {
    const r = await fx.call('GET', '/admin/datastore/store1/groups')
    assert.equal(r.status, 200)
    const vm = (r.data as Record<string, unknown>[]).find((g) => g['backup-id'] === '100')!
    assert.equal(vm['backup-count'], 3)
    assert.equal(vm['last-backup'], T0 + 7200)
    assert.equal(vm.owner, 'admin@pbs')
    assert.deepEqual(vm.files, ['index.json.blob'])
    assert.equal((await fx.call('GET', '/admin/datastore/store1/groups', {}, auditor)).status, 200)
    assert400(await fx.call('GET', '/admin/datastore/store1/groups', { ns: '/' }), 'ns')
    assert403(await fx.call('GET', '/admin/datastore/store1/groups', {}, nobody))
    // a mistyped namespace is an error, not an empty list (nor a hint for the unprivileged)
    for (const path of ['groups', 'snapshots']) {
      const missing = await fx.call('GET', `/admin/datastore/store1/${path}`, { ns: 'nope' })
      assert.equal(missing.status, 404, missing.text)
      assert.match(missing.text, /namespace 'nope' does not exist/)
      assert403(await fx.call('GET', `/admin/datastore/store1/${path}`, { ns: 'nope' }, nobody))
    }
  })

  it('GET snapshots', async () => {
    const r = await fx.call('GET', '/admin/datastore/store1/snapshots', {
      'backup-type': 'vm',
      'backup-id': '100',
    })
    const list = r.data as Record<string, unknown>[]
    assert.equal(list.length, 3)
    assert.equal(list[0]!['backup-time'], T0)
    assert.equal(list[0]!.owner, 'admin@pbs')
    assert.equal(list[0]!.protected, false)
    assert.deepEqual(list[0]!.files, [
      {
        filename: 'index.json.blob',
        'crypt-mode': 'none',
        size: (list[0]!.files as { size: number }[])[0]!.size,
      },
    ])
    assert400(
      await fx.call('GET', '/admin/datastore/store1/snapshots', { 'backup-type': 'xx' }),
      'backup-type',
    )
    assert403(await fx.call('GET', '/admin/datastore/store1/snapshots', {}, nobody))
  })

  it('GET files', async () => {
    const p = { 'backup-type': 'vm', 'backup-id': '100', 'backup-time': T0 }
    const r = await fx.call('GET', '/admin/datastore/store1/files', p)
    assert.equal(r.status, 200)
    assert.equal((r.data as { filename: string }[])[0]!.filename, 'index.json.blob')
    assert400(
      await fx.call('GET', '/admin/datastore/store1/files', { ...p, 'backup-time': 0 }),
      'backup-time',
    )
    assert403(await fx.call('GET', '/admin/datastore/store1/files', p, nobody))
  })

  it('GET/PUT notes (snapshot notes in the manifest)', async () => {
    const p = { 'backup-type': 'vm', 'backup-id': '100', 'backup-time': T0 }
    assert.equal(
      (await fx.call('PUT', '/admin/datastore/store1/notes', { ...p, notes: 'hello\nworld' })).status,
      200,
    )
    assert.equal((await fx.call('GET', '/admin/datastore/store1/notes', p)).data, 'hello\nworld')
    const snaps = (
      await fx.call('GET', '/admin/datastore/store1/snapshots', { 'backup-type': 'vm', 'backup-id': '100' })
    ).data as Record<string, unknown>[]
    assert.equal(snaps[0]!.comment, 'hello')
    assert400(await fx.call('PUT', '/admin/datastore/store1/notes', p), 'notes')
    assert403(await fx.call('PUT', '/admin/datastore/store1/notes', { ...p, notes: 'x' }, auditor))
    assert403(await fx.call('GET', '/admin/datastore/store1/notes', p, nobody))
  })

  it('GET/PUT group-notes', async () => {
    const p = { 'backup-type': 'vm', 'backup-id': '100' }
    assert.equal(
      (await fx.call('PUT', '/admin/datastore/store1/group-notes', { ...p, notes: 'group\nnotes' })).status,
      200,
    )
    assert.equal((await fx.call('GET', '/admin/datastore/store1/group-notes', p)).data, 'group\nnotes')
    assert.equal(await readNotes(fx.store, ROOT, { type: 'vm', id: '100' }), 'group\nnotes')
    const groups = (await fx.call('GET', '/admin/datastore/store1/groups')).data as Record<string, unknown>[]
    assert.equal(groups.find((g) => g['backup-id'] === '100')!.comment, 'group\n')
    assert400(
      await fx.call('GET', '/admin/datastore/store1/group-notes', { ...p, 'backup-id': '-x' }),
      'backup-id',
    )
    assert403(await fx.call('PUT', '/admin/datastore/store1/group-notes', { ...p, notes: 'x' }, auditor))
    const missing = await fx.call('GET', '/admin/datastore/store1/group-notes', {
      'backup-type': 'vm',
      'backup-id': '999',
    })
    assert.equal(missing.status, 200) // an unknown group has no notes
  })

  it('GET/PUT protected', async () => {
    const p = { 'backup-type': 'vm', 'backup-id': '100', 'backup-time': T0 + 3600 }
    assert.equal(
      (await fx.call('PUT', '/admin/datastore/store1/protected', { ...p, protected: true })).status,
      200,
    )
    assert.equal((await fx.call('GET', '/admin/datastore/store1/protected', p)).data, true)
    const del = await fx.call('DELETE', '/admin/datastore/store1/snapshots', p)
    assert.equal(del.status, 409)
    assert.match(del.text, /^failed to delete snapshot - /)
    assert.equal(
      (await fx.call('PUT', '/admin/datastore/store1/protected', { ...p, protected: false })).status,
      200,
    )
    assert400(await fx.call('PUT', '/admin/datastore/store1/protected', p), 'protected')
    assert403(await fx.call('GET', '/admin/datastore/store1/protected', p, nobody))
    const gone = await fx.call('GET', '/admin/datastore/store1/protected', { ...p, 'backup-time': T0 + 1 })
    assert.equal(gone.status, 404)
  })

  it('POST change-owner', async () => {
    const p = { 'backup-type': 'ct', 'backup-id': '200' }
    const r = await fx.call('POST', '/admin/datastore/store1/change-owner', {
      ...p,
      'new-owner': 'auditor@pbs',
    })
    assert.equal(r.status, 200, r.text)
    const groups = (await fx.call('GET', '/admin/datastore/store1/groups')).data as Record<string, unknown>[]
    assert.equal(groups.find((g) => g['backup-id'] === '200')!.owner, 'auditor@pbs')
    assert400(
      await fx.call('POST', '/admin/datastore/store1/change-owner', { ...p, 'new-owner': 'nouser@pbs' }),
      'new-owner',
    )
    assert400(
      await fx.call('POST', '/admin/datastore/store1/change-owner', { ...p, 'new-owner': 'bad' }),
      'new-owner',
    )
    assert403(
      await fx.call(
        'POST',
        '/admin/datastore/store1/change-owner',
        { ...p, 'new-owner': 'admin@pbs' },
        auditor,
      ),
    )
  })

  it('DELETE snapshots and DELETE groups', async () => {
    await realSnapshot(ROOT, 'vm', '300', T0)
    await realSnapshot(ROOT, 'vm', '300', T0 + 60)
    const p = { 'backup-type': 'vm', 'backup-id': '300' }
    assert403(
      await fx.call('DELETE', '/admin/datastore/store1/snapshots', { ...p, 'backup-time': T0 }, auditor),
    )
    assert.equal(
      (await fx.call('DELETE', '/admin/datastore/store1/snapshots', { ...p, 'backup-time': T0 })).status,
      200,
    )
    assert400(await fx.call('DELETE', '/admin/datastore/store1/snapshots', p), 'backup-time')
    assert403(await fx.call('DELETE', '/admin/datastore/store1/groups', p, auditor))
    assert400(await fx.call('DELETE', '/admin/datastore/store1/groups', { 'backup-type': 'vm' }), 'backup-id')
    const r = await fx.call('DELETE', '/admin/datastore/store1/groups', p)
    assert.deepEqual(r.data, { 'removed-groups': 1, 'protected-snapshots': 0, 'removed-snapshots': 1 })
  })

  it('GET status and GET/POST gc', async () => {
    const s = await fx.call('GET', '/admin/datastore/store1/status', { verbose: true })
    assert.equal(s.status, 200)
    const d = s.data as Record<string, unknown>
    assert.ok((d.total as number) > 0)
    assert.equal((d.counts as Record<string, { groups: number }>).vm!.groups, 1)
    assert400(await fx.call('GET', '/admin/datastore/store1/status', { verbose: 'maybe' }), 'verbose')
    assert403(await fx.call('GET', '/admin/datastore/store1/status', {}, nobody))

    assert403(await fx.call('POST', '/admin/datastore/store1/gc', {}, auditor))
    const start = await fx.call('POST', '/admin/datastore/store1/gc')
    assert.equal(start.status, 200, start.text)
    const upid = start.data as string
    assert.match(
      upid,
      /^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8,16}:[0-9A-F]{8}:garbage_collection:store1:admin@pbs!t:$/,
    )
    const st = await fx.waitTask(upid)
    assert.equal(st.exitstatus, 'OK')
    const gc = await fx.call('GET', '/admin/datastore/store1/gc', {}, auditor)
    assert.equal(gc.status, 200)
    assert.equal((gc.data as Record<string, unknown>)['last-run-state'], 'OK')
    assert400(await fx.call('POST', '/admin/datastore/store1/gc', { x: 1 }), 'x')
    assert403(await fx.call('GET', '/admin/datastore/store1/gc', {}, nobody))
  })

  it('POST prune (synchronous, dry-run and use-task) and prune-datastore', async () => {
    for (let i = 0; i < 3; i++) await realSnapshot(ROOT, 'vm', '400', T0 + i * 86400)
    const p = { 'backup-type': 'vm', 'backup-id': '400', 'keep-last': 1 }
    const dry = await fx.call('POST', '/admin/datastore/store1/prune', { ...p, 'dry-run': true })
    assert.equal(dry.status, 200, dry.text)
    assert.deepEqual(
      (dry.data as { keep: boolean }[]).map((e) => e.keep),
      [false, false, true],
    )
    assert400(await fx.call('POST', '/admin/datastore/store1/prune', { ...p, 'keep-last': 0 }), 'keep-last')
    assert403(await fx.call('POST', '/admin/datastore/store1/prune', p, auditor))
    const task = await fx.call('POST', '/admin/datastore/store1/prune', { ...p, 'use-task': true })
    const st = await fx.waitTask(task.data as string)
    assert.equal(st.exitstatus, 'OK')
    assert.equal(st.id, 'store1::vm/400')
    const after = await fx.call('GET', '/admin/datastore/store1/snapshots', {
      'backup-type': 'vm',
      'backup-id': '400',
    })
    assert.equal((after.data as unknown[]).length, 1)

    const pd = await fx.call('POST', '/admin/datastore/store1/prune-datastore', {
      'keep-last': 5,
      'dry-run': true,
    })
    assert.equal(pd.status, 200, pd.text)
    assert.equal((await fx.waitTask(pd.data as string)).exitstatus, 'OK')
    assert400(
      await fx.call('POST', '/admin/datastore/store1/prune-datastore', { 'max-depth': -1 }),
      'max-depth',
    )
    const denied = await fx.call('POST', '/admin/datastore/store1/prune-datastore', {}, auditor)
    assert403(denied)
    assert.match(
      denied.text,
      /missing permissions 'Datastore.Modify\|Datastore.Prune' on '\/datastore\/store1'/,
    )
  })

  it('POST verify', async () => {
    const r = await fx.call('POST', '/admin/datastore/store1/verify', {
      'backup-type': 'vm',
      'backup-id': '100',
    })
    assert.equal(r.status, 200, r.text)
    const st = await fx.waitTask(r.data as string)
    assert.equal(st.type, 'verify_group')
    assert.equal(st.id, 'store1:/vm/100')
    assert.equal(st.exitstatus, 'OK', JSON.stringify(st))
    assert400(await fx.call('POST', '/admin/datastore/store1/verify', { 'backup-type': 'vm' }), 'backup-id')
    assert403(await fx.call('POST', '/admin/datastore/store1/verify', {}, nobody))
  })

  it('maintenance modes: read-only refuses writes with the PBS message (400), reads and verify work', async () => {
    await setMaintenanceMode(fx.store.installation, 'store1', { type: 'read-only', message: 'disk%20swap' })
    try {
      const listed = await fx.call('GET', '/admin/datastore')
      assert.equal(
        (listed.data as { maintenance?: string }[])[0]?.maintenance,
        'type=read-only,message=disk%20swap',
      )
      assert.equal((await fx.call('GET', '/admin/datastore/store1/groups')).status, 200)
      const refused = await fx.call('POST', '/admin/datastore/store1/namespace', { name: 'ro' })
      assert.equal(refused.status, 400, refused.text)
      assert.match(refused.text, /datastore 'store1' is unavailable: read-only maintenance mode: disk swap/)
      const moved = await fx.call('POST', '/admin/datastore/store1/move-group', {
        'backup-type': 'ct',
        'backup-id': '200',
        'new-ns': 'a',
      })
      assert.equal(moved.status, 400, moved.text)
      const v = await fx.call('POST', '/admin/datastore/store1/verify', {
        'backup-type': 'ct',
        'backup-id': '200',
      })
      assert.equal((await fx.waitTask(v.data as string)).exitstatus, 'OK')

      await setMaintenanceMode(fx.store.installation, 'store1', { type: 'offline' })
      const offline = await fx.call('GET', '/admin/datastore/store1/groups')
      assert.equal(offline.status, 400)
      assert.match(offline.text, /offline maintenance mode/)
    } finally {
      await setMaintenanceMode(fx.store.installation, 'store1', undefined)
    }
    assert.equal((await fx.call('GET', '/admin/datastore/store1/groups')).status, 200)
  })

  it('tasks: list, status, log, abort permissions', async () => {
    const list = await fx.call('GET', '/nodes/localhost/tasks', { limit: 2 })
    assert.equal(list.status, 200)
    const items = list.data as Record<string, unknown>[]
    assert.equal(items.length, 2)
    assert.equal(list.json?.total, 3)
    assert.equal(items[0]!.node, 'localhost')
    assert.ok('worker_type' in items[0]!)
    const upid = items[0].upid as string
    const log = await fx.call('GET', `/nodes/localhost/tasks/${encodeURIComponent(upid)}/log`, {
      start: 0,
      limit: 0,
      'test-status': 1,
    })
    assert.equal(log.status, 200)
    assert.equal(log.json?.success, 1)
    assert.equal(log.json?.active, false)
    const lines = log.data as { n: number; t: string }[]
    assert.equal(lines[0]!.n, 1)
    assert.match(
      lines[lines.length - 1]!.t,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d: TASK (OK|WARNINGS: \d+)$/,
    )
    assert.equal(log.json?.total, lines.length)
    assert400(await fx.call('GET', '/nodes/localhost/tasks', { limit: 'x' }), 'limit')
    assert400(await fx.call('GET', '/nodes/localhost/tasks/UPID-bad/status'), 'upid')
    assert403(await fx.call('GET', `/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`, {}, nobody))
    assert403(await fx.call('GET', `/nodes/localhost/tasks/${encodeURIComponent(upid)}/log`, {}, nobody))
    assert403(await fx.call('DELETE', `/nodes/localhost/tasks/${encodeURIComponent(upid)}`, {}, nobody))
    assert.deepEqual((await fx.call('GET', '/nodes/localhost/tasks', {}, nobody)).data, [])
    assert.equal((await fx.call('DELETE', `/nodes/localhost/tasks/${encodeURIComponent(upid)}`)).data, null)
    const errorsOnly = await fx.call('GET', '/nodes/localhost/tasks', { errors: 1 })
    assert.ok((errorsOnly.data as { status: string }[]).every((t) => t.status !== 'OK'))
  })

  it('access: users, tokens, password, acl, roles, domains, permissions', async () => {
    const c = await fx.call('POST', '/access/users', {
      userid: 'carol@pbs',
      password: 'carol-pass',
      comment: 'Carol',
    })
    assert.equal(c.status, 200, c.text)
    assert400(await fx.call('POST', '/access/users', { userid: 'no-realm' }), 'userid')
    assert403(await fx.call('POST', '/access/users', { userid: 'dave@pbs' }, auditor))
    const dup = await fx.call('POST', '/access/users', { userid: 'carol@pbs' })
    assert.equal(dup.status, 409)
    assert.equal(dup.text, "user 'carol@pbs' already exists.")

    const users = await fx.call('GET', '/access/users', { include_tokens: 1 })
    assert.match(String(users.json?.digest), /^[0-9a-f]{64}$/)
    assert.ok((users.data as { userid: string }[]).some((u) => u.userid === 'carol@pbs'))
    const own = await fx.call('GET', '/access/users', {}, nobody)
    assert.deepEqual(
      (own.data as { userid: string }[]).map((u) => u.userid),
      ['nobody@pbs'],
    )

    assert.equal((await fx.call('PUT', '/access/users/carol@pbs', { email: 'c@example.com' })).status, 200)
    assert.equal(
      ((await fx.call('GET', '/access/users/carol@pbs')).data as Record<string, string>).email,
      'c@example.com',
    )
    assert400(await fx.call('PUT', '/access/users/carol@pbs', { expire: -1 }), 'expire')
    assert403(await fx.call('PUT', '/access/users/carol@pbs', { email: 'x@y' }, nobody))
    assert403(await fx.call('GET', '/access/users/carol@pbs', {}, nobody))

    const tok = await fx.call('POST', '/access/users/carol@pbs/token/ci', { comment: 'CI' })
    assert.equal(tok.status, 200, tok.text)
    const { tokenid, value } = tok.data as { tokenid: string; value: string }
    assert.equal(tokenid, 'carol@pbs!ci')
    assert.match(value, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    assert400(await fx.call('POST', '/access/users/carol@pbs/token/bad name'), 'token-name')
    assert403(await fx.call('POST', '/access/users/carol@pbs/token/x', {}, nobody))
    const tokens = await fx.call('GET', '/access/users/carol@pbs/token')
    assert.deepEqual(tokens.data, [{ 'token-name': 'ci', tokenid: 'carol@pbs!ci', comment: 'CI' }])
    assert.equal(
      ((await fx.call('GET', '/access/users/carol@pbs/token/ci')).data as Record<string, string>).tokenid,
      'carol@pbs!ci',
    )
    const regen = await fx.call('PUT', '/access/users/carol@pbs/token/ci', { regenerate: true })
    assert.match((regen.data as { secret: string }).secret, /^[0-9a-f-]{36}$/)

    // The token works, but has no privileges until an ACL grants some (and never more than its user).
    const carolToken: Identity = {
      authid: 'carol@pbs!ci',
      headers: { authorization: `PBSAPIToken=carol@pbs!ci:${(regen.data as { secret: string }).secret}` },
    }
    assert.equal((await fx.call('GET', '/version', {}, carolToken)).status, 200)
    assert403(await fx.call('GET', '/admin/datastore/store1/groups', {}, carolToken))
    assert.equal(
      (
        await fx.call('PUT', '/access/acl', {
          path: '/datastore/store1',
          role: 'DatastoreAudit',
          'auth-id': 'carol@pbs!ci',
        })
      ).status,
      200,
    )
    assert403(await fx.call('GET', '/admin/datastore/store1/groups', {}, carolToken))
    assert.equal(
      (
        await fx.call('PUT', '/access/acl', {
          path: '/datastore/store1',
          role: 'DatastoreAudit',
          'auth-id': 'carol@pbs',
        })
      ).status,
      200,
    )
    assert.equal((await fx.call('GET', '/admin/datastore/store1/groups', {}, carolToken)).status, 200)

    const acl = await fx.call('GET', '/access/acl', { path: '/datastore/store1', exact: 1 })
    assert.deepEqual(
      (acl.data as Record<string, unknown>[])
        .filter((e) => String(e.ugid).startsWith('carol'))
        .sort((a, b) => String(a.ugid).localeCompare(String(b.ugid))),
      [
        {
          path: '/datastore/store1',
          ugid: 'carol@pbs',
          ugid_type: 'user',
          propagate: true,
          roleid: 'DatastoreAudit',
        },
        {
          path: '/datastore/store1',
          ugid: 'carol@pbs!ci',
          ugid_type: 'user',
          propagate: true,
          roleid: 'DatastoreAudit',
        },
      ],
    )
    assert400(
      await fx.call('PUT', '/access/acl', { path: '/bogus', role: 'Admin', 'auth-id': 'carol@pbs' }),
      'path',
    )
    assert400(await fx.call('PUT', '/access/acl', { path: '/', role: 'Admin', propagate: 'x' }), 'propagate')
    assert403(
      await fx.call('PUT', '/access/acl', { path: '/', role: 'Admin', 'auth-id': 'nobody@pbs' }, nobody),
    )

    const perms = await fx.call('GET', '/access/permissions', { 'auth-id': 'carol@pbs!ci' })
    assert.deepEqual((perms.data as Record<string, unknown>)['/datastore/store1'], {
      'Datastore.Audit': true,
    })
    assert403(await fx.call('GET', '/access/permissions', { 'auth-id': 'carol@pbs' }, nobody))
    assert400(await fx.call('GET', '/access/permissions', { 'auth-id': 'x' }), 'auth-id')

    const roles = await fx.call('GET', '/access/roles')
    const dsAdmin = (roles.data as { roleid: string; privs: string[] }[]).find(
      (r) => r.roleid === 'DatastoreAdmin',
    )!
    assert.deepEqual(dsAdmin.privs, [
      'Datastore.Audit',
      'Datastore.Modify',
      'Datastore.Read',
      'Datastore.Verify',
      'Datastore.Backup',
      'Datastore.Prune',
    ])
    assert.equal((await fx.call('GET', '/access/domains', {}, null)).status, 200)

    // Password change: self with the current password; then login works with the new one.
    const carol = (await fx.identity('carol@pbs', [], [], 'carol-pass')).user
    assert403(
      await fx.call(
        'PUT',
        '/access/password',
        { userid: 'carol@pbs', password: 'new-password', 'confirmation-password': 'wrong' },
        carol,
      ),
    )
    assert.equal(
      (
        await fx.call(
          'PUT',
          '/access/password',
          { userid: 'carol@pbs', password: 'new-password', 'confirmation-password': 'carol-pass' },
          carol,
        )
      ).status,
      200,
    )
    assert400(
      await fx.call(
        'PUT',
        '/access/password',
        { userid: 'carol@pbs', password: 'short', 'confirmation-password': 'new-password' },
        carol,
      ),
      'password',
    )
    assert.equal(
      (await fx.call('POST', '/access/ticket', { username: 'carol@pbs', password: 'new-password' }, null))
        .status,
      200,
    )

    assert.equal((await fx.call('DELETE', '/access/users/carol@pbs/token/ci')).status, 200)
    assert.equal((await fx.call('GET', '/version', {}, carolToken)).status, 401)
    assert403(await fx.call('DELETE', '/access/users/auditor@pbs', {}, nobody))
    assert.equal((await fx.call('DELETE', '/access/users/carol@pbs')).status, 200)
    const aclAfter = await fx.call('GET', '/access/acl')
    assert.ok(!(aclAfter.data as { ugid: string }[]).some((e) => e.ugid.startsWith('carol@pbs')))
  })
})
