/**
 * Ingest benchmark (issue 4): backs up a generated image — a third zeros, a third compressible
 * text, a third random — and prints MB/s next to the raw per-chunk CPU cost of the same chunks
 * (SHA-256 + zstd level 1 + CRC-32 in one tight loop on one core), measured in the same run,
 * with the ratio, the CPU seconds both used (a figure the machine's load does not distort) and the
 * peak RSS. Each round measures the baseline and then every configuration; medians are printed.
 *
 * Run: node dist/bench/ingest.js [--size-mib 1024] [--workers 0,auto] [--sync-level none]
 * Not part of the test suite.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'

import { BackupNamespace, backupDir } from '../src/api-types/index.js'
import type { SyncLevel } from '../src/config/datastore-config.js'
import { resolveInstallation } from '../src/config/installation.js'
import {
  Datastore,
  backupSnapshot,
  chunkStoreFor,
  createDatastore,
  type BackupResult,
} from '../src/datastore/index.js'
import { parseFixedIndex } from '../src/format/index.js'
import { zstdCompressIfSmaller } from '../src/format/zstd.js'

const CHUNK = 4 * 1024 * 1024
const MB = 1e6

/** Parsed command line. */
interface Args {
  sizeMiB: number
  workers: (number | undefined)[]
  syncLevel: SyncLevel
  repeat: number
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizeMiB: 1024, workers: [0, undefined], syncLevel: 'none', repeat: 3 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = argv[i + 1] ?? ''
    if (a === '--size-mib') args.sizeMiB = Number(v)
    else if (a === '--workers') args.workers = v.split(',').map((w) => (w === 'auto' ? undefined : Number(w)))
    else if (a === '--sync-level') args.syncLevel = v as SyncLevel
    else if (a === '--repeat') args.repeat = Math.max(1, Number(v))
    else continue
    i++
  }
  return args
}

/** xorshift32: fast deterministic pseudo-randomness for the text third. */
function xorshift(seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

/** Writes the image: zeros, then words of a 2,000-word vocabulary (zstd ~3:1), then random bytes. */
function generateImage(path: string, size: number): void {
  const rnd = xorshift(0x9e3779b9)
  const vocabulary = Array.from({ length: 2000 }, () => {
    const len = 2 + (rnd() % 9)
    return Buffer.from(Array.from({ length: len }, () => String.fromCharCode(97 + (rnd() % 26))).join(''))
  })
  const third = Math.floor(size / 3)
  const fd = openSync(path, 'w')
  const buf = Buffer.alloc(CHUNK)
  try {
    for (let off = 0; off < size; off += CHUNK) {
      const len = Math.min(CHUNK, size - off)
      for (let p = 0; p < len;) {
        // Fill per region, byte-accurate at region borders.
        const at = off + p
        const region = at < third ? 0 : at < 2 * third ? 1 : 2
        const regionEnd = Math.min(off + len, region === 0 ? third : region === 1 ? 2 * third : size) - off
        if (region === 0) buf.fill(0, p, regionEnd)
        else if (region === 2) randomFillSync(buf, p, regionEnd - p)
        else {
          let q = p
          while (q < regionEnd) {
            const w = vocabulary[rnd() % vocabulary.length]!
            const n = Math.min(w.length, regionEnd - q)
            w.copy(buf, q, 0, n)
            q += n
            if (q < regionEnd) buf[q++] = rnd() % 11 === 0 ? 10 : 32
          }
        }
        p = regionEnd
      }
      writeSync(fd, buf, 0, len)
    }
  } finally {
    closeSync(fd)
  }
}

/** CPU seconds (user + system, every thread of the process) since `start`. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start)
  return (d.user + d.system) / 1e6
}

/**
 * The baseline: SHA-256 + zstd 1 + CRC-32 per chunk on this thread; reads are not timed.
 * Returns MB/s over the timed sections and the CPU seconds they used.
 */
function rawCpuLoop(path: string, size: number): { rate: number; cpu: number } {
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(CHUNK)
  let cpuMs = 0
  let cpu = 0
  try {
    for (let off = 0; off < size; off += CHUNK) {
      const len = readSync(fd, buf, 0, Math.min(CHUNK, size - off), off)
      const data = buf.subarray(0, len)
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      createHash('sha256').update(data).digest()
      const compressed = zstdCompressIfSmaller(data, 1) ?? data
      crc32(compressed)
      cpu += cpuSeconds(c0)
      cpuMs += performance.now() - t0
    }
  } finally {
    closeSync(fd)
  }
  return { rate: size / MB / (cpuMs / 1000), cpu }
}

function rssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024)
}

