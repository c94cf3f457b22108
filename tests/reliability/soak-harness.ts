/**
 * The concurrency soak (issue 10, part 2), shared by the filesystem soak (soak.test.ts) and the
 * S3 soak (soak-s3.test.ts): for a bounded time several real `pbs-store` processes run at once on
 * one datastore: backups into a few groups, group moves a <-> b, a namespace move x <-> y, verify,
 * prune and GC with a 1-minute atime cutoff (the parent back-dates every chunk's atime between
 * rounds, so GC really sweeps and must re-mark what is still referenced). Lock conflicts are
 * expected and counted. At the end every finished, unpruned snapshot must exist exactly once and
 * restore to the bytes recorded at backup time, and a final verify must report 0 failures.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { BackupNamespace, formatBackupTime, type BackupType } from '../../src/api-types/index.js'
import { loadDatastoreConfig, saveDatastoreConfig } from '../../src/config/datastore-config.js'
import {
  backupSnapshot,
  createNamespace,
  listGroupRefs,
  listNamespaces,
  listSnapshotRefs,
  type Datastore,
} from '../../src/datastore/index.js'
import { prng } from '../helpers/prng.js'
import { CLI_BIN, type CliResult } from '../helpers/run-cli.js'
import type { TempHome } from '../helpers/temp-home.js'

const MIB = 1024 * 1024
const T0 = 1776359903
/** The archive every soak backup writes. */
export const SOAK_ARCHIVE = 'drive-scsi0.img'
/** Refusals a concurrent operation may legitimately get: locks, vanished or moved objects, merge rules. */
export const EXPECTED_REFUSAL =
  /lock|busy|does not exist|not found|no such|already exists|cannot merge|merge|newer|older|conflict|in use|moved|exists in/i

/** Runs the CLI once (`--output-format json`) with a hard timeout, so a hung process fails the run. */
export function soakCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 180_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args, '--output-format', 'json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
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
export async function chunkFiles(chunkDir: string): Promise<string[]> {
  const out: string[] = []
  for (const prefix of await readdir(chunkDir)) {
    if (!/^[0-9a-f]{4}$/.test(prefix)) continue
    for (const name of await readdir(join(chunkDir, prefix))) out.push(join(chunkDir, prefix, name))
  }
  return out
}

/** Back-dates every chunk file by 2 h (past a 1-minute cutoff); returns how many were aged. */
export async function ageChunks(chunkDir: string): Promise<number> {
  const old = new Date(Date.now() - 2 * 3600_000)
  let aged = 0
  for (const f of await chunkFiles(chunkDir)) {
    try {
      await utimes(f, old, old)
      aged++
    } catch {
      // a chunk renamed .bad by a concurrent verify: nothing to age
    }
  }
  return aged
}

/** Sets `gc-atime-cutoff=1` (minute) and no atime self-test, so GC sweeps whatever was back-dated. */
export async function enableFastGc(home: TempHome, storeName: string): Promise<void> {
  const cfg = await loadDatastoreConfig(home.installation.etcDir)
  const entry = cfg.datastores.get(storeName)
  assert.ok(entry, `datastore '${storeName}' is configured`)
  entry.tuning = { ...entry.tuning, 'gc-atime-cutoff': 1, 'gc-atime-safety-check': false }
  await saveDatastoreConfig(home.installation.etcDir, cfg)
  const text = await readFile(join(home.installation.etcDir, 'datastore.cfg'), 'utf8')
  assert.match(text, /gc-atime-cutoff=1/)
}

/** The datastore a soak runs on. */
export interface SoakTarget {
  home: TempHome
  store: Datastore
  /** Environment of the CLI children. */
  env: NodeJS.ProcessEnv
}

/** How big and how fast a soak is. */
export interface SoakProfile {
  /** Name in the printed figures (`fs`, `s3`). */
  label: string
  seconds: number
  seed: number
  /** Shared blocks (4 MiB each, one fixed-index chunk) that backups reuse. */
  sharedBlocks: number
  /** Fraction of images that start with a shared block. */
  sharedFraction: number
  /** Random tail of each image: 1 KiB .. this many bytes more. */
  tailMaxBytes: number
  /** Pause after each GC (plus up to as much again, random), so backups get room. */
  gcPauseMs: number
  /**
   * Snapshots backed up in-process into each group before the loops start (older than every
   * loop backup), so moves, prune and GC have work from the first second (default 0).
   */
  seedPerGroup?: number
  /** Backups the loops must finish at least (default 2; a slow machine finishes few in 60 s). */
  minLoopBackups?: number
}

