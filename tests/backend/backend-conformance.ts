/**
 * The backend conformance suite (DESIGN.md "The backend seam"): every backend-level case runs
 * against each backend through the engine. The expected state is written as S3 keys; for the
 * filesystem the same key set is derived from the local tree (a namespace directory ↔ its
 * `.namespace` marker, a file ↔ its key), and for S3 the bucket must equal the local cache's view.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, stat, truncate } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, formatBackupTime } from '../../src/api-types/index.js'
import { S3Backend } from '../../src/backend/s3/s3-backend.js'
import {
  backupSnapshot,
  chunkStoreFor,
  createLockedGroup,
  createNamespace,
  deleteNamespace,
  forgetGroup,
  forgetSnapshot,
  listSnapshotRefs,
  readNotes,
  readOwner,
  setNotes,
  setOwner,
  setProtected,
  type Datastore,
} from '../../src/datastore/index.js'
import { moveGroup } from '../../src/datastore/move/index.js'
import { encodeBlob } from '../../src/format/index.js'
import { createHash } from 'node:crypto'

/** What a backend factory gives the suite. */
export interface ConformanceStore {
  store: Datastore
  cleanup(): Promise<void>
}

const T0 = 1776359903
const ROOT = BackupNamespace.ROOT
const tstr = (t: number): string => formatBackupTime(t)

/** The local tree as S3 keys (content tree + non-empty or marker chunk files). */
export async function localKeys(store: Datastore): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) {
        if (e.name === '.protected' && e.isFile()) out.push(`.cnt/${relative(store.base, join(dir, e.name))}`)
        continue
      }
      const p = join(dir, e.name)
      if (e.isDirectory()) {
        const rel = relative(store.base, p).split('/')
        // `ns/<name>` pairs make a namespace: its marker
        if (rel.length % 2 === 0 && rel.every((c, i) => i % 2 === 1 || c === 'ns'))
          out.push(`.cnt/${rel.join('/')}/.namespace`)
        await walk(p)
      } else if (e.isFile() && !e.name.includes('.tmp_')) out.push(`.cnt/${relative(store.base, p)}`)
    }
  }
  for (const top of ['vm', 'ct', 'host', 'ns']) {
    try {
      if ((await stat(join(store.base, top))).isDirectory()) {
        if (top === 'ns') await walk(join(store.base, top))
        else {
          await walk(join(store.base, top))
        }
      }
    } catch {
      /* absent */
    }
  }
  return out.sort()
}

/** The keys of the backend's store: the bucket for S3 (checked against the cache), else the local view. */
async function contentKeys(store: Datastore): Promise<string[]> {
  const local = await localKeys(store)
  if (store.backend instanceof S3Backend) {
    const remote: string[] = []
    for await (const o of store.backend.objects.listObjects('.cnt/')) remote.push(o.key)
    remote.sort()
    assert.deepEqual(remote, local, 'the bucket and the local cache hold the same content tree')
  }
  return local
}

