/**
 * One running backup of a snapshot, in the order of spec §3.5 "Backup (writer)":
 *
 *  1. exclusive group lock (held to the end: one backup per group), group created with its owner;
 *  2. owner check;
 *  3. the last finished snapshot: the new time must be newer; unless its verify_state is
 *     `failed` it gets a shared snapshot lock (it cannot be pruned while we build on it);
 *  4. exclusive snapshot lock, then mkdir of the snapshot (which must not exist);
 *  5. shared chunk-store process lock (its timestamp bounds GC's cutoff);
 *  6. chunks (deduplicated against the store), indexes (`<name>.tmp_[fd]idx` + rename), blobs;
 *  7. finish: base and chunk-store locks dropped, manifest written LAST under the manifest lock
 *     (a snapshot without manifest is unfinished), syncfs for sync-level=filesystem, then the
 *     snapshot and group locks go.
 *
 * Any failure before the manifest removes the snapshot directory while the locks are still
 * held, and a group this backup created is removed again when it is left empty.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import {
  backupDir,
  formatBackupTime,
  formatGroupPath,
  ownerMatches,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import type { SyncLevel } from '../../config/datastore-config.js'
import {
  AlreadyExistsError,
  ConflictError,
  DatastoreError,
  PermissionError,
  StorageError,
  ValidationError,
  errorMessage,
} from '../../errors.js'
import {
  CryptConfig,
  encodeBlob,
  getVerifyState,
  newManifest,
  setChunkUploadStats,
  withSignature,
  type BackupManifest,
  type ChunkUploadStats,
  type ManifestFile,
} from '../../format/index.js'
import { fsyncDir, replaceFile } from '../../io/replace-file.js'
import { processLockFor, type LockGuard, type SharedGuard } from '../../lock/index.js'
import { chunkStoreFor, type ChunkStore } from '../chunk-store.js'
import type { Datastore } from '../datastore.js'
import { isErrno, removeFileIfExists } from '../fs-util.js'
import { createLockedGroup, GROUP_OWNER_FILE } from '../groups.js'
import { loadManifest, storeManifest } from '../manifest-io.js'
import { assertNamespaceExists } from '../namespaces.js'
import { syncFilesystem } from '../sync-fs.js'
import { listSnapshotRefs, listSnapshots } from '../snapshots.js'
import type { ChunkCodec, ChunkKey } from './chunk-codec.js'
import { InlineChunkCodec } from './chunk-codec.js'

/** What starting a backup needs. */
export interface BackupSessionOptions {
  ns: BackupNamespace
  group: BackupGroupRef
  /** Snapshot time, epoch seconds. */
  time: number
  /** Auth id the backup runs as; becomes the owner of a new group. */
  owner: string
  /** Encrypt chunks and blobs and sign the manifest with this key. */
  key?: ChunkKey | undefined
  /** Hashing/encoding engine (default: inline on this thread). The session closes it. */
  codec?: ChunkCodec | undefined
}

/** Counters of a backup (PBS chunk_upload_stats plus in-backup reuse). */
export interface BackupStats extends ChunkUploadStats {
  /** Chunk references that repeated a chunk already handled in this backup (not counted above). */
  reused: number
  /** References to the all-zero chunk. */
  zeroChunks: number
  /** Plaintext bytes of all archives. */
  bytes: number
}

/** The snapshot a backup builds on. */
export interface BackupBase {
  dir: BackupDirRef
  /** False when its verify_state is failed (then it is not locked and not used). */
  used: boolean
}

