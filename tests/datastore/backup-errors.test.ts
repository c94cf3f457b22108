// Backup writer order, locks and failure handling (spec §3.5 "Backup (writer)"): bad input is
// refused before anything is created, a failed backup leaves nothing behind, and while a backup
// runs its group, its snapshot, the base snapshot and the chunk store are locked as PBS locks them.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, type BackupDirRef } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  createDatastore,
  forgetSnapshot,
  listSnapshots,
  readOwner,
  setOwner,
  updateManifest,
  type Datastore,
} from '../../src/datastore/index.js'
import {
  AbortedError,
  AlreadyExistsError,
  ConflictError,
  LockBusyError,
  NotFoundError,
  PermissionError,
  ValidationError,
} from '../../src/errors.js'
import { setVerifyState } from '../../src/format/index.js'
import { processLockFor } from '../../src/lock/index.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const T0 = 1_776_359_903 // 2026-04-16T17:18:23Z
const ROOT = BackupNamespace.ROOT
const MiB = 1024 * 1024

/** Every file and directory below `dir` (relative), for "nothing left behind" checks. */
async function tree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).sort()
  } catch {
    return []
  }
}

/** Names of tmp files anywhere in the chunk store (65,536 directories). */
async function chunkTmpFiles(store: Datastore): Promise<string[]> {
  const out: string[] = []
  for (const prefix of await readdir(store.chunkDir)) {
    for (const name of await readdir(join(store.chunkDir, prefix))) if (name.includes('.tmp_')) out.push(name)
  }
  return out
}

