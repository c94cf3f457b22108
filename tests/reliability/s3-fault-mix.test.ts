// S3 faults (issue 10, part 3): the fault proxy fails a seeded random fraction of all requests
// (PBS_STORE_S3_FAULT_RATE, default 0.1) with a mix of 500 InternalError, 503 SlowDown, connection
// resets (before and after the server applied the request) and latency spikes, while a seeded
// sequence of operations runs on one S3 datastore: backups into several groups (some creating
// their group), group moves with and without merge, namespace moves, in-process through the
// library and through real `pbs-store` processes. The client makes few attempts
// (PBS_STORE_S3_FAULT_ATTEMPTS, default 2; and 40 % of the library operations go through a
// second handle on the same datastore that makes one attempt only), so operations really fail.
// After every operation (faults paused): it either completed, or failed with a typed error
// naming the S3 cause, and every recorded snapshot is still present exactly once, its files are
// in the bucket, and the snapshots it touched restore to the bytes recorded at backup time (a
// failed group move is a clean time split). At the end, faults off: `pbs-store s3 cleanup`, then
// 0 intents, bucket content = cache content (byte for byte), every referenced chunk present,
// verify 0 failures, every snapshot restores, and after an aged GC 0 orphaned objects.
// Knobs: PBS_STORE_S3_FAULT_OPS (operations, default 30), PBS_STORE_S3_FAULT_SEED (the faults are
// drawn per request identity, so a seed replays the same run as long as the operations match).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupDirRef, type BackupType } from '../../src/api-types/index.js'
import type { S3ObjectStore } from '../../src/backend/s3/s3-object-store.js'
import {
  backupSnapshot,
  createNamespace,
  listGroupRefs,
  listNamespaces,
  listSnapshotRefs,
  namespaceExists,
  openDatastore,
  restoreArchive,
  verifyDatastore,
  type Datastore,
} from '../../src/datastore/index.js'
import { moveGroup, moveNamespace, recoverS3Moves } from '../../src/datastore/move/index.js'
import { ConflictError, DatastoreError, NotFoundError } from '../../src/errors.js'
import { FaultProxy, type RandomFaults } from '../helpers/fault-proxy.js'
import { testObjectStore } from '../helpers/moto.js'
import { prng } from '../helpers/prng.js'
import type { CliResult } from '../helpers/run-cli.js'
import { makeS3Store, s3TestEndpoint, testUpid, type S3TestStore } from '../helpers/s3-store.js'
import { censusProblems, orphanCount, s3Census } from './s3-census.js'
import { ageChunks, enableFastGc, soakCli } from './soak-harness.js'

