/**
 * The filesystem chunk store `<base>/.chunks` (spec §4.3, PBS `ChunkStore`): content-addressed
 * DataBlob files at `.chunks/<first 4 hex>/<64 hex digest>`.
 *
 * Invariants:
 * - A chunk file only ever appears whole: it is written to `<digest>.tmp_XXXXXX` and renamed.
 * - An existing chunk is never replaced by different content of the same identity unless the
 *   PBS insert rules say so (empty file, or a bigger copy). Every duplicate insert touches the
 *   atime (mtime untouched), which is what keeps a chunk alive through GC's sweep.
 * - Inserts and corrupt-renames of one digest are serialised within the process (PBS holds its
 *   chunk-store mutex for them); different digests proceed in parallel.
 */
import { constants, type BigIntStats } from 'node:fs'
import { lstat, open, readFile, rename, rm, stat, truncate, utimes } from 'node:fs/promises'
import { join } from 'node:path'

import type { DatastoreBackend } from '../backend/datastore-backend.js'

import type { SyncLevel } from '../config/datastore-config.js'
import {
  ConflictError,
  CorruptionError,
  DatastoreError,
  NotFoundError,
  StorageError,
  ValidationError,
  errorMessage,
} from '../errors.js'
import {
  COMPRESSED_BLOB_MAGIC_1_0,
  ENCR_COMPR_BLOB_MAGIC_1_0,
  ENCRYPTED_BLOB_MAGIC_1_0,
  UNCOMPRESSED_BLOB_MAGIC_1_0,
  blobIsCompressed,
  blobIsEncrypted,
  hasMagic,
  verifyBlobCrc,
} from '../format/index.js'
import { replaceFile } from '../io/replace-file.js'
import { CHUNK_LOCK_TIMEOUT_MS, acquireFileLock, chunkLockPath } from '../lock/index.js'
import type { Datastore } from './datastore.js'
import { isErrno } from './fs-util.js'

/** Outcome of {@link ChunkStore.insertChunk} (PBS returns `(is_duplicate, encoded_size)`). */
export interface InsertChunkResult {
  /** The chunk was already stored and was kept (its atime touched). */
  duplicate: boolean
  /** Size of the chunk file now on disk (the kept file's size for duplicates). */
  encodedSize: number
}

/** Highest `n` of `<digest>.<n>.bad`; when 0..9 all exist, 9 is overwritten (PBS next_bad_chunk_path). */
const MAX_BAD_INDEX = 9

/** Lowercase hex of a 32-byte digest given as bytes or hex. @throws ValidationError otherwise. */
export function digestToHex(digest: Uint8Array | string): string {
  if (typeof digest === 'string') {
    if (!/^[0-9a-f]{64}$/.test(digest))
      throw new ValidationError('chunk digest', digest, 'must be 64 lowercase hex digits')
    return digest
  }
  if (digest.length !== 32)
    throw new ValidationError('chunk digest', `${digest.length} bytes`, 'must be 32 bytes')
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex')
}

/** Serialises work per key (digest), like PBS's chunk-store mutex but without blocking other digests. */
class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>()

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => (release = resolve))
    const tail = previous.then(() => mine)
    this.#tails.set(key, tail)
    await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }
}

let mutexes: Map<string, KeyedMutex> | undefined
let caches: Map<string, ChunkCacheLru> | undefined

/**
 * The local chunk cache bound of an S3 store (spec §8.3), kept per process: chunks this process
 * wrote or fetched, least recently used first. Over the bound, the oldest file is truncated to a
 * zero-length marker (it keeps its name and atime: "known to be on S3").
 */
class ChunkCacheLru {
  readonly #sizes = new Map<string, number>()
  #total = 0

