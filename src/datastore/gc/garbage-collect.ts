/**
 * Garbage collection of a filesystem datastore (spec §7): mark every chunk referenced by an index
 * (atime = now), then remove chunk files whose atime is older than the cutoff. The only operation
 * that deletes backup data for good, so every doubt ends in failing, never in deleting.
 */
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { BackupNamespace, type BackupDirRef, type BackupGroupRef } from '../../api-types/index.js'
import { LockBusyError } from '../../errors.js'
import { processLockFor, type LockGuard } from '../../lock/index.js'
import { DATASTORE_TUNING_DEFAULTS } from '../../config/datastore-config.js'
import { buildZeroChunk, ZERO_CHUNK_4M_DIGEST } from '../../format/index.js'
import { chunkStoreFor, type ChunkStore } from '../chunk-store.js'
import type { Datastore } from '../datastore.js'
import { recoverS3Moves } from '../move/move-group.js'
import { sweepS3Chunks } from './sweep-s3-chunks.js'
import { touchAtime } from './touch-chunk.js'
import { isErrno } from '../fs-util.js'
import { listGroupRefs } from '../groups.js'
import { listNamespaces } from '../namespaces.js'
import {
  ProgressTracker,
  SILENT_LOG,
  throwIfAborted,
  type OperationContext,
  type OperationLog,
} from '../operation-context.js'
import { listSnapshotRefs } from '../snapshots.js'
import { checkAtimeUpdates } from './atime-safety-check.js'
import { ChunkMarker } from './chunk-marker.js'
import { DigestCache } from './digest-cache.js'
import { drainMoveJournal, type JournalDrainResult } from './drain-move-journal.js'
import { emptyGcStatus, writeGcStatus, type GcStatus } from './gc-status.js'
import { isIndexFileName, listIndexFiles } from './list-index-files.js'
import { sweepUnusedChunks } from './sweep-chunks.js'

/** Safety gap below the oldest writer's start (PBS: 5 minutes). */
export const OLDEST_WRITER_GAP_SECONDS = 300
/** Retries of a group whose newest snapshot lost an index while being marked (then its lock is taken). */
export const GROUP_MARK_RETRIES = 10

/**
 * @internal Test hooks, for tests only: they let a test force the races GC must survive.
 */
export interface GcTestHooks {
  /** Reorders the namespaces phase 1 visits (default: the root first, depth first). */
  orderNamespaces?: (namespaces: BackupNamespace[]) => BackupNamespace[]
  /** Runs before phase 1 visits a namespace (e.g. to move a snapshot behind GC's back). */
  beforeNamespace?: (ns: BackupNamespace) => void | Promise<void>
  /** Skips the move-journal drain, to show the race it closes. Never use outside tests. */
  skipMoveJournal?: boolean
  /** Runs for each journal entry before it is marked; throwing simulates a processing error. */
  onJournalEntry?: (path: string) => void | Promise<void>
  /** Overrides the cutoff (seconds) instead of `gc-atime-cutoff` minutes. */
  cutoffSeconds?: number
  /** Runs before phase 2 reads prefix directory `index` (0..0xffff). */
  beforeChunkDir?: (index: number) => void | Promise<void>
}

/** Options of garbageCollect. */
export interface GarbageCollectOptions extends OperationContext {
  /** Task id recorded in `.gc-status`. */
  upid?: string
  /** @internal */
  testHooks?: GcTestHooks
}

/** What a GC run did. */
export interface GarbageCollectResult {
  status: GcStatus
  /** Epoch seconds: chunk files with an older atime were removed. */
  minAtime: number
  /** Epoch seconds: the start of the oldest running writer (or phase-1 start). */
  oldestWriter: number
  /** index-data-bytes / disk-bytes (0 when nothing is on disk). */
  dedupFactor: number
  /** Chunks referenced by an index but missing from the store. */
  missingChunks: number
  journal: JournalDrainResult | undefined
}

const running = new Set<string>()

/**
 * Runs garbage collection on a filesystem datastore and writes `.gc-status`.
 * @throws LockBusyError when GC already runs (here or in another process) or a writer of another
 *   process holds the chunk store; AbortedError; StorageError/CorruptionError (nothing more is
 *   removed after a failure).
 */
export async function garbageCollect(
  store: Datastore,
  options: GarbageCollectOptions = {},
): Promise<GarbageCollectResult> {
  const processLock = processLockFor(store.base)
  const key = processLock.basePath
  if (running.has(key))
    throw new LockBusyError(
      `garbage collection on store '${store.name}' failed - garbage collection already running`,
      {
        store: store.name,
      },
    )
  running.add(key)
  try {
    const exclusive = processLock.tryExclusive()
    try {
      return await collect(store, options, processLock.oldestSharedLockTime())
    } finally {
      exclusive.release()
    }
  } finally {
    running.delete(key)
  }
}

