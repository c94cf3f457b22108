// Concurrency soak (issue 10, part 2): for a bounded time (PBS_STORE_SOAK_SECONDS, default 45;
// 600 via `npm run test:reliability`) several real `pbs-store` processes run at once on one
// filesystem datastore: backups into a few groups, group moves a <-> b, a namespace move x <-> y,
// verify, prune and GC with a 1-minute atime cutoff (the parent back-dates every chunk's atime
// between rounds, so GC really sweeps and must re-mark what is still referenced). Lock conflicts
// are expected and counted. At the end every finished, unpruned snapshot must exist exactly once
// and restore to the bytes recorded at backup time, and a final verify must report 0 failures.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { loadDatastoreConfig, saveDatastoreConfig } from '../../src/config/datastore-config.js'
import {
  createDatastore,
  createNamespace,
  listGroupRefs,
  listNamespaces,
  listSnapshotRefs,
  type Datastore,
} from '../../src/datastore/index.js'
import { prng } from '../helpers/prng.js'
import { CLI_BIN, type CliResult } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const SECONDS = Number(process.env.PBS_STORE_SOAK_SECONDS ?? 45)
const STORE = 'soak'
const MIB = 1024 * 1024
const T0 = 1776359903
const ARCHIVE = 'drive-scsi0.img'
/** Refusals a concurrent operation may legitimately get: locks, vanished or moved objects, merge rules. */
const EXPECTED_REFUSAL =
  /lock|busy|does not exist|not found|no such|already exists|cannot merge|merge|newer|older|conflict|in use|moved|exists in/i

/** One finished backup as recorded from the CLI's JSON output. */
interface Recorded {
  group: string
  time: number
  snapshot: string
  sha256: string
  size: number
}

/** Runs the CLI once with a hard timeout so a hung process fails the soak instead of stalling it. */
function cli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args, '--output-format', 'json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

/** Every chunk file below `.chunks` (its 4-hex-digit prefix directories). */
async function chunkFiles(chunkDir: string): Promise<string[]> {
  const out: string[] = []
  for (const prefix of await readdir(chunkDir)) {
    if (!/^[0-9a-f]{4}$/.test(prefix)) continue
    for (const name of await readdir(join(chunkDir, prefix))) out.push(join(chunkDir, prefix, name))
  }
  return out
}

