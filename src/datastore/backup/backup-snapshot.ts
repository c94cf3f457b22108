/**
 * The library entry point for backups: archives in, a finished snapshot out.
 *
 * Archive kinds follow the name (PBS BackupArchiveName): `NAME.img` → fixed index with 4 MiB
 * chunks; `NAME.pxar|.mpxar|.ppxar|.pcat1` → dynamic index cut by the buzhash chunker (the bytes
 * are stored as given: this is not a pxar encoder); `NAME.conf|.json|.log|.key` → blob.
 * Everything that can be checked is checked before a lock is taken, so bad input leaves nothing.
 */
import type { Readable } from 'node:stream'

import {
  BackupNamespace,
  archiveType,
  backupGroup,
  checkBackupTime,
  normalizeArchiveName,
  parseAuthid,
  type BackupDirRef,
  type BackupType,
} from '../../api-types/index.js'
import { AbortedError, ValidationError } from '../../errors.js'
import {
  Chunker,
  DEFAULT_CHUNK_SIZE,
  DynamicIndexBuilder,
  FixedIndexBuilder,
  MAX_BLOB_SIZE,
  VALID_FIXED_CHUNK_SIZES,
  type BackupManifest,
} from '../../format/index.js'
import type { Datastore } from '../datastore.js'
import { openArchiveSource, type ArchiveInput, type ArchiveSource } from './archive-source.js'
import { BackupSession, type BackupStats } from './backup-session.js'
import type { ChunkKey } from './chunk-codec.js'
import { autoWorkerCount, createChunkCodec } from './chunk-codec-factory.js'

/** One archive to back up. */
export interface BackupArchive {
  /** Archive name with its kind extension, e.g. `drive-scsi0.img`, `qemu-server.conf`, `root.pxar`. */
  name: string
  /** A file path (`-` = stdin), bytes, or a byte stream. */
  source: ArchiveInput
}

/** Progress of a running backup. */
export interface BackupProgress {
  /** Stored archive name (`disk.img.fidx`). */
  archive: string
  /** 0-based position of the archive in the list. */
  archiveIndex: number
  archiveCount: number
  /** Bytes of this archive processed so far. */
  bytes: number
  /** This archive's size when known. */
  total: number | undefined
  /** Bytes of all archives processed so far. */
  allBytes: number
  /** Sum of all archive sizes when every size is known. */
  allTotal: number | undefined
}

/** Options of {@link backupSnapshot}. */
export interface BackupSnapshotOptions {
  /** Namespace (default: root); must exist. */
  ns?: BackupNamespace
  type: BackupType
  id: string
  /** Epoch seconds (default: now). Must be newer than the group's last finished snapshot. */
  time?: number
  /** Auth id the backup runs as, e.g. `root@pam`; owner of a new group. */
  owner: string
  /** Encrypt with this key (a CryptConfig, or the raw 32 bytes which also work with workers). */
  crypt?: ChunkKey
  archives: readonly BackupArchive[]
  /** Called after every chunk and blob. */
  onProgress?: (progress: BackupProgress) => void
  /** Fixed index chunk size (default 4 MiB, as PBS servers always use). */
  fixedChunkSize?: number
  /** Average size for the dynamic chunker (default 4 MiB). */
  dynamicChunkSize?: number
  /** Worker threads for hashing and compression (default: automatic; 0 = this thread). */
  workers?: number
  /** Stream used for the source '-' (default process.stdin). */
  stdin?: Readable
  /** Aborts the backup (the snapshot is removed). */
  signal?: AbortSignal
}

/** Per-archive outcome. */
export interface BackupArchiveResult {
  /** Stored file name. */
  filename: string
  kind: 'fidx' | 'didx' | 'blob'
  /** Content bytes (images, dynamic archives) or plaintext bytes (blobs). */
  size: number
  /** Number of chunk references (0 for blobs). */
  chunks: number
}

/** What {@link backupSnapshot} returns. */
export interface BackupResult {
  ns: BackupNamespace
  snapshot: BackupDirRef
  manifest: BackupManifest
  stats: BackupStats
  archives: BackupArchiveResult[]
  /** True when this backup created the group. */
  createdGroup: boolean
  /** Wall time in milliseconds. */
  durationMs: number
}