  /** Records an access; returns the digests to evict to stay within `limit` bytes. */
  touch(hex: string, size: number, limit: number | undefined): string[] {
    const old = this.#sizes.get(hex)
    if (old !== undefined) {
      this.#sizes.delete(hex)
      this.#total -= old
    }
    this.#sizes.set(hex, size)
    this.#total += size
    const evict: string[] = []
    if (limit === undefined) return evict
    for (const [k, v] of this.#sizes) {
      if (this.#total <= limit || k === hex) break
      this.#sizes.delete(k)
      this.#total -= v
      evict.push(k)
    }
    return evict
  }

  forget(hex: string): void {
    const old = this.#sizes.get(hex)
    if (old === undefined) return
    this.#sizes.delete(hex)
    this.#total -= old
  }
}

function cacheFor(chunkDir: string): ChunkCacheLru {
  caches ??= new Map()
  let c = caches.get(chunkDir)
  if (!c) {
    c = new ChunkCacheLru()
    caches.set(chunkDir, c)
  }
  return c
}

/** The remote side of an S3 store's chunk store: the backend, the chunk-lock root, the cache bound. */
export interface RemoteChunkOptions {
  backend: DatastoreBackend
  lockDir: string
  /** Bytes of chunk data kept locally (undefined = unbounded). */
  maxCacheBytes: number | undefined
}

/** Parses a PBS size (`32GiB`, `500MB`, `1024`) into bytes. @throws ValidationError */
export function parseCacheSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|K|M|G|T)?$/.exec(value.trim())
  if (m === null) throw new ValidationError('max-cache-size', value, "must be a size like '32GiB'")
  const units: Record<string, number> = {
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    TB: 1e12,
    K: 1024,
    KiB: 1024,
    M: 1024 ** 2,
    MiB: 1024 ** 2,
    G: 1024 ** 3,
    GiB: 1024 ** 3,
    T: 1024 ** 4,
    TiB: 1024 ** 4,
  }
  return Math.floor(Number(m[1]) * units[m[2] ?? 'B']!)
}

/** One mutex table per chunk directory, shared by every ChunkStore instance of this process. */
function mutexFor(chunkDir: string): KeyedMutex {
  mutexes ??= new Map()
  let m = mutexes.get(chunkDir)
  if (!m) {
    m = new KeyedMutex()
    mutexes.set(chunkDir, m)
  }
  return m
}

/** A datastore's chunk directory with PBS's insert, touch, load and corrupt-rename rules. */
export class ChunkStore {
  /** Datastore name (for messages). */
  readonly name: string
  /** `<base>/.chunks`. */
  readonly chunkDir: string
  /** How hard new chunk files are made durable (`tuning sync-level`). */
  readonly syncLevel: SyncLevel
  /** Set for an S3 store: the local chunk dir is a cache. */
  readonly remote: RemoteChunkOptions | undefined
  readonly #mutex: KeyedMutex

  /** Prefer {@link chunkStoreFor}. */
  constructor(name: string, base: string, syncLevel: SyncLevel = 'filesystem', remote?: RemoteChunkOptions) {
    this.name = name
    this.chunkDir = join(base, '.chunks')
    this.syncLevel = syncLevel
    this.remote = remote
    this.#mutex = mutexFor(this.chunkDir)
  }

  /** Takes the cross-process chunk lock of an S3 store (PBS: 3 h timeout for inserts). */
  async lockChunk(hex: string, timeoutMs = CHUNK_LOCK_TIMEOUT_MS): Promise<AsyncDisposable> {
    if (!this.remote) return { [Symbol.asyncDispose]: () => Promise.resolve() }
    return acquireFileLock(chunkLockPath(this.remote.lockDir, this.name, hex), {
      mode: 'exclusive',
      timeoutMs,
      what: `chunk '${hex}' on store '${this.name}'`,
    })
  }