/** One finished backup as recorded from the CLI's JSON output. */
export interface SoakRecord {
  group: string
  time: number
  snapshot: string
  sha256: string
  size: number
}

/** What a soak did; the run has already asserted the common checks. */
export interface SoakOutcome {
  ops: Map<string, number>
  conflicts: Map<string, number>
  recorded: SoakRecord[]
  pruned: Set<string>
  /** `type/id/time` → namespace of every snapshot at the end. */
  where: Map<string, string>
  checked: number
  aged: number
  swept: number
  finalVerify: { ok: number; failed: number }
  /** Operations run by hooks, counted in ops as well. */
  total: number
}

/** A CLI operation counted as success, expected refusal, or (recorded) unexpected failure. */
export type SoakRun = (kind: string, args: string[]) => Promise<CliResult | undefined>

/** Hooks for backend-specific steps. */
export interface SoakHooks {
  /** After the concurrent loops, before the final prune/GC round (S3: `s3 cleanup`). */
  afterLoops?: (run: SoakRun) => Promise<void>
}

/** Creates the soak's namespaces (a, b, x) and the fast GC settings. */
export async function prepareSoakStore(target: SoakTarget): Promise<void> {
  for (const ns of ['a', 'b', 'x']) await createNamespace(target.store, BackupNamespace.parse(ns))
  await enableFastGc(target.home, target.store.name)
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)