/** A running backup; obtain with {@link BackupSession.start}, end with finish() or abort(). */
export class BackupSession {
  readonly store: Datastore
  readonly ns: BackupNamespace
  readonly dir: BackupDirRef
  /** Absolute path of the snapshot directory. */
  readonly path: string
  /** The previous finished snapshot, if any. */
  readonly base: BackupBase | undefined
  /** True when this backup created the group. */
  readonly createdGroup: boolean
  readonly chunkStore: ChunkStore
  readonly codec: ChunkCodec
  readonly #crypt: CryptConfig | undefined
  readonly #syncLevel: SyncLevel
  readonly #locks: {
    group: LockGuard
    snapshot: LockGuard
    base: LockGuard | undefined
    chunkStore: SharedGuard | undefined
  }
  readonly #files: ManifestFile[] = []
  readonly #names = new Set<string>()
  readonly #seen = new Map<string, Promise<void>>()
  readonly #stats: BackupStats = {
    count: 0,
    size: 0,
    compressed_size: 0,
    duplicates: 0,
    reused: 0,
    zeroChunks: 0,
    bytes: 0,
  }
  #state: 'running' | 'finished' | 'aborted' = 'running'

  private constructor(fields: {
    store: Datastore
    ns: BackupNamespace
    dir: BackupDirRef
    base: BackupBase | undefined
    createdGroup: boolean
    crypt: CryptConfig | undefined
    codec: ChunkCodec
    locks: {
      group: LockGuard
      snapshot: LockGuard
      base: LockGuard | undefined
      chunkStore: SharedGuard | undefined
    }
  }) {
    this.store = fields.store
    this.ns = fields.ns
    this.dir = fields.dir
    this.path = fields.store.snapshotDir(fields.ns, fields.dir)
    this.base = fields.base
    this.createdGroup = fields.createdGroup
    this.#crypt = fields.crypt
    this.codec = fields.codec
    this.#locks = fields.locks
    this.chunkStore = chunkStoreFor(fields.store)
    this.#syncLevel = fields.store.config.tuning['sync-level'] ?? 'filesystem'
  }

  /**
   * Takes the locks and creates the snapshot directory (steps 1–5 above).
   * @throws NotFoundError (namespace), PermissionError (owner), ConflictError (time not newer),
   *   AlreadyExistsError (snapshot exists), LockBusyError, LegacyLockingError, StorageError
   */
  static async start(store: Datastore, options: BackupSessionOptions): Promise<BackupSession> {
    const { ns, group, time, owner } = options
    const dir = backupDir(group, time)
    const crypt =
      options.key === undefined
        ? undefined
        : options.key instanceof CryptConfig
          ? options.key
          : new CryptConfig(options.key)
    const codec = options.codec ?? new InlineChunkCodec(crypt)
    const groupName = store.describeGroup(ns, group)
    let groupLock: LockGuard | undefined
    let created = false
    let baseLock: LockGuard | undefined
    let snapLock: LockGuard | undefined
    let madeDir = false
    try {
      store.assertNewStyleLocking(`backup of group ${groupName}`)
      await assertNamespaceExists(store, ns)
      const g = await createLockedGroup(store, ns, group, owner)
      groupLock = g.lock
      created = g.created
      if (!ownerMatches(g.owner, owner)) {
        throw new PermissionError(`backup owner check failed (${owner} != ${g.owner})`, {
          group: formatGroupPath(group),
          owner: g.owner,
          authid: owner,
        })
      }

      const last = (await listSnapshots(store, ns, group)).filter((s) => s.finished).pop()
      let base: BackupBase | undefined
      if (last) {
        if (time <= last.dir.time) {
          throw new ConflictError(
            `backup time ${formatBackupTime(time)} is not newer than the last finished snapshot ${last.dir.timeString} of group ${groupName}`,
            { time: formatBackupTime(time), last: last.dir.timeString, group: formatGroupPath(group) },
          )
        }
        const { manifest } = await loadManifest(store, ns, last.dir)
        const used = getVerifyState(manifest)?.state !== 'failed'
        // Keeps the base from being pruned or forgotten while we run (its chunks are ours too).
        if (used) baseLock = await store.lockSnapshot(ns, last.dir, 'shared')
        base = { dir: last.dir, used }
      }

      snapLock = await store.lockSnapshot(ns, dir, 'exclusive')
      try {
        await mkdir(store.snapshotDir(ns, dir))
        madeDir = true
      } catch (e) {
        if (isErrno(e, 'EEXIST')) {
          throw new AlreadyExistsError(
            `snapshot ${store.describeSnapshot(ns, dir)} already exists on store '${store.name}'`,
            {
              snapshot: `${dir.type}/${dir.id}/${dir.timeString}`,
            },
          )
        }
        throw e
      }
      const chunkStoreLock = processLockFor(store.base).tryShared()
      return new BackupSession({
        store,
        ns,
        dir,
        base,
        createdGroup: created,
        crypt,
        codec,
        locks: { group: groupLock, snapshot: snapLock, base: baseLock, chunkStore: chunkStoreLock },
      })
    } catch (e) {
      if (madeDir)
        await rm(store.snapshotDir(ns, dir), { recursive: true, force: true }).catch(() => undefined)
      await baseLock?.release()
      if (snapLock) {
        await snapLock.release()
        if (madeDir)
          for (const f of store.snapshotLockFiles(ns, dir)) await removeFileIfExists(f).catch(() => undefined)
      }
      if (groupLock) {
        if (created) await removeGroupIfEmpty(store, ns, group)
        await groupLock.release()
      }
      await codec.close()
      throw e
    }
  }

  /** `encrypt` or `none`: the crypt mode of every file this backup writes. */
  get cryptMode(): 'encrypt' | 'none' {
    return this.#crypt ? 'encrypt' : 'none'
  }

  /** A copy of the counters so far. */
  get stats(): BackupStats {
    return { ...this.#stats }
  }

  /** The manifest entries so far. */
  get files(): readonly ManifestFile[] {
    return this.#files
  }

  /**
   * Hashes, deduplicates and stores one chunk; resolves to its digest once it is safely in the
   * store. The session takes ownership of `data`.
   */
  async addChunk(data: Buffer): Promise<Buffer> {
    this.#assertRunning()
    const job = await this.codec.begin(data)
    const length = job.length
    this.#stats.bytes += length
    if (job.zero) this.#stats.zeroChunks++
    const hex = job.digest.toString('hex')
    const earlier = this.#seen.get(hex)
    if (earlier) {
      job.release()
      this.#stats.reused++
      await earlier
      return job.digest
    }
    const stored = (async () => {
      const known = await this.chunkStore.knownChunkSize(job.digest, this.codec.encrypted)
      if (known !== undefined) {
        job.release()
        this.#count(length, known, true)
        return
      }
      const blob = await job.encode()
      try {
        const r = await this.chunkStore.insertChunk(blob, job.digest)
        this.#count(length, blob.length, r.duplicate)
      } catch (e) {
        throw this.#ioError(undefined, e) // the chunk store's error names the chunk
      }
    })()
    this.#seen.set(hex, stored)
    await stored
    return job.digest
  }

  #count(size: number, encoded: number, duplicate: boolean): void {
    this.#stats.count++
    this.#stats.size += size
    this.#stats.compressed_size += encoded
    if (duplicate) this.#stats.duplicates++
  }

  /**
   * Writes an index file (`disk.img.fidx`, `root.pxar.didx`): to `<name>.tmp_fidx|.tmp_didx`,
   * then renamed, and records it for the manifest with its content size and index csum.
   */
  async writeIndex(filename: string, bytes: Buffer, contentSize: number): Promise<ManifestFile> {
    this.#assertRunning()
    const ext = /\.(fidx|didx)$/.exec(filename)?.[1]
    if (ext === undefined)
      throw new ValidationError('index file name', filename, 'must end in .fidx or .didx')
    this.#claimName(filename)
    const target = join(this.path, filename)
    const tmp = join(this.path, `${filename.slice(0, -ext.length - 1)}.tmp_${ext}`)
    try {
      await writeFile(tmp, bytes, { mode: 0o644, flag: 'wx', flush: this.#syncLevel === 'file' })
      await rename(tmp, target)
      if (this.#syncLevel === 'file') await fsyncDir(this.path)
    } catch (e) {
      await unlink(tmp).catch(() => undefined)
      throw this.#ioError(`writing index '${filename}'`, e)
    }
    try {
      // indexes are written locally, then uploaded when closed (spec §8.4)
      await this.store.backend.putSnapshotFile(this.ns, this.dir, filename, bytes)
    } catch (e) {
      throw this.#ioError(`uploading index '${filename}'`, e)
    }
    const entry: ManifestFile = {
      filename,
      'crypt-mode': this.cryptMode,
      size: contentSize,
      csum: bytes.subarray(32, 64).toString('hex'),
    }
    this.#files.push(entry)
    return entry
  }

  /** Encodes `data` as a blob (compressed; encrypted with the key) and stores it as `filename`. */
  async addBlob(filename: string, data: Uint8Array): Promise<ManifestFile> {
    this.#assertRunning()
    if (!filename.endsWith('.blob'))
      throw new ValidationError('blob file name', filename, 'must end in .blob')
    this.#claimName(filename)
    const raw = encodeBlob(data, { compress: true, crypt: this.#crypt })
    try {
      await this.store.backend.putSnapshotFile(this.ns, this.dir, filename, raw) // S3 first (spec §8.4)
      await replaceFile(join(this.path, filename), raw, {
        mode: 0o644,
        sync: this.#syncLevel === 'file' ? 'file' : 'none',
      })
    } catch (e) {
      throw this.#ioError(`writing blob '${filename}'`, e)
    }
    this.#stats.bytes += data.length
    const entry: ManifestFile = {
      filename,
      'crypt-mode': this.cryptMode,
      size: raw.length,
      csum: createHash('sha256').update(raw).digest('hex'),
    }
    this.#files.push(entry)
    return entry
  }

  /**
   * Completes the backup (step 7): writes the manifest last, then releases every lock.
   * @throws ValidationError (no files), StorageError, LockBusyError; the snapshot is removed on failure.
   */
  async finish(): Promise<BackupManifest> {
    this.#assertRunning()
    try {
      await Promise.all(this.#seen.values())
      if (this.#files.length === 0) {
        throw new ValidationError(
          'backup',
          formatGroupPath(this.dir),
          'does not contain any archive (file count == 0)',
        )
      }
      if (
        this.base?.used &&
        !(await listSnapshotRefs(this.store, this.ns, this.dir)).some((d) => d.time === this.base!.dir.time)
      ) {
        throw new ConflictError(
          `base snapshot ${this.base.dir.timeString} was removed during the backup, chunks might be missing`,
        )
      }
      let manifest = newManifest(this.dir.type, this.dir.id, this.dir.time)
      manifest.files = [...this.#files]
      if (this.#crypt) manifest = withSignature(manifest, this.#crypt)
      await this.#locks.base?.release()
      this.#locks.chunkStore?.release()
      const { count, size, compressed_size, duplicates } = this.#stats
      manifest = setChunkUploadStats(manifest, { count, size, compressed_size, duplicates })
      await storeManifest(this.store, this.ns, this.dir, manifest)
      if (this.#syncLevel === 'filesystem') await syncFilesystem(this.store.base)
      this.#state = 'finished'
      await this.#releaseAll()
      return manifest
    } catch (e) {
      const failure = this.#ioError(undefined, e) // the manifest writer's error says what failed
      if (this.#state === 'running')
        await this.abort().catch((a: unknown) => {
          // the abort's failure must not hide why the backup failed
          throw new StorageError(
            `${failure.message}; removing the failed snapshot failed too - ${errorMessage(a instanceof Error && a.cause !== undefined ? a.cause : a)}`,
            failure.data,
            { cause: failure },
          )
        })
      throw failure
    }
  }

  /** Removes the snapshot directory (locks still held), then releases everything. Idempotent. */
  async abort(): Promise<void> {
    if (this.#state !== 'running') return
    this.#state = 'aborted'
    // In-flight chunk writes must end before the directory goes (they write to .chunks only, but
    // their failures must not surface as unhandled rejections).
    await Promise.allSettled(this.#seen.values())
    const errors: unknown[] = []
    // Uploaded indexes/blobs of the failed snapshot go too (prefix ends in '/').
    await this.store.backend.deleteSnapshot(this.ns, this.dir).catch((e: unknown) => errors.push(e))
    await rm(this.path, { recursive: true, force: true }).catch((e: unknown) => errors.push(e))
    await this.#releaseAll()
    for (const f of this.store.snapshotLockFiles(this.ns, this.dir))
      await removeFileIfExists(f).catch(() => undefined)
    if (errors.length > 0) throw this.#ioError('removing the failed snapshot', errors[0])
  }

  async #releaseAll(): Promise<void> {
    await this.#locks.base?.release()
    this.#locks.chunkStore?.release()
    await this.#locks.snapshot.release()
    let removedGroup = false
    if (this.#state === 'aborted' && this.createdGroup)
      removedGroup = await removeGroupIfEmpty(this.store, this.ns, this.dir)
    await this.#locks.group.release()
    if (removedGroup)
      await removeFileIfExists(this.store.groupLockFile(this.ns, this.dir)).catch(() => undefined)
    await this.codec.close()
  }

  #claimName(filename: string): void {
    if (this.#names.has(filename))
      throw new ValidationError('archive name', filename, 'is used twice in this backup')
    this.#names.add(filename)
  }

  #assertRunning(): void {
    if (this.#state !== 'running')
      throw new StorageError(`backup of snapshot ${this.#describe()} is already ${this.#state}`)
  }

  #describe(): string {
    return `${this.store.describeSnapshot(this.ns, this.dir)} on store '${this.store.name}'`
  }

  /** `e` naming this backup (and `action`, when the error does not say what failed). */
  #ioError(action: string | undefined, e: unknown): DatastoreError {
    const head = `backup of snapshot ${this.#describe()}: `
    const what = action === undefined ? '' : `${action} failed - `
    // storage errors (S3, I/O) come from layers that do not know the backup: name the snapshot
    if (e instanceof StorageError && !e.message.startsWith('backup of snapshot '))
      return new StorageError(`${head}${what}${e.message}`, e.data, { cause: e })
    if (e instanceof DatastoreError) return e
    return new StorageError(`${head}${what}${errorMessage(e)}`, {}, { cause: e })
  }
}

/**
 * Removes a group directory that holds nothing but its owner file (a group this backup created
 * and then failed to fill), and its owner object on S3. The caller holds the group lock.
 */
async function removeGroupIfEmpty(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<boolean> {
  const dir = store.groupDir(ns, group)
  try {
    const entries = await readdir(dir)
    if (entries.some((e) => e !== GROUP_OWNER_FILE)) return false
    // The owner object first (S3 before local, spec §8.4): a failure keeps both, never one alone.
    await store.backend.deleteGroupFile(ns, group, 'owner')
    await removeFileIfExists(join(dir, GROUP_OWNER_FILE))
    await rmdir(dir)
    // The type directory stays: another group's backup may be creating its group in it right now.
    return true
  } catch {
    return false
  }
}
