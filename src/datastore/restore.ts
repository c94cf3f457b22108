/**
 * Restore: rebuild the exact bytes of an archive from a snapshot.
 *
 * The snapshot is held under a shared snapshot lock for the whole read (a concurrent forget or
 * prune cannot remove it), the index or blob is checked against the manifest (size and csum, as
 * the PBS client does), every chunk is CRC-checked on load, decrypted with the key, and its
 * digest and length are checked. Image chunks that are the all-zero chunk are not even read:
 * a file target gets a hole there (positional writes, then ftruncate to the full size).
 * A failed restore removes the target file it created.
 */
import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Writable } from 'node:stream'

import {
  BackupNamespace,
  MANIFEST_BLOB_NAME,
  archiveType,
  formatSnapshotPath,
  normalizeArchiveName,
  type BackupDirRef,
} from '../api-types/index.js'
import {
  AlreadyExistsError,
  CorruptionError,
  CryptoError,
  DatastoreError,
  StorageError,
  errorMessage,
} from '../errors.js'
import {
  chunkDigest,
  decodeBlob,
  lookupManifestFile,
  parseDynamicIndex,
  parseFixedIndex,
  serializeManifest,
  verifyManifestSignature,
  type CryptConfig,
  type DynamicIndex,
  type FixedIndex,
  type ManifestFile,
} from '../format/index.js'
import { chunkStoreFor, type ChunkStore } from './chunk-store.js'
import type { Datastore } from './datastore.js'
import { isErrno } from './fs-util.js'
import { loadManifest } from './manifest-io.js'
import { assertSnapshotExists } from './snapshots.js'

/** Progress of a restore. */
export interface RestoreProgress {
  /** Stored archive name. */
  archive: string
  /** Bytes restored so far (holes included). */
  bytes: number
  /** Total bytes of the archive. */
  total: number
}

/** Options of {@link restoreArchive}. */
export interface RestoreOptions {
  /** Namespace of the snapshot (default root). */
  ns?: BackupNamespace
  /** Key for encrypted archives; also checks the manifest signature. */
  crypt?: CryptConfig | undefined
  onProgress?: (progress: RestoreProgress) => void
  signal?: AbortSignal
}

/** What a restore did. */
export interface RestoreResult {
  /** Stored archive name (`disk.img.fidx`). */
  archive: string
  /** Bytes of the restored content. */
  size: number
  /** Chunks read from the store. */
  chunksRead: number
  /** Bytes left as holes (zero chunks not written). */
  sparseBytes: number
}

/** Chunk loads kept in flight ahead of the writer. */
const READ_AHEAD = 4

/**
 * Restores archive `archive` (`disk.img`, `disk.img.fidx`, `qemu-server.conf`, … or `index.json`
 * for the manifest as JSON) of snapshot `dir` to `target`: a file path that must not exist, or
 * a writable stream.
 * @throws NotFoundError (snapshot, archive), AlreadyExistsError (target exists), CryptoError
 *   (key missing or wrong), CorruptionError (size/csum/crc/digest mismatch), LockBusyError
 * @example await restoreArchive(store, parseSnapshotPath('vm/100/2026-04-16T17:18:23Z'), 'disk.img', '/tmp/disk.raw')
 */