  /**
   * S3 insert (spec §8.3 insert_chunk_cached): under the chunk lock, a local file (chunk or
   * marker) means "on S3": touch it and report a duplicate; otherwise conditional PUT, then the
   * local cache file, then drop a GC `.using` marker.
   */
  async #insertRemote(blob: Uint8Array, hex: string, remote: RemoteChunkOptions): Promise<InsertChunkResult> {
    blobIsEncrypted(blob) // rejects non-blobs before anything is uploaded
    await using _lock = await this.lockChunk(hex)
    const path = this.chunkPath(hex)
    const existing = await statIfExists(path)
    if (existing && existing.isFile() && (await touchKeepingMtime(path, existing))) {
      return { duplicate: true, encodedSize: existing.size === 0n ? blob.length : Number(existing.size) }
    }
    const put = await remote.backend.putChunk(hex, blob)
    await this.#cacheWrite(hex, blob)
    await rm(`${path}.using`, { force: true })
    return { duplicate: put === 'exists', encodedSize: blob.length }
  }

  /** Writes a chunk into the local cache and applies the cache bound. */
  async #cacheWrite(hex: string, blob: Uint8Array): Promise<void> {
    await replaceFile(this.chunkPath(hex), blob, {
      mode: 0o644,
      sync: this.syncLevel === 'file' ? 'file' : 'none',
    })
    await this.#cacheAccess(hex, blob.length)
  }

  async #cacheAccess(hex: string, size: number): Promise<void> {
    if (!this.remote) return
    for (const old of cacheFor(this.chunkDir).touch(hex, size, this.remote.maxCacheBytes)) {
      // eviction keeps a zero-length marker with the same name (and atime)
      await truncate(this.chunkPath(old), 0).catch(() => undefined)
    }
  }

  /** Drops a chunk from the in-process cache bookkeeping (GC removed it). */
  forgetCached(hex: string): void {
    cacheFor(this.chunkDir).forget(hex)
  }

  /** `.chunks/<pppp>/<digest>`. */
  chunkPath(digest: Uint8Array | string): string {
    const hex = digestToHex(digest)
    return join(this.chunkDir, hex.slice(0, 4), hex)
  }

  /**
   * Stores a chunk blob under its digest with the PBS rules (spec §4.3). The caller vouches that
   * `blob` belongs to `digest` (the backup writer computed both).
   * @throws CorruptionError (not a blob), ConflictError (encrypted over unencrypted, or two
   *   encrypted uncompressed copies of different size), StorageError (I/O, not a regular file).
   */
  insertChunk(blob: Uint8Array, digest: Uint8Array | string): Promise<InsertChunkResult> {
    const hex = digestToHex(digest)
    return this.#mutex.run(hex, async () => {
      try {
        if (this.remote) return await this.#insertRemote(blob, hex, this.remote)
        return await this.#insertLocked(blob, hex)
      } catch (e) {
        throw this.#wrap('inserting chunk', hex, e)
      }
    })
  }

  async #insertLocked(blob: Uint8Array, hex: string): Promise<InsertChunkResult> {
    const path = this.chunkPath(hex)
    const encrypted = blobIsEncrypted(blob) // also rejects non-blobs before anything is written
    const existing = await statIfExists(path)
    if (existing) {
      if (!existing.isFile())
        throw new StorageError('got unexpected file type (not a regular file)', { path })
      const oldSize = Number(existing.size)
      if (oldSize === blob.length) {
        await touchKeepingMtime(path, existing)
        return { duplicate: true, encodedSize: oldSize }
      }
      if (oldSize === 0) {
        // An empty file is the S3 cache marker (or a crash artefact): overwrite it.
      } else if (encrypted) {
        const magic = await readMagic(path)
        // The digest of encrypted data is keyed, so the same digest for unencrypted data is an attack.
        if (hasMagic(magic, UNCOMPRESSED_BLOB_MAGIC_1_0) || hasMagic(magic, COMPRESSED_BLOB_MAGIC_1_0)) {
          throw new ConflictError(
            'overwriting an unencrypted chunk with an encrypted chunk of the same digest is not allowed',
            {
              digest: hex,
            },
          )
        }
        // Two uncompressed encrypted copies must be the same size; one of them is invalid.
        if (hasMagic(magic, ENCRYPTED_BLOB_MAGIC_1_0) && !blobIsCompressed(blob)) {
          throw new ConflictError(
            'overwriting an existing encrypted chunk with a copy of different size is not allowed',
            {
              digest: hex,
              existingSize: oldSize,
              newSize: blob.length,
            },
          )
        }
        // Compressed sizes may differ between zstd versions: keep the first copy.
        await touchKeepingMtime(path, existing)
        return { duplicate: true, encodedSize: oldSize }
      } else if (oldSize < blob.length) {
        await touchKeepingMtime(path, existing)
        return { duplicate: true, encodedSize: oldSize }
      }
      // Existing copy is bigger (e.g. stored uncompressed): replace it with ours.
    }
    await replaceFile(path, blob, { mode: 0o644, sync: this.syncLevel === 'file' ? 'file' : 'none' })
    return { duplicate: false, encodedSize: blob.length }
  }

  /**
   * The backup writer's dedup check (PBS client "known chunk"): when a non-empty chunk file for
   * `digest` exists, touch its atime and return its size; otherwise undefined (insert it).
   * @throws ConflictError when an encrypted backup meets an unencrypted chunk of its digest.
   */
  knownChunkSize(digest: Uint8Array | string, encrypted: boolean): Promise<number | undefined> {
    const hex = digestToHex(digest)
    return this.#mutex.run(hex, async () => {
      try {
        const path = this.chunkPath(hex)
        const st = await statIfExists(path)
        if (!st || !st.isFile() || st.size === 0n) return undefined // the insert handles these cases
        if (encrypted) {
          const magic = await readMagic(path)
          if (!hasMagic(magic, ENCRYPTED_BLOB_MAGIC_1_0) && !hasMagic(magic, ENCR_COMPR_BLOB_MAGIC_1_0)) {
            throw new ConflictError('an unencrypted chunk exists with the digest of an encrypted chunk', {
              digest: hex,
            })
          }
        }
        if (!(await touchKeepingMtime(path, st))) return undefined // removed meanwhile: insert it
        return Number(st.size)
      } catch (e) {
        throw this.#wrap('checking chunk', hex, e)
      }
    })
  }

  /** Touches the atime of an existing chunk (PBS cond_touch_chunk); false when it does not exist. */
  async touchChunk(digest: Uint8Array | string): Promise<boolean> {
    const path = this.chunkPath(digest)
    const st = await statIfExists(path)
    return st !== undefined && (await touchKeepingMtime(path, st))
  }

  /** lstat of a chunk file, or undefined when it does not exist. */
  async statChunk(digest: Uint8Array | string): Promise<BigIntStats | undefined> {
    try {
      return await lstat(this.chunkPath(digest), { bigint: true })
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined
      throw this.#wrap('stat of chunk', digestToHex(digest), e)
    }
  }

  /**
   * Reads a chunk file and checks its magic and CRC (PBS load_chunk).
   * @throws NotFoundError (missing), CorruptionError (crc, magic, too short), StorageError (I/O).
   */
  async loadChunk(digest: Uint8Array | string, options: { fromRemote?: boolean } = {}): Promise<Buffer> {
    const hex = digestToHex(digest)
    if (this.remote) return this.#loadRemote(hex, this.remote, options.fromRemote ?? false)
    let raw: Buffer
    try {
      raw = await readFile(this.chunkPath(hex))
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        throw new NotFoundError(
          `loading chunk '${hex}' on store '${this.name}' failed - chunk file does not exist`,
          {
            store: this.name,
            digest: hex,
          },
        )
      }
      throw this.#wrap('loading chunk', hex, e)
    }
    try {
      verifyBlobCrc(raw)
    } catch (e) {
      throw this.#wrap('loading chunk', hex, e)
    }
    return raw
  }

  /**
   * S3 read (spec §8.3 cache.access): a local file with data is loaded; an empty or missing one is
   * fetched with GET and put into the cache. `fromRemote` (verify) always reads the bucket.
   */
  async #loadRemote(hex: string, remote: RemoteChunkOptions, fromRemote: boolean): Promise<Buffer> {
    let raw: Buffer | undefined
    try {
      if (!fromRemote) {
        try {
          const local = await readFile(this.chunkPath(hex))
          if (local.length > 0) raw = local
        } catch (e) {
          if (!isErrno(e, 'ENOENT')) throw e
        }
      }
      if (raw !== undefined) {
        verifyBlobCrc(raw)
        await this.#cacheAccess(hex, raw.length)
        return raw
      }
      raw = await remote.backend.getChunk(hex)
    } catch (e) {
      throw this.#wrap('loading chunk', hex, e)
    }
    if (raw === undefined)
      throw new NotFoundError(
        `loading chunk '${hex}' on store '${this.name}' failed - chunk object does not exist`,
        {
          store: this.name,
          digest: hex,
        },
      )
    try {
      verifyBlobCrc(raw)
    } catch (e) {
      throw this.#wrap('loading chunk', hex, e)
    }
    if (!fromRemote) {
      const fetched = raw
      await this.#mutex
        .run(hex, async () => {
          const st = await statIfExists(this.chunkPath(hex))
          if (st === undefined || st.size === 0n) await this.#cacheWrite(hex, fetched)
        })
        .catch(() => undefined) // a cache write failure must not fail the read
    }
    return raw
  }

  /**
   * Renames a corrupt chunk to `<digest>.<n>.bad`, n the first free of 0..9 (9 is overwritten
   * when all are taken), so the next backup stores a good copy. Returns the new path, or
   * undefined when the chunk file does not exist.
   */
  renameCorruptChunk(digest: Uint8Array | string): Promise<string | undefined> {
    const hex = digestToHex(digest)
    return this.#mutex.run(hex, async () => {
      const path = this.chunkPath(hex)
      let target = `${path}.${MAX_BAD_INDEX}.bad`
      for (let n = 0; n <= MAX_BAD_INDEX; n++) {
        const candidate = `${path}.${n}.bad`
        if ((await statIfExists(candidate)) === undefined) {
          target = candidate
          break
        }
      }
      let renamed = true
      try {
        await rename(path, target)
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw this.#wrap('renaming corrupt chunk', hex, e)
        renamed = false
      }
      if (this.remote) {
        // then copy the object to `….<n>.bad` and delete the original (spec §8.4)
        this.forgetCached(hex)
        const n = Number(/\.(\d)\.bad$/.exec(target)![1])
        try {
          await this.remote.backend.markChunkBad(hex, n)
        } catch (e) {
          throw this.#wrap('renaming corrupt chunk object', hex, e)
        }
        return target
      }
      return renamed ? target : undefined
    })
  }

  #wrap(action: string, hex: string, e: unknown): DatastoreError {
    const message = `${action} '${hex}' on store '${this.name}' failed - ${errorMessage(e)}`
    const data = { store: this.name, digest: hex, ...(e instanceof DatastoreError ? e.data : {}) }
    if (e instanceof DatastoreError) {
      const Ctor = e.constructor as new (
        m: string,
        d: Record<string, unknown>,
        o: ErrorOptions,
      ) => DatastoreError
      return e instanceof ValidationError ? e : new Ctor(message, data, { cause: e })
    }
    return new StorageError(message, data, { cause: e })
  }
}