/** Runs the soak, the final round and every common check; prints the figures. */
export async function runSoak(
  target: SoakTarget,
  profile: SoakProfile,
  hooks: SoakHooks = {},
): Promise<SoakOutcome> {
  const { home, store, env } = target
  const { label, seconds, seed } = profile
  console.log(`# soak (${label}) seed ${seed} (PBS_STORE_SOAK_SEED to repeat), ${seconds} s`)
  const random = prng(seed)
  const deadline = Date.now() + seconds * 1000
  const s = ['--store', store.name]
  const ops = new Map<string, number>()
  const conflicts = new Map<string, number>()
  const unexpected: string[] = []
  const samples = new Set<string>()
  const recorded: SoakRecord[] = []
  const pruned = new Set<string>()
  const midVerifyFailures: string[] = []
  let backupsInFlight = 0
  let gate: Promise<void> | undefined
  let swept = 0
  let verifySkipped = 0
  let aged = 0

  const run: SoakRun = async (kind, args) => {
    const r = await soakCli([...args, ...s], env)
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
  const shared = Array.from({ length: profile.sharedBlocks }, () => {
    const b = Buffer.alloc(4 * MIB)
    for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
    return b
  })
  const image = (): Buffer => {
    const tail = Buffer.alloc(Math.floor(random() * profile.tailMaxBytes) + 1024)
    for (let i = 0; i + 4 <= tail.length; i += 4) tail.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
    if (shared.length > 0 && random() < profile.sharedFraction)
      return Buffer.concat([shared[Math.floor(random() * shared.length)]!, tail])
    return tail
  }

  const seedGroups: [string, string][] = [
    ['vm/100', 'a'],
    ['vm/101', 'a'],
    ['ct/200', 'a'],
    ['host/300', 'x'],
  ]
  const seedCount = profile.seedPerGroup ?? 0
  for (const [group, ns] of seedGroups)
    for (let i = 0; i < seedCount; i++) {
      const [type, id] = group.split('/') as [BackupType, string]
      const time = T0 - (seedCount - i) * 60
      const data = image()
      await backupSnapshot(store, {
        ns: BackupNamespace.parse(ns),
        type,
        id,
        time,
        owner: 'root@pam',
        workers: 0,
        archives: [{ name: SOAK_ARCHIVE, source: data }],
      })
      recorded.push({
        group,
        time,
        snapshot: `${group}/${formatBackupTime(time)}`,
        sha256: createHash('sha256').update(data).digest('hex'),
        size: data.length,
      })
    }
  const seeded = recorded.length

  /** Backs up generated images into `groups` in turn; `nsFor` says where each group is backed up. */
  const backupLoop = async (
    name: string,
    groups: string[],
    nsFor: (g: string) => string[],
  ): Promise<void> => {
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
            `${SOAK_ARCHIVE}:${file}`,
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

  const groupMoveLoop = async (): Promise<void> => {
    const groups = ['vm/100', 'vm/101', 'ct/200']
    while (Date.now() < deadline) {
      const g = groups[Math.floor(random() * groups.length)]!
      const [from, to] = random() < 0.5 ? ['a', 'b'] : ['b', 'a']
      await run('group move', ['group', 'move', g, '--ns', from, '--target-ns', to])
    }
  }

  const namespaceMoveLoop = async (): Promise<void> => {
    let [from, to] = ['x', 'y']
    while (Date.now() < deadline) {
      if (await run('namespace move', ['namespace', 'move', from, '--target-ns', to])) [from, to] = [to, from]
    }
  }

  const verifyLoop = async (): Promise<void> => {
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

  const notePruned = (r: CliResult): void => {
    const out = JSON.parse(r.stdout) as {
      'backup-type': string
      'backup-id': string
      'backup-time': number
      keep: boolean
    }[]
    for (const e of out) if (!e.keep) pruned.add(`${e['backup-type']}/${e['backup-id']}/${e['backup-time']}`)
  }

  const pruneLoop = async (): Promise<void> => {
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

  const gcLoop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      // Age every chunk while no backup is between touching and referencing its chunks: a real
      // clock never runs backwards under a writer, so only finished snapshots are exposed to it.
      let open!: () => void
      gate = new Promise((res) => (open = res))
      while (backupsInFlight > 0) await new Promise((res) => setTimeout(res, 20))
      aged += await ageChunks(store.chunkDir)
      gate = undefined
      open()
      const r = await run('gc', ['gc'])
      if (r) swept += (JSON.parse(r.stdout) as { 'removed-chunks': number })['removed-chunks']
      // GC holds the chunk store exclusively (backups are refused meanwhile): leave them room.
      await new Promise((res) => setTimeout(res, profile.gcPauseMs + random() * profile.gcPauseMs))
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
  await hooks.afterLoops?.(run)
  assert.deepEqual(unexpected, [], 'no hook operation failed in an unexpected way')

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
  aged += await ageChunks(store.chunkDir)
  const gcFinal = await run('gc', ['gc'])
  assert.ok(gcFinal, `final gc: ${unexpected.join('; ')}`)
  swept += (JSON.parse(gcFinal.stdout) as { 'removed-chunks': number })['removed-chunks']

  // Census: every snapshot exists exactly once.
  const where = new Map<string, string>()
  for (const ns of await listNamespaces(store, BackupNamespace.ROOT)) {
    for (const g of await listGroupRefs(store, ns)) {
      for (const snap of await listSnapshotRefs(store, ns, g)) {
        const key = `${snap.type}/${snap.id}/${snap.time}`
        assert.ok(!where.has(key), `snapshot ${key} exists twice: '${where.get(key)}' and '${ns.toString()}'`)
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
        const args = ['restore', rec.snapshot, SOAK_ARCHIVE, target, ...s]
        if (ns !== '') args.push('--ns', ns)
        const r = await soakCli(args, env)
        if (r.code !== 0) {
          lost.push(`${rec.snapshot}: restore exited ${r.code}: ${r.stderr.trim()}`)
          continue
        }
        const data = await readFile(target)
        const sha = createHash('sha256').update(data).digest('hex')
        if (sha !== rec.sha256 || data.length !== rec.size) lost.push(`${rec.snapshot}: content differs`)
        else checked++
      }
    }),
  )

  const final = await soakCli(['verify', ...s], env)
  assert.equal(final.code, 0, `final verify: ${final.stderr}`)
  const verified = JSON.parse(final.stdout) as { ok: number; failed: number; 'corrupt-chunks': string[] }

  console.log(
    `# soak (${label}): ${seconds} s, seed ${seed}, operations ${sum(ops)} ${JSON.stringify(Object.fromEntries(ops))}, ` +
      `conflicts ${sum(conflicts)} ${JSON.stringify(Object.fromEntries(conflicts))}, ` +
      `backups recorded ${recorded.length - seeded}${seeded > 0 ? ` (+${seeded} seeded)` : ''}, pruned ${pruned.size}, snapshots checked ${checked}, ` +
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
  assert.ok(
    recorded.length - seeded >= (profile.minLoopBackups ?? 2),
    `backups finished through the CLI: ${recorded.length - seeded}`,
  )
  // Four groups: five backups put two into one group, and keep-last 1 prunes one of them.
  if (recorded.length > 4) assert.ok(pruned.size >= 1, 'prune removed snapshots')
  if (pruned.size > 0) assert.ok(swept >= 1, 'GC swept the chunks of pruned snapshots')
  assert.equal(verified.failed, 0, 'final verify: 0 failures')
  assert.deepEqual(verified['corrupt-chunks'], [], 'final verify: 0 missing or corrupt chunks')
  assert.equal(verified.ok, where.size, 'final verify checked every snapshot')
  return {
    ops,
    conflicts,
    recorded,
    pruned,
    where,
    checked,
    aged,
    swept,
    finalVerify: { ok: verified.ok, failed: verified.failed },
    total: sum(ops),
  }
}