export async function restoreArchive(
  store: Datastore,
  dir: BackupDirRef,
  archive: string,
  target: string | Writable,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const ns = options.ns ?? BackupNamespace.ROOT
  const manifestOnly = archive === 'index.json' || archive === MANIFEST_BLOB_NAME
  const filename = manifestOnly ? MANIFEST_BLOB_NAME : normalizeArchiveName(archive, 'archive name')
  await assertSnapshotExists(store, ns, dir)
  await using _lock = await store.lockSnapshot(ns, dir, 'shared')
  await assertSnapshotExists(store, ns, dir)
  const { manifest } = await loadManifest(store, ns, dir)
  if (options.crypt) verifyManifestSignature(manifest, options.crypt)

  const what = `archive '${filename}' of snapshot ${store.describeSnapshot(ns, dir)}`
  const sink = await openSink(target)
  try {
    let result: RestoreResult
    if (manifestOnly) {
      const text = Buffer.from(serializeManifest(manifest) + '\n')
      await sink.write(text, 0)
      result = { archive: filename, size: text.length, chunksRead: 0, sparseBytes: 0 }
    } else {
      const file = lookupManifestFile(manifest, filename)
      if (file['crypt-mode'] === 'encrypt' && !options.crypt) {
        throw new CryptoError(`restoring ${what} failed - it is encrypted, a key is needed`, {
          archive: filename,
        })
      }
      const path = join(store.snapshotDir(ns, dir), filename)
      const kind = archiveType(filename)
      result =
        kind === 'blob'
          ? await restoreBlob(path, file, sink, options.crypt)
          : await restoreIndex(chunkStoreFor(store), path, kind, file, sink, options)
    }
    await sink.finish(result.size)
    return result
  } catch (e) {
    await sink.fail()
    if (e instanceof DatastoreError && e.message.startsWith('restoring ')) throw e
    const message = `restoring ${what} of store '${store.name}' failed - ${errorMessage(e)}`
    const data = { store: store.name, snapshot: formatSnapshotPath(dir), archive: filename }
    if (e instanceof DatastoreError) {
      const Ctor = e.constructor as new (
        m: string,
        d: Record<string, unknown>,
        o: ErrorOptions,
      ) => DatastoreError
      throw e.code === 'ValidationError' ? e : new Ctor(message, { ...e.data, ...data }, { cause: e })
    }
    throw new StorageError(message, data, { cause: e })
  }
}

/** Reads, checks and decodes a blob archive. */
async function restoreBlob(
  path: string,
  file: ManifestFile,
  sink: Sink,
  crypt: CryptConfig | undefined,
): Promise<RestoreResult> {
  const raw = await readFile(path)
  checkAgainstManifest(file, raw.length, createHash('sha256').update(raw).digest('hex'))
  const data = decodeBlob(raw, crypt)
  await sink.write(data, 0)
  return { archive: file.filename, size: data.length, chunksRead: 0, sparseBytes: 0 }
}

/** PBS client `verify_file`: the downloaded index or blob must match the manifest. */
function checkAgainstManifest(file: ManifestFile, size: number, csum: string): void {
  if (size !== file.size)
    throw new CorruptionError(`wrong size for file '${file.filename}' (${size} != ${file.size})`)
  if (csum !== file.csum) throw new CorruptionError(`wrong checksum for file '${file.filename}'`)
}

/** Streams the chunks of a fixed or dynamic index to the sink. */
async function restoreIndex(
  chunks: ChunkStore,
  path: string,
  kind: 'fidx' | 'didx',
  file: ManifestFile,
  sink: Sink,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const raw = await readFile(path)
  const index: FixedIndex | DynamicIndex = kind === 'fidx' ? parseFixedIndex(raw) : parseDynamicIndex(raw)
  checkAgainstManifest(file, index.size, index.computeCsum().toString('hex'))
  const crypt = options.crypt
  // Only fixed indexes leave holes: their zero chunks all have the same one or two lengths.
  const zeroDigests = new Map<number, Buffer>()
  const isZeroChunk = (i: number, length: number): boolean => {
    if (kind !== 'fidx') return false
    let z = zeroDigests.get(length)
    if (!z) {
      z = chunkDigest(Buffer.alloc(length), crypt)
      zeroDigests.set(length, z)
    }
    return index.digest(i).equals(z)
  }
  const load = (i: number): Promise<Buffer> | undefined => {
    const { start, end } = index.chunkRange(i)
    if (isZeroChunk(i, end - start)) return undefined
    const p = chunks.loadChunk(index.digest(i))
    p.catch(() => undefined) // awaited in order below
    return p
  }
  const ahead: (Promise<Buffer> | undefined)[] = []
  let next = 0
  let bytes = 0
  let chunksRead = 0
  let sparseBytes = 0
  try {
    for (let i = 0; i < index.count; i++) {
      while (next < index.count && next < i + READ_AHEAD) ahead.push(load(next++))
      options.signal?.throwIfAborted()
      const pending = ahead.shift()
      const { start, end } = index.chunkRange(i)
      const length = end - start
      if (pending === undefined) {
        await sink.hole(start, length)
        sparseBytes += length
      } else {
        const blob = await pending
        const data = decodeChunk(blob, index.digest(i), length, crypt)
        await sink.write(data, start)
        chunksRead++
      }
      bytes += length
      options.onProgress?.({ archive: file.filename, bytes, total: index.size })
    }
  } finally {
    await Promise.allSettled(ahead.filter((p) => p !== undefined))
  }
  return { archive: file.filename, size: index.size, chunksRead, sparseBytes }
}

