// Crash safety of moves, proven: a namespace holding ≥ 2,000 snapshots is moved by a real
// `pbs-store namespace move` process that is SIGKILLed at random points (≥ 25 kills here,
// PBS_STORE_CRASH_KILLS=200 via `npm run test:crash`), and a group of 750 snapshots is moved
// back and forth by `pbs-store group move`, merging into the part already at the target
// (PBS_STORE_CRASH_GROUP_KILLS, default 15). After every kill each snapshot exists exactly once
// with its content (and a split group is a clean time split); at the end everything is at the target.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, formatSnapshotPath } from '../../src/api-types/index.js'
import {
  createDatastore,
  createNamespace,
  groupExists,
  listGroupRefs,
  listNamespaces,
  listSnapshotRefs,
  namespaceExists,
  type Datastore,
} from '../../src/datastore/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { crashLoop, groupMoveArgs, namespaceMoveArgs, runMove } from '../helpers/crash-loop.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const KILLS = Number(process.env.PBS_STORE_CRASH_KILLS ?? 25)
const GROUP_KILLS = Number(process.env.PBS_STORE_CRASH_GROUP_KILLS ?? 15)
const T0 = 1776359903
const SRC = BackupNamespace.parse('src')
const DST = BackupNamespace.parse('dst')
const LAYOUT: [string, number][] = [
  ['src', 8],
  ['src/c1', 6],
  ['src/c1/c2', 6],
] // namespace, groups; 100 snapshots per group → 2,000

/** The content each fake snapshot carries: its own path. */
function contentOf(id: string, time: number): string {
  return formatSnapshotPath({
    type: 'vm',
    id,
    time,
    timeString: new Date(time * 1000).toISOString().replace('.000', ''),
  })
}

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
          await makeFakeSnapshot(store, ns, 'vm', id, time, { content: contentOf(id, time) })
          expected++
        }
      }
    }
    await createNamespace(store, DST)
  })
  after(() => home.cleanup())

  it(
    `every snapshot exists exactly once after each of ${KILLS} kills, and the rerun completes`,
    { timeout: Math.max(15, KILLS / 8) * 60_000 },
    async () => {
      assert.ok(expected >= 2000)
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000)
      console.log(`# crash seed ${seed} (PBS_STORE_CRASH_SEED to repeat), ${expected} snapshots`)
      const args = namespaceMoveArgs('store1')
      const r = await crashLoop({
        kills: KILLS,
        seed,
        minDelayMs: 80,
        maxDelayMs: 1580,
        env: home.env,
        start: { from: SRC.toString(), to: DST.toString() },
        args,
        sourceExists: (d) => namespaceExists(store, BackupNamespace.parse(d.from)),
        state: async () => JSON.stringify([...(await census(store))].sort()),
        check: async (run, how) =>
          assert.equal(
            (await census(store)).size,
            expected,
            `after run ${run} (${how}): all snapshots present`,
          ),
      })
      // Final rerun without a kill: everything ends up at one namespace tree, nothing left behind.
      const final = await runMove(home.env, args(r.last))
      assert.equal(final.code, 0, final.stderr)
      const found = await census(store)
      assert.equal(found.size, expected)
      const to = r.last.to
      assert.ok(
        [...found.values()].every((n) => n === to || n.startsWith(`${to}/`)),
        'everything at the target',
      )
      console.log(
        `# crash test: ${r.kills} kills (${r.effectiveKills} mid-move), ${r.finished} uninterrupted runs, ${r.runs} runs, lost: 0`,
      )
    },
  )
})

describe('group move crash safety with merges (SIGKILL at random points)', () => {
  let home: TempHome
  let store: Datastore
  const GA = BackupNamespace.parse('ga')
  const GB = BackupNamespace.parse('gb')
  const GROUP = { type: 'vm' as const, id: '900' }
  let expected = 0

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    await createNamespace(store, GA)
    await createNamespace(store, GB)
    // 700 snapshots in 'ga' (two lock batches of at most 512), and 50 older ones of the same group
    // already in 'gb': the first move merges; after a kill the group is split by time and the
    // rerun in the same direction merges again.
    for (let i = 0; i < 750; i++) {
      const time = T0 + i * 3600
      await makeFakeSnapshot(store, i < 50 ? GB : GA, 'vm', GROUP.id, time, {
        content: contentOf(GROUP.id, time),
      })
      expected++
    }
  })
  after(() => home.cleanup())

  it(
    `every snapshot exists exactly once after each of ${GROUP_KILLS} kills of a merging group move`,
    { timeout: Math.max(15, GROUP_KILLS / 4) * 60_000 },
    async () => {
      const seed = Number(process.env.PBS_STORE_CRASH_SEED ?? Date.now() % 1_000_000) + 1
      console.log(`# group crash seed ${seed}, ${expected} snapshots in one group`)
      let merging = 0 // runs that started with the group at both sides
      const args = groupMoveArgs('store1', 'vm/900')
      const r = await crashLoop({
        kills: GROUP_KILLS,
        seed,
        minDelayMs: 80,
        maxDelayMs: 1580,
        env: home.env,
        start: { from: GA.toString(), to: GB.toString() },
        args,
        sourceExists: (d) => groupExists(store, BackupNamespace.parse(d.from), GROUP),
        state: async () => JSON.stringify([...(await census(store))].sort()),
        beforeRun: async (d) => {
          if (await groupExists(store, BackupNamespace.parse(d.to), GROUP)) merging++
        },
        check: async (run, how) => {
          const found = await census(store)
          assert.equal(found.size, expected, `after run ${run} (${how}): all snapshots present`)
          // a split group is a clean time split: every snapshot at one side is older than the other's
          const at = (ns: string): number[] =>
            [...found].filter(([, n]) => n === ns).map(([k]) => Date.parse(k.split('/')[2]!))
          const a = at(GA.toString())
          const b = at(GB.toString())
          if (a.length > 0 && b.length > 0)
            assert.ok(
              Math.max(...a) < Math.min(...b) || Math.max(...b) < Math.min(...a),
              `after run ${run} (${how}): the group is split by time`,
            )
        },
      })
      const final = await runMove(home.env, args(r.last))
      assert.equal(final.code, 0, final.stderr)
      const found = await census(store)
      assert.equal(found.size, expected)
      assert.ok(
        [...found.values()].every((n) => n === r.last.to),
        'the whole group at the target',
      )
      assert.ok(merging > 0, 'some runs merged into the part already at the target')
      // (a run of a few kills may all land in the start-up on a loaded machine)
      if (r.kills >= 10) assert.ok(r.effectiveKills > 0, 'some kills landed mid-move')
      console.log(
        `# group crash test: ${r.kills} kills (${r.effectiveKills} mid-move), ${r.finished} uninterrupted runs, ${r.runs} runs (${merging} merging), lost: 0`,
      )
    },
  )
})