describe('concurrency soak: backups, moves, verify, prune and GC at once', () => {
  let home: TempHome
  let store: Datastore

  before(async () => {
    home = await makeTempHome('pbs-store-soak-')
    store = await createDatastore(home.installation, STORE, join(home.dir, 'store'))
    for (const ns of ['a', 'b', 'x']) await createNamespace(store, BackupNamespace.parse(ns))
    // A 1-minute cutoff and no atime self-test: GC sweeps whatever the parent back-dated.
    const cfg = await loadDatastoreConfig(home.installation.etcDir)
    const entry = cfg.datastores.get(STORE)
    assert.ok(entry)
    entry.tuning = { ...entry.tuning, 'gc-atime-cutoff': 1, 'gc-atime-safety-check': false }
    await saveDatastoreConfig(home.installation.etcDir, cfg)
    const text = await readFile(join(home.installation.etcDir, 'datastore.cfg'), 'utf8')
    assert.match(text, /gc-atime-cutoff=1/)
  })
  after(() => home.cleanup())

  it(
    `${SECONDS} s of concurrent real processes lose nothing`,
    { timeout: (SECONDS + 300) * 1000 },
    async () => {
      const seed = Number(process.env.PBS_STORE_SOAK_SEED ?? Date.now() % 1_000_000)
      console.log(`# soak seed ${seed} (PBS_STORE_SOAK_SEED to repeat), ${SECONDS} s`)
      const random = prng(seed)
      const deadline = Date.now() + SECONDS * 1000
      const env = home.env
      const s = ['--store', STORE]
      const ops = new Map<string, number>()
      const conflicts = new Map<string, number>()
      const unexpected: string[] = []
      const samples = new Set<string>()
      const recorded: Recorded[] = []
      const pruned = new Set<string>()
      const midVerifyFailures: string[] = []
      let backupsInFlight = 0
      let gate: Promise<void> | undefined
      let swept = 0
      let verifySkipped = 0
      let aged = 0

      /** Runs one operation, counting success, expected refusal or an unexpected failure. */
      const run = async (kind: string, args: string[]): Promise<CliResult | undefined> => {
        const r = await cli([...args, ...s], env)
        if (r.code === 0) {
          ops.set(kind, (ops.get(kind) ?? 0) + 1)
          return r
        }
        if (r.code === 1 && EXPECTED_REFUSAL.test(r.stderr)) {
          conflicts.set(kind, (conflicts.get(kind) ?? 0) + 1)
          const why = r.stderr.trim().split('\n')[0] ?? ''
          if (samples.size < 40) samples.add(`${kind}: ${why.replace(/[0-9a-f]{16,}/g, '…').slice(0, 160)}`)
          return undefined
        }
        unexpected.push(`${kind} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`)
        return undefined
      }

      // Shared 4 MiB blocks make different backups reference the same chunks.
      const shared = [0, 1, 2].map(() => {
        const b = Buffer.alloc(4 * MIB)
        for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
        return b
      })
      const image = (): Buffer => {
        const tail = Buffer.alloc(Math.floor(random() * MIB) + 1024)
        for (let i = 0; i + 4 <= tail.length; i += 4) tail.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
        if (random() < 0.6) return Buffer.concat([shared[Math.floor(random() * shared.length)]!, tail])
        return tail
      }

      /** Backs up generated images into `groups` in turn; `nsFor` says where each group is backed up. */
      const backupLoop = async (name: string, groups: string[], nsFor: (g: string) => string[]) => {
        const seq = new Map<string, number>(groups.map((g) => [g, 0]))
        const file = join(home.dir, `${name}.img`)
        while (Date.now() < deadline) {
          while (gate) await gate
          const group = groups[Math.floor(random() * groups.length)]!
          const n = seq.get(group)! + 1
          seq.set(group, n)
          const time = T0 + n * 60
          const data = image()
          await writeFile(file, data)
          const [type, id] = group.split('/') as [string, string]
          backupsInFlight++
          try {
            for (const ns of nsFor(group)) {
              const r = await run('backup', [
                'backup',
                `${ARCHIVE}:${file}`,
                '--ns',
                ns,
                '--backup-type',
                type,
                '--backup-id',
                id,
                '--backup-time',
                String(time),
                '--workers',
                '0',
              ])
              if (r === undefined) continue
              const out = JSON.parse(r.stdout) as { snapshot: string }
              recorded.push({
                group,
                time,
                snapshot: out.snapshot,
                sha256: createHash('sha256').update(data).digest('hex'),
                size: data.length,
              })
              break
            }
          } finally {
            backupsInFlight--
          }
        }
      }

      const groupMoveLoop = async () => {
        const groups = ['vm/100', 'vm/101', 'ct/200']
        while (Date.now() < deadline) {
          const g = groups[Math.floor(random() * groups.length)]!
          const [from, to] = random() < 0.5 ? ['a', 'b'] : ['b', 'a']
          await run('group move', ['group', 'move', g, '--ns', from, '--target-ns', to])
        }
      }

      const namespaceMoveLoop = async () => {
        let [from, to] = ['x', 'y']
        while (Date.now() < deadline) {
          if (await run('namespace move', ['namespace', 'move', from, '--target-ns', to]))
            [from, to] = [to, from]
        }
      }

      const verifyLoop = async () => {
        while (Date.now() < deadline) {
          const r = await run('verify', ['verify'])
          if (r === undefined) continue
          const out = JSON.parse(r.stdout) as {
            failed: number
            snapshots: { snapshot: string; outcome: string; errors: string[] }[]
          }
          // 'skipped' = the snapshot was locked by a move or prune at that moment.
          for (const snap of out.snapshots)
            if (snap.outcome === 'skipped') verifySkipped++
            else if (snap.outcome !== 'ok')
              midVerifyFailures.push(`${snap.snapshot}: ${snap.outcome} ${snap.errors.join('; ')}`)
        }
      }

      const notePruned = (r: CliResult) => {
        const out = JSON.parse(r.stdout) as {
          'backup-type': string
          'backup-id': string
          'backup-time': number
          keep: boolean
        }[]
        for (const e of out)
          if (!e.keep) pruned.add(`${e['backup-type']}/${e['backup-id']}/${e['backup-time']}`)
      }

      /** Back-dates every chunk by 2 h (the cutoff is 1 min): GC must re-mark what is referenced. */
      const ageChunks = async () => {
        const old = new Date(Date.now() - 2 * 3600_000)
        for (const f of await chunkFiles(store.chunkDir)) {
          try {
            await utimes(f, old, old)
            aged++
          } catch {
            // a chunk renamed .bad by a concurrent verify: nothing to age
          }
        }
      }

      const pruneLoop = async () => {
        const targets: [string, string][] = [
          ['vm/100', 'a'],
          ['vm/100', 'b'],
          ['vm/101', 'a'],
          ['vm/101', 'b'],
          ['ct/200', 'a'],
          ['ct/200', 'b'],
          ['host/300', 'x'],
          ['host/300', 'y'],
        ]
        while (Date.now() < deadline) {
          const [g, ns] = targets[Math.floor(random() * targets.length)]!
          const r = await run('prune', [
            'prune',
            g,
            '--ns',
            ns,
            '--keep-last',
            String(1 + Math.floor(random() * 2)),
          ])
          if (r === undefined) continue
          notePruned(r)
          await new Promise((res) => setTimeout(res, 300))
        }
      }

      const gcLoop = async () => {
        while (Date.now() < deadline) {
          // Age every chunk while no backup is between touching and referencing its chunks: a real
          // clock never runs backwards under a writer, so only finished snapshots are exposed to it.
          let open!: () => void
          gate = new Promise((res) => (open = res))
          while (backupsInFlight > 0) await new Promise((res) => setTimeout(res, 20))
          await ageChunks()
          gate = undefined
          open()
          const r = await run('gc', ['gc'])
          if (r) swept += (JSON.parse(r.stdout) as { 'removed-chunks': number })['removed-chunks']
          // GC holds the chunk store exclusively (backups are refused meanwhile): leave them room.
          await new Promise((res) => setTimeout(res, 3000 + random() * 3000))
        }
      }

      await Promise.all([
        backupLoop('b1', ['vm/100', 'vm/101'], () => ['a']),
        backupLoop('b2', ['ct/200', 'host/300'], (g) => (g === 'host/300' ? ['x', 'y'] : ['a'])),
        groupMoveLoop(),
        namespaceMoveLoop(),
        verifyLoop(),
        pruneLoop(),
        gcLoop(),
      ])

      assert.deepEqual(unexpected, [], 'no operation failed in an unexpected way')

      // A final round alone: prune every group to its last snapshot, age every chunk, collect.
      // Each pruned snapshot had a chunk of its own (random tail), so GC must sweep something.
      for (const ns of await listNamespaces(store, BackupNamespace.ROOT)) {
        for (const g of await listGroupRefs(store, ns)) {
          const args = ['prune', `${g.type}/${g.id}`, '--keep-last', '1']
          if (!ns.isRoot) args.push('--ns', ns.toString())
          const r = await run('prune', args)
          assert.ok(r, `final prune of ${g.type}/${g.id} in '${ns.toString()}': ${unexpected.join('; ')}`)
          notePruned(r)
        }
      }
      await ageChunks()
      const gcFinal = await run('gc', ['gc'])
      assert.ok(gcFinal, `final gc: ${unexpected.join('; ')}`)
      swept += (JSON.parse(gcFinal.stdout) as { 'removed-chunks': number })['removed-chunks']

      // Census: every snapshot exists exactly once.
      const where = new Map<string, string>()
      for (const ns of await listNamespaces(store, BackupNamespace.ROOT)) {
        for (const g of await listGroupRefs(store, ns)) {
          for (const snap of await listSnapshotRefs(store, ns, g)) {
            const key = `${snap.type}/${snap.id}/${snap.time}`
            assert.ok(
              !where.has(key),
              `snapshot ${key} exists twice: '${where.get(key)}' and '${ns.toString()}'`,
            )
            where.set(key, ns.toString())
          }
        }
      }

      // Every finished, unpruned snapshot restores to the recorded bytes.
      const survivors = recorded.filter((r) => !pruned.has(`${r.group}/${r.time}`))
      let checked = 0
      const lost: string[] = []
      const queue = [...survivors]
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let rec = queue.shift(); rec; rec = queue.shift()) {
            const ns = where.get(`${rec.group}/${rec.time}`)
            if (ns === undefined) {
              lost.push(`${rec.snapshot}: missing`)
              continue
            }
            const target = join(home.dir, `restore-${w}.img`)
            await rm(target, { force: true })
            const args = ['restore', rec.snapshot, ARCHIVE, target, ...s]
            if (ns !== '') args.push('--ns', ns)
            const r = await cli(args, env)
            if (r.code !== 0) {
              lost.push(`${rec.snapshot}: restore exited ${r.code}: ${r.stderr.trim()}`)
              continue
            }
            const data = await readFile(target)
            const sum = createHash('sha256').update(data).digest('hex')
            if (sum !== rec.sha256 || data.length !== rec.size) lost.push(`${rec.snapshot}: content differs`)
            else checked++
          }
        }),
      )

      const final = await cli(['verify', ...s], env)
      assert.equal(final.code, 0, `final verify: ${final.stderr}`)
      const verified = JSON.parse(final.stdout) as { ok: number; failed: number; 'corrupt-chunks': string[] }

      const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
      console.log(
        `# soak: ${SECONDS} s, operations ${total(ops)} ${JSON.stringify(Object.fromEntries(ops))}, ` +
          `conflicts ${total(conflicts)} ${JSON.stringify(Object.fromEntries(conflicts))}, ` +
          `backups recorded ${recorded.length}, pruned ${pruned.size}, snapshots checked ${checked}, ` +
          `chunks aged ${aged}, chunks swept ${swept}, final verify ok ${verified.ok} failed ${verified.failed}, ` +
          `mid-soak verify skipped ${verifySkipped} failures ${midVerifyFailures.length}, lost: ${lost.length}`,
      )
      console.log(`# expected refusals seen:\n#  ${[...samples].join('\n#  ')}`)
      if (midVerifyFailures.length > 0)
        console.log(`# mid-soak verify failures:\n#  ${midVerifyFailures.join('\n#  ')}`)
      assert.deepEqual(lost, [], 'no finished snapshot was lost or changed')
      // A snapshot verified while it existed must have been intact (prune may remove one meanwhile).
      assert.deepEqual(
        midVerifyFailures.filter((f) =>
          where.has(f.split(':')[0]!.replace(/\/([^/]+)$/, (_, t: string) => `/${Date.parse(t) / 1000}`)),
        ),
        [],
        'no mid-soak verify failure on a snapshot that still exists',
      )
      assert.equal(checked, survivors.length)
      assert.ok(recorded.length >= 2, `backups finished: ${recorded.length}`)
      // Four groups: five backups put two into one group, and keep-last 1 prunes one of them.
      if (recorded.length > 4) assert.ok(pruned.size >= 1, 'prune removed snapshots')
      if (pruned.size > 0) assert.ok(swept >= 1, 'GC swept the chunks of pruned snapshots')
      assert.equal(verified.failed, 0, 'final verify: 0 failures')
      assert.deepEqual(verified['corrupt-chunks'], [], 'final verify: 0 missing or corrupt chunks')
      assert.equal(verified.ok, where.size, 'final verify checked every snapshot')
    },
  )
})
