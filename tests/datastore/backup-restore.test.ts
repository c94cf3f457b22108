// Backup and restore through the library: fixed and dynamic indexes, blobs, dedup between
// snapshots, sparse restore of zero chunks, streams, encryption, and worker threads.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, Readable, Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  chunkStoreFor,
  createDatastore,
  createNamespace,
  loadManifest,
  restoreArchive,
  type Datastore,
} from '../../src/datastore/index.js'
import { CryptoError, NotFoundError } from '../../src/errors.js'
import {
  CryptConfig,
  ZERO_CHUNK_4M_DIGEST,
  blobCryptMode,
  decodeBlob,
  getChunkUploadStats,
  parseDynamicIndex,
  parseFixedIndex,
  verifyManifestSignature,
} from '../../src/format/index.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const MiB = 1024 * 1024
const T0 = 1_776_359_903 // 2026-04-16T17:18:23Z
const ROOT = BackupNamespace.ROOT

/** 4 MiB random, 8 MiB zeros, 1.5 MiB random: a zero run and a short last chunk. */
function makeImage(): Buffer {
  return Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(8 * MiB), randomBytes(1.5 * MiB)])
}

/** Collects what is written to a stream. */
function collector(): { stream: Writable; data: () => Buffer } {
  const parts: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk)
      cb()
    },
  })
  return { stream, data: () => Buffer.concat(parts) }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('backup and restore (library)', () => {
  let home: TempHome
  let store: Datastore
  let image: Buffer
  let imagePath: string
  const conf = Buffer.from('boot: order=scsi0\ncores: 4\nmemory: 4096\n'.repeat(20))

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    image = makeImage()
    imagePath = join(home.dir, 'disk.raw')
    await writeFile(imagePath, image)
  })
  after(() => home.cleanup())

  it('backs up an image and a config; a second snapshot reuses every chunk and counts duplicates', async () => {
    const first = await backupSnapshot(store, {
      type: 'vm',
      id: '100',
      time: T0,
      owner: 'root@pam',
      workers: 0,
      archives: [
        { name: 'drive-scsi0.img', source: imagePath },
        { name: 'qemu-server.conf', source: conf },
      ],
    })
    assert.equal(first.createdGroup, true)
    assert.deepEqual(
      first.manifest.files.map((f) => [f.filename, f['crypt-mode'], f.size]),
      [
        ['drive-scsi0.img.fidx', 'none', image.length],
        ['qemu-server.conf.blob', 'none', first.manifest.files[1]!.size],
      ],
    )
    // 4 chunks: random, zero, zero (same digest), short random tail.
    assert.deepEqual(getChunkUploadStats(first.manifest), {
      count: 3,
      size: 4 * MiB + 4 * MiB + 1.5 * MiB,
      compressed_size: first.stats.compressed_size,
      duplicates: 0,
    })
    assert.equal(first.stats.reused, 1)
    assert.equal(first.stats.zeroChunks, 2)

    const second = await backupSnapshot(store, {
      type: 'vm',
      id: '100',
      time: T0 + 60,
      owner: 'root@pam',
      archives: [
        { name: 'drive-scsi0.img', source: imagePath },
        { name: 'qemu-server.conf', source: conf },
      ],
    })
    assert.equal(second.createdGroup, false)
    const stats = getChunkUploadStats(second.manifest)!
    assert.equal(stats.count, 3)
    assert.equal(stats.duplicates, 3, 'every chunk was already in the store')
    assert.equal(second.manifest.files[0]!.csum, first.manifest.files[0]!.csum, 'same index checksum')

    // On disk: the manifest (last), the index and the blob; no tmp files.
    const snapDir = store.snapshotDir(ROOT, second.snapshot)
    assert.deepEqual((await readdir(snapDir)).sort(), [
      'drive-scsi0.img.fidx',
      'index.json.blob',
      'qemu-server.conf.blob',
    ])
    const { manifest } = await loadManifest(store, ROOT, second.snapshot)
    assert.deepEqual(manifest, second.manifest)

    // The fixed index: 4 MiB chunks, the zero chunk has the well-known digest.
    const fidx = parseFixedIndex(await readFile(join(snapDir, 'drive-scsi0.img.fidx')))
    assert.equal(fidx.chunkSize, 4 * MiB)
    assert.equal(fidx.size, image.length)
    assert.equal(fidx.digestHex(1), ZERO_CHUNK_4M_DIGEST)
    assert.equal(fidx.digestHex(2), ZERO_CHUNK_4M_DIGEST)
    assert.equal(fidx.computeCsum().toString('hex'), manifest.files[0]!.csum)
    const blob = await readFile(join(snapDir, 'qemu-server.conf.blob'))
    assert.equal(sha(blob), manifest.files[1]!.csum)
    assert.deepEqual(decodeBlob(blob), conf)
  })

  it('restores the image byte for byte, leaving the zero chunks as holes', async () => {
    const dir = backupDir({ type: 'vm', id: '100' }, T0 + 60)
    const target = join(home.dir, 'restored.raw')
    const r = await restoreArchive(store, dir, 'drive-scsi0.img', target)
    assert.deepEqual(r, {
      archive: 'drive-scsi0.img.fidx',
      size: image.length,
      chunksRead: 2,
      sparseBytes: 8 * MiB,
    })
    const back = await readFile(target)
    assert.equal(back.length, image.length)
    assert.ok(back.equals(image))
    const st = await stat(target)
    assert.ok(
      st.blocks * 512 < image.length - 6 * MiB,
      `restored file is sparse (${st.blocks * 512} bytes allocated)`,
    )
  })

  it('restores to a stream with the zeros written out, and blobs and the manifest too', async () => {
    const dir = backupDir({ type: 'vm', id: '100' }, T0)
    const out = collector()
    await restoreArchive(store, dir, 'drive-scsi0.img.fidx', out.stream)
    assert.ok(out.data().equals(image))
    const confOut = collector()
    await restoreArchive(store, dir, 'qemu-server.conf', confOut.stream)
    assert.deepEqual(confOut.data(), conf)
    const m = collector()
    await restoreArchive(store, dir, 'index.json', m.stream)
    assert.equal((JSON.parse(m.data().toString()) as { 'backup-time': number })['backup-time'], T0)
  })

  it('refuses an existing target and a missing archive without touching anything', async () => {
    const dir = backupDir({ type: 'vm', id: '100' }, T0)
    const target = join(home.dir, 'exists.raw')
    await writeFile(target, 'keep me')
    await assert.rejects(restoreArchive(store, dir, 'drive-scsi0.img', target), /already exists/)
    assert.equal(await readFile(target, 'utf8'), 'keep me')
    await assert.rejects(restoreArchive(store, dir, 'other.img', join(home.dir, 'x.raw')), NotFoundError)
    assert.deepEqual(
      (await readdir(home.dir)).filter((n) => n === 'x.raw'),
      [],
    )
  })

  it('dynamic index (buzhash chunker): round trip, and shifted data reuses most chunks', async () => {
    const ns = BackupNamespace.parse('dyn')
    await createNamespace(store, ns)
    const data = randomBytes(3 * MiB)
    const r1 = await backupSnapshot(store, {
      ns,
      type: 'host',
      id: 'files',
      time: T0,
      owner: 'root@pam',
      dynamicChunkSize: 64 * 1024,
      archives: [{ name: 'root.pxar', source: data }],
    })
    assert.deepEqual(
      r1.manifest.files.map((f) => [f.filename, f.size]),
      [['root.pxar.didx', data.length]],
    )
    const didx = parseDynamicIndex(await readFile(join(store.snapshotDir(ns, r1.snapshot), 'root.pxar.didx')))
    assert.ok(didx.count > 10, `content-defined chunks (${didx.count})`)
    for (let i = 0; i < didx.count; i++) {
      const { start, end } = didx.chunkRange(i)
      assert.ok(end - start >= 16 * 1024 || i === didx.count - 1, 'no chunk below min except the last')
      assert.ok(end - start <= 256 * 1024, 'no chunk above max')
    }
    const out = collector()
    await restoreArchive(store, r1.snapshot, 'root.pxar', out.stream, { ns })
    assert.ok(out.data().equals(data))

    // 1000 bytes inserted at the front: boundaries resynchronise, so most chunks are duplicates.
    const shifted = Buffer.concat([randomBytes(1000), data])
    const r2 = await backupSnapshot(store, {
      ns,
      type: 'host',
      id: 'files',
      time: T0 + 1,
      owner: 'root@pam',
      dynamicChunkSize: 64 * 1024,
      archives: [
        { name: 'root.pxar', source: Readable.from([shifted.subarray(0, 777), shifted.subarray(777)]) },
      ],
    })
    const s = getChunkUploadStats(r2.manifest)!
    assert.ok(s.duplicates >= s.count - 3, `duplicates ${s.duplicates} of ${s.count}`)
    const out2 = collector()
    await restoreArchive(store, r2.snapshot, 'root.pxar.didx', out2.stream, { ns })
    assert.ok(out2.data().equals(shifted))
  })

  it('reads an image of unknown size from a stream (stdin-like)', async () => {
    const input = new PassThrough()
    const data = Buffer.concat([randomBytes(5 * MiB), Buffer.alloc(3 * MiB)])
    const done = backupSnapshot(store, {
      type: 'ct',
      id: '200',
      time: T0,
      owner: 'root@pam',
      archives: [{ name: 'disk.img', source: '-' }],
      stdin: input,
    })
    for (let at = 0; at < data.length; at += 999_999) input.write(data.subarray(at, at + 999_999))
    input.end()
    const r = await done
    assert.equal(r.manifest.files[0]!.size, data.length)
    const target = join(home.dir, 'ct200.raw')
    await restoreArchive(store, r.snapshot, 'disk.img', target)
    assert.ok((await readFile(target)).equals(data))
  })

  it('worker threads produce the same index as the main thread', async () => {
    const inline = await backupSnapshot(store, {
      type: 'vm',
      id: '300',
      time: T0,
      owner: 'root@pam',
      workers: 0,
      archives: [{ name: 'disk.img', source: imagePath }],
    })
    const pooled = await backupSnapshot(store, {
      type: 'vm',
      id: '300',
      time: T0 + 1,
      owner: 'root@pam',
      workers: 2,
      archives: [{ name: 'disk.img', source: imagePath }],
    })
    assert.equal(pooled.manifest.files[0]!.csum, inline.manifest.files[0]!.csum)
    assert.equal(getChunkUploadStats(pooled.manifest)!.duplicates, 3)
  })

  it('encrypted backup: encrypted chunks and blobs, signed manifest; restore needs the right key', async () => {
    const key = randomBytes(32)
    const crypt = new CryptConfig(key)
    const data = Buffer.concat([randomBytes(2 * MiB), Buffer.alloc(4 * MiB)])
    for (const [time, workers] of [
      [T0, 0],
      [T0 + 1, 2],
    ] as const) {
      const r = await backupSnapshot(store, {
        type: 'vm',
        id: 'enc',
        time,
        owner: 'root@pam',
        crypt: key,
        workers,
        fixedChunkSize: MiB,
        archives: [
          { name: 'disk.img', source: data },
          { name: 'qemu-server.conf', source: conf },
        ],
      })
      assert.deepEqual(
        r.manifest.files.map((f) => f['crypt-mode']),
        ['encrypt', 'encrypt'],
      )
      assert.equal(r.manifest.unprotected['key-fingerprint'], crypt.fingerprintString())
      assert.equal(verifyManifestSignature(r.manifest, crypt), 'verified')
      const snapDir = store.snapshotDir(ROOT, r.snapshot)
      const fidx = parseFixedIndex(await readFile(join(snapDir, 'disk.img.fidx')))
      assert.notEqual(fidx.digestHex(2), ZERO_CHUNK_4M_DIGEST)
      assert.ok(
        fidx.digest(2).equals(crypt.computeDigest(Buffer.alloc(MiB))),
        'keyed digest of the zero chunk',
      )
      for (const d of fidx.digests())
        assert.equal(blobCryptMode(await chunkStoreFor(store).loadChunk(d)), 'encrypt')
      assert.equal(blobCryptMode(await readFile(join(snapDir, 'qemu-server.conf.blob'))), 'encrypt')

      const target = join(home.dir, `enc-${time}.raw`)
      const restored = await restoreArchive(store, r.snapshot, 'disk.img', target, { crypt })
      assert.equal(restored.sparseBytes, 4 * MiB)
      assert.ok((await readFile(target)).equals(data))
      const c = collector()
      await restoreArchive(store, r.snapshot, 'qemu-server.conf', c.stream, { crypt })
      assert.deepEqual(c.data(), conf)
    }

    const dir = backupDir({ type: 'vm', id: 'enc' }, T0)
    const noKey = join(home.dir, 'nokey.raw')
    await assert.rejects(
      restoreArchive(store, dir, 'disk.img', noKey),
      (e: unknown) => e instanceof CryptoError && /key is needed/.test(e.message),
    )
    const wrongKey = join(home.dir, 'wrongkey.raw')
    await assert.rejects(
      restoreArchive(store, dir, 'disk.img', wrongKey, { crypt: new CryptConfig(randomBytes(32)) }),
      (e: unknown) => e instanceof CryptoError && /wrong key/.test(e.message),
    )
    const names = await readdir(home.dir)
    assert.ok(!names.includes('nokey.raw') && !names.includes('wrongkey.raw'), 'no target file left behind')
  })
})
