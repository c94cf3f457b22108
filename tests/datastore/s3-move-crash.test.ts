// Crash safety of S3 moves: a real `pbs-store namespace move` process is SIGKILLed at random
// points (≥ 25 kills; PBS_STORE_S3_CRASH_KILLS for more). After each kill the next run (or
// cleanup) recovers the intents; every snapshot is then present exactly once in the bucket AND
// in the cache with the same files, the bucket's whole content tree (group owners, notes,
// namespace markers) equals the cache's, and at the end verify is clean.
// Recovery right after a kill waits out the grace period for the dead process's last requests
// (PBS_STORE_S3_MOVE_GRACE_MS; 2 s here unless set, which covers moto's lag on a loaded machine).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import {
  backupSnapshot,
  createNamespace,
  namespaceExists,
  verifyDatastore,
} from '../../src/datastore/index.js'
import { recoverS3Moves } from '../../src/datastore/move/index.js'
import { localKeys } from '../backend/backend-conformance.js'
import { CLI_BIN } from '../helpers/run-cli.js'
import { makeS3Store, snapshotKeyMap, testUpid, type S3TestStore } from '../helpers/s3-store.js'
import { prng } from '../helpers/prng.js'

const KILLS = Number(process.env.PBS_STORE_S3_CRASH_KILLS ?? 25)
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

describe('S3 move crash safety (SIGKILL at random points)', () => {
  let s: S3TestStore
  let expected = 0

  before(async () => {
    process.env.PBS_STORE_S3_MOVE_GRACE_MS ??= '2000'
    s = await makeS3Store()
    for (const [name, ids] of LAYOUT) {
      const ns = BackupNamespace.parse(name)
      await createNamespace(s.store, ns)
      for (const id of ids)
        for (let i = 0; i < PER_GROUP; i++) {
          await backupSnapshot(s.store, {
            ns,
            type: 'vm',
            id,
            time: T0 + i * 60,
            owner: 'root@pam',
            workers: 0,
            archives: [
              { name: 'drive-scsi0.img', source: Buffer.alloc(4096, id.length + i) },
              { name: 'qemu-server.conf', source: Buffer.from(`${id} ${i}\n`) },
            ],
          })
          expected++
        }
    }
    await createNamespace(s.store, BackupNamespace.parse('dst'))
  })
  after(() => s.cleanup())

  it(
    `every snapshot exactly once in bucket and cache after each of ${KILLS} kills`,
    { timeout: Math.max(10, KILLS / 5) * 60_000 },
    async () => {
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000)
      console.log(`# crash seed ${seed}, ${expected} snapshots`)
      const random = prng(seed)
      let from = BackupNamespace.parse('src')
      let to = BackupNamespace.parse('dst/src')
      let kills = 0
      let runs = 0
      let rolledBack = 0
      let waitedMs = 0
      const minDelay = 400
      let maxDelay = 2500
      while (kills < KILLS && runs < KILLS * 4) {
        runs++
        // a run killed after it had finished everything: the move is complete, go back
        if (!(await namespaceExists(s.store, from))) [from, to] = [to, from]
        const child = spawn(
          process.execPath,
          [CLI_BIN, 'namespace', 'move', from.toString(), '--store', 'store1', '--target-ns', to.toString()],
          { env: s.home.env, stdio: ['ignore', 'ignore', 'pipe'] },
        )
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
        const delay = minDelay + Math.floor(random() * (maxDelay - minDelay))
        const done = await Promise.race([exited.then(() => true), sleep(delay).then(() => false)])
        if (!done) {
          child.kill('SIGKILL')
          await exited
          kills++
        } else {
          assert.equal(await exited, 0, `uninterrupted move failed: ${stderr}`)
          ;[from, to] = [to, from]
          maxDelay = Math.max(minDelay + 200, Math.floor(maxDelay * 0.8))
        }
        // what `pbs-store s3 cleanup` does; the next move would do it too
        const r = await recoverS3Moves(s.store)
        assert.deepEqual(r.warnings, [])
        assert.equal(r.busy, 0, 'no intent is held by anyone: the killed process is gone')
        assert.equal(r.deferred, 0)
        rolledBack += r.rolledBack
        waitedMs += r.waitedMs
        assert.equal((await census(s)).size, expected, `after run ${runs}: all snapshots present once`)
      }
      assert.ok(kills >= KILLS, `only ${kills} kills in ${runs} runs`)
      if (!(await namespaceExists(s.store, from))) [from, to] = [to, from]
      const final = await new Promise<number | null>((resolve) =>
        spawn(
          process.execPath,
          [CLI_BIN, 'namespace', 'move', from.toString(), '--store', 'store1', '--target-ns', to.toString()],
          { env: s.home.env, stdio: 'ignore' },
        ).on('close', resolve),
      )
      assert.equal(final, 0)
      const found = await census(s)
      assert.equal(found.size, expected)
      const v = await verifyDatastore(s.store, { upid: testUpid() })
      assert.equal(v.failed, 0)
      assert.equal(v.ok, expected)
      console.log(
        `# S3 crash test: ${kills} kills in ${runs} runs, lost: 0 (${rolledBack} snapshot moves rolled back, ${(waitedMs / 1000).toFixed(1)} s waited for grace periods)`,
      )
    },
  )
})
