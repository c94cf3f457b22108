// Verify (spec §9): index and blob checks against the manifest, every distinct chunk once per job,
// corrupt chunks renamed to .N.bad, verify_state in the manifest, skips for locked snapshots and
// for recently verified ones.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import {
  BackupNamespace,
  backupDir,
  type BackupDirRef,
  type BackupGroupRef,
} from '../../src/api-types/index.js'
import { formatUpid, parseUpid } from '../../src/api-types/upid.js'
import {
  backupSnapshot,
  chunkStoreFor,
  createDatastore,
  createNamespace,
  loadManifest,
  updateManifest,
  verifyDatastore,
  type Datastore,
  type VerifyOptions,
} from '../../src/datastore/index.js'
import { CryptConfig, encodeBlob, getVerifyState, parseFixedIndex } from '../../src/format/index.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const T0 = 1_776_359_903
const ROOT = BackupNamespace.ROOT
const MiB = 1024 * 1024
const DAY = 86400

function upidAt(starttime: number): string {
  return formatUpid({
    node: 'testnode',
    pid: process.pid,
    pstart: 1,
    taskId: 0,
    starttime,
    workerType: 'verify',
    workerId: 'store1',
    authid: 'root@pam',
  })
}

describe('verify', () => {
  let home: TempHome
  let store: Datastore
  const conf = Buffer.from('cores: 2\n'.repeat(50))

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
  })
  after(() => home.cleanup())

  /** Two snapshots of a group sharing all image chunks (1 MiB chunks: 3 of them). */
  async function twoSnapshots(id: string, key?: Buffer): Promise<{ image: Buffer; dirs: BackupDirRef[] }> {
    const image = randomBytes(3 * MiB)
    const dirs: BackupDirRef[] = []
    for (const t of [T0, T0 + 60]) {
      const r = await backupSnapshot(store, {
        type: 'vm',
        id,
        time: t,
        owner: 'root@pam',
        fixedChunkSize: MiB,
        ...(key ? { crypt: key } : {}),
        archives: [
          { name: 'disk.img', source: image },
          { name: 'qemu-server.conf', source: conf },
        ],
      })
      dirs.push(r.snapshot)
    }
    return { image, dirs }
  }

  const run = (options: Omit<VerifyOptions, 'upid'> & { upid?: string }) =>
    verifyDatastore(store, { upid: upidAt(Math.floor(Date.now() / 1000)), ...options })
  const group = (id: string): BackupGroupRef => ({ type: 'vm', id })
  const chunkPaths = async (dir: BackupDirRef): Promise<string[]> => {
    const fidx = parseFixedIndex(await readFile(join(store.snapshotDir(ROOT, dir), 'disk.img.fidx')))
    return [...fidx.digests()].map((d) => chunkStoreFor(store).chunkPath(d))
  }

  it('a clean group verifies ok; verify_state {upid, state} lands in each manifest; shared chunks are read once', async () => {
    const { dirs } = await twoSnapshots('100')
    const upid = upidAt(T0 + 1000)
    const r = await run({ group: group('100'), upid })
    assert.deepEqual(
      r.snapshots.map((s) => [s.snapshot.time, s.outcome]),
      [
        [T0 + 60, 'ok'],
        [T0, 'ok'],
      ],
      'newest first',
    )
    assert.deepEqual([r.ok, r.failed, r.skipped], [2, 0, 0])
    assert.equal(r.verifiedChunks, 3)
    let bytes = 0
    for (const p of await chunkPaths(dirs[0]!)) bytes += (await stat(p)).size
    assert.equal(r.readBytes, bytes, 'each distinct chunk was loaded once in the job')
    for (const dir of dirs) {
      const { manifest } = await loadManifest(store, ROOT, dir)
      assert.deepEqual(manifest.unprotected.verify_state, { upid, state: 'ok' })
      assert.ok(manifest.unprotected.chunk_upload_stats, 'other unprotected data kept')
    }
  })

  it('ignore-verified skips verified snapshots unless older than outdated-after days', async () => {
    await twoSnapshots('110')
    const first = T0 + 5000
    await run({ group: group('110'), upid: upidAt(first) })
    const again = (outdatedAfter: number | undefined, now: number) =>
      run({ group: group('110'), ignoreVerified: true, outdatedAfter, now: () => now })
    let r = await again(undefined, first + 100 * DAY)
    assert.deepEqual([r.ok, r.skipped], [0, 2])
    assert.equal(r.snapshots[0]!.reason, 'recently verified')
    r = await again(3, first + 3 * DAY + 10)
    assert.deepEqual([r.ok, r.skipped], [0, 2], '3 days is not more than 3')
    r = await again(3, first + 4 * DAY)
    assert.deepEqual([r.ok, r.skipped], [2, 0])
    r = await run({ group: group('110') })
    assert.equal(r.ok, 2, 'without ignore-verified everything is verified')
  })

  it('a corrupt chunk fails every snapshot using it, is renamed to .0.bad and read only once', async () => {
    const { image, dirs } = await twoSnapshots('120')
    const [, victim] = await chunkPaths(dirs[0]!)
    const raw = await readFile(victim!)
    raw[raw.length >> 1]! ^= 0x55
    await writeFile(victim!, raw)
    const r = await run({ group: group('120') })
    assert.deepEqual([r.ok, r.failed], [0, 2])
    assert.equal(r.corruptChunks.length, 1)
    assert.deepEqual(r.renamedChunks, [`${victim!}.0.bad`])
    assert.ok(existsSync(`${victim!}.0.bad`) && !existsSync(victim!))
    const [newest, oldest] = r.snapshots
    assert.ok(
      newest!.errors.some((e) => /load failed - .*crc mismatch/.test(e)),
      newest!.errors.join('\n'),
    )
    assert.ok(newest!.errors.some((e) => /disk\.img\.fidx failed: chunks could not be verified/.test(e)))
    assert.ok(
      oldest!.errors.some((e) => /was marked as corrupt/.test(e)),
      'known corrupt chunk counted again without a read',
    )
    for (const dir of dirs)
      assert.equal(getVerifyState((await loadManifest(store, ROOT, dir)).manifest)?.state, 'failed')

    // The next backup stores a good copy again; the new snapshot verifies ok.
    const fresh = await backupSnapshot(store, {
      type: 'vm',
      id: '120',
      time: T0 + 120,
      owner: 'root@pam',
      fixedChunkSize: MiB,
      archives: [{ name: 'disk.img', source: image }],
    })
    assert.ok(existsSync(victim!))
    const r2 = await run({ snapshot: fresh.snapshot })
    assert.deepEqual([r2.ok, r2.failed], [1, 0])
  })

  it('a valid blob under the wrong digest, and a missing chunk, are found', async () => {
    const { dirs } = await twoSnapshots('130')
    const [a, b] = await chunkPaths(dirs[1]!)
    await writeFile(a!, encodeBlob(randomBytes(MiB), { compress: true }))
    await rename(b!, `${b!}.moved`)
    const r = await run({ snapshot: dirs[1]! })
    assert.equal(r.failed, 1)
    const errors = r.snapshots[0]!.errors.join('\n')
    assert.match(errors, /wrong digest/)
    assert.match(errors, /load failed - .*does not exist/)
    assert.deepEqual(r.renamedChunks, [`${a!}.0.bad`], 'a missing chunk cannot be renamed')
  })

  it('index checksum, index size and blob checksum are checked against the manifest', async () => {
    const { dirs } = await twoSnapshots('140')
    const [one, two] = dirs as [BackupDirRef, BackupDirRef]
    const fidxPath = join(store.snapshotDir(ROOT, one), 'disk.img.fidx')
    const fidx = await readFile(fidxPath)
    fidx[4096 + 5]! ^= 1 // a digest entry: the index csum no longer matches
    await writeFile(fidxPath, fidx)
    await updateManifest(store, ROOT, two, (m) => ({
      ...m,
      files: m.files.map((f) => (f.filename === 'disk.img.fidx' ? { ...f, size: f.size + 1 } : f)),
    }))
    const blobPath = join(store.snapshotDir(ROOT, two), 'qemu-server.conf.blob')
    const blob = await readFile(blobPath)
    blob[blob.length - 1]! ^= 1
    await writeFile(blobPath, blob)
    const r = await run({ group: group('140') })
    const byTime = new Map(r.snapshots.map((s) => [s.snapshot.time, s.errors.join('\n')]))
    assert.match(byTime.get(one.time)!, /disk\.img\.fidx failed: wrong index checksum/)
    assert.match(byTime.get(two.time)!, /disk\.img\.fidx failed: wrong size \(3145729 != 3145728\)/)
    assert.match(byTime.get(two.time)!, /qemu-server\.conf\.blob failed: crc mismatch/)
    assert.equal(r.failed, 2)
  })

  it('encrypted snapshots verify, and an unencrypted chunk in an encrypted index is reported', async () => {
    const key = randomBytes(32)
    const { dirs } = await twoSnapshots('150', key)
    let r = await run({ group: group('150') })
    assert.deepEqual([r.ok, r.failed], [2, 0])
    const [victim] = await chunkPaths(dirs[0]!)
    await writeFile(victim!, encodeBlob(randomBytes(MiB), { compress: false }))
    r = await run({ snapshot: dirs[0]! })
    assert.match(
      r.snapshots[0]!.errors.join('\n'),
      /chunk CryptMode none does not match index CryptMode encrypt/,
    )
    assert.equal(r.failed, 1)
    assert.ok(new CryptConfig(key).fingerprintString().length > 0)
  })

  it('a snapshot locked exclusively by another process is skipped, not failed, and left unchanged', async () => {
    const { dirs } = await twoSnapshots('160')
    const [lockFile] = store.snapshotLockFiles(ROOT, dirs[1]!)
    const holder = await spawnNodeHolder('flock', lockFile, 'exclusive')
    try {
      const r = await run({ group: group('160') })
      assert.deepEqual([r.ok, r.failed, r.skipped], [1, 0, 1])
      const skipped = r.snapshots.find((s) => s.outcome === 'skipped')!
      assert.equal(skipped.snapshot.time, dirs[1]!.time)
      assert.match(
        skipped.reason!,
        /could not acquire snapshot lock: unable to acquire shared lock on snapshot/,
      )
      assert.equal(getVerifyState((await loadManifest(store, ROOT, dirs[1]!)).manifest), undefined)
    } finally {
      await holder.release()
    }
  })

  it('an unfinished snapshot (no manifest) fails with a manifest load error; namespaces are walked', async () => {
    const ns = BackupNamespace.parse('deep')
    await createNamespace(store, ns)
    await backupSnapshot(store, {
      ns,
      type: 'ct',
      id: '1',
      time: T0,
      owner: 'root@pam',
      archives: [{ name: 'a.conf', source: conf }],
    })
    await mkdir(store.snapshotDir(ns, backupDir({ type: 'ct', id: '1' }, T0 + 1)))
    const r = await run({ ns })
    assert.deepEqual(
      r.snapshots.map((s) => [s.snapshot.time, s.outcome]),
      [
        [T0 + 1, 'failed'],
        [T0, 'ok'],
      ],
    )
    assert.match(r.snapshots[0]!.errors[0]!, /manifest load error/)
    const rootOnly = await run({ maxDepth: 0 })
    assert.ok(
      rootOnly.snapshots.every((s) => s.ns.isRoot),
      'max-depth 0 stays in the root namespace',
    )
    assert.equal(
      parseUpid(
        getVerifyState((await loadManifest(store, ns, backupDir({ type: 'ct', id: '1' }, T0))).manifest)!
          .upid,
      ).workerType,
      'verify',
    )
  })
})
