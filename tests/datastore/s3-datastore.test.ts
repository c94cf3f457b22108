// An S3 datastore end to end (moto): creation refuses a bucket in use, the exact key layout after
// a backup, restore through an emptied cache, verify reading the bucket (and moving a corrupt
// chunk to `.0.bad`), prune, GC phase 2 on the bucket with `.using` markers, and refresh.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, formatBackupTime } from '../../src/api-types/index.js'
import {
  Datastore,
  backupSnapshot,
  chunkStoreFor,
  createDatastore,
  forgetSnapshot,
  listSnapshotRefs,
  openDatastore,
  restoreArchive,
  setMaintenanceMode,
  verifyDatastore,
} from '../../src/datastore/index.js'
import { garbageCollect } from '../../src/datastore/gc/index.js'
import { pruneGroup } from '../../src/datastore/prune/index.js'
import { refreshS3Cache } from '../../src/datastore/s3-refresh.js'
import { ConflictError } from '../../src/errors.js'
import { parseFixedIndex } from '../../src/format/index.js'
import { spawnPythonFcntlHolder } from '../helpers/lock-children.js'
import { makeS3Store, testUpid, type S3TestStore } from '../helpers/s3-store.js'
import { makeTempHome } from '../helpers/temp-home.js'

const T0 = 1776359903
const ROOT = BackupNamespace.ROOT
const MiB = 1024 * 1024