async function collect(
  store: Datastore,
  options: GarbageCollectOptions,
  writerStart: number | undefined,
): Promise<GarbageCollectResult> {
  const log = options.log ?? SILENT_LOG
  const hooks = options.testHooks ?? {}
  const tuning = { ...DATASTORE_TUNING_DEFAULTS, ...store.config.tuning }
  const status = emptyGcStatus(options.upid)
  log.info(`starting garbage collection on store ${store.name}`)

  const phase1Start = Math.floor(Date.now() / 1000)
  const oldestWriter = writerStart ?? phase1Start
  const chunks = chunkStoreFor(store)
  if (store.remote) {
    // S3: fail early when the bucket is unreachable, and resolve crashed moves first (their
    // indexes must be at exactly one place while we mark).
    await recoverS3Moves(store, log)
  }
  if (tuning['gc-atime-safety-check']) {
    await checkAtimeUpdates(store.chunkDir)
    // The local zero chunk claims "on S3": make it true.
    if (store.remote) await store.backend.putChunk(ZERO_CHUNK_4M_DIGEST, buildZeroChunk().blob)
    log.info('Access time update check successful, proceeding with GC.')
  } else {
    log.info('Access time update check disabled by datastore tuning options.')
  }
  const cutoff = hooks.cutoffSeconds ?? tuning['gc-atime-cutoff'] * 60
  let minAtime = phase1Start - cutoff
  if (oldestWriter < minAtime) minAtime = oldestWriter - OLDEST_WRITER_GAP_SECONDS
  log.info(
    `Using access time cutoff ${formatDurationSeconds(cutoff)}, minimum access time is ${new Date(minAtime * 1000).toISOString()}`,
  )

  const cache = new DigestCache(tuning['gc-cache-capacity'])
  const marker = new ChunkMarker(
    store.chunkDir,
    cache,
    log,
    status,
    store.remote ? (digest) => createUsingMarker(chunks, digest) : undefined,
  )

  log.info('Start GC phase1 (mark used chunks)')
  await markUsedChunks(store, marker, options, log)
  let journal: JournalDrainResult | undefined
  if (!hooks.skipMoveJournal) {
    journal = await drainMoveJournal(store, marker, hooks.onJournalEntry)
    if (journal.entries > 0)
      log.info(
        `move journal: marked ${journal.marked} index file(s), skipped ${journal.ghosts} ghost entr(ies)`,
      )
  }
  if (cache.capacity > 0) status.cacheStats = { hits: cache.hits, misses: cache.misses }

  log.info('Start GC phase2 (sweep unused chunks)')
  if (store.remote) {
    await sweepS3Chunks(store.backend, chunks, status, {
      minAtime,
      oldestWriter,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    log.info('Start GC phase3 (sweep the local cache)')
  }
  // On S3 the local sweep's numbers are not the store's: phase 2 counted the bucket.
  await sweepUnusedChunks(store.chunkDir, store.remote ? emptyGcStatus() : status, {
    minAtime,
    oldestWriter,
    log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(hooks.beforeChunkDir ? { beforeChunkDir: hooks.beforeChunkDir } : {}),
  })

  const dedupFactor = status.diskBytes > 0 ? status.indexDataBytes / status.diskBytes : 0
  logSummary(log, status, dedupFactor, marker.missing.size)
  await writeGcStatus(store.base, status)
  return { status, minAtime, oldestWriter, dedupFactor, missingChunks: marker.missing.size, journal }
}

/**
 * S3 phase 1 for a chunk without a local file: under its chunk lock, re-check and create
 * `<digest>.using` so phase 2 keeps the object (spec §7.3).
 */
async function createUsingMarker(chunks: ChunkStore, digest: string): Promise<boolean> {
  await using _lock = await chunks.lockChunk(digest)
  const path = chunks.chunkPath(digest)
  if (await touchAtime(path)) return true
  await writeFile(`${path}.using`, '', { mode: 0o644 })
  return true
}

/** Phase 1 without the journal: the listed indexes, walked by hierarchy, then the leftovers. */
async function markUsedChunks(
  store: Datastore,
  marker: ChunkMarker,
  options: GarbageCollectOptions,
  log: OperationLog,
): Promise<void> {
  const hooks = options.testHooks ?? {}
  const listed = await listIndexFiles(store.base)
  const progress = new ProgressTracker(listed.size, 'index files', options.onProgress)
  let newIndexes = 0
  const markOne = async (path: string): Promise<boolean> => {
    if (!listed.delete(path)) newIndexes++
    const found = await marker.markIndex(path)
    if (found) progress.add()
    return found
  }

  let namespaces = await listNamespaces(store, BackupNamespace.ROOT)
  if (hooks.orderNamespaces) namespaces = hooks.orderNamespaces(namespaces)
  for (const ns of namespaces) {
    throwIfAborted(options.signal, 'garbage collection')
    await hooks.beforeNamespace?.(ns)
    for (const group of await listGroupRefs(store, ns)) {
      throwIfAborted(options.signal, 'garbage collection')
      await markGroup(store, ns, group, markOne, log)
    }
  }
  if (newIndexes > 0)
    log.info(
      `found (and marked) ${newIndexes} index files outside of expected directory scheme or created during GC`,
    )

  // Leftovers: listed but not reached through namespaces/groups/snapshots.
  let outside = 0
  for (const path of [...listed]) {
    throwIfAborted(options.signal, 'garbage collection')
    if (await marker.markIndex(path)) {
      outside++
      progress.add()
      log.warn(`warning: marked chunks for index file outside of expected directory scheme: '${path}'`)
    }
  }
  if (outside > 0) log.info(`marked ${outside} index file(s) outside of the expected directory scheme`)
}

/**
 * Marks one group, newest snapshot first. An index of the newest snapshot vanishing means a prune
 * raced a new backup: the group is retried, and after GROUP_MARK_RETRIES under its lock.
 */
async function markGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  markOne: (path: string) => Promise<boolean>,
  log: OperationLog,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let lock: LockGuard | undefined
    if (attempt > GROUP_MARK_RETRIES)
      throw new LockBusyError(`marking group ${store.describeGroup(ns, group)} failed - it kept changing`, {
        store: store.name,
      })
    if (attempt === GROUP_MARK_RETRIES) lock = await store.lockGroup(ns, group)
    try {
      const snapshots = (await listSnapshotRefs(store, ns, group)).reverse()
      let retry = false
      for (const [i, snap] of snapshots.entries()) {
        const vanished = await markSnapshot(store, ns, snap, markOne)
        if (vanished && i === 0) {
          retry = true
          break
        }
      }
      if (!retry) return
      log.info(`retrying group ${store.describeGroup(ns, group)}: an index of its newest snapshot vanished`)
    } finally {
      await lock?.release()
    }
  }
}