/** The chunk store of a datastore, honouring its `sync-level`. */
export function chunkStoreFor(store: Datastore): ChunkStore {
  const max = store.config.backend['max-cache-size']
  return new ChunkStore(
    store.name,
    store.base,
    store.config.tuning['sync-level'] ?? 'filesystem',
    store.remote
      ? {
          backend: store.backend,
          lockDir: store.lockDir,
          maxCacheBytes: max === undefined ? undefined : parseCacheSize(max),
        }
      : undefined,
  )
}

/** stat (following symlinks, as PBS's metadata()) or undefined when missing. */
async function statIfExists(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true })
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

/**
 * Sets atime to now and puts the mtime back (utimensat with UTIME_OMIT in PBS; Node's utimes
 * always sets both). False when the file vanished in between.
 */
async function touchKeepingMtime(path: string, st: BigIntStats): Promise<boolean> {
  try {
    await utimes(path, Date.now() / 1000, Number(st.mtimeNs) / 1e9)
    return true
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false
    throw e
  }
}

/** The first 8 bytes of a file. */
async function readMagic(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY)
  try {
    const buf = Buffer.alloc(8)
    const { bytesRead } = await fh.read(buf, 0, 8, 0)
    if (bytesRead < 8)
      throw new CorruptionError(`chunk file '${path}' is too short (${bytesRead} bytes)`, { path })
    return buf
  } finally {
    await fh.close()
  }
}
