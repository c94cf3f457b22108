// The on-disk layout of a filesystem datastore (spec/pbs-format.md §1): creation, exact paths of
// namespaces, groups and snapshots, empty groups, namespace delete rules and protection.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, parseSnapshotPath } from '../../src/api-types/index.js'
import {
  CHUNK_DIR_COUNT,
  createDatastore,
  createNamespace,
  deleteNamespace,
  forgetGroup,
  forgetSnapshot,
  getOwner,
  isProtected,
  listGroups,
  listNamespaces,
  listSnapshots,
  openDatastore,
  readNotes,
  setNotes,
  setOwner,
  setProtected,
  type Datastore,
} from '../../src/datastore/index.js'
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js'
import { makeFakeGroup, makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903 // 2026-04-16T17:18:23Z

describe('datastore layout', () => {
  let home: TempHome
  let store: Datastore

  before(async () => {
    home = await makeTempHome()
    const started = Date.now()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    console.log(`# datastore create (65,536 chunk dirs): ${Date.now() - started} ms`)
  })
  after(() => home.cleanup())

  it('creates .chunks/0000 … .chunks/ffff and .lock, and registers the store', async () => {
    const dirs = await readdir(join(store.base, '.chunks'))
    assert.equal(dirs.length, CHUNK_DIR_COUNT)
    assert.ok(dirs.includes('0000') && dirs.includes('ffff') && dirs.includes('abcd'))
    assert.equal((await stat(join(store.base, '.chunks', '7f3e'))).mode & 0o777, 0o750)
    assert.equal((await stat(join(store.base, '.lock'))).size, 0)
    const cfg = await readFile(join(home.installation.etcDir, 'datastore.cfg'), 'utf8')
    assert.match(cfg, /^datastore: store1\n\tpath .*store1$/m)
    const reopened = await openDatastore(home.installation, 'store1')
    assert.equal(reopened.base, store.base)
  })

  it('refuses a non-empty directory, allows dot entries and lost+found', async () => {
    const used = join(home.dir, 'used')
    await mkdir(used)
    await writeFile(join(used, 'data.bin'), 'x')
    await assert.rejects(createDatastore(home.installation, 'used', used), (e: unknown) => {
      assert.ok(e instanceof ConflictError)
      assert.match(e.message, /not empty \(found 'data.bin'\)/)
      return true
    })
    assert.equal(existsSync(join(used, '.chunks')), false, 'nothing created in the refused directory')
    const dotted = join(home.dir, 'dotted')
    await mkdir(join(dotted, 'lost+found'), { recursive: true })
    await writeFile(join(dotted, '.hidden'), '')
    const s = await createDatastore(home.installation, 'dotted', dotted)
    assert.equal(existsSync(join(s.base, '.chunks', 'ffff')), true)
  })

  it('refuses a duplicate name and a bad name, changing nothing', async () => {
    const before = await readFile(join(home.installation.etcDir, 'datastore.cfg'), 'utf8')
    await assert.rejects(
      createDatastore(home.installation, 'store1', join(home.dir, 'other')),
      /already exists/,
    )
    await assert.rejects(createDatastore(home.installation, '../x', join(home.dir, 'other')), ValidationError)
    assert.equal(existsSync(join(home.dir, 'other')), false)
    assert.equal(await readFile(join(home.installation.etcDir, 'datastore.cfg'), 'utf8'), before)
  })

  it('puts namespaces at ns/a/ns/b and requires the parent', async () => {
    await createNamespace(store, ns('a'))
    await createNamespace(store, ns('a/b'))
    assert.equal(existsSync(join(store.base, 'ns', 'a', 'ns', 'b')), true)
    assert.deepEqual((await createNamespace(store, ns('a/b'))).created, false, 'creating again is no error')
    await assert.rejects(createNamespace(store, ns('x/y')), (e: unknown) => {
      assert.ok(e instanceof NotFoundError)
      assert.match(e.message, /parent namespace 'x' does not exist/)
      return true
    })
    await assert.rejects(createNamespace(store, BackupNamespace.ROOT), /root namespace/)
    const all = await listNamespaces(store, BackupNamespace.ROOT)
    assert.deepEqual(all.map(String), ['', 'a', 'a/b'])
    assert.deepEqual((await listNamespaces(store, BackupNamespace.ROOT, 1)).map(String), ['', 'a'])
    assert.deepEqual((await listNamespaces(store, ns('a'))).map(String), ['a', 'a/b'])
  })

  it('places groups and snapshots at <ns>/<type>/<id>/<time> and lists them in PBS order', async () => {
    await createNamespace(store, ns('order'))
    const snap = await makeFakeSnapshot(store, ns('order'), 'vm', '100', T0)
    assert.equal(snap, join(store.base, 'ns/order/vm/100/2026-04-16T17:18:23Z'))
    await makeFakeSnapshot(store, ns('order'), 'vm', '20', T0)
    await makeFakeSnapshot(store, ns('order'), 'ct', 'web', T0)
    await makeFakeSnapshot(store, ns('order'), 'host', 'a', T0, { finished: false })
    const groups = await listGroups(store, ns('order'))
    assert.deepEqual(
      groups.map((g) => `${g.type}/${g.id}`),
      ['ct/web', 'host/a', 'vm/20', 'vm/100'],
    )
    const host = groups.find((g) => g.type === 'host')!
    assert.equal(host.snapshotCount, 1)
    assert.equal(host.lastBackup, undefined, 'an unfinished snapshot is no last backup')
  })

  it('lists empty groups with a snapshot count of 0', async () => {
    await createNamespace(store, ns('empty'))
    await makeFakeGroup(store, ns('empty'), 'vm', '300', 'alice@pbs')
    const groups = await listGroups(store, ns('empty'))
    assert.equal(groups.length, 1)
    assert.equal(groups[0]!.snapshotCount, 0)
    assert.equal(groups[0]!.owner, 'alice@pbs')
  })

  it('lists snapshots, finished and unfinished, ignoring non-snapshot directories', async () => {
    await createNamespace(store, ns('snaps'))
    await makeFakeSnapshot(store, ns('snaps'), 'vm', '1', T0 + 60)
    await makeFakeSnapshot(store, ns('snaps'), 'vm', '1', T0, { finished: false })
    await mkdir(join(store.groupDir(ns('snaps'), { type: 'vm', id: '1' }), 'not-a-time'))
    await mkdir(join(store.groupDir(ns('snaps'), { type: 'vm', id: '1' }), '2026-02-30T00:00:00Z'))
    const snaps = await listSnapshots(store, ns('snaps'), { type: 'vm', id: '1' })
    assert.deepEqual(
      snaps.map((s) => [s.dir.timeString, s.finished]),
      [
        ['2026-04-16T17:18:23Z', false],
        ['2026-04-16T17:19:23Z', true],
      ],
    )
  })

  it('owner and notes are read and replaced atomically', async () => {
    await createNamespace(store, ns('meta'))
    await makeFakeSnapshot(store, ns('meta'), 'vm', '7', T0)
    const g = { type: 'vm', id: '7' } as const
    assert.equal(await getOwner(store, ns('meta'), g), 'root@pam')
    await setOwner(store, ns('meta'), g, 'bob@pbs!tok')
    assert.equal(await readFile(join(store.groupDir(ns('meta'), g), 'owner'), 'utf8'), 'bob@pbs!tok\n')
    await assert.rejects(setOwner(store, ns('meta'), g, 'not an authid'), ValidationError)
    assert.equal(await readNotes(store, ns('meta'), g), undefined)
    await setNotes(store, ns('meta'), g, 'first line\nsecond')
    assert.equal(await readNotes(store, ns('meta'), g), 'first line\nsecond')
    assert.equal((await listGroups(store, ns('meta')))[0]!.comment, 'first line')
    const leftovers = (await readdir(store.groupDir(ns('meta'), g))).filter((n) => n.includes('.tmp_'))
    assert.deepEqual(leftovers, [])
  })

  it('protected snapshots cannot be forgotten; unprotected ones can, and the group stays', async () => {
    await createNamespace(store, ns('prot'))
    await makeFakeSnapshot(store, ns('prot'), 'vm', '5', T0)
    const dir = backupDir({ type: 'vm', id: '5' }, T0)
    await setProtected(store, ns('prot'), dir, true)
    assert.equal(await isProtected(store, ns('prot'), dir), true)
    assert.equal(existsSync(join(store.snapshotDir(ns('prot'), dir), '.protected')), true)
    await assert.rejects(
      forgetSnapshot(store, ns('prot'), dir),
      (e: unknown) => e instanceof ConflictError && /protected/.test(e.message),
    )
    await setProtected(store, ns('prot'), dir, false)
    await forgetSnapshot(store, ns('prot'), dir)
    assert.equal(existsSync(store.snapshotDir(ns('prot'), dir)), false)
    const groups = await listGroups(store, ns('prot'))
    assert.equal(groups.length, 1, 'the emptied group is kept with its owner')
    assert.equal(groups[0]!.snapshotCount, 0)
    await assert.rejects(forgetSnapshot(store, ns('prot'), dir), NotFoundError)
  })

  it('forget group removes everything but protected snapshots', async () => {
    await createNamespace(store, ns('fg'))
    await makeFakeSnapshot(store, ns('fg'), 'vm', '9', T0)
    await makeFakeSnapshot(store, ns('fg'), 'vm', '9', T0 + 1)
    await setProtected(store, ns('fg'), parseSnapshotPath('vm/9/2026-04-16T17:18:24Z'), true)
    const r = await forgetGroup(store, ns('fg'), { type: 'vm', id: '9' })
    assert.deepEqual(r, { removedSnapshots: 1, protectedKept: 1, removedGroup: false })
    await setProtected(store, ns('fg'), parseSnapshotPath('vm/9/2026-04-16T17:18:24Z'), false)
    const r2 = await forgetGroup(store, ns('fg'), { type: 'vm', id: '9' })
    assert.deepEqual(r2, { removedSnapshots: 1, protectedKept: 0, removedGroup: true })
    assert.equal(existsSync(store.groupDir(ns('fg'), { type: 'vm', id: '9' })), false)
  })

  it('namespace delete refuses groups unless delete-groups, and keeps protected snapshots', async () => {
    await createNamespace(store, ns('del'))
    await createNamespace(store, ns('del/child'))
    await makeFakeSnapshot(store, ns('del/child'), 'ct', '1', T0)
    await assert.rejects(deleteNamespace(store, ns('del')), (e: unknown) => {
      assert.ok(e instanceof ConflictError)
      assert.match(e.message, /namespace 'del\/child' still contains 1 group/)
      return true
    })
    assert.equal(existsSync(store.namespaceDir(ns('del/child'))), true, 'nothing removed on refusal')
    await setProtected(store, ns('del/child'), parseSnapshotPath('ct/1/2026-04-16T17:18:23Z'), true)
    await assert.rejects(
      deleteNamespace(store, ns('del'), { deleteGroups: true }),
      /only partially deleted - 1 protected/,
    )
    assert.equal(
      existsSync(store.snapshotDir(ns('del/child'), parseSnapshotPath('ct/1/2026-04-16T17:18:23Z'))),
      true,
    )
    await setProtected(store, ns('del/child'), parseSnapshotPath('ct/1/2026-04-16T17:18:23Z'), false)
    const r = await deleteNamespace(store, ns('del'), { deleteGroups: true })
    assert.deepEqual(r.removedNamespaces.map(String), ['del/child', 'del'])
    assert.equal(r.removedGroups, 1)
    assert.equal(existsSync(store.namespaceDir(ns('del'))), false)
    await assert.rejects(deleteNamespace(store, BackupNamespace.ROOT), /root namespace/)
  })

  it('empty namespaces are deleted without delete-groups', async () => {
    await createNamespace(store, ns('bare'))
    await createNamespace(store, ns('bare/x'))
    const r = await deleteNamespace(store, ns('bare'))
    assert.deepEqual(r.removedNamespaces.map(String), ['bare/x', 'bare'])
  })

  it('every path stays inside the datastore: hostile names never reach the filesystem', () => {
    for (const hostile of ['..', '../x', 'a/../../etc', '/etc', 'a\u0000b', '.']) {
      assert.throws(() => BackupNamespace.parse(hostile), ValidationError)
    }
    assert.throws(
      () => store.groupDir(BackupNamespace.ROOT, parseSnapshotPath('vm/../2026-04-16T17:18:23Z')),
      ValidationError,
    )
  })
})
