// The chunk store's insert rules (spec §4.3), load with CRC check, and the corrupt-chunk rename.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { ChunkStore } from '../../src/datastore/index.js'
import { ConflictError, CorruptionError, NotFoundError, StorageError } from '../../src/errors.js'
import { CryptConfig, blobIsCompressed, encodeBlob, encodeChunk } from '../../src/format/index.js'

const OLD = 1_600_000_000 // 2020-09-13: an atime/mtime clearly in the past

/** A chunk store in a temp dir with just the prefix directories a test needs. */
async function makeStore(
  base: string,
  syncLevel: 'none' | 'file' | 'filesystem' = 'none',
): Promise<ChunkStore> {
  await mkdir(join(base, '.chunks'), { recursive: true })
  return new ChunkStore('test', base, syncLevel)
}

/** Creates the prefix dir of a chunk. */
async function prepare(store: ChunkStore, digest: Buffer): Promise<string> {
  const path = store.chunkPath(digest)
  await mkdir(dirname(path), { recursive: true })
  return path
}

/** Backdates atime and mtime so a touch is visible. */
async function age(path: string): Promise<void> {
  await utimes(path, OLD, OLD)
}

describe('chunk store', () => {
  let dir: string
  let store: ChunkStore
  const key = new CryptConfig(Buffer.alloc(32, 7))

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbs-store-chunks-'))
    store = await makeStore(dir)
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('stores a new chunk at .chunks/<4 hex>/<digest> with mode 0644 and no tmp file left', async () => {
    const { digest, blob } = encodeChunk(Buffer.from('hello chunk '.repeat(1000)))
    const path = await prepare(store, digest)
    const r = await store.insertChunk(blob, digest)
    assert.deepEqual(r, { duplicate: false, encodedSize: blob.length })
    const hex = digest.toString('hex')
    assert.equal(path, join(dir, '.chunks', hex.slice(0, 4), hex))
    assert.deepEqual(await readFile(path), blob)
    assert.equal((await stat(path)).mode & 0o777, 0o644)
    assert.deepEqual(await readdir(dirname(path)), [hex])
  })

  it('same size: keeps the file, reports a duplicate and touches only the atime', async () => {
    const { digest, blob } = encodeChunk(randomBytes(5000))
    const path = await prepare(store, digest)
    await store.insertChunk(blob, digest)
    await age(path)
    const before = await stat(path, { bigint: true })
    const r = await store.insertChunk(blob, digest)
    assert.deepEqual(r, { duplicate: true, encodedSize: blob.length })
    const after = await stat(path, { bigint: true })
    assert.ok(after.atimeMs > BigInt(OLD * 1000 + 1000), 'atime was set to now')
    assert.equal(after.mtimeNs, before.mtimeNs, 'mtime unchanged')
    assert.equal(after.ino, before.ino, 'same file')
  })

  it('an empty existing file is overwritten', async () => {
    const { digest, blob } = encodeChunk(randomBytes(3000))
    const path = await prepare(store, digest)
    await writeFile(path, '')
    const r = await store.insertChunk(blob, digest)
    assert.deepEqual(r, { duplicate: false, encodedSize: blob.length })
    assert.deepEqual(await readFile(path), blob)
  })

  it('existing copy smaller: it is kept (touched) and the insert is a duplicate', async () => {
    const data = Buffer.alloc(20000, 'a')
    const compressed = encodeBlob(data, { compress: true })
    const plain = encodeBlob(data, { compress: false })
    assert.ok(compressed.length < plain.length)
    const { digest } = encodeChunk(data)
    const path = await prepare(store, digest)
    await store.insertChunk(compressed, digest)
    await age(path)
    const r = await store.insertChunk(plain, digest)
    assert.deepEqual(r, { duplicate: true, encodedSize: compressed.length })
    assert.deepEqual(await readFile(path), compressed)
    const st = await stat(path)
    assert.ok(st.atimeMs > OLD * 1000 + 1000 && Math.round(st.mtimeMs / 1000) === OLD)
  })

  it('existing copy bigger: it is replaced by the smaller one', async () => {
    const data = Buffer.alloc(20000, 'b')
    const compressed = encodeBlob(data, { compress: true })
    const plain = encodeBlob(data, { compress: false })
    const { digest } = encodeChunk(data)
    const path = await prepare(store, digest)
    await store.insertChunk(plain, digest)
    const r = await store.insertChunk(compressed, digest)
    assert.deepEqual(r, { duplicate: false, encodedSize: compressed.length })
    assert.deepEqual(await readFile(path), compressed)
  })

  it('refuses an encrypted chunk over an unencrypted one of the same digest', async () => {
    const data = randomBytes(4000)
    const { digest, blob } = encodeChunk(data)
    await prepare(store, digest)
    await store.insertChunk(blob, digest)
    const encrypted = encodeBlob(Buffer.alloc(5000, 1), { compress: true, crypt: key })
    await assert.rejects(store.insertChunk(encrypted, digest), (e: unknown) => {
      assert.ok(e instanceof ConflictError)
      assert.match(
        e.message,
        /^inserting chunk '[0-9a-f]{64}' on store 'test' failed - overwriting an unencrypted chunk/,
      )
      return true
    })
    assert.deepEqual(await readFile(store.chunkPath(digest)), blob)
  })

  it('refuses two uncompressed encrypted copies of different size', async () => {
    const small = encodeBlob(randomBytes(1000), { compress: false, crypt: key })
    const big = encodeBlob(randomBytes(2000), { compress: false, crypt: key })
    const digest = key.computeDigest(Buffer.from('some identity'))
    await prepare(store, digest)
    await store.insertChunk(small, digest)
    await assert.rejects(store.insertChunk(big, digest), ConflictError)
    await assert.rejects(
      store.insertChunk(encodeBlob(randomBytes(500), { compress: false, crypt: key }), digest),
      ConflictError,
    )
  })

  it('other encrypted cases keep the first copy (zstd versions may differ) and touch it', async () => {
    const data = Buffer.alloc(30000, 'z')
    const first = encodeBlob(data, { compress: true, crypt: key })
    assert.ok(blobIsCompressed(first))
    const other = encodeBlob(data, { compress: false, crypt: key })
    const digest = key.computeDigest(data)
    const path = await prepare(store, digest)
    await store.insertChunk(first, digest)
    await age(path)
    const r = await store.insertChunk(other, digest)
    assert.deepEqual(r, { duplicate: true, encodedSize: first.length })
    assert.deepEqual(await readFile(path), first)
    assert.ok((await stat(path)).atimeMs > OLD * 1000 + 1000)
  })

  it('refuses when the chunk path is not a regular file', async () => {
    const { digest, blob } = encodeChunk(randomBytes(100))
    const path = await prepare(store, digest)
    await mkdir(path)
    await assert.rejects(
      store.insertChunk(blob, digest),
      (e: unknown) => e instanceof StorageError && /not a regular file/.test(e.message),
    )
  })

  it('refuses data that is not a blob before writing anything', async () => {
    const digest = randomBytes(32)
    const path = await prepare(store, digest)
    await assert.rejects(store.insertChunk(Buffer.from('not a blob at all'), digest), CorruptionError)
    assert.equal(existsSync(path), false)
  })

  it('serialises concurrent inserts of one digest: exactly one writes, the rest are duplicates', async () => {
    const { digest, blob } = encodeChunk(randomBytes(100_000))
    await prepare(store, digest)
    const results = await Promise.all(Array.from({ length: 12 }, () => store.insertChunk(blob, digest)))
    assert.equal(results.filter((r) => !r.duplicate).length, 1)
    assert.deepEqual(await readdir(dirname(store.chunkPath(digest))), [digest.toString('hex')])
  })

  it('sync-level=file writes the same bytes (fsync of file and directory)', async () => {
    const synced = new ChunkStore('test', dir, 'file')
    const { digest, blob } = encodeChunk(randomBytes(2048))
    await prepare(synced, digest)
    assert.equal((await synced.insertChunk(blob, digest)).duplicate, false)
    assert.deepEqual(await readFile(synced.chunkPath(digest)), blob)
  })

  it('knownChunkSize: size and an atime touch for a stored chunk, undefined for missing or empty ones', async () => {
    const { digest, blob } = encodeChunk(randomBytes(1234))
    const path = await prepare(store, digest)
    assert.equal(await store.knownChunkSize(digest, false), undefined)
    await writeFile(path, '')
    assert.equal(await store.knownChunkSize(digest, false), undefined)
    await store.insertChunk(blob, digest)
    await age(path)
    assert.equal(await store.knownChunkSize(digest, false), blob.length)
    const st = await stat(path)
    assert.ok(st.atimeMs > OLD * 1000 + 1000 && Math.round(st.mtimeMs / 1000) === OLD)
    await assert.rejects(
      store.knownChunkSize(digest, true),
      ConflictError,
      'an encrypted backup must not reuse an unencrypted chunk',
    )
  })

  it('loadChunk checks the CRC and names missing chunks', async () => {
    const { digest, blob } = encodeChunk(randomBytes(4096))
    const path = await prepare(store, digest)
    await store.insertChunk(blob, digest)
    assert.deepEqual(await store.loadChunk(digest), blob)
    const bad = Buffer.from(blob)
    bad[bad.length - 1]! ^= 0xff
    await writeFile(path, bad)
    await assert.rejects(
      store.loadChunk(digest),
      (e: unknown) =>
        e instanceof CorruptionError &&
        /loading chunk '[0-9a-f]{64}' on store 'test' failed - crc mismatch/.test(e.message),
    )
    await assert.rejects(store.loadChunk(randomBytes(32)), NotFoundError)
  })

  it('renameCorruptChunk uses the first free .N.bad and overwrites .9.bad when 0..9 exist', async () => {
    const { digest, blob } = encodeChunk(randomBytes(64))
    const path = await prepare(store, digest)
    await writeFile(path, blob)
    assert.equal(await store.renameCorruptChunk(digest), `${path}.0.bad`)
    await writeFile(path, blob)
    await writeFile(`${path}.2.bad`, 'x')
    assert.equal(await store.renameCorruptChunk(digest), `${path}.1.bad`)
    for (let n = 0; n <= 9; n++) await writeFile(`${path}.${n}.bad`, 'old')
    await writeFile(path, blob)
    assert.equal(await store.renameCorruptChunk(digest), `${path}.9.bad`)
    assert.deepEqual(await readFile(`${path}.9.bad`), blob)
    assert.equal(existsSync(path), false)
    assert.equal(await store.renameCorruptChunk(digest), undefined, 'a missing chunk is not an error')
  })
})
