/**
 * Creates the backend of a configured datastore from its `backend` property string
 * (`type=s3,client=<endpoint id>,bucket=<bucket>`), reading the endpoint from s3.cfg and its
 * secret from s3.shadow.
 */
import type { DatastoreConfigEntry } from '../config/datastore-config.js'
import { getS3Endpoint, loadS3Config, loadS3Secret, s3StoreOptions } from '../config/s3-config.js'
import { ConfigError } from '../errors.js'
import type { DatastoreBackend } from './datastore-backend.js'
import { FilesystemBackend } from './filesystem/filesystem-backend.js'
import { S3Backend } from './s3/s3-backend.js'
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3/s3-object-store.js'

/** Client tuning that overrides s3.cfg (tests, benchmarks). */
export type S3ClientOverrides = Partial<
  Pick<S3ObjectStoreOptions, 'concurrency' | 'maxAttempts' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>
>

/**
 * Client tuning from the environment: PBS_STORE_S3_CONCURRENCY, PBS_STORE_S3_MAX_ATTEMPTS,
 * PBS_STORE_S3_RETRY_BASE_MS (for operators and for tests driving the CLI).
 */
export function s3OverridesFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientOverrides {
  const out: S3ClientOverrides = {}
  const num = (v: string | undefined): number | undefined =>
    v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined
  const c = num(env.PBS_STORE_S3_CONCURRENCY)
  if (c !== undefined) out.concurrency = c
  const a = num(env.PBS_STORE_S3_MAX_ATTEMPTS)
  if (a !== undefined) out.maxAttempts = a
  const b = num(env.PBS_STORE_S3_RETRY_BASE_MS)
  if (b !== undefined) {
    out.retryBaseDelayMs = b
    out.retryMaxDelayMs = Math.max(b, 200)
  }
  return out
}

/** The S3 client of an S3 datastore: bucket from the config, store prefix = datastore name. */
export async function openS3ObjectStore(
  etcDir: string,
  entry: DatastoreConfigEntry,
  overrides: S3ClientOverrides = {},
): Promise<S3ObjectStore> {
  const { client, bucket } = entry.backend
  if (client === undefined || bucket === undefined)
    throw new ConfigError(`datastore '${entry.name}' has backend type s3 without client and bucket`, {
      datastore: entry.name,
    })
  const endpoint = getS3Endpoint(await loadS3Config(etcDir), client)
  const secret = await loadS3Secret(etcDir, client)
  return new S3ObjectStore({
    ...s3StoreOptions(endpoint, secret, bucket),
    prefix: entry.name,
    ...s3OverridesFromEnv(),
    ...overrides,
  })
}

/** The backend of a datastore config entry. */
export async function openBackend(
  etcDir: string,
  entry: DatastoreConfigEntry,
  overrides: S3ClientOverrides = {},
): Promise<DatastoreBackend> {
  if (entry.backend.type !== 's3') return new FilesystemBackend()
  return new S3Backend(await openS3ObjectStore(etcDir, entry, overrides), entry.path)
}
