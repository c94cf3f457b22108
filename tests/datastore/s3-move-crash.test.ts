// Crash safety of S3 moves: a real `pbs-store namespace move` process is SIGKILLed at random
// points (≥ 25 kills; PBS_STORE_S3_CRASH_KILLS for more), then a `pbs-store group move` that
// merges into the part of its group already at the target (≥ 10 kills;
// PBS_STORE_S3_CRASH_GROUP_KILLS). After each kill the next run (or
// cleanup) recovers the intents; every snapshot is then present exactly once in the bucket AND
// in the cache with the same files, the bucket's whole content tree (group owners, notes,
// namespace markers) equals the cache's, and at the end verify is clean.
// Recovery right after a kill waits out the grace period for the dead process's last requests
// (PBS_STORE_S3_MOVE_GRACE_MS; 2 s here unless set, which covers moto's lag on a loaded machine).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  createNamespace,
  groupExists,
  listSnapshotRefs,
  namespaceExists,
  verifyDatastore,
} from '../../src/datastore/index.js'
import { recoverS3Moves } from '../../src/datastore/move/index.js'
import { localKeys } from '../backend/backend-conformance.js'
import { crashLoop, groupMoveArgs, namespaceMoveArgs, runMove } from '../helpers/crash-loop.js'
import { makeS3Store, snapshotKeyMap, testUpid, type S3TestStore } from '../helpers/s3-store.js'

const KILLS = Number(process.env.PBS_STORE_S3_CRASH_KILLS ?? 25)
const GROUP_KILLS = Number(process.env.PBS_STORE_S3_CRASH_GROUP_KILLS ?? 10)
const GROUP_ID = '900'
const GROUP_SNAPSHOTS = 60 // 6 older ones start in 'gb' (the first move merges), 54 in 'ga'
const T0 = 1776359903
const LAYOUT: [string, string[]][] = [
  ['src', ['100', '1000', '101']],
  ['src/c1', ['102']],
]
const PER_GROUP = 10 // 40 snapshots × 3 objects

/**
 * Snapshot → its prefix; asserts bucket = cache (snapshots, and the whole content tree: group
 * owners and notes, namespace markers) and no snapshot at two places.
 */
async function census(s: S3TestStore): Promise<Map<string, string>> {
  const keys = await s.keys()
  const localAll = await localKeys(s.store)
  const bucket = snapshotKeyMap(keys)
  const local = snapshotKeyMap(localAll)
  assert.deepEqual(bucket, local, 'bucket snapshots = cache snapshots')
  const content = (list: string[]): string[] => list.filter((k) => k.startsWith('.cnt/'))
  assert.deepEqual(content(keys), content(localAll), 'bucket content = cache content (owners, markers too)')
  const seen = new Map<string, string>()
  for (const [prefix, files] of bucket) {
    const snap = prefix.split('/').slice(-4, -1).join('/')
    assert.ok(!seen.has(snap), `snapshot ${snap} at two places: ${seen.get(snap)} and ${prefix}`)
    assert.deepEqual(files, ['drive-scsi0.img.fidx', 'index.json.blob', 'qemu-server.conf.blob'])
    seen.set(snap, prefix)
  }
  return seen
}

/** Every key in the bucket and the cache: a kill that changed it had sent requests or renamed. */
async function stateOf(s: S3TestStore): Promise<string> {
  return JSON.stringify([(await s.keys()).sort(), (await localKeys(s.store)).sort()])
}