/** Decrypts/decompresses a chunk and checks digest and length. */
function decodeChunk(blob: Buffer, digest: Buffer, length: number, crypt: CryptConfig | undefined): Buffer {
  const hex = digest.toString('hex')
  let data: Buffer
  try {
    data = decodeBlob(blob, crypt, { expectedDigest: digest, checkCrc: false }) // CRC checked on load
  } catch (e) {
    const msg = `chunk '${hex}' - ${errorMessage(e)}`
    if (e instanceof CryptoError) throw new CryptoError(msg, e.data, { cause: e })
    throw new CorruptionError(msg, { digest: hex }, { cause: e })
  }
  if (data.length !== length) {
    throw new CorruptionError(`chunk '${hex}' has wrong length (${data.length} != ${length})`, {
      digest: hex,
    })
  }
  return data
}

/** Where restored bytes go. */
interface Sink {
  /** Writes `data` at `offset` (streams: the next bytes, offsets are sequential). */
  write(data: Buffer, offset: number): Promise<void>
  /** `length` zero bytes at `offset`: a hole in a file, zeros on a stream. */
  hole(offset: number, length: number): Promise<void>
  /** Done: files are truncated to `size` (making trailing holes real) and closed. */
  finish(size: number): Promise<void>
  /** Failed: a created file is removed. */
  fail(): Promise<void>
}

async function openSink(target: string | Writable): Promise<Sink> {
  if (typeof target !== 'string') return streamSink(target)
  let fh: FileHandle
  try {
    fh = await open(target, 'wx', 0o644)
  } catch (e) {
    if (isErrno(e, 'EEXIST'))
      throw new AlreadyExistsError(`restore target '${target}' already exists`, { target })
    throw new StorageError(
      `creating restore target '${target}' failed - ${errorMessage(e)}`,
      { target },
      { cause: e },
    )
  }
  let closed = false
  return {
    async write(data, offset) {
      let done = 0
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done)
        done += bytesWritten
      }
    },
    hole: () => Promise.resolve(),
    async finish(size) {
      await fh.truncate(size)
      closed = true
      await fh.close()
    },
    async fail() {
      if (!closed) await fh.close().catch(() => undefined)
      closed = true
      await unlink(target).catch(() => undefined)
    },
  }
}

function streamSink(stream: Writable): Sink {
  let zeros = Buffer.alloc(0)
  // A reader that goes away (EPIPE on stdout) must fail the restore, not crash the process.
  let failure: Error | undefined
  const onError = (e: Error): void => {
    failure ??= e
  }
  stream.on('error', onError)
  const write = async (data: Buffer): Promise<void> => {
    if (failure)
      throw new StorageError(`writing restore output failed - ${failure.message}`, {}, { cause: failure })
    if (stream.destroyed) throw new StorageError('restore output stream was closed')
    if (!stream.write(data)) await drained(stream)
  }
  return {
    write: (data) => write(data),
    hole: (_offset, length) => {
      if (zeros.length < length) zeros = Buffer.alloc(length)
      return write(zeros.subarray(0, length))
    },
    finish: () => {
      stream.off('error', onError)
      return failure
        ? Promise.reject(
            new StorageError(`writing restore output failed - ${failure.message}`, {}, { cause: failure }),
          )
        : Promise.resolve()
    },
    fail: () => {
      stream.off('error', onError)
      return Promise.resolve()
    },
  }
}

/** Waits for 'drain'; fails when the stream closes or errors first. */
function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain)
      stream.off('close', onClose)
      stream.off('error', onError)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new StorageError('restore output stream was closed'))
    }
    const onError = (e: Error): void => {
      cleanup()
      reject(new StorageError(`writing restore output failed - ${e.message}`, {}, { cause: e }))
    }
    stream.on('drain', onDrain)
    stream.on('close', onClose)
    stream.on('error', onError)
  })
}
