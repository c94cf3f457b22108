/**
 * `s3 refresh` (spec §8.3 DataStore::s3_refresh): rebuilds the local mirror of the `.cnt` tree
 * from the bucket. Everything is downloaded into `<base>/tmp_XXXXXX/` first; only then are the
 * `vm`, `ct`, `host` and `ns` directories swapped in, so a failed download changes nothing.
 * Chunks are not downloaded (reads fetch them on demand). While it runs the datastore is in the
 * `s3-refresh` maintenance mode, so no new operation works on a tree that is being swapped; the
 * previous mode is restored afterwards, also when the refresh fails.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import pLimit from 'p-limit'

import { S3Backend } from '../backend/s3/s3-backend.js'
import { S3_CONTENT_PREFIX, S3_NAMESPACE_MARKER } from '../backend/s3/s3-keys.js'
import { StorageError, ValidationError, errorMessage } from '../errors.js'
import type { Datastore } from './datastore.js'
import { setMaintenanceMode } from './maintenance.js'

/** What a refresh did. */
export interface S3RefreshResult {
  /** Objects downloaded (snapshot files, owner, notes, markers). */
  downloaded: number
  /** Namespace directories created from `.namespace` markers. */
  namespaces: number
  bytes: number
}

const TOP_DIRS = ['vm', 'ct', 'host', 'ns'] as const
const SAFE_SEGMENT = /^[A-Za-z0-9_.:+-][A-Za-z0-9_.:+ -]*$/

/**
 * Rebuilds the local cache's content tree from the bucket, in the `s3-refresh` maintenance mode.
 * @throws ValidationError for a filesystem store, StorageError when listing or a download fails.
 */
export async function refreshS3Cache(store: Datastore): Promise<S3RefreshResult> {
  if (!(store.backend instanceof S3Backend))
    throw new ValidationError('store', store.name, 'is not an S3 datastore (nothing to refresh)')
  const previous = await setMaintenanceMode(store.installation, store.name, { type: 's3-refresh' })
  // A refresh that finishes also ends an s3-refresh mode left by a reused bucket or a crash.
  const restore = previous?.type === 's3-refresh' ? undefined : previous
  const progress = { swapping: false }
  try {
    const result = await downloadContentTree(store, store.backend, progress)
    await setMaintenanceMode(store.installation, store.name, restore)
    return result
  } catch (e) {
    // Failed while swapping: the cache is half old, half new - stay in maintenance until a rerun.
    if (!progress.swapping)
      await setMaintenanceMode(store.installation, store.name, previous).catch(() => undefined)
    throw e
  }
}

/** Downloads `.cnt` into a tmp dir, then swaps the content directories in. */
async function downloadContentTree(
  store: Datastore,
  backend: S3Backend,
  progress: { swapping: boolean },
): Promise<S3RefreshResult> {
  const tmp = await mkdtemp(join(store.base, 'tmp_'))
  const result: S3RefreshResult = { downloaded: 0, namespaces: 0, bytes: 0 }
  try {
    const limit = pLimit(backend.objects.concurrency)
    const jobs: Promise<void>[] = []
    for await (const o of backend.objects.listObjects(`${S3_CONTENT_PREFIX}/`)) {
      const rel = o.key.slice(S3_CONTENT_PREFIX.length + 1)
      const parts = rel.split('/')
      // keys come from the bucket: never let one leave the tmp dir
      if (parts.some((p) => p === '' || p === '.' || p === '..' || !SAFE_SEGMENT.test(p))) continue
      const local = join(tmp, ...parts)
      if (parts[parts.length - 1] === S3_NAMESPACE_MARKER) {
        await mkdir(dirname(local), { recursive: true })
        result.namespaces++
        continue
      }
      jobs.push(
        limit(async () => {
          const body = await backend.objects.getObject(o.key)
          if (body === undefined) return // deleted while listing
          await mkdir(dirname(local), { recursive: true })
          await writeFile(local, body, { mode: 0o644 })
          result.downloaded++
          result.bytes += body.length
        }),
      )
    }
    await Promise.all(jobs)
    progress.swapping = true
    for (const top of TOP_DIRS) {
      await rm(join(store.base, top), { recursive: true, force: true })
      await rename(join(tmp, top), join(store.base, top)).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      })
    }
    return result
  } catch (e) {
    throw new StorageError(
      `refreshing the cache of datastore '${store.name}' from S3 failed - ${errorMessage(e)}`,
      { store: store.name },
      { cause: e },
    )
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
