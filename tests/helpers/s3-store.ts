/**
 * An S3 datastore for tests: a temp installation, a fresh bucket on the run's moto server
 * (PBS_STORE_TEST_S3_ENDPOINT, started by scripts/run-tests.mjs), an s3.cfg endpoint pointing at
 * it (or at a fault proxy in front of it), and the datastore created through the engine.
 */
import { join } from 'node:path'

import { formatUpid } from '../../src/api-types/upid.js'
import type { S3ClientOverrides } from '../../src/backend/open-backend.js'
import type { S3Backend } from '../../src/backend/s3/s3-backend.js'
import { createS3Endpoint } from '../../src/config/s3-config.js'
import { createDatastore, type Datastore } from '../../src/datastore/index.js'
import {
  MOTO_ACCESS_KEY,
  MOTO_REGION,
  MOTO_SECRET_KEY,
  TEST_S3_ENDPOINT_ENV,
  createTestBucket,
} from './moto.js'
import { makeTempHome, type TempHome } from './temp-home.js'

/** The moto endpoint of this test run; fails loudly when the runner did not start one. */
export function s3TestEndpoint(): string {
  const ep = process.env[TEST_S3_ENDPOINT_ENV]
  if (ep === undefined || ep === '')
    throw new Error(`${TEST_S3_ENDPOINT_ENV} is not set - run S3 tests through scripts/run-tests.mjs`)
  return ep
}

/** A test S3 datastore. */
export interface S3TestStore {
  home: TempHome
  store: Datastore
  bucket: string
  backend: S3Backend
  /** Every key of the bucket under `<store>/`, relative, sorted. */
  keys(): Promise<string[]>
  cleanup(): Promise<void>
}

/**
 * Creates home, bucket, endpoint `ep1` (at `clientEndpoint`, default moto itself) and the S3
 * datastore `store1`. Retries are fast so fault tests stay quick.
 */
export async function makeS3Store(
  options: { clientEndpoint?: string; overrides?: S3ClientOverrides; name?: string } = {},
): Promise<S3TestStore> {
  const moto = s3TestEndpoint()
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const home = await makeTempHome('pbs-store-s3-')
  const bucket = await createTestBucket(moto)
  const etc = home.installation.etcDir
  const { mkdir } = await import('node:fs/promises')
  await mkdir(etc, { recursive: true })
  await createS3Endpoint(
    etc,
    (fn) => fn(),
    {
      id: 'ep1',
      endpoint: options.clientEndpoint ?? moto,
      accessKey: MOTO_ACCESS_KEY,
      region: MOTO_REGION,
      pathStyle: true,
    },
    MOTO_SECRET_KEY,
  )
  const overrides: S3ClientOverrides = { retryBaseDelayMs: 5, retryMaxDelayMs: 50, ...options.overrides }
  const store = await createDatastore(home.installation, options.name ?? 'store1', join(home.dir, 'cache'), {
    s3: { client: 'ep1', bucket, overrides },
  })
  const backend = store.backend as S3Backend
  // the CLI children get the same fast retries
  home.env.PBS_STORE_S3_RETRY_BASE_MS = '5'
  return {
    home,
    store,
    bucket,
    backend,
    keys: async () => {
      const out: string[] = []
      for await (const o of backend.objects.listObjects('')) out.push(o.key)
      return out.sort()
    },
    cleanup: async () => {
      store.close()
      await home.cleanup()
    },
  }
}

/** Snapshot-level keys of the bucket grouped by snapshot prefix (`.cnt/…/<type>/<id>/<time>/`). */
export function snapshotKeyMap(keys: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const k of keys) {
    const m = /^(\.cnt\/(?:.*\/)?(?:vm|ct|host)\/[^/]+\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\/)([^/]+)$/.exec(k)
    if (m === null) continue
    const list = out.get(m[1]!) ?? []
    list.push(m[2]!)
    out.set(m[1]!, list)
  }
  for (const v of out.values()) v.sort()
  return out
}

/** A verify UPID for tests. */
export function testUpid(): string {
  return formatUpid({
    node: 'testnode',
    pid: process.pid,
    pstart: 1,
    taskId: 0,
    starttime: Math.floor(Date.now() / 1000),
    workerType: 'verify',
    workerId: 'store1',
    authid: 'root@pam',
  })
}