/** Chunks in flight per worker (and for the inline codec, which overlaps only I/O). */
const WINDOW_PER_WORKER = 3
const INLINE_WINDOW = 4

/**
 * Backs up archives into a new snapshot of `type/id` and returns its manifest and statistics.
 * @throws ValidationError (names, time, sources), NotFoundError (namespace, source file),
 *   PermissionError (owner), ConflictError (time not newer), AlreadyExistsError,
 *   LockBusyError, CryptoError, StorageError, AbortedError
 * @example
 * const r = await backupSnapshot(store, { type: 'vm', id: '100', owner: 'root@pam',
 *   archives: [{ name: 'drive-scsi0.img', source: '/dev/vg/vm-100-disk-0' }, { name: 'qemu-server.conf', source: confBytes }] })
 */
export async function backupSnapshot(
  store: Datastore,
  options: BackupSnapshotOptions,
): Promise<BackupResult> {
  const started = Date.now()
  const ns = options.ns ?? BackupNamespace.ROOT
  const group = backupGroup(options.type, options.id)
  const time = checkBackupTime(options.time ?? Math.floor(Date.now() / 1000), 'backup-time')
  parseAuthid(options.owner, 'owner')
  const fixedChunkSize = options.fixedChunkSize ?? DEFAULT_CHUNK_SIZE
  if (!VALID_FIXED_CHUNK_SIZES.includes(fixedChunkSize)) {
    throw new ValidationError(
      'fixed chunk size',
      fixedChunkSize,
      'must be a power of two from 64 KiB to 4 MiB',
    )
  }
  const dynamicChunkSize = options.dynamicChunkSize ?? DEFAULT_CHUNK_SIZE
  new Chunker(dynamicChunkSize) // validates the average size now, before any lock
  const plans = planArchives(options.archives)

  const sources: ArchiveSource[] = []
  let session: BackupSession | undefined
  try {
    for (const p of plans) {
      const source = await openArchiveSource(p.input, options.stdin)
      sources.push(source)
      if (p.kind === 'fidx' && source.size === 0) {
        throw new ValidationError(
          'archive',
          p.name,
          'is empty - an image needs at least one byte (a fixed index has at least one chunk)',
        )
      }
      if (p.kind === 'blob' && source.size !== undefined && source.size > MAX_BLOB_SIZE) {
        throw new ValidationError(
          'archive',
          p.name,
          `is larger than the ${MAX_BLOB_SIZE} bytes a blob may hold`,
        )
      }
    }
    options.signal?.throwIfAborted()
    const sizes = sources.map((s, i) => (plans[i]!.kind === 'blob' ? 0 : s.size))
    const chunkedTotal = sizes.every((s) => s !== undefined)
      ? sizes.reduce<number>((a, s) => a + (s ?? 0), 0)
      : undefined
    const codec = createChunkCodec(options.crypt, options.workers ?? autoWorkerCount(chunkedTotal))
    session = await BackupSession.start(store, {
      ns,
      group,
      time,
      owner: options.owner,
      key: options.crypt,
      codec,
    })

    const allSizes = sources.map((s) => s.size)
    const allTotal = allSizes.every((s) => s !== undefined)
      ? allSizes.reduce<number>((a, s) => a + (s ?? 0), 0)
      : undefined
    let allBytes = 0
    const results: BackupArchiveResult[] = []
    const workers = session.codec.parallelism
    const window = workers > 0 ? workers * WINDOW_PER_WORKER + 2 : INLINE_WINDOW
    for (const [i, plan] of plans.entries()) {
      const source = sources[i]!
      let bytes = 0
      const report = (n: number): void => {
        bytes += n
        allBytes += n
        options.onProgress?.({
          archive: plan.filename,
          archiveIndex: i,
          archiveCount: plans.length,
          bytes,
          total: source.size,
          allBytes,
          allTotal,
        })
      }
      if (plan.kind === 'blob') {
        const data = await source.readAll(MAX_BLOB_SIZE)
        await session.addBlob(plan.filename, data)
        report(data.length)
        results.push({ filename: plan.filename, kind: 'blob', size: data.length, chunks: 0 })
      } else if (plan.kind === 'fidx') {
        const builder = new FixedIndexBuilder(fixedChunkSize, source.size)
        const n = await ingest(
          session,
          source.fixedChunks(fixedChunkSize),
          window,
          options.signal,
          (digest, len) => {
            builder.push(digest)
            report(len)
          },
        )
        if (bytes === 0)
          throw new ValidationError('archive', plan.name, 'is empty - an image needs at least one byte')
        await session.writeIndex(plan.filename, builder.finish(bytes), bytes)
        results.push({ filename: plan.filename, kind: 'fidx', size: bytes, chunks: n })
      } else {
        const builder = new DynamicIndexBuilder()
        const n = await ingest(
          session,
          source.dynamicChunks(new Chunker(dynamicChunkSize)),
          window,
          options.signal,
          (digest, len) => {
            builder.addChunk(len, digest)
            report(len)
          },
        )
        await session.writeIndex(plan.filename, builder.finish(), bytes)
        results.push({ filename: plan.filename, kind: 'didx', size: bytes, chunks: n })
      }
      await source.close()
    }
    options.signal?.throwIfAborted()
    const manifest = await session.finish()
    return {
      ns,
      snapshot: session.dir,
      manifest,
      stats: session.stats,
      archives: results,
      createdGroup: session.createdGroup,
      durationMs: Date.now() - started,
    }
  } catch (e) {
    await session?.abort().catch(() => undefined)
    throw abortedOr(e, options.signal)
  } finally {
    for (const s of sources) await s.close().catch(() => undefined)
  }
}

