// bench/move-s3: moving a group of 200 snapshots × 5 objects between namespaces of an S3 datastore,
// through a proxy that adds 20 ms to every request (a cloud round trip) in front of a fast in-memory
// S3 server (fauxqs 1.9.2 - the last release that runs on Node 20; moto is CPU-bound at ~150 req/s).
// In the same run, on the same proxy and bucket (separate prefixes, same data set size):
//   - the reference method: per snapshot a list, then per object a sequential CopyObject, then
//     per object a sequential DeleteObject;
//   - raw CopyObject throughput: the same number of copies in parallel at our concurrency.
// Prints times, requests per snapshot by kind, ratios and peak RSS of this (client) process.
// The server and the proxy run in a forked child, so they do not compete with the client for its
// event loop and do not count in its RSS.
// With ns-groups > 0 it also moves a namespace holding the same number of snapshots spread over
// that many groups (move-namespace moves several groups at once on S3), against the same raw rate.
//   node dist/bench/move-s3.js [snapshots=200] [latency-ms=20] [ns-groups=0]
import { fork } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import {
  BackupNamespace,
  formatBackupTime,
  type BackupDirRef,
  type BackupGroupRef,
} from '../src/api-types/index.js'
import type { S3ObjectStore } from '../src/backend/s3/index.js'
import { groupPrefix, snapshotFileKey, snapshotPrefix } from '../src/backend/s3/s3-keys.js'
import { createNamespace, type Datastore } from '../src/datastore/index.js'
import type { S3Backend } from '../src/backend/s3/s3-backend.js'
import { moveGroup, moveNamespace } from '../src/datastore/move/index.js'
import { FaultProxy } from '../tests/helpers/fault-proxy.js'
import { TEST_S3_ENDPOINT_ENV, testObjectStore } from '../tests/helpers/moto.js'
import { makeS3Store } from '../tests/helpers/s3-store.js'

const FILES = [
  'index.json.blob',
  'drive-scsi0.img.fidx',
  'drive-scsi1.img.fidx',
  'qemu-server.conf.blob',
  'client.log.blob',
] as const
const T0 = 1776359903
const SERVER_FLAG = '--server'

interface ServerReady {
  s3: string
  proxy: string
  server: string
}

if (process.argv[2] === SERVER_FLAG) await serve(Number(process.argv[3] ?? 20))
else await bench(Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 20), Number(process.argv[4] ?? 0))

/** Child: fauxqs on a free loopback port, and the delaying proxy in front of it. */
async function serve(latencyMs: number): Promise<void> {
  const { startFauxqs } = await import('fauxqs')
  const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false })
  const s3 = `http://127.0.0.1:${server.port}`
  const proxy = await FaultProxy.start(s3)
  proxy.addRule({ action: { type: 'delay', ms: latencyMs } })
  const ready: ServerReady = { s3, proxy: proxy.endpoint, server: 'fauxqs 1.9.2 (in-memory)' }
  process.send?.(ready)
  // the parent ends us by disconnecting (also when it dies)
  process.on('disconnect', () => {
    void proxy.stop().then(() => server.stop().then(() => process.exit(0)))
  })
}

/** Lays out `count` snapshots of `group` in `n`: the cache directories and the bucket objects. */
async function layOut(
  store: Datastore,
  backend: S3Backend,
  n: BackupNamespace,
  group: BackupGroupRef,
  count: number,
): Promise<BackupDirRef[]> {
  const groupDir = store.groupDir(n, group)
  await mkdir(groupDir, { recursive: true })
  await writeFile(join(groupDir, 'owner'), 'root@pam\n')
  await backend.putGroupFile(n, group, 'owner', 'root@pam\n')
  const dirs: BackupDirRef[] = Array.from({ length: count }, (_, i) => ({
    ...group,
    time: T0 + i * 60,
    timeString: formatBackupTime(T0 + i * 60),
  }))
  await Promise.all(
    dirs.map(async (dir) => {
      const snapDir = join(groupDir, dir.timeString)
      await mkdir(snapDir)
      await Promise.all(
        FILES.map(async (f) => {
          const body = Buffer.from(`${f} of ${dir.timeString}\n`)
          await backend.putSnapshotFile(n, dir, f, body)
          await writeFile(join(snapDir, f), body)
        }),
      )
    }),
  )
  return dirs
}