describe('S3 move crash safety (SIGKILL at random points)', () => {
  let s: S3TestStore
  let expected = 0

  /** A real backup of snapshot `i` of group vm/`id`: three objects, the image filled with `fill`. */
  const backup = async (ns: BackupNamespace, id: string, i: number, fill: number): Promise<void> => {
    await backupSnapshot(s.store, {
      ns,
      type: 'vm',
      id,
      time: T0 + i * 60,
      owner: 'root@pam',
      workers: 0,
      archives: [
        { name: 'drive-scsi0.img', source: Buffer.alloc(4096, fill) },
        { name: 'qemu-server.conf', source: Buffer.from(`${id} ${i}\n`) },
      ],
    })
    expected++
  }

  before(async () => {
    process.env.PBS_STORE_S3_MOVE_GRACE_MS ??= '2000'
    s = await makeS3Store()
    for (const [name, ids] of LAYOUT) {
      const ns = BackupNamespace.parse(name)
      await createNamespace(s.store, ns)
      for (const id of ids)
        for (let i = 0; i < PER_GROUP; i++) {
          await backup(ns, id, i, id.length + i)
        }
    }
    await createNamespace(s.store, BackupNamespace.parse('dst'))
    for (const name of ['ga', 'gb']) await createNamespace(s.store, BackupNamespace.parse(name))
    for (let i = 0; i < GROUP_SNAPSHOTS; i++) {
      await backup(BackupNamespace.parse(i < 6 ? 'gb' : 'ga'), GROUP_ID, i, 200 + i)
    }
  })
  after(() => s.cleanup())

  it(
    `every snapshot exactly once in bucket and cache after each of ${KILLS} kills`,
    { timeout: Math.max(10, KILLS / 5) * 60_000 },
    async () => {
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000)
      console.log(`# crash seed ${seed}, ${expected} snapshots`)
      const recovery = new RecoveryTally(s)
      const args = namespaceMoveArgs('store1')
      const r = await crashLoop({
        kills: KILLS,
        seed,
        minDelayMs: 400,
        maxDelayMs: 2500,
        env: s.home.env,
        start: { from: 'src', to: 'dst/src' },
        args,
        sourceExists: (d) => namespaceExists(s.store, BackupNamespace.parse(d.from)),
        state: () => stateOf(s),
        check: (run) => recovery.recoverAndCount(run, expected),
      })
      const final = await runMove(s.home.env, args(r.last))
      assert.equal(final.code, 0, final.stderr)
      await recovery.verifyAll(expected)
      console.log(
        `# S3 crash test: ${r.kills} kills (${r.effectiveKills} mid-move) in ${r.runs} runs, lost: 0 (${recovery.summary()})`,
      )
    },
  )

  it(
    `a merging group move: every snapshot exactly once after each of ${GROUP_KILLS} kills`,
    { timeout: Math.max(10, GROUP_KILLS / 3) * 60_000 },
    async () => {
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000) + 1
      const group = { type: 'vm' as const, id: GROUP_ID }
      const inGroup = async (ns: string): Promise<number> =>
        (await groupExists(s.store, BackupNamespace.parse(ns), group))
          ? (await listSnapshotRefs(s.store, BackupNamespace.parse(ns), group)).length
          : 0
      console.log(`# group crash seed ${seed}, ${await inGroup('ga')} + ${await inGroup('gb')} snapshots`)
      const recovery = new RecoveryTally(s)
      let merging = 0
      const args = groupMoveArgs('store1', `vm/${GROUP_ID}`)
      const r = await crashLoop({
        kills: GROUP_KILLS,
        seed,
        minDelayMs: 400,
        maxDelayMs: 2500,
        env: s.home.env,
        start: { from: 'ga', to: 'gb' },
        args,
        sourceExists: (d) => groupExists(s.store, BackupNamespace.parse(d.from), group),
        beforeRun: async (d) => {
          if (await groupExists(s.store, BackupNamespace.parse(d.to), group)) merging++
        },
        state: () => stateOf(s),
        check: (run) => recovery.recoverAndCount(run, expected),
      })
      const final = await runMove(s.home.env, args(r.last))
      assert.equal(final.code, 0, final.stderr)
      assert.equal(await inGroup(r.last.from), 0)
      assert.equal(await inGroup(r.last.to), GROUP_SNAPSHOTS, 'the whole group at the target')
      assert.ok(merging > 0, 'some runs merged into the part already at the target')
      // (a run of a few kills may all land in the start-up on a loaded machine)
      if (r.kills >= 10) assert.ok(r.effectiveKills > 0, 'some kills landed mid-move')
      await recovery.verifyAll(expected)
      console.log(
        `# S3 group crash test: ${r.kills} kills (${r.effectiveKills} mid-move) in ${r.runs} runs (${merging} merging), lost: 0 (${recovery.summary()})`,
      )
    },
  )
})

/** Runs the recovery `pbs-store s3 cleanup` runs after each kill, and adds up what it did. */
class RecoveryTally {
  rolledBack = 0
  rolledForward = 0
  waitedMs = 0
  constructor(private readonly s: S3TestStore) {}

  async recover(): Promise<void> {
    const r = await recoverS3Moves(this.s.store)
    assert.deepEqual(r.warnings, [])
    assert.equal(r.busy, 0, 'no intent is held by anyone: the killed process is gone')
    assert.equal(r.deferred, 0)
    this.rolledBack += r.rolledBack
    this.rolledForward += r.rolledForward
    this.waitedMs += r.waitedMs
  }

  /** After a run: the recovery, then every snapshot exactly once in bucket and cache. */
  async recoverAndCount(run: number, expected: number): Promise<void> {
    await this.recover()
    assert.equal((await census(this.s)).size, expected, `after run ${run}: all snapshots present once`)
  }

  /** Final checks: census and a clean verify of every snapshot. */
  async verifyAll(expected: number): Promise<void> {
    assert.equal((await census(this.s)).size, expected)
    const v = await verifyDatastore(this.s.store, { upid: testUpid() })
    assert.equal(v.failed, 0)
    assert.equal(v.ok, expected)
  }

  summary(): string {
    return `${this.rolledBack} snapshot moves rolled back, ${this.rolledForward} completed, ${(this.waitedMs / 1000).toFixed(1)} s waited for grace periods`
  }
}