/** Polls until `cond` holds (a running backup reached a state). */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('backup writer: order, locks, failures', () => {
  let home: TempHome
  let store: Datastore
  let small: string

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    small = join(home.dir, 'small.raw')
    await writeFile(small, randomBytes(100_000))
  })
  after(() => home.cleanup())

  const backup = (id: string, time: number, extra: Partial<Parameters<typeof backupSnapshot>[1]> = {}) =>
    backupSnapshot(store, {
      type: 'vm',
      id,
      time,
      owner: 'root@pam',
      archives: [{ name: 'disk.img', source: small }],
      ...extra,
    })

  it('refuses bad input before creating anything', async () => {
    const cases: [string, Parameters<typeof backupSnapshot>[1], new (...a: never[]) => Error, RegExp][] = [
      [
        'unknown extension',
        { type: 'vm', id: 'bad', owner: 'root@pam', archives: [{ name: 'disk.vmdk', source: small }] },
        ValidationError,
        /unknown extension/,
      ],
      [
        'missing file',
        {
          type: 'vm',
          id: 'bad',
          owner: 'root@pam',
          archives: [{ name: 'disk.img', source: join(home.dir, 'nope') }],
        },
        NotFoundError,
        /does not exist/,
      ],
      [
        'no archives',
        { type: 'vm', id: 'bad', owner: 'root@pam', archives: [] },
        ValidationError,
        /at least one archive/,
      ],
      [
        'a name twice',
        {
          type: 'vm',
          id: 'bad',
          owner: 'root@pam',
          archives: [
            { name: 'a.img', source: small },
            { name: 'a.img.fidx', source: small },
          ],
        },
        ValidationError,
        /given twice/,
      ],
      [
        'stdin twice',
        {
          type: 'vm',
          id: 'bad',
          owner: 'root@pam',
          archives: [
            { name: 'a.img', source: '-' },
            { name: 'b.img', source: '-' },
          ],
        },
        ValidationError,
        /stdin can feed only one/,
      ],
      [
        'empty image',
        { type: 'vm', id: 'bad', owner: 'root@pam', archives: [{ name: 'a.img', source: Buffer.alloc(0) }] },
        ValidationError,
        /is empty/,
      ],
      [
        'reserved name',
        { type: 'vm', id: 'bad', owner: 'root@pam', archives: [{ name: 'index.json.blob', source: small }] },
        ValidationError,
        /reserved/,
      ],
      [
        'bad owner',
        { type: 'vm', id: 'bad', owner: 'nobody', archives: [{ name: 'a.img', source: small }] },
        ValidationError,
        /owner/,
      ],
      [
        'bad time',
        { type: 'vm', id: 'bad', time: 0, owner: 'root@pam', archives: [{ name: 'a.img', source: small }] },
        ValidationError,
        /backup-time/,
      ],
      [
        'missing namespace',
        {
          ns: BackupNamespace.parse('nope'),
          type: 'vm',
          id: 'bad',
          owner: 'root@pam',
          archives: [{ name: 'a.img', source: small }],
        },
        NotFoundError,
        /namespace 'nope'/,
      ],
    ]
    for (const [name, options, type, message] of cases) {
      await assert.rejects(backupSnapshot(store, options), (e: unknown) => {
        assert.ok(e instanceof type, `${name}: ${String(e)}`)
        assert.match(e.message, message, name)
        return true
      })
    }
    assert.deepEqual(await tree(join(store.base, 'vm')), [], 'no group, no snapshot, no tmp file')
  })

  it('the new time must be newer than the last finished snapshot (both times in the message)', async () => {
    await backup('100', T0)
    for (const t of [T0, T0 - 3600]) {
      await assert.rejects(backup('100', t), (e: unknown) => {
        assert.ok(e instanceof ConflictError)
        assert.match(e.message, /not newer than the last finished snapshot 2026-04-16T17:18:23Z/)
        assert.ok(e.message.includes(new Date(t * 1000).toISOString().replace('.000', '')))
        return true
      })
    }
    assert.deepEqual(
      (await listSnapshots(store, ROOT, { type: 'vm', id: '100' })).map((s) => s.dir.time),
      [T0],
    )
    assert.deepEqual(await tree(store.groupDir(ROOT, { type: 'vm', id: '100' })), [
      '2026-04-16T17:18:23Z',
      '2026-04-16T17:18:23Z/disk.img.fidx',
      '2026-04-16T17:18:23Z/index.json.blob',
      'owner',
    ])
  })

  it('an existing unfinished snapshot directory of the same time is not overwritten', async () => {
    await backup('110', T0)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(store.snapshotDir(ROOT, backupDir({ type: 'vm', id: '110' }, T0 + 10)))
    await assert.rejects(backup('110', T0 + 10), AlreadyExistsError)
    assert.ok(
      existsSync(store.snapshotDir(ROOT, backupDir({ type: 'vm', id: '110' }, T0 + 10))),
      'not ours to remove',
    )
  })

  it('owner check: another owner is refused, the owning user may back up into its token group', async () => {
    await backup('120', T0)
    await assert.rejects(backup('120', T0 + 1, { owner: 'alice@pbs' }), (e: unknown) => {
      assert.ok(e instanceof PermissionError)
      assert.equal(e.message, 'backup owner check failed (alice@pbs != root@pam)')
      return true
    })
    await setOwner(store, ROOT, { type: 'vm', id: '120' }, 'alice@pbs!tok')
    await backup('120', T0 + 2, { owner: 'alice@pbs' })
    assert.equal(await readOwner(store, ROOT, { type: 'vm', id: '120' }), 'alice@pbs!tok')
  })

  it('a source failing half-way leaves nothing behind (snapshot, new group, tmp files, lock files)', async () => {
    let sent = 0
    const failing = new Readable({
      read() {
        if (sent++ < 3) this.push(randomBytes(MiB))
        else this.destroy(new Error('device read error'))
      },
    })
    await assert.rejects(
      backupSnapshot(store, {
        type: 'vm',
        id: '130',
        time: T0,
        owner: 'root@pam',
        archives: [{ name: 'disk.img', source: failing }],
      }),
      /device read error/,
    )
    assert.equal(
      existsSync(store.groupDir(ROOT, { type: 'vm', id: '130' })),
      false,
      'group created by the backup is removed',
    )
    const [snapLock] = store.snapshotLockFiles(ROOT, backupDir({ type: 'vm', id: '130' }, T0))
    assert.equal(existsSync(snapLock), false, 'snapshot lock file removed')
    assert.deepEqual(await chunkTmpFiles(store), [])

    // In an existing group the earlier snapshots stay untouched.
    const before = await tree(store.groupDir(ROOT, { type: 'vm', id: '100' }))
    const failing2 = new Readable({
      read() {
        this.destroy(new Error('device gone'))
      },
    })
    await assert.rejects(
      backupSnapshot(store, {
        type: 'vm',
        id: '100',
        time: T0 + 100,
        owner: 'root@pam',
        archives: [
          { name: 'conf.conf', source: small },
          { name: 'disk.img', source: failing2 },
        ],
      }),
      /device gone/,
    )
    assert.deepEqual(await tree(store.groupDir(ROOT, { type: 'vm', id: '100' })), before)
  })

  it('an abort signal removes the snapshot and reports AbortedError', async () => {
    const input = new PassThrough()
    const ac = new AbortController()
    const running = backupSnapshot(store, {
      type: 'vm',
      id: '140',
      time: T0,
      owner: 'root@pam',
      archives: [{ name: 'disk.img', source: input }],
      signal: ac.signal,
    })
    input.write(randomBytes(5 * MiB))
    await until(
      () => existsSync(store.snapshotDir(ROOT, backupDir({ type: 'vm', id: '140' }, T0))),
      'the snapshot directory',
    )
    ac.abort()
    input.write(randomBytes(MiB))
    input.end()
    await assert.rejects(running, AbortedError)
    assert.equal(existsSync(store.groupDir(ROOT, { type: 'vm', id: '140' })), false)
  })

  it('while a backup runs: group, new snapshot, base snapshot and chunk store are locked; no manifest yet', async () => {
    const group = { type: 'vm' as const, id: '100' }
    const base: BackupDirRef = backupDir(group, T0)
    const next = backupDir(group, T0 + 200)
    const input = new PassThrough()
    const running = backupSnapshot(store, {
      type: 'vm',
      id: '100',
      time: next.time,
      owner: 'root@pam',
      archives: [{ name: 'disk.img', source: input }],
    })
    input.write(randomBytes(5 * MiB))
    await until(() => existsSync(store.snapshotDir(ROOT, next)), 'the snapshot directory')

    const snaps = await listSnapshots(store, ROOT, group)
    assert.deepEqual(
      snaps.map((s) => [s.dir.time, s.finished]),
      [
        [T0, true],
        [next.time, false],
      ],
      'the new snapshot has no manifest while running',
    )
    await assert.rejects(store.lockGroup(ROOT, group), LockBusyError)
    await assert.rejects(store.lockSnapshot(ROOT, next, 'shared'), LockBusyError)
    await assert.rejects(
      forgetSnapshot(store, ROOT, base),
      LockBusyError,
      'the base snapshot cannot be removed',
    )
    const reader = await store.lockSnapshot(ROOT, base, 'shared')
    await reader.release()
    await assert.rejects(backup('100', T0 + 300), LockBusyError, 'one backup per group')
    assert.ok(processLockFor(store.base).sharedCount >= 1)
    await assert.rejects(
      spawnNodeHolder('fcntl', store.base, 'exclusive'),
      /BUSY .*chunk store/,
      'GC in another process is kept out',
    )

    input.end(randomBytes(MiB))
    const r = await running
    assert.equal(r.manifest.files[0]!.size, 6 * MiB)
    assert.equal(processLockFor(store.base).sharedCount, 0)
    const base2 = await store.lockSnapshot(ROOT, base, 'exclusive')
    await base2.release()
    const g = await store.lockGroup(ROOT, group)
    await g.release()
  })

  it('a base snapshot whose verification failed is not locked (and not built upon)', async () => {
    const group = { type: 'vm' as const, id: '150' }
    await backup('150', T0)
    const failed = backupDir(group, T0)
    await updateManifest(store, ROOT, failed, (m) =>
      setVerifyState(m, {
        upid: 'UPID:node:00000001:00000001:00000000:6A000000:verify:x:root@pam:',
        state: 'failed',
      }),
    )
    const input = new PassThrough()
    const running = backupSnapshot(store, {
      type: 'vm',
      id: '150',
      time: T0 + 1,
      owner: 'root@pam',
      archives: [{ name: 'disk.img', source: input }],
    })
    input.write(randomBytes(MiB))
    await until(() => existsSync(store.snapshotDir(ROOT, backupDir(group, T0 + 1))), 'the snapshot directory')
    const lock = await store.lockSnapshot(ROOT, failed, 'exclusive')
    await lock.release()
    input.end()
    await running
  })
})