async function bench(snapshots: number, latencyMs: number, nsGroups: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [SERVER_FLAG, String(latencyMs)], { stdio: 'inherit' })
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServerReady))
    child.once('exit', (code) => reject(new Error(`S3 server child exited with ${code}`)))
  })
  process.env[TEST_S3_ENDPOINT_ENV] = ready.s3
  const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
  const group: BackupGroupRef = { type: 'vm', id: '100' }
  const objects = snapshots * FILES.length
  const s3 = await makeS3Store({ clientEndpoint: ready.proxy, name: 'bench' })
  const stores: S3ObjectStore[] = []
  try {
    const { store, backend } = s3
    const concurrency = backend.objects.concurrency
    console.log(
      `S3 server: ${ready.server}, behind a proxy adding ${latencyMs} ms per request; client concurrency ${concurrency}`,
    )
    console.log(`laying out ${snapshots} snapshots × ${FILES.length} objects (bucket + local cache) …`)
    for (const n of ['a', 'b', ...(nsGroups > 0 ? ['c'] : [])]) await createNamespace(store, ns(n))
    const dirs = await layOut(store, backend, ns('a'), group, snapshots)
    // the reference and raw-copy data sets: same keys, own store prefixes in the same bucket
    const refStore = testObjectStore(ready.proxy, s3.bucket, { prefix: 'ref', concurrency })
    const rawStore = testObjectStore(ready.proxy, s3.bucket, { prefix: 'raw', concurrency })
    stores.push(refStore, rawStore)
    const keysOf = (n: string): string[] =>
      dirs.flatMap((d) => FILES.map((f) => snapshotFileKey(ns(n), d, f)))
    const layoutKeys = keysOf('a')
    for (const o of [refStore, rawStore])
      await Promise.all(layoutKeys.map((k) => o.putObject(k, `${k}\n`, { replace: true })))

    // (3) raw CopyObject throughput: as many copies as our move makes, all in parallel at our concurrency
    // (measured first, right next to our move, so both see the same machine load)
    const targets = keysOf('b')
    rawStore.resetCounters()
    let t0 = process.hrtime.bigint()
    await Promise.all(layoutKeys.map((k, i) => rawStore.copyObject(k, targets[i]!)))
    const rawMs = Number(process.hrtime.bigint() - t0) / 1e6

    // (1) our move
    backend.objects.resetCounters()
    t0 = process.hrtime.bigint()
    // where the time goes: when the first/last request of each kind was issued (sampled every 5 ms)
    const seen = new Map<string, [number, number]>()
    const sampler = setInterval(() => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      for (const [k, n] of Object.entries(backend.objects.counters().requests)) {
        if (n === 0) continue
        const prev = seen.get(k)
        if (prev === undefined) seen.set(k, [ms, ms])
        else if (n > (prevCount.get(k) ?? 0)) prev[1] = ms
        prevCount.set(k, n)
      }
    }, 5)
    const prevCount = new Map<string, number>()
    const r = await moveGroup(store, ns('a'), group, ns('b'))
    const oursMs = Number(process.hrtime.bigint() - t0) / 1e6
    clearInterval(sampler)
    const counts = backend.objects.counters()
    if (r.movedSnapshots !== snapshots) throw new Error(`moved ${r.movedSnapshots}, expected ${snapshots}`)
    if (r.warnings.length > 0) throw new Error(`move warnings: ${r.warnings.join('; ')}`)
    const left = await s3.keys()
    const wanted = new Set(keysOf('b'))
    const atTarget = left.filter((k) => wanted.has(k)).length
    const atSource = left.filter((k) => k.startsWith(groupPrefix(ns('a'), group))).length
    if (atTarget !== objects || atSource !== 0)
      throw new Error(`after the move: ${atTarget} objects at the target, ${atSource} at the source`)

    // (2) the reference method: per snapshot list, then sequential copy, then sequential delete
    refStore.resetCounters()
    t0 = process.hrtime.bigint()
    for (const dir of dirs) {
      const src = snapshotPrefix(ns('a'), dir)
      const dst = snapshotPrefix(ns('b'), dir)
      const keys: string[] = []
      for await (const o of refStore.listObjects(src)) keys.push(o.key)
      for (const k of keys) await refStore.copyObject(k, dst + k.slice(src.length))
      for (const k of keys) await refStore.deleteObjects([k])
    }
    const refMs = Number(process.hrtime.bigint() - t0) / 1e6
    const refCounts = refStore.counters()

    const per = (c: typeof counts): string =>
      (['list', 'copy', 'delete', 'put', 'get', 'head'] as const)
        .filter((k) => c.requests[k] > 0)
        .map((k) => `${k} ${(c.requests[k] / snapshots).toFixed(3)}`)
        .join(', ')
    const total = (c: typeof counts): number => Object.values(c.requests).reduce((a, b) => a + b, 0)
    const retries = (c: typeof counts): number => Object.values(c.retries).reduce((a, b) => a + b, 0)
    const line = (name: string, ms: number, extra: string): void =>
      console.log(`${name.padEnd(30)}: ${ms.toFixed(0).padStart(7)} ms  ${extra}`)
    console.log(`data set: ${snapshots} snapshots × ${FILES.length} objects = ${objects} objects`)
    line(
      '(1) move-group (ours)',
      oursMs,
      `${total(counts)} requests, ${retries(counts)} retries; per snapshot: ${per(counts)}`,
    )
    console.log(
      `    timeline (request issued, first..last): ${[...seen]
        .map(([k, [f, l]]) => `${k} ${f.toFixed(0)}..${l.toFixed(0)} ms`)
        .join(', ')}`,
    )
    line(
      '(2) reference (sequential)',
      refMs,
      `${total(refCounts)} requests (${(refMs / total(refCounts)).toFixed(1)} ms each), ${retries(refCounts)} retries; per snapshot: ${per(refCounts)}`,
    )
    line(
      '(3) raw parallel CopyObject',
      rawMs,
      `${objects} copies at concurrency ${concurrency}: ${((objects * 1000) / rawMs).toFixed(0)} copies/s`,
    )
    const oursCopyRate = (counts.requests.copy * 1000) / oursMs
    console.log(`ours vs reference          : ${(refMs / oursMs).toFixed(1)} × faster (goal ≥ 10)`)
    console.log(
      `ours vs raw copy throughput: ${(rawMs / oursMs).toFixed(2)} × (${objects} copies the move must make: ` +
        `${((objects * 1000) / oursMs).toFixed(0)}/s vs raw ${((objects * 1000) / rawMs).toFixed(0)}/s; ` +
        `counting the copy requests made: ${oursCopyRate.toFixed(0)}/s) (goal ≥ 0.7)`,
    )
    if (nsGroups > 0) {
      // (4) a namespace move of the same number of snapshots, spread over nsGroups groups
      const per = Math.ceil(snapshots / nsGroups)
      for (let g = 0; g * per < snapshots; g++)
        await layOut(
          store,
          backend,
          ns('c'),
          { type: 'vm', id: String(1000 + g) },
          Math.min(per, snapshots - g * per),
        )
      backend.objects.resetCounters()
      t0 = process.hrtime.bigint()
      const n = await moveNamespace(store, ns('c'), ns('d'))
      const nsMs = Number(process.hrtime.bigint() - t0) / 1e6
      const c = backend.objects.counters()
      line(
        `(4) move-namespace, ${nsGroups} groups`,
        nsMs,
        `${total(c)} requests; per snapshot: ${(['list', 'copy', 'delete', 'put'] as const).map((k) => `${k} ${(c.requests[k] / n.movedSnapshots).toFixed(3)}`).join(', ')}`,
      )
      console.log(
        `ours (namespace) vs raw copy throughput: ${(rawMs / nsMs).toFixed(2)} × (${n.movedSnapshots * FILES.length} copies)`,
      )
    }
    console.log(
      `machine: ${cpus().length} CPU(s), load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (client, server and proxy share them)`,
    )
    console.log(`peak RSS (client process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
  } finally {
    for (const o of stores) o.destroy()
    await s3.cleanup()
    child.disconnect()
  }
}
