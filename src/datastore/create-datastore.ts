import { mkdirSync } from 'node:fs'
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'

import { parseDatastoreName, parseSafeId } from '../api-types/index.js'
import {
  addDatastore,
  loadDatastoreConfig,
  updateDatastoreConfig,
  type DatastoreConfigEntry,
} from '../config/datastore-config.js'
import type { Installation } from '../config/installation.js'
import { ConflictError, DatastoreError, StorageError, ValidationError, errorMessage } from '../errors.js'
import { hostname } from 'node:os'

import type { DatastoreBackend } from '../backend/datastore-backend.js'
import { openS3ObjectStore, type S3ClientOverrides } from '../backend/open-backend.js'
import { S3Backend } from '../backend/s3/s3-backend.js'
import { S3_IN_USE_KEY } from '../backend/s3/s3-keys.js'
import { parseBucketName } from '../config/s3-config.js'
import { parseCacheSize } from './chunk-store.js'
import { configLock } from './config-lock.js'
import { Datastore } from './datastore.js'
import { refreshS3Cache } from './s3-refresh.js'

/** Options of createDatastore. */
export interface CreateDatastoreOptions {
  comment?: string
  /** An S3 datastore: the path becomes its local cache. */
  s3?: {
    /** Endpoint id in s3.cfg. */
    client: string
    bucket: string
    /** Take over a bucket whose `<store>/.in-use` names another host (then refresh the cache). */
    overwriteInUse?: boolean
    /** Local cache bound (PBS size syntax, e.g. `32GiB`). */
    maxCacheSize?: string
    /** Client tuning (tests). */
    overrides?: S3ClientOverrides
  }
}

/** Number of chunk prefix directories (`.chunks/0000` … `.chunks/ffff`). */
export const CHUNK_DIR_COUNT = 65536

/**
 * Creates a filesystem datastore: checks the directory is new or empty (dot entries and
 * lost+found allowed), lays out `.chunks/0000`…`ffff` and `.lock`, then registers it in
 * datastore.cfg. A failure after the layout removes what it created.
 * @throws ValidationError for a bad name or path, ConflictError for a used directory or name.
 */
export async function createDatastore(
  installation: Installation,
  name: string,
  path: string,
  options: CreateDatastoreOptions = {},
): Promise<Datastore> {
  parseDatastoreName(name, 'datastore name')
  if (typeof path !== 'string' || path === '')
    throw new ValidationError('path', path, 'must be a directory path')
  if (path.includes('\0')) throw new ValidationError('path', path, 'must not contain NUL bytes')
  const base = resolve(path)
  if (!isAbsolute(base)) throw new ValidationError('path', path, 'must resolve to an absolute path')
  if (options.comment !== undefined && /[\r\n]/.test(options.comment))
    throw new ValidationError('comment', options.comment, 'must be a single line')

  // Cheap early refusal; the authoritative check runs again under the config lock below.
  const s3 = options.s3
  if (s3 !== undefined) {
    parseBucketName(s3.bucket, 'bucket')
    parseSafeId(s3.client, 's3-endpoint')
    if (s3.maxCacheSize !== undefined) parseCacheSize(s3.maxCacheSize)
  }
  const entry: DatastoreConfigEntry = {
    name,
    path: base,
    ...(options.comment === undefined ? {} : { comment: options.comment }),
    backend:
      s3 === undefined
        ? { type: 'filesystem' }
        : {
            type: 's3',
            client: s3.client,
            bucket: s3.bucket,
            ...(s3.maxCacheSize === undefined ? {} : { 'max-cache-size': s3.maxCacheSize }),
          },
    tuning: {},
  }
  addDatastore(await loadDatastoreConfig(installation.etcDir), entry)

  // S3: refuse a bucket another host uses (spec §8.3) before touching anything locally.
  let backend: DatastoreBackend | undefined
  let reuse = false
  if (s3 !== undefined) {
    const objects = await openS3ObjectStore(installation.etcDir, entry, s3.overrides ?? {})
    backend = new S3Backend(objects, base)
    try {
      const inUse = await objects.getObject(S3_IN_USE_KEY)
      if (inUse !== undefined) {
        if (!s3.overwriteInUse) {
          let host = 'unknown'
          try {
            const h = (JSON.parse(inUse.toString('utf8')) as { hostname?: unknown }).hostname
            if (typeof h === 'string') host = h
          } catch {
            /* keep 'unknown' */
          }
          throw new ConflictError(
            `creating datastore '${name}' failed - Bucket already contains datastore in use by host ${host}`,
            { store: name, bucket: s3.bucket, host },
          )
        }
        reuse = true
      }
    } catch (e) {
      backend.close()
      throw e
    }
  }

  const existed = await checkEmptyDir(base)
  try {
    await mkdir(base, { recursive: true, mode: 0o755 })
    await layoutChunkStore(base)
    if (backend instanceof S3Backend)
      await backend.objects.putObject(S3_IN_USE_KEY, JSON.stringify({ hostname: hostname() }), {
        replace: true,
      })
    await updateDatastoreConfig(installation.etcDir, configLock(installation), (cfg) =>
      addDatastore(cfg, entry),
    )
    const store = new Datastore(installation, entry, backend)
    if (reuse) await refreshS3Cache(store)
    return store
  } catch (e) {
    if (backend instanceof S3Backend && !reuse)
      await backend.objects.deleteObjects([S3_IN_USE_KEY]).catch(() => undefined)
    backend?.close()
    // Leave the directory as we found it: nothing half-created stays behind.
    await rm(join(base, '.chunks'), { recursive: true, force: true }).catch(() => undefined)
    await rm(join(base, '.lock'), { force: true }).catch(() => undefined)
    if (!existed) await rm(base, { recursive: true, force: true }).catch(() => undefined)
    if (e instanceof DatastoreError) throw e
    throw new StorageError(
      `creating datastore '${name}' at '${base}' failed - ${errorMessage(e)}`,
      { store: name },
      { cause: e },
    )
  }
}

/** True when the directory exists (and is empty enough); throws when it is in use. */
async function checkEmptyDir(base: string): Promise<boolean> {
  let st
  try {
    st = await stat(base)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
  if (!st.isDirectory())
    throw new ConflictError(`path '${base}' exists and is not a directory`, { path: base })
  const entries = (await readdir(base)).filter((n) => !n.startsWith('.') && n !== 'lost+found')
  if (entries.length > 0)
    throw new ConflictError(`datastore path '${base}' is not empty (found '${entries[0]}')`, {
      path: base,
      found: entries.slice(0, 5),
    })
  if ((await readdir(base)).includes('.chunks'))
    throw new ConflictError(`datastore path '${base}' already holds a chunk store (.chunks)`, { path: base })
  return true
}

/**
 * Creates `.chunks` with its 65,536 prefix directories (mode 0750) and the empty `.lock` file.
 * mkdir is kernel-bound, so a synchronous loop is fastest; it yields every 4096 directories so a
 * server stays responsive.
 */
export async function layoutChunkStore(base: string): Promise<void> {
  const chunks = join(base, '.chunks')
  await mkdir(chunks, { mode: 0o750 })
  for (let start = 0; start < CHUNK_DIR_COUNT; start += 4096) {
    for (let i = start; i < start + 4096; i++)
      mkdirSync(join(chunks, i.toString(16).padStart(4, '0')), { mode: 0o750 })
    await new Promise((r) => setImmediate(r))
  }
  await writeFile(join(base, '.lock'), '', { mode: 0o644, flag: 'wx' })
}