/** Reads a content key: from the bucket (S3) or the local file. */
async function readKey(store: Datastore, key: string): Promise<Buffer | undefined> {
  if (store.backend instanceof S3Backend) return store.backend.objects.getObject(key)
  try {
    return await readFile(join(store.base, key.replace(/^\.cnt\//, '')))
  } catch {
    return undefined
  }
}

async function chunkObjectExists(store: Datastore, digest: string): Promise<boolean> {
  if (store.backend instanceof S3Backend)
    return (await store.backend.objects.headObject(`.chunks/${digest.slice(0, 4)}/${digest}`)) !== undefined
  return (await chunkStoreFor(store).statChunk(digest)) !== undefined
}

/** Runs the suite for one backend. */
export function runBackendConformance(name: string, factory: () => Promise<ConformanceStore>): void {
  describe(`backend conformance: ${name}`, () => {
    let ctx: ConformanceStore
    let store: Datastore
    before(async () => {
      ctx = await factory()
      store = ctx.store
    })
    after(() => ctx.cleanup())

    const backup = (ns: BackupNamespace, id: string, time: number) =>
      backupSnapshot(store, {
        ns,
        type: 'vm',
        id,
        time,
        owner: 'root@pam',
        workers: 0,
        archives: [
          { name: 'drive-scsi0.img', source: randomBytes(8192) },
          { name: 'qemu-server.conf', source: Buffer.from(`id ${id} ${time}\n`) },
        ],
      })
    const snapKeys = (prefix: string, t: number): string[] =>
      ['drive-scsi0.img.fidx', 'index.json.blob', 'qemu-server.conf.blob'].map(
        (f) => `${prefix}${tstr(t)}/${f}`,
      )

    it('namespace create puts a marker per namespace; delete removes them', async () => {
      const a = BackupNamespace.parse('ca')
      const b = BackupNamespace.parse('ca/cb')
      assert.deepEqual(await createNamespace(store, a), { created: true })
      assert.deepEqual(await createNamespace(store, b), { created: true })
      assert.deepEqual(await createNamespace(store, b), { created: false })
      assert.deepEqual(await contentKeys(store), ['.cnt/ns/ca/.namespace', '.cnt/ns/ca/ns/cb/.namespace'])
      await deleteNamespace(store, a)
      assert.deepEqual(await contentKeys(store), [])
    })

    it('owner and notes: a new group has its owner; set-owner and notes replace them', async () => {
      const g = { type: 'vm' as const, id: '200' }
      const { lock } = await createLockedGroup(store, ROOT, g, 'root@pam')
      await lock.release()
      assert.deepEqual(await contentKeys(store), ['.cnt/vm/200/owner'])
      await setOwner(store, ROOT, g, 'admin@pbs')
      await setNotes(store, ROOT, g, 'line one\nline two')
      assert.equal((await readKey(store, '.cnt/vm/200/owner'))?.toString(), 'admin@pbs\n')
      assert.equal((await readKey(store, '.cnt/vm/200/notes'))?.toString(), 'line one\nline two')
      assert.equal(await readOwner(store, ROOT, g), 'admin@pbs')
      assert.equal(await readNotes(store, ROOT, g), 'line one\nline two')
      await forgetGroup(store, ROOT, g)
      assert.deepEqual(await contentKeys(store), [])
    })

    it('backup writes exactly the snapshot keys; protect adds .protected, unprotect removes it', async () => {
      const r = await backup(ROOT, '300', T0)
      assert.deepEqual(
        await contentKeys(store),
        ['.cnt/vm/300/owner', ...snapKeys('.cnt/vm/300/', T0)].sort(),
      )
      await setProtected(store, ROOT, r.snapshot, true)
      assert.ok((await contentKeys(store)).includes(`.cnt/vm/300/${tstr(T0)}/.protected`))
      await assert.rejects(forgetSnapshot(store, ROOT, r.snapshot), /protected/)
      await setProtected(store, ROOT, r.snapshot, false)
      assert.ok(!(await contentKeys(store)).includes(`.cnt/vm/300/${tstr(T0)}/.protected`))
    })

    it('forget snapshot removes its keys; forget group removes owner and notes', async () => {
      const r2 = await backup(ROOT, '300', T0 + 60)
      await forgetSnapshot(store, ROOT, backupDir({ type: 'vm', id: '300' }, T0))
      assert.deepEqual(
        await contentKeys(store),
        ['.cnt/vm/300/owner', ...snapKeys('.cnt/vm/300/', T0 + 60)].sort(),
      )
      await setNotes(store, ROOT, r2.snapshot, 'n')
      await forgetGroup(store, ROOT, r2.snapshot)
      assert.deepEqual(await contentKeys(store), [])
    })

    it('vm/100 and vm/1000: forgetting one group never touches the other (prefixes end in /)', async () => {
      await backup(ROOT, '100', T0)
      await backup(ROOT, '1000', T0)
      await forgetGroup(store, ROOT, { type: 'vm', id: '100' })
      assert.deepEqual(
        await contentKeys(store),
        ['.cnt/vm/1000/owner', ...snapKeys('.cnt/vm/1000/', T0)].sort(),
      )
      await forgetGroup(store, ROOT, { type: 'vm', id: '1000' })
    })

    it('chunk insert stores it once; load returns it, also after the cache dropped it', async () => {
      const data = randomBytes(5000)
      const blob = encodeBlob(data, { compress: false })
      const digest = createHash('sha256').update(data).digest('hex')
      const chunks = chunkStoreFor(store)
      assert.equal((await chunks.insertChunk(blob, digest)).duplicate, false)
      assert.equal((await chunks.insertChunk(blob, digest)).duplicate, true)
      assert.ok(await chunkObjectExists(store, digest))
      assert.deepEqual(await chunks.loadChunk(digest), Buffer.from(blob))
      if (store.remote) {
        await truncate(chunks.chunkPath(digest), 0) // evicted: a zero-length marker
        assert.deepEqual(await chunks.loadChunk(digest), Buffer.from(blob), 'fetched from the bucket')
        assert.equal((await stat(chunks.chunkPath(digest))).size, blob.length, 'and cached again')
      } else {
        console.log(
          '# skip cache-eviction check on filesystem: the chunk file is the store, there is no cache',
        )
      }
    })

    it('move group: every snapshot key re-rooted, notes moved, nothing left at the source', async () => {
      const dst = BackupNamespace.parse('dst')
      await createNamespace(store, dst)
      for (let i = 0; i < 3; i++) await backup(ROOT, '400', T0 + i * 60)
      await setNotes(store, ROOT, { type: 'vm', id: '400' }, 'moved notes')
      await backup(ROOT, '4000', T0)
      const r = await moveGroup(store, ROOT, { type: 'vm', id: '400' }, dst)
      assert.equal(r.movedSnapshots, 3)
      assert.deepEqual(r.warnings, [])
      const want = [
        '.cnt/ns/dst/.namespace',
        '.cnt/ns/dst/vm/400/owner',
        '.cnt/ns/dst/vm/400/notes',
        ...[0, 1, 2].flatMap((i) => snapKeys('.cnt/ns/dst/vm/400/', T0 + i * 60)),
        '.cnt/vm/4000/owner',
        ...snapKeys('.cnt/vm/4000/', T0),
      ].sort()
      assert.deepEqual(await contentKeys(store), want)
      assert.equal((await listSnapshotRefs(store, dst, { type: 'vm', id: '400' })).length, 3)
      await forgetGroup(store, dst, { type: 'vm', id: '400' })
      await forgetGroup(store, ROOT, { type: 'vm', id: '4000' })
      await deleteNamespace(store, dst)
      assert.deepEqual(await contentKeys(store), [])
    })
  })
}
