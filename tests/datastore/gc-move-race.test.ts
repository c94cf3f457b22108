// The move/GC race (issue 6, spec/move.md §2.6): GC lists the index files, visits the target
// namespace, then a move renames a snapshot from the not-yet-visited source into the visited
// target. The index is found at neither place; only the move journal saves its chunks.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupGroupRef } from '../../src/api-types/index.js'
import { Datastore, createDatastore, createNamespace } from '../../src/datastore/index.js'
import { garbageCollect, type GcTestHooks } from '../../src/datastore/gc/index.js'
import { moveGroup } from '../../src/datastore/move/move-group.js'
import { journalPathOf } from '../../src/datastore/move/move-journal.js'
import {
  FixedIndexBuilder,
  encodeChunk,
  parseFixedIndex,
  verifyUnencryptedChunk,
} from '../../src/format/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const T0 = 1776359903
const CHUNK_BYTES = 3000
const INDEX = 'drive-scsi0.img.fidx'

describe('GC racing a move-group', () => {
  let home: TempHome
  let store: Datastore
  const nsA = BackupNamespace.parse('a')
  const nsB = BackupNamespace.parse('b')
  const chunkFile = (digest: string): string => join(store.chunkDir, digest.slice(0, 4), digest)
  const old = (): number => Math.floor(Date.now() / 1000) - 2 * 86400

  /** A group in A with one snapshot whose index references 3 chunks with atimes past the cutoff. */
  async function groupWithChunks(id: string): Promise<{ group: BackupGroupRef; digests: string[] }> {
    const dir = await makeFakeSnapshot(store, nsA, 'vm', id, T0, { files: [] })
    const b = new FixedIndexBuilder(4096, 3 * 4096)
    const digests: string[] = []
    for (let i = 0; i < 3; i++) {
      const c = encodeChunk(Buffer.alloc(CHUNK_BYTES, `${id}-${i}`))
      const digest = c.digest.toString('hex')
      digests.push(digest)
      await writeFile(chunkFile(digest), c.blob)
      await utimes(chunkFile(digest), old(), old())
      b.push(c.digest)
    }
    await writeFile(join(dir, INDEX), b.finish())
    return { group: { type: 'vm', id }, digests }
  }

  /** B first, then A; the group moves from A to B just before GC reaches A. */
  function raceHooks(group: BackupGroupRef, moved: { done: boolean }): GcTestHooks {
    return {
      orderNamespaces: (list) => [
        ...list.filter((n) => n.equals(nsB)),
        ...list.filter((n) => !n.equals(nsB)),
      ],
      beforeNamespace: async (ns) => {
        if (ns.equals(nsA) && !moved.done) {
          await moveGroup(store, nsA, group, nsB)
          moved.done = true
        }
      },
    }
  }

  before(async () => {
    home = await makeTempHome()
    const created = await createDatastore(home.installation, 'racestore', join(home.dir, 'racestore'))
    store = new Datastore(created.installation, {
      ...created.config,
      tuning: { ...created.config.tuning, 'gc-atime-safety-check': false },
    })
    await createNamespace(store, nsA)
    await createNamespace(store, nsB)
  })

  after(async () => {
    await home.cleanup()
  })

  it('without the journal drain the moved snapshot loses its chunks (the race is real)', async () => {
    const { group, digests } = await groupWithChunks('100')
    const moved = { done: false }
    const r = await garbageCollect(store, {
      testHooks: { ...raceHooks(group, moved), skipMoveJournal: true },
    })
    assert.equal(moved.done, true)
    assert.equal(existsSync(store.groupDir(nsB, group)), true, 'moved to B')
    assert.equal(existsSync(store.groupDir(nsA, group)), false, 'gone from A')
    for (const d of digests) assert.equal(existsSync(chunkFile(d)), false, `chunk ${d} swept`)
    assert.ok(r.status.removedChunks >= 3)
    // The move journalled the new path; since the drain was skipped it is still there.
    assert.match(await readFile(journalPathOf(store), 'utf8'), new RegExp(`/ns/b/vm/100/.*/${INDEX}`))
  })

  it('with the journal drain every chunk of the moved snapshot survives and verifies', async () => {
    const { group, digests } = await groupWithChunks('200')
    const moved = { done: false }
    const started = Math.floor(Date.now() / 1000)
    const r = await garbageCollect(store, { testHooks: raceHooks(group, moved) })
    assert.equal(moved.done, true)
    assert.ok(r.journal && r.journal.marked >= 1, 'the journal entry was marked')
    for (const d of digests) {
      assert.equal(existsSync(chunkFile(d)), true, `chunk ${d} kept`)
      assert.ok(Math.floor((await stat(chunkFile(d))).atimeMs / 1000) >= started, 'and touched by GC')
    }
    assert.equal((await stat(journalPathOf(store))).size, 0, 'journal truncated after success')

    // "Verify": every chunk the moved index references exists and decodes to its digest.
    const snapDirs = await readdir(store.groupDir(nsB, group))
    const snap = snapDirs.find((n) => n !== 'owner' && n !== 'notes')
    assert.ok(snap)
    const index = parseFixedIndex(await readFile(join(store.groupDir(nsB, group), snap, INDEX)))
    assert.equal(index.count, 3)
    for (let i = 0; i < index.count; i++) {
      const raw = await readFile(chunkFile(index.digestHex(i)))
      verifyUnencryptedChunk(raw, CHUNK_BYTES, index.digest(i))
    }
  })
})