/** Marks the indexes of one snapshot; true when one of them (or the snapshot) vanished meanwhile. */
async function markSnapshot(
  store: Datastore,
  ns: BackupNamespace,
  snap: BackupDirRef,
  markOne: (path: string) => Promise<boolean>,
): Promise<boolean> {
  const dir = store.snapshotDir(ns, snap)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return true
    throw e
  }
  let vanished = false
  for (const name of names.sort()) {
    if (!isIndexFileName(name) || name.startsWith('.')) continue
    if (!(await markOne(join(dir, name)))) vanished = true
  }
  return vanished
}

function logSummary(log: OperationLog, s: GcStatus, dedupFactor: number, missing: number): void {
  log.info(`Removed garbage: ${formatBytes(s.removedBytes)}`)
  log.info(`Removed chunks: ${s.removedChunks}`)
  if (s.removedBad > 0) log.info(`Removed bad chunks: ${s.removedBad}`)
  if (s.stillBad > 0) log.info(`Leftover bad chunks: ${s.stillBad}`)
  log.info(`Pending removals: ${formatBytes(s.pendingBytes)} (in ${s.pendingChunks} chunks)`)
  log.info(`Original data usage: ${formatBytes(s.indexDataBytes)}`)
  const pct = s.indexDataBytes > 0 ? ((s.diskBytes * 100) / s.indexDataBytes).toFixed(2) : '0.00'
  log.info(`On-Disk usage: ${formatBytes(s.diskBytes)} (${pct}%)`)
  log.info(`On-Disk chunks: ${s.diskChunks}`)
  log.info(`Deduplication factor: ${dedupFactor.toFixed(2)}`)
  if (s.diskChunks > 0) log.info(`Average chunk size: ${formatBytes(Math.round(s.diskBytes / s.diskChunks))}`)
  if (missing > 0) log.warn(`warning: ${missing} referenced chunk(s) missing from the chunk store`)
}

/** `1.50 MiB` style sizes, as the PBS task log prints them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`
}

function formatDurationSeconds(s: number): string {
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  return [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', sec > 0 || s === 0 ? `${sec}s` : ''].join('')
}
