// Garbage collection (spec §7): exactly the unreferenced chunks older than the cutoff go; running
// writers, the move journal, concurrent GCs and aborts are honoured.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { lstat, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, beforeEach, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { Datastore, createDatastore, createNamespace } from '../../src/datastore/index.js'
import { GC_STATUS_FILE, garbageCollect } from '../../src/datastore/gc/index.js'
import { appendMoveJournal, journalPathOf } from '../../src/datastore/move/move-journal.js'
import { AbortedError, LockBusyError, StorageError } from '../../src/errors.js'
import {
  DynamicIndexBuilder,
  FixedIndexBuilder,
  ZERO_CHUNK_4M_DIGEST,
  encodeChunk,
} from '../../src/format/index.js'
import { processLockFor } from '../../src/lock/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { pythonCanFcntl, spawnPythonFcntlHolder } from '../helpers/lock-children.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const DAY = 86400
const T0 = 1776359903
const nowSec = (): number => Math.floor(Date.now() / 1000)

interface TestChunk {
  digest: string
  digestBuf: Buffer
  blob: Buffer
}

function chunk(seed: string): TestChunk {
  const c = encodeChunk(Buffer.from(`chunk ${seed} `.repeat(50)))
  return { digest: c.digest.toString('hex'), digestBuf: c.digest, blob: c.blob }
}