describe('S3 datastore end to end', () => {
  let s: S3TestStore
  let store: Datastore
  let image1: Buffer
  let image2: Buffer

  before(async () => {
    s = await makeS3Store()
    // GC tests below must not wait for the atime check
    store = new Datastore(
      s.store.installation,
      { ...s.store.config, tuning: { 'gc-atime-safety-check': false } },
      s.store.backend,
    )
    image1 = Buffer.concat([randomBytes(MiB), Buffer.alloc(4 * MiB), randomBytes(MiB / 2)])
    image2 = randomBytes(MiB)
  })
  after(() => s.cleanup())

  const backup = (time: number, image: Buffer) =>
    backupSnapshot(store, {
      type: 'vm',
      id: '100',
      time,
      owner: 'root@pam',
      workers: 0,
      archives: [
        { name: 'drive-scsi0.img', source: image },
        { name: 'qemu-server.conf', source: Buffer.from('cores: 2\n') },
      ],
    })

  it('creating a second datastore on the same bucket prefix is refused, naming the host', async () => {
    const home = await makeTempHome()
    try {
      const { cp, mkdir } = await import('node:fs/promises')
      await mkdir(home.installation.etcDir, { recursive: true })
      for (const f of ['s3.cfg', 's3.shadow'])
        await cp(join(s.home.installation.etcDir, f), join(home.installation.etcDir, f))
      await assert.rejects(
        createDatastore(home.installation, 'store1', join(home.dir, 'c'), {
          s3: { client: 'ep1', bucket: s.bucket },
        }),
        (e: unknown) => e instanceof ConflictError && /in use by host \S+/.test(e.message),
      )
      const inUse = JSON.parse((await s.backend.objects.getObject('.in-use'))!.toString()) as {
        hostname: string
      }
      assert.equal(typeof inUse.hostname, 'string')
    } finally {
      await home.cleanup()
    }
  })

  it('a backup leaves exactly the PBS keys: owner, snapshot files, one object per chunk', async () => {
    const r = await backup(T0, image1)
    const t = formatBackupTime(T0)
    const fidx = parseFixedIndex(
      await readFile(join(store.snapshotDir(ROOT, r.snapshot), 'drive-scsi0.img.fidx')),
    )
    const digests = new Set<string>()
    for (let i = 0; i < fidx.count; i++) digests.add(fidx.digestHex(i))
    assert.equal(digests.size, 2, 'random head+tail share one 4 MiB chunk... plus the zero chunk')
    assert.deepEqual(
      await s.keys(),
      [
        '.in-use',
        '.cnt/vm/100/owner',
        `.cnt/vm/100/${t}/drive-scsi0.img.fidx`,
        `.cnt/vm/100/${t}/index.json.blob`,
        `.cnt/vm/100/${t}/qemu-server.conf.blob`,
        ...[...digests].map((d) => `.chunks/${d.slice(0, 4)}/${d}`),
      ].sort(),
    )
  })

  it('restore reads through the cache: emptied chunk files are fetched again', async () => {
    const chunks = chunkStoreFor(store)
    for (const d of await readdir(store.chunkDir))
      for (const f of await readdir(join(store.chunkDir, d))) await truncate(join(store.chunkDir, d, f), 0)
    const out = join(s.home.dir, 'restored.img')
    await restoreArchive(
      store,
      (await listSnapshotRefs(store, ROOT, { type: 'vm', id: '100' }))[0]!,
      'drive-scsi0.img',
      out,
    )
    assert.deepEqual(await readFile(out), image1)
    void chunks
  })

  it('verify reads the bucket; a corrupt chunk object is moved to .0.bad', async () => {
    const ok = await verifyDatastore(store, { upid: testUpid() })
    assert.equal(ok.failed, 0)
    const chunkKey = (await s.keys()).find((k) => k.startsWith('.chunks/'))!
    await s.backend.objects.putObject(chunkKey, randomBytes(100), { replace: true })
    const bad = await verifyDatastore(store, { upid: testUpid() })
    assert.equal(bad.failed, 1)
    const keys = await s.keys()
    assert.ok(keys.includes(`${chunkKey}.0.bad`))
    assert.ok(!keys.includes(chunkKey))
  })

  it('prune forgets through the bucket; GC deletes unreferenced chunk objects and keeps .using ones', async () => {
    await forgetSnapshot(store, ROOT, (await listSnapshotRefs(store, ROOT, { type: 'vm', id: '100' }))[0]!)
    await backup(T0 + 60, image2)
    await backup(T0 + 120, image2)
    const pr = await pruneGroup(store, ROOT, { type: 'vm', id: '100' }, { keepLast: 1 })
    void pr
    const snaps = await listSnapshotRefs(store, ROOT, { type: 'vm', id: '100' })
    assert.deepEqual(
      snaps.map((d) => d.time),
      [T0 + 120],
    )
    assert.ok(
      !(await s.keys()).some((k) => k.includes(formatBackupTime(T0 + 60))),
      'pruned snapshot keys gone',
    )
    // a referenced chunk with no local file: phase 1 makes a .using marker, phase 2 keeps it
    const fidx = parseFixedIndex(
      await readFile(join(store.snapshotDir(ROOT, snaps[0]!), 'drive-scsi0.img.fidx')),
    )
    const kept = fidx.digestHex(0)
    await rm(chunkStoreFor(store).chunkPath(kept))
    await sleep(2100)
    const r = await garbageCollect(store, { testHooks: { cutoffSeconds: 1 } })
    const chunkKeys = (await s.keys()).filter((k) => k.startsWith('.chunks/'))
    assert.deepEqual(chunkKeys, [`.chunks/${kept.slice(0, 4)}/${kept}`], 'only the referenced chunk stays')
    assert.ok(r.status.removedChunks >= 1)
    assert.equal((await readFile(chunkStoreFor(store).chunkPath(kept))).length, 0, 'a local marker now')
    const v = await verifyDatastore(store, { upid: testUpid() })
    assert.equal(v.failed, 0)
  })

  it('a backup refused after creating its group leaves no owner object behind', async () => {
    // a foreign process holds the chunk store exclusively (as a running GC does)
    const holder = await spawnPythonFcntlHolder(join(store.base, '.lock'), 'exclusive')
    try {
      await assert.rejects(
        backupSnapshot(store, {
          type: 'ct',
          id: '777',
          time: T0,
          owner: 'root@pam',
          workers: 0,
          archives: [{ name: 'pct.conf', source: Buffer.from('x') }],
        }),
        /chunk store/,
      )
    } finally {
      await holder.release()
    }
    assert.deepEqual(
      (await s.keys()).filter((k) => k.includes('ct/777')),
      [],
      'bucket: no owner of the removed group',
    )
    assert.equal((await listSnapshotRefs(store, ROOT, { type: 'ct', id: '777' })).length, 0)
  })

  it('refresh rebuilds the content tree of the cache from the bucket', async () => {
    await rm(join(store.base, 'vm'), { recursive: true })
    assert.equal((await listSnapshotRefs(store, ROOT, { type: 'vm', id: '100' })).length, 0)
    const r = await refreshS3Cache(store)
    assert.equal(r.downloaded, 4)
    assert.deepEqual(
      (await listSnapshotRefs(store, ROOT, { type: 'vm', id: '100' })).map((d) => d.time),
      [T0 + 120],
    )
    void writeFile
  })

  it('refresh runs in s3-refresh maintenance and ends a mode left by a crashed refresh', async () => {
    await setMaintenanceMode(store.installation, store.name, { type: 's3-refresh' })
    await assert.rejects(openDatastore(store.installation, store.name, { operation: 'read' }), /S3 refresh/)
    await refreshS3Cache(store)
    assert.equal(
      (await openDatastore(store.installation, store.name, { operation: 'write' })).name,
      store.name,
    )
    // an administrator's own mode survives the refresh
    await setMaintenanceMode(store.installation, store.name, { type: 'read-only' })
    await refreshS3Cache(store)
    assert.deepEqual(await setMaintenanceMode(store.installation, store.name, undefined), {
      type: 'read-only',
    })
  })
})