/** Removes the snapshot's chunks and the snapshot, so the next run starts with an empty store. */
async function emptyStore(store: Datastore, time: number): Promise<void> {
  const snap = store.snapshotDir(BackupNamespace.ROOT, backupDir({ type: 'vm', id: '100' }, time))
  const index = parseFixedIndex(await readFile(join(snap, 'disk.img.fidx')))
  const chunks = chunkStoreFor(store)
  for (const d of new Set([...index.digests()].map((x) => x.toString('hex'))))
    await rm(chunks.chunkPath(d), { force: true })
  await rm(store.groupDir(BackupNamespace.ROOT, { type: 'vm', id: '100' }), { recursive: true, force: true })
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const size = args.sizeMiB * 1024 * 1024
  const dir = await mkdtemp(join(tmpdir(), 'pbs-store-bench-'))
  const env = {
    ...process.env,
    PBS_STORE_HOME: join(dir, 'home'),
    PBS_STORE_LOCK_DIR: join(dir, 'locks'),
    PBS_STORE_PBS_RUN_DIR: join(dir, 'run'),
  }
  const installation = resolveInstallation(undefined, env)
  try {
    console.log(
      `# ingest bench: ${args.sizeMiB} MiB image (1/3 zeros, 1/3 text, 1/3 random), ${availableParallelism()} cores, ` +
        `sync-level=${args.syncLevel}, ${args.repeat} rounds, load average ${loadavg()[0]!.toFixed(1)}`,
    )
    const image = join(dir, 'disk.img')
    let t = performance.now()
    generateImage(image, size)
    console.log(`generated image in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const created = await createDatastore(installation, 'bench', join(dir, 'store'))
    const store = new Datastore(installation, { ...created.config, tuning: { 'sync-level': args.syncLevel } })
    rawCpuLoop(image, Math.min(size, 64 * CHUNK)) // warm-up (page cache, JIT, zstd context)

    // Rounds interleave the baseline with every configuration, and each run is compared with the
    // baseline of its own round: on a shared machine the load drifts between minutes.
    const rawRuns: { rate: number; cpu: number }[] = []
    const runs = new Map<string, { rate: number; ratio: number; cpu: number; r: BackupResult }[]>()
    let time = 1_700_000_000
    for (let round = 0; round < args.repeat; round++) {
      const raw = rawCpuLoop(image, size)
      rawRuns.push(raw)
      for (const workers of args.workers) {
        const label = workers === undefined ? 'auto' : String(workers)
        t = performance.now()
        const c0 = process.cpuUsage()
        const r = await backupSnapshot(store, {
          type: 'vm',
          id: '100',
          time: ++time,
          owner: 'root@pam',
          archives: [{ name: 'disk.img', source: image }],
          ...(workers === undefined ? {} : { workers }),
        })
        const rate = size / MB / ((performance.now() - t) / 1000)
        const cpu = cpuSeconds(c0)
        runs.set(label, [...(runs.get(label) ?? []), { rate, ratio: rate / raw.rate, cpu, r }])
        await emptyStore(store, time)
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const rawCpu = median(rawRuns.map((x) => x.cpu))
    console.log(
      `raw per-chunk CPU loop (sha256 + zstd1 + crc32, 1 core): median ${median(rawRuns.map((x) => x.rate)).toFixed(0)} MB/s ` +
        `(runs: ${rawRuns.map((x) => x.rate.toFixed(0)).join(', ')}), ${rawCpu.toFixed(2)} CPU s`,
    )
    for (const [label, list] of runs) {
      const r = list[0]!.r
      console.log(
        `backup workers=${label}: median ${median(list.map((x) => x.rate)).toFixed(0)} MB/s, ratio to the same round's raw loop: ` +
          `median ${median(list.map((x) => x.ratio)).toFixed(2)}x (runs: ${list.map((x) => x.ratio.toFixed(2)).join(', ')})  ` +
          `CPU ${median(list.map((x) => x.cpu)).toFixed(2)} s (all threads; ${(median(list.map((x) => x.cpu)) / rawCpu).toFixed(2)}x the raw loop)  ` +
          `[chunks stored ${r.stats.count}, reused in backup ${r.stats.reused}, zero ${r.stats.zeroChunks}, ${(r.stats.compressed_size / MB).toFixed(0)} MB on disk]`,
      )
    }
    console.log(`peak RSS ${rssMiB()} MiB`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