describe('garbage collection', () => {
  let home: TempHome
  let created: Datastore
  let store: Datastore // same store, atime safety check off (fast)
  const chunkFile = (digest: string): string => join(store.chunkDir, digest.slice(0, 4), digest)

  const written = new Set<string>()

  async function putChunk(c: TestChunk | string, atime: number, content?: Buffer): Promise<string> {
    const path = typeof c === 'string' ? chunkFile(c) : chunkFile(c.digest)
    written.add(path)
    await writeFile(path, typeof c === 'string' ? (content ?? Buffer.from('junk')) : c.blob)
    await utimes(path, atime, atime)
    return path
  }

  function fidx(chunks: TestChunk[]): Buffer {
    const b = new FixedIndexBuilder(4096, chunks.length * 4096)
    for (const c of chunks) b.push(c.digestBuf)
    return b.finish()
  }

  function didx(chunks: TestChunk[]): Buffer {
    const b = new DynamicIndexBuilder()
    chunks.forEach((c, i) => b.pushEnd((i + 1) * 1000, c.digestBuf))
    return b.finish()
  }

  async function snapshot(
    ns: BackupNamespace,
    id: string,
    time: number,
    files: Record<string, Buffer>,
  ): Promise<string> {
    const dir = await makeFakeSnapshot(store, ns, 'vm', id, time, { files: [] })
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data)
    return dir
  }

  const atimeOf = async (p: string): Promise<number> => Math.floor((await stat(p)).atimeMs / 1000)

  before(async () => {
    home = await makeTempHome()
    created = await createDatastore(home.installation, 'gcstore', join(home.dir, 'gcstore'))
    store = new Datastore(created.installation, {
      ...created.config,
      tuning: { ...created.config.tuning, 'gc-atime-safety-check': false },
    })
  })

  after(async () => {
    await home.cleanup()
  })

  // Every test starts from an empty store: no snapshots, no chunks, an empty journal.
  beforeEach(async () => {
    for (const name of await readdir(store.base))
      if (name !== '.chunks' && name !== '.lock')
        await rm(join(store.base, name), { recursive: true, force: true })
    for (const p of written) await rm(p, { force: true })
    written.clear()
    await rm(journalPathOf(store), { force: true })
  })

  it('removes exactly the unreferenced chunks older than the cutoff and nothing else', async () => {
    const now = nowSec()
    const old = now - 2 * DAY
    const [ref1, ref2, dyn, stray, unrefOld, unrefRecent, missing, badOnly] = [
      'ref1',
      'ref2',
      'dyn',
      'stray',
      'unref-old',
      'unref-recent',
      'missing',
      'bad-only',
    ].map(chunk) as [TestChunk, TestChunk, TestChunk, TestChunk, TestChunk, TestChunk, TestChunk, TestChunk]
    const ns = BackupNamespace.parse('a')
    await createNamespace(store, ns)
    // Two snapshots share ref1 (the cache must still keep it), one also has a didx.
    await snapshot(BackupNamespace.ROOT, '100', T0, { 'drive-scsi0.img.fidx': fidx([ref1, ref2]) })
    await snapshot(BackupNamespace.ROOT, '100', T0 + 60, { 'drive-scsi0.img.fidx': fidx([ref1]) })
    await snapshot(ns, '200', T0, { 'root.pxar.didx': didx([dyn, missing]) })
    // An index outside the expected scheme is still honoured.
    await mkdir(join(store.base, 'stray-dir'), { recursive: true })
    await writeFile(join(store.base, 'stray-dir', 'lost.img.fidx'), fidx([stray]))

    const mtimeOld = old - 1000
    const pRef1 = await putChunk(ref1, old)
    await utimes(pRef1, old, mtimeOld)
    const pRef2 = await putChunk(ref2, old)
    const pDyn = await putChunk(dyn, old)
    const pStray = await putChunk(stray, old)
    const pUnrefOld = await putChunk(unrefOld, old)
    const pUnrefRecent = await putChunk(unrefRecent, now - 3600)
    // .bad files: one with a good twin (goes), one of a missing referenced chunk (kept: marked),
    // one old and unreferenced (goes).
    const pBadTwin = await putChunk(`${ref2.digest}.0.bad`, now - 60)
    const pBadMissing = await putChunk(`${missing.digest}.0.bad`, old)
    const pBadOld = await putChunk(`${badOnly.digest}.2.bad`, old)
    // Things the sweep must not consider chunks.
    const pOther = join(store.chunkDir, '0000', 'not-a-chunk')
    written.add(pOther)
    await writeFile(pOther, 'x')
    await utimes(pOther, old, old)
    const pShort = await putChunk(ref1.digest.slice(0, 63), old)

    const warnings: string[] = []
    const r = await garbageCollect(store, {
      upid: 'UPID:node:00000001:00000002:00000003:00000004:garbage_collection:gcstore:root@pam:',
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
    })

    for (const p of [pUnrefOld, pBadTwin, pBadOld])
      assert.equal(existsSync(p), false, `${p} should be removed`)
    for (const p of [pRef1, pRef2, pDyn, pStray, pUnrefRecent, pBadMissing, pOther, pShort])
      assert.equal(existsSync(p), true, `${p} should be kept`)
    // Referenced chunks were re-touched (atime now), their mtime untouched.
    for (const p of [pRef1, pRef2, pDyn, pStray, pBadMissing]) assert.ok((await atimeOf(p)) >= now, p)
    assert.equal(Math.floor((await stat(pRef1)).mtimeMs / 1000), mtimeOld)
    assert.equal(await atimeOf(pUnrefRecent), now - 3600)

    const s = r.status
    assert.equal(s.removedChunks, 1)
    assert.equal(s.removedBad, 2)
    assert.equal(s.removedBytes, unrefOld.blob.length + 4 + 4)
    assert.equal(s.pendingChunks, 1)
    assert.equal(s.pendingBytes, unrefRecent.blob.length)
    assert.equal(s.diskChunks, 4)
    assert.equal(s.diskBytes, ref1.blob.length + ref2.blob.length + dyn.blob.length + stray.blob.length + 4)
    assert.equal(s.indexFileCount, 4)
    assert.equal(s.indexDataBytes, 2 * 4096 + 4096 + 2000 + 4096)
    assert.equal(r.missingChunks, 1)
    assert.ok(s.cacheStats && s.cacheStats.hits >= 1, 'ref1 is a cache hit the second time')
    assert.ok(r.dedupFactor > 0)
    assert.ok(
      warnings.some((w) => w.includes(missing.digest)),
      'missing chunk warned',
    )
    assert.ok(
      warnings.some((w) => w.includes('outside of expected directory scheme') && w.includes('lost.img.fidx')),
    )
    assert.ok(r.minAtime <= now - 1445 * 60 && r.minAtime >= now - 1445 * 60 - 5)

    const onDisk = JSON.parse(await readFile(join(store.base, GC_STATUS_FILE), 'utf8')) as Record<
      string,
      unknown
    >
    assert.equal(onDisk['removed-chunks'], 1)
    assert.equal(onDisk['pending-chunks'], 1)
    assert.equal(
      onDisk.upid,
      'UPID:node:00000001:00000002:00000003:00000004:garbage_collection:gcstore:root@pam:',
    )
    assert.equal((await stat(join(store.base, GC_STATUS_FILE))).mode & 0o777, 0o644)
  })

  it('keeps a chunk written by a running writer whose shared lock predates the cutoff', async () => {
    const lock = processLockFor(store.base)
    const guard = lock.tryShared()
    const w = guard.acquiredAt
    let released = false
    try {
      const fresh = chunk('written-by-backup')
      const gone = chunk('old-garbage')
      const pFresh = await putChunk(fresh, w) // inserted by the backup (atime = its start)
      const pGone = await putChunk(gone, w - 1000)
      await sleep(3100) // the writer is now older than the 2 s test cutoff
      const r = await garbageCollect(store, { testHooks: { cutoffSeconds: 2 } })
      assert.equal(r.oldestWriter, w)
      assert.equal(r.minAtime, w - 300, 'cutoff moved below the oldest writer')
      assert.equal(existsSync(pFresh), true, 'chunk of the running backup survives')
      assert.equal(existsSync(pGone), false, 'older garbage still goes')
      // Control: once the writer is gone the same chunk is garbage.
      guard.release()
      released = true
      await utimes(pFresh, w, w)
      const r2 = await garbageCollect(store, { testHooks: { cutoffSeconds: 2 } })
      assert.ok(r2.minAtime > w)
      assert.equal(existsSync(pFresh), false)
    } finally {
      if (!released) guard.release()
    }
  })

  it('is refused while another process holds the chunk-store lock (a backup or another GC)', async (t) => {
    const lockFile = join(store.base, '.lock')
    if (!(await pythonCanFcntl(lockFile, 'shared'))) return t.skip('python3 fcntl not usable')
    const p = await putChunk(chunk('victim'), nowSec() - 2 * DAY)
    for (const mode of ['shared', 'exclusive'] as const) {
      const holder = await spawnPythonFcntlHolder(lockFile, mode)
      try {
        await assert.rejects(garbageCollect(store), (e: unknown) => {
          assert.ok(e instanceof LockBusyError, String(e))
          assert.match(e.message, /unable to get exclusive lock on chunk store/)
          assert.match(e.message, new RegExp(String(holder.pid)))
          return true
        })
        assert.equal(existsSync(p), true, 'nothing swept')
      } finally {
        await holder.release()
      }
    }
    await garbageCollect(store)
    assert.equal(existsSync(p), false, 'runs once the other process is gone')
  })

  it('drains the move journal: marks existing entries, skips ghosts, truncates', async () => {
    const old = nowSec() - 2 * DAY
    const c = chunk('journalled')
    const p = await putChunk(c, old)
    // A dot directory is invisible to the index listing, so only the journal can save this chunk.
    const hidden = join(store.base, '.moving', 'x.img.fidx')
    await mkdir(join(store.base, '.moving'))
    await writeFile(hidden, fidx([c]))
    await appendMoveJournal(store, [join(store.base, 'ns', 'gone', 'vm', '1', 'ghost.img.fidx'), hidden])
    const r = await garbageCollect(store)
    assert.deepEqual(r.journal, { entries: 2, marked: 1, ghosts: 1 })
    assert.equal(existsSync(p), true)
    assert.equal((await stat(journalPathOf(store))).size, 0, 'journal truncated')

    // Without the journal line the same chunk goes (the line really was what kept it).
    await utimes(p, old, old)
    await garbageCollect(store)
    assert.equal(existsSync(p), false)
  })

  it('leaves the journal intact and fails when processing it fails', async () => {
    const old = nowSec() - 2 * DAY
    const p = await putChunk(chunk('unreferenced'), old)
    const lines = [join(store.base, 'a.fidx'), join(store.base, 'b.fidx')]
    await appendMoveJournal(store, lines)
    const before = await readFile(journalPathOf(store), 'utf8')
    await assert.rejects(
      garbageCollect(store, {
        testHooks: {
          onJournalEntry: (path) => {
            if (path.endsWith('b.fidx')) throw new Error('simulated failure')
          },
        },
      }),
      (e: unknown) =>
        e instanceof StorageError && /processing move journal .* failed - simulated failure/.test(e.message),
    )
    assert.equal(await readFile(journalPathOf(store), 'utf8'), before)
    assert.equal(existsSync(p), true, 'a failed phase 1 sweeps nothing')
    assert.equal(existsSync(join(store.base, GC_STATUS_FILE)), false)
  })

  it('refuses a second GC while one runs and holds the lock exclusively meanwhile', async () => {
    let resume!: () => void
    const paused = new Promise<void>((r) => (resume = r))
    let reached!: () => void
    const atHook = new Promise<void>((r) => (reached = r))
    const first = garbageCollect(store, {
      testHooks: {
        beforeNamespace: async () => {
          reached()
          await paused
        },
      },
    })
    await atHook
    try {
      await assert.rejects(garbageCollect(store), (e: unknown) => {
        assert.ok(e instanceof LockBusyError)
        assert.match(e.message, /garbage collection already running/)
        return true
      })
      // Another process (a backup) cannot get the chunk store while GC runs.
      assert.equal(await pythonCanFcntl(join(store.base, '.lock'), 'shared'), false, 'exclusive lock held')
    } finally {
      resume()
    }
    await first
    await garbageCollect(store) // the mutex and the lock were released
  })

  it('stops between chunk directories when aborted', async () => {
    const old = nowSec() - 2 * DAY
    const early = await putChunk(`0001${'a'.repeat(60)}`, old)
    const late = await putChunk(`ffff${'b'.repeat(60)}`, old)
    const ac = new AbortController()
    const visited: number[] = []
    await assert.rejects(
      garbageCollect(store, {
        signal: ac.signal,
        testHooks: {
          beforeChunkDir: (i) => {
            visited.push(i)
            if (i === 0x8000) ac.abort('test abort')
          },
        },
      }),
      AbortedError,
    )
    assert.equal(visited.at(-1), 0x8000, 'no directory after the abort was read')
    assert.equal(existsSync(early), false, 'directories before the abort were swept')
    assert.equal(existsSync(late), true, 'directories after the abort were not')
    assert.equal(existsSync(join(store.base, GC_STATUS_FILE)), false, 'no status for an aborted run')
    await garbageCollect(store)
    assert.equal(existsSync(late), false, 'the next run finishes the job')
  })

  it('runs the atime safety check: inserts the zero chunk and proves atime updates', async () => {
    const zero = join(created.chunkDir, ZERO_CHUNK_4M_DIGEST.slice(0, 4), ZERO_CHUNK_4M_DIGEST)
    assert.equal(existsSync(zero), false)
    const started = Date.now()
    const info: string[] = []
    const r = await garbageCollect(created, { log: { info: (m) => info.push(m), warn: () => undefined } })
    assert.ok(Date.now() - started >= 1000, 'waited a second between insert and touch')
    assert.ok(info.some((m) => m.includes('Access time update check successful')))
    const st = await lstat(zero)
    assert.ok(st.isFile())
    // Freshly touched, so kept and counted as on disk.
    assert.equal(r.status.diskChunks, 1)
    assert.equal(r.status.diskBytes, st.size)
  })
})
