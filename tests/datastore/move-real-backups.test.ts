// Moves are lossless on real backups: back up images and configs into groups, move groups and a
// namespace (with a merge), then every snapshot restores to the original bytes and verify is clean.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupDirRef } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  createDatastore,
  createNamespace,
  type Datastore,
} from '../../src/datastore/index.js'
import { moveGroup, moveNamespace } from '../../src/datastore/move/index.js'
import { restoreArchive } from '../../src/datastore/restore.js'
import { verifyDatastore } from '../../src/datastore/verify.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903
const UPID = 'UPID:test:00000001:00000001:00000001:6A000000:verify:store1:root@pam:'

describe('moves on real backups', () => {
  let home: TempHome
  let store: Datastore
  /** What each snapshot's disk image was, by `<ns>|<type/id/time>` at the time of backup. */
  const images = new Map<string, { dir: BackupDirRef; bytes: Buffer }>()

  async function backup(n: BackupNamespace, id: string, time: number): Promise<void> {
    // 5 MiB: one full 4 MiB chunk (shared between snapshots of a group) plus a changing tail.
    const shared = Buffer.alloc(4 * 1024 * 1024, id.charCodeAt(0))
    const bytes = Buffer.concat([shared, randomBytes(1024 * 1024)])
    const r = await backupSnapshot(store, {
      ns: n,
      type: 'vm',
      id,
      time,
      owner: 'root@pam',
      workers: 0,
      archives: [
        { name: 'drive-scsi0.img', source: bytes },
        { name: 'qemu-server.conf', source: Buffer.from(`name: vm${id}\nmemory: 2048\n`) },
      ],
    })
    images.set(`${id}|${time}`, { dir: r.snapshot, bytes })
  }

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    for (const n of ['prod', 'prod/db', 'archive']) await createNamespace(store, ns(n))
    for (let i = 0; i < 3; i++) await backup(ns('prod'), '100', T0 + i * 3600)
    for (let i = 0; i < 2; i++) await backup(ns('prod/db'), '200', T0 + i * 3600)
    await backup(ns('archive'), '100', T0 - 86400) // older snapshot at the target: the move merges
  })
  after(() => home.cleanup())

  it('restores byte-identical data and verifies clean after group and namespace moves', async () => {
    const r = await moveGroup(store, ns('prod'), { type: 'vm', id: '100' }, ns('archive'))
    assert.equal(r.merged, true)
    await moveNamespace(store, ns('prod'), ns('archive/prod'))
    const where: [string, BackupNamespace][] = [
      ['100', ns('archive')],
      ['200', ns('archive/prod/db')],
    ]
    let restored = 0
    for (const { dir, bytes } of images.values()) {
      const at = where.find(([id]) => id === dir.id)![1]
      const target = join(home.dir, `restore-${dir.id}-${dir.time}.raw`)
      await restoreArchive(store, dir, 'drive-scsi0.img', target, { ns: at })
      assert.ok(
        (await readFile(target)).equals(bytes),
        `image of ${dir.id}/${dir.timeString} is byte-identical`,
      )
      restored++
    }
    assert.equal(restored, 6)
    const v = await verifyDatastore(store, { upid: UPID })
    assert.equal(v.failed, 0, 'verify clean')
    assert.ok(v.ok >= 6)
  })
})