/** How one archive will be stored. */
interface ArchivePlan {
  name: string
  filename: string
  kind: 'fidx' | 'didx' | 'blob'
  input: ArchiveInput
}

/** Normalises names, rejects unknown extensions, duplicates and a second use of stdin. */
function planArchives(archives: readonly BackupArchive[]): ArchivePlan[] {
  if (archives === undefined || archives.length === 0) {
    throw new ValidationError('archives', archives, 'at least one archive is needed')
  }
  const seen = new Set<string>()
  let stdinUsed = false
  return archives.map((a) => {
    const filename = normalizeArchiveName(a.name, 'archive name')
    if (seen.has(filename)) throw new ValidationError('archive name', a.name, 'is given twice')
    seen.add(filename)
    if (a.source === '-') {
      if (stdinUsed) throw new ValidationError('archive source', '-', 'stdin can feed only one archive')
      stdinUsed = true
    }
    return { name: a.name, filename, kind: archiveType(filename), input: a.source }
  })
}

/**
 * Feeds chunks through the session with a bounded window and hands (digest, length) to `add`
 * strictly in input order (the dynamic index must be appended in order). Returns the count.
 */
async function ingest(
  session: BackupSession,
  chunks: AsyncIterable<Buffer>,
  window: number,
  signal: AbortSignal | undefined,
  add: (digest: Buffer, length: number) => void,
): Promise<number> {
  const queue: { digest: Promise<Buffer>; length: number }[] = []
  let n = 0
  try {
    for await (const data of chunks) {
      signal?.throwIfAborted()
      const length = data.length
      const digest = session.addChunk(data)
      digest.catch(() => undefined) // awaited below, in order; this only marks it handled
      queue.push({ digest, length })
      n++
      if (queue.length >= window) {
        const head = queue.shift()!
        add(await head.digest, head.length)
      }
    }
    for (const head of queue.splice(0)) add(await head.digest, head.length)
  } finally {
    // On failure let the rest settle so nothing writes after the snapshot is removed.
    await Promise.allSettled(queue.map((q) => q.digest))
  }
  return n
}

/** An abort surfaces as AbortedError whatever the underlying operation threw. */
function abortedOr(e: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && !(e instanceof AbortedError)) {
    return new AbortedError('backup aborted', {}, { cause: e })
  }
  return e
}