/** A numeric knob from the environment. */
function knob(name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative number`)
  return n
}

const RATE = knob('PBS_STORE_S3_FAULT_RATE', 0.1)
const OPS = knob('PBS_STORE_S3_FAULT_OPS', 30)
const ATTEMPTS = knob('PBS_STORE_S3_FAULT_ATTEMPTS', 2)
const SEED = knob('PBS_STORE_S3_FAULT_SEED', Date.now() % 1_000_000)
const STORE = 'faultmix'
const T0 = 1776359903
const ARCHIVE = 'drive-scsi0.img'
const OWNER = 'root@pam'
/** An S3 failure named in an error message (the proxy's faults after the retry budget). */
const S3_CAUSE =
  /S3 [a-z-]+ (?:of|in) .*failed|HTTP 50[03]|SlowDown|InternalError|ECONNRESET|socket hang up|EPIPE/i
/** Refusals that are no fault's doing: the merge rules. */
const REFUSAL = /merge-group is disabled|snapshot time mismatch|owner mismatch|not newer/i

/** A snapshot as `type/id/time` (epoch seconds): the identity that survives moves. */
const keyOf = (d: BackupDirRef): string => `${d.type}/${d.id}/${d.time}`

/** Restores the image of a snapshot into a hash. */
async function restoredDigest(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      size += chunk.length
      cb()
    },
  })
  await restoreArchive(store, dir, ARCHIVE, sink, { ns })
  return { sha256: hash.digest('hex'), size }
}

/** Where every snapshot is now; a snapshot at two places is listed in `twice`. */
async function locate(
  store: Datastore,
): Promise<{ at: Map<string, { ns: BackupNamespace; dir: BackupDirRef }>; twice: string[] }> {
  const at = new Map<string, { ns: BackupNamespace; dir: BackupDirRef }>()
  const twice: string[] = []
  for (const ns of await listNamespaces(store, BackupNamespace.ROOT))
    for (const g of await listGroupRefs(store, ns))
      for (const dir of await listSnapshotRefs(store, ns, g)) {
        const k = keyOf(dir)
        const prev = at.get(k)
        if (prev !== undefined) twice.push(`${k} in '${prev.ns.toString()}' and '${ns.toString()}'`)
        at.set(k, { ns, dir })
      }
  return { at, twice }
}

type Outcome = 'ok' | 'failed' | 'refused'

describe('S3 fault mix: operations under random 500/503/reset/latency faults', () => {
  let proxy: FaultProxy
  let s: S3TestStore
  let store: Datastore
  /** The same datastore with one attempt per request: a fault fails the operation. */
  let fragile: Datastore
  let direct: S3ObjectStore
  let env: NodeJS.ProcessEnv

  before(async () => {
    const moto = s3TestEndpoint()
    proxy = await FaultProxy.start(moto, { seed: SEED })
    s = await makeS3Store({
      clientEndpoint: proxy.endpoint,
      overrides: { maxAttempts: ATTEMPTS },
      name: STORE,
    })
    store = s.store
    // The census reads the bucket around the proxy: what is really there.
    direct = testObjectStore(moto, s.bucket, { prefix: STORE })
    fragile = await openDatastore(s.home.installation, STORE, {
      s3: { maxAttempts: 1, retryBaseDelayMs: 5, retryMaxDelayMs: 50 },
    })
    env = { ...s.home.env, PBS_STORE_S3_MAX_ATTEMPTS: String(ATTEMPTS) }
    await enableFastGc(s.home, STORE)
  })
  after(async () => {
    direct.destroy()
    fragile.close()
    await s.cleanup()
    await proxy.stop()
  })

  it(
    `${OPS} operations at fault rate ${RATE}: each completes or fails cleanly; cleanup leaves 0 orphans`,
    { timeout: (120 + OPS * 10) * 1000 },
    async () => {
      console.log(
        `# s3 fault mix: seed ${SEED} (PBS_STORE_S3_FAULT_SEED to repeat), rate ${RATE}, ${OPS} operations, ${ATTEMPTS} attempts per request`,
      )
      const random = prng(SEED)
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
      const recorded = new Map<string, { sha256: string; size: number }>()
      const outcomes = new Map<string, Record<Outcome, number>>()
      const unexpected: string[] = []
      const problems: string[] = []
      const failures: string[] = []
      /** Failures whose message does not name the object the operation was about. */
      const unclear: string[] = []
      /** Content key → the operation after which it was first seen orphaned (for the failure message). */
      const orphanSince = new Map<string, string>()
      /** Warnings the library operations logged, by operation label. */
      const warned = new Map<string, string[]>()
      let opWarnings: string[] = []
      const log = { info: () => undefined, warn: (m: string) => void opWarnings.push(m) }
      /** Groups a failed backup tried to create: `.cnt/<ns path>/<type>/<id>/`. */
      const failedNewGroups = new Set<string>()
      let seq = 0
      let newGroups = 0
      let splits = 0
      let restoredChecks = 0

      const image = (): Buffer => {
        const b = Buffer.alloc(16 * 1024 + Math.floor(random() * 600 * 1024))
        for (let i = 0; i + 4 <= b.length; i += 4) b.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
        return b
      }

      // Start: two namespaces for group moves (a, b; vm/100 in both, so merges happen), and a
      // tree x ⊃ x/c for namespace moves x <-> y.
      for (const ns of ['a', 'b', 'x', 'x/c']) await createNamespace(store, BackupNamespace.parse(ns))
      const initial: [string, BackupType, string][] = [
        ['b', 'vm', '100'],
        ['a', 'vm', '100'],
        ['a', 'vm', '101'],
        ['a', 'ct', '200'],
        ['x', 'host', '300'],
        ['x/c', 'vm', '400'],
      ]
      for (const [ns, type, id] of initial)
        for (let i = 0; i < 2; i++) {
          const data = image()
          const time = T0 + ++seq * 60
          await backupSnapshot(store, {
            ns: BackupNamespace.parse(ns),
            type,
            id,
            time,
            owner: OWNER,
            workers: 0,
            archives: [{ name: ARCHIVE, source: data }],
          })
          recorded.set(`${type}/${id}/${time}`, {
            sha256: createHash('sha256').update(data).digest('hex'),
            size: data.length,
          })
        }

      const faults: RandomFaults = proxy.randomFaults({ rate: RATE, seed: SEED })
      proxy.resetCounts()

      const count = (kind: string, outcome: Outcome): void => {
        const c = outcomes.get(kind) ?? { ok: 0, failed: 0, refused: 0 }
        c[outcome]++
        outcomes.set(kind, c)
      }

      /** A failure message names its object: the group/namespace, or for a backup the chunk it was inserting. */
      const names = (message: string, object: string | string[]): boolean =>
        (typeof object === 'string' ? [object] : object).some((o) => message.includes(o)) ||
        /^(error: )?inserting chunk '[0-9a-f]{64}' on store /.test(message)

      /**
       * Classifies a library failure: an S3 fault after the retry budget (a typed error whose
       * message names `object` and whose message or data names the S3 cause), a merge refusal,
       * or unexpected.
       */
      const classify = (kind: string, object: string | string[], e: unknown): Outcome | undefined => {
        if (!(e instanceof DatastoreError)) {
          unexpected.push(`${kind} ${String(object)}: untyped error ${(e as Error)?.stack ?? String(e)}`)
          return undefined
        }
        const text = `${e.message} ${JSON.stringify(e.data)}`
        if (S3_CAUSE.test(text)) {
          failures.push(`${kind}: ${e.code}: ${e.message}`)
          if (!names(e.message, object)) unclear.push(`${kind} (${String(object)}): ${e.message}`)
          return 'failed'
        }
        // (a partial namespace move names each group's cause in its data)
        if ((e instanceof ConflictError || e instanceof NotFoundError) && REFUSAL.test(text)) return 'refused'
        unexpected.push(`${kind} ${String(object)}: ${e.code}: ${e.message}`)
        return undefined
      }

      /**
       * Classifies a CLI run the same way, by its `error:` line; a partial namespace move names
       * the groups left behind there and each group's cause on its own warning line.
       */
      const classifyCli = (
        kind: string,
        object: string | string[],
        args: string[],
        r: { code: number; stderr: string },
      ): Outcome | undefined => {
        if (r.code === 0) return 'ok'
        const error = r.stderr.split('\n').find((l) => l.startsWith('error:')) ?? ''
        const partial = /namespace move partially completed/.test(error) && S3_CAUSE.test(r.stderr)
        if (r.code === 1 && (S3_CAUSE.test(error) || partial)) {
          failures.push(`${kind}: ${error}`)
          if (!names(error, object)) unclear.push(`${kind} (${String(object)}): ${error}`)
          return 'failed'
        }
        if (
          r.code === 1 &&
          (REFUSAL.test(error) || (/partially completed/.test(error) && REFUSAL.test(r.stderr)))
        )
          return 'refused'
        unexpected.push(`${kind} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`)
        return undefined
      }

      /** Runs one operation through the CLI; its warning lines go with the operation like the library's. */
      const cliOp = async (args: string[]): Promise<CliResult> => {
        const r = await soakCli(args, env, 120_000)
        for (const line of r.stderr.split('\n'))
          if (line.startsWith('warning:')) opWarnings.push(line.slice('warning:'.length).trim())
        return r
      }

      /** Every group of the store as [ns, group]. */
      const groups = async (): Promise<[BackupNamespace, { type: BackupType; id: string }][]> => {
        const out: [BackupNamespace, { type: BackupType; id: string }][] = []
        for (const ns of await listNamespaces(store, BackupNamespace.ROOT))
          for (const g of await listGroupRefs(store, ns)) out.push([ns, g])
        return out
      }

      /**
       * The invariants after one operation (faults paused): each recorded snapshot exactly once,
       * nothing unrecorded, the cache's content in the bucket, touched snapshots restore exactly.
       */
      /** Records an invariant broken after `label` once (it would repeat after every later operation). */
      const seenProblems = new Set<string>()
      const problem = (label: string, what: string): void => {
        if (seenProblems.has(what)) return
        seenProblems.add(what)
        const w = warned.get(label.replace(/ \(.*$/, '')) ?? []
        problems.push(`${label}: ${what}${w.length > 0 ? ` (warnings: ${w.join(' | ')})` : ''}`)
      }

      const check = async (
        label: string,
        before: Map<string, { ns: BackupNamespace; dir: BackupDirRef }>,
        touched: (key: string, ns: BackupNamespace) => boolean,
      ): Promise<Map<string, { ns: BackupNamespace; dir: BackupDirRef }>> => {
        faults.paused = true
        try {
          const { at, twice } = await locate(store)
          for (const t of twice) problem(label, `snapshot at two places: ${t}`)
          for (const k of recorded.keys()) if (!at.has(k)) problem(label, `snapshot ${k} lost`)
          for (const k of at.keys()) if (!recorded.has(k)) problem(label, `unrecorded snapshot ${k} exists`)
          const census = await s3Census(store, direct)
          for (const k of census.orphanContent) if (!orphanSince.has(k)) orphanSince.set(k, label)
          for (const k of census.missingContent)
            problem(label, `'${k}' is in the cache but not in the bucket`)
          for (const [k, { ns, dir }] of at) {
            const was = before.get(k)
            if (!(touched(k, ns) || (was !== undefined && !was.ns.equals(ns)))) continue
            const rec = recorded.get(k)
            if (rec === undefined) continue
            try {
              const got = await restoredDigest(store, ns, dir)
              restoredChecks++
              if (got.sha256 !== rec.sha256 || got.size !== rec.size)
                problem(label, `${k} restores to other bytes`)
            } catch (e) {
              problems.push(
                `${label}: restoring ${k} from '${ns.toString()}' failed - ${(e as Error).message}`,
              )
            }
          }
          return at
        } finally {
          faults.paused = false
        }
      }

      /** After a group move that failed: whatever moved is older than whatever stayed. */
      const checkSplit = (
        label: string,
        group: string,
        from: BackupNamespace,
        to: BackupNamespace,
        before: Map<string, { ns: BackupNamespace }>,
        after: Map<string, { ns: BackupNamespace }>,
      ): void => {
        const moved: number[] = []
        const stayed: number[] = []
        for (const [k, was] of before) {
          if (!k.startsWith(`${group}/`) || !was.ns.equals(from)) continue
          const now = after.get(k)?.ns
          const time = Number(k.split('/')[2])
          if (now?.equals(to)) moved.push(time)
          else if (now?.equals(from)) stayed.push(time)
        }
        if (moved.length > 0 && stayed.length > 0 && Math.max(...moved) >= Math.min(...stayed))
          problems.push(
            `${label}: not a clean time split (moved ${moved.join(',')}, stayed ${stayed.join(',')})`,
          )
        if (moved.length > 0 && stayed.length > 0) splits++
      }

      let where = (await locate(store)).at
      for (let op = 0; op < OPS; op++) {
        const viaCli = random() < 0.3
        const lib = random() < 0.4 ? fragile : store
        const via = viaCli ? 'cli' : lib === fragile ? 'lib/1 attempt' : 'lib'
        const r = random()
        const kind = r < 0.4 ? 'backup' : r < 0.8 ? 'group move' : 'namespace move'
        const label = `#${op} ${via} ${kind}`
        const all = await groups()
        let outcome: Outcome | undefined
        let touched: (key: string, ns: BackupNamespace) => boolean = () => false
        let split: { group: string; from: BackupNamespace; to: BackupNamespace } | undefined

        if (kind === 'backup') {
          // 15 %: a new group (its owner object goes up under faults too)
          const fresh = random() < 0.15
          const [ns, g] = fresh
            ? [
                BackupNamespace.parse(pick(['a', 'b'])),
                { type: 'vm' as BackupType, id: String(500 + newGroups++) },
              ]
            : pick(all)
          const time = T0 + ++seq * 60
          const data = image()
          const key = `${g.type}/${g.id}/${time}`
          touched = (k) => k.startsWith(`${g.type}/${g.id}/`)
          if (viaCli) {
            const file = join(s.home.dir, 'image.img')
            await writeFile(file, data)
            const args = ['backup', `${ARCHIVE}:${file}`, '--backup-type', g.type, '--backup-id', g.id]
            args.push('--backup-time', String(time), '--workers', '0', '--store', STORE)
            if (!ns.isRoot) args.push('--ns', ns.toString())
            outcome = classifyCli(label, `${g.type}/${g.id}`, args, await cliOp(args))
          } else {
            try {
              await backupSnapshot(lib, {
                ns,
                type: g.type,
                id: g.id,
                time,
                owner: OWNER,
                workers: 0,
                archives: [{ name: ARCHIVE, source: data }],
              })
              outcome = 'ok'
            } catch (e) {
              outcome = classify(label, `${g.type}/${g.id}`, e)
            }
          }
          if (outcome === 'ok')
            recorded.set(key, { sha256: createHash('sha256').update(data).digest('hex'), size: data.length })
          else if (fresh) failedNewGroups.add(`.cnt/ns/${ns.toString()}/${g.type}/${g.id}/`)
        } else if (kind === 'group move') {
          const movable = all.filter(([ns]) => ns.toString() === 'a' || ns.toString() === 'b')
          const [from, g] = pick(movable)
          const to = BackupNamespace.parse(from.toString() === 'a' ? 'b' : 'a')
          const merge = random() < 0.75
          const group = `${g.type}/${g.id}`
          touched = (k) => k.startsWith(`${group}/`)
          split = { group, from, to }
          if (viaCli) {
            const args = ['group', 'move', group, '--ns', from.toString(), '--target-ns', to.toString()]
            args.push('--merge-group', String(merge), '--store', STORE)
            outcome = classifyCli(label, group, args, await cliOp(args))
          } else {
            try {
              await moveGroup(lib, from, g, to, { mergeGroup: merge, log })
              outcome = 'ok'
            } catch (e) {
              outcome = classify(label, group, e)
            }
          }
        } else {
          const present: string[] = []
          for (const n of ['x', 'y'])
            if (await namespaceExists(store, BackupNamespace.parse(n))) present.push(n)
          const from = pick(present)
          const to = from === 'x' ? 'y' : 'x'
          const src = BackupNamespace.parse(from)
          // the source namespace, or the key of a source/target namespace object (marker, group)
          const nsNames = [`'${from}'`, `.cnt/ns/${from}/`, `.cnt/ns/${to}/`]
          touched = (k) => {
            const was = where.get(k)?.ns
            return was !== undefined && src.contains(was) !== undefined
          }
          if (viaCli) {
            const args = ['namespace', 'move', from, '--target-ns', to, '--store', STORE]
            outcome = classifyCli(label, nsNames, args, await cliOp(args))
          } else {
            try {
              await moveNamespace(lib, src, BackupNamespace.parse(to), { log })
              outcome = 'ok'
            } catch (e) {
              outcome = classify(label, nsNames, e)
            }
          }
        }
        if (outcome !== undefined) count(`${via} ${kind}`, outcome)
        if (opWarnings.length > 0) warned.set(label, opWarnings)
        opWarnings = []
        const before = where
        where = await check(`${label} (${outcome ?? 'unexpected'})`, before, touched)
        if (split !== undefined && outcome === 'failed')
          checkSplit(label, split.group, split.from, split.to, before, where)
      }

      // Faults off: what `pbs-store s3 cleanup` does, through the real CLI.
      faults.remove()
      const injected = { ...faults.injected }
      const proxyCounts = proxy.counts()
      // Every operation has ended (no process was killed, no request is in flight): no grace needed
      // before sweeping the orphans the last operations left.
      const cleanupRun = await soakCli(
        ['s3', 'cleanup', '--store', STORE],
        { ...env, PBS_STORE_S3_MOVE_GRACE_MS: '0' },
        120_000,
      )
      assert.equal(cleanupRun.code, 0, `s3 cleanup: ${cleanupRun.stderr}`)
      const cleanup = JSON.parse(cleanupRun.stdout) as Record<string, number> & {
        'orphans-skipped': unknown[]
      }
      const again = await recoverS3Moves(store)
      assert.equal(again.intents, 0, 'nothing left for a second recovery')

      const census = await s3Census(store, direct, { compareContent: true })
      const verify = await verifyDatastore(store, { upid: testUpid() })
      const { at, twice } = await locate(store)
      const lost: string[] = []
      for (const [k, rec] of recorded) {
        const place = at.get(k)
        if (place === undefined) {
          lost.push(`${k}: missing`)
          continue
        }
        const got = await restoredDigest(store, place.ns, place.dir).catch((e: unknown) => ({
          sha256: (e as Error).message,
          size: -1,
        }))
        if (got.sha256 !== rec.sha256 || got.size !== rec.size)
          lost.push(`${k}: ${got.size < 0 ? got.sha256 : 'content differs'}`)
      }
      // Unreferenced chunks (uploaded by failed backups) are GC's job: age them and collect.
      await ageChunks(store.chunkDir)
      const gc = await soakCli(['gc', '--store', STORE], env, 120_000)
      assert.equal(gc.code, 0, `gc: ${gc.stderr}`)
      const swept = (JSON.parse(gc.stdout) as { 'removed-chunks': number })['removed-chunks']
      const afterGc = await s3Census(store, direct)

      const total = (o: Outcome): number => [...outcomes.values()].reduce((a, c) => a + c[o], 0)
      const retries = Object.values(s.backend.objects.counters().retries).reduce((a, b) => a + b, 0)
      const requests = Object.values(proxyCounts.requests).reduce((a, b) => a + b, 0)
      console.log(
        `# s3 fault mix: seed ${SEED}, rate ${RATE}, operations ${OPS}: ok ${total('ok')}, failed ${total('failed')}, ` +
          `refused ${total('refused')} ${JSON.stringify(Object.fromEntries(outcomes))}; requests ${requests}, ` +
          `faults injected ${faults.total()} ${JSON.stringify(injected)} (by request kind ${JSON.stringify(proxyCounts.injected)}), ` +
          `retries observed in-process ${retries}; cleanup: intents ${cleanup.intents}, rolled forward ${cleanup['rolled-forward']}, ` +
          `rolled back ${cleanup['rolled-back']}, objects deleted ${cleanup['deleted-objects']}, ` +
          `orphans swept ${cleanup['orphans-deleted']} (restored ${cleanup['orphans-restored']}, skipped ${cleanup['orphans-skipped'].length}); ` +
          `snapshots ${at.size}, restore checks ${restoredChecks}, failed moves with a time split ${splits}, ` +
          `chunks swept by GC ${swept}, orphans before GC ${orphanCount(census)} (unreferenced chunks ${census.unreferencedChunks.length}), ` +
          `orphans ${orphanCount(afterGc)}, verify failures ${verify.failed}, lost: ${lost.length}`,
      )
      if (failures.length > 0) console.log(`# failures (sample):\n#  ${failures.slice(0, 12).join('\n#  ')}`)

      // One verdict listing everything found, so a failing run shows all of it at once.
      const report: string[] = []
      const section = (title: string, list: readonly string[]): void => {
        for (const x of list.slice(0, 30)) report.push(`${title}: ${x}`)
        if (list.length > 30) report.push(`${title}: … and ${list.length - 30} more`)
      }
      section('unexpected failure', unexpected)
      section('after an operation', problems)
      section('snapshot at two places', twice)
      section('lost', lost)
      section('after cleanup', censusProblems(census, { allowUnreferencedChunks: true }))
      // Where each orphan came from: the operation after which it first showed, and its warnings.
      section(
        'orphan origin',
        census.orphanContent.map((k) => {
          const op = orphanSince.get(k)
          const w = op === undefined ? [] : (warned.get(op.replace(/ \(.*$/, '')) ?? [])
          const hint = [...failedNewGroups].some((g) => k === `${g}owner`)
            ? ' - the owner object of a group created by a backup that then failed (the backup removes the local group only)'
            : ''
          return `${k} since ${op ?? 'the final cleanup'}${hint}${w.length > 0 ? ` (warnings: ${w.join(' | ')})` : ''}`
        }),
      )
      if (census.snapshots !== at.size)
        report.push(`bucket snapshots ${census.snapshots} != cache snapshots ${at.size}`)
      if (verify.failed !== 0) report.push(`final verify: ${verify.failed} failure(s)`)
      section('final verify: corrupt or missing chunk', verify.corruptChunks)
      section('after GC', censusProblems(afterGc))
      section('failure not naming its object', unclear)
      if (report.length > 0) console.log(`# problems:\n#  ${report.join('\n#  ')}`)
      assert.deepEqual(
        report,
        [],
        'every operation completed or failed cleanly with its source intact; nothing lost; cleanup and GC left 0 orphans',
      )
      if (RATE > 0 && OPS >= 20) assert.ok(faults.total() > 0, 'faults were injected')
    },
  )
})
