/**
 * The S3 snapshot move of one batch (≤ 512 locked snapshots of one group, oldest first), streamed
 * so that nothing waits for the whole batch (the old design listed every snapshot, then wrote the
 * intent with every key, then copied: a barrier that cost half the copy throughput):
 *
 *   1. write ONE intent naming every snapshot's source/target prefix and local paths - no keys, so
 *      it needs no listing first (s3-move-intent.ts); the listing (2) runs meanwhile, only the
 *      copies wait for the intent to be on disk (a LIST leaves nothing behind);
 *   2. list the source GROUP prefix (paged, 1000 keys per request: ~1 LIST per 200 snapshots of 5
 *      objects instead of one per snapshot), and send the CopyObject of each key of a batch
 *      snapshot as soon as its page arrives; the next page is requested first. All requests share
 *      the store's limiter (32 in flight), which stays full;
 *   3. in order, oldest first: once the listing has ended (only then is a snapshot's key list
 *      known to be complete - no key order is assumed) and the snapshot's copies succeeded,
 *      rename its cache dir - the commit point - and queue its source keys; every full
 *      DeleteObjects batch (1000 keys) goes out at once, while later snapshots still copy. The
 *      first failure stops new copies and the renames (a partial move stays a clean time split);
 *   4. roll back the uncommitted snapshots (delete the targets they copied, once every copy has
 *      settled), delete the remaining committed source keys, and remove the intent.
 *
 * Crash safety is that of the listed-keys design: a snapshot is either committed (cache dir at the
 * target; every target object was copied before the rename) or not (the source is untouched:
 * nothing is deleted before the commit). A recovery rolls forward by listing the source prefix,
 * back by listing the target prefix (s3-move-recovery.ts). When the intent is left behind it is
 * "settled" unless a request's outcome is unknown (an abort, or a copy that failed without any
 * answer): then the server may still apply it later, and a recovery waits for the grace period.
 * The group listing also returns the group's other snapshots (later batches) and owner/notes; a
 * huge group costs a full listing per batch of 512 - still far fewer LISTs than one per snapshot.
 */
import { renameSync } from 'node:fs'

import { formatSnapshotPath } from '../../api-types/index.js'
import { AbortedError, errorMessage } from '../../errors.js'
import type { MoveSnapshotsOptions, MoveSnapshotsResult, SnapshotMoveItem } from '../datastore-backend.js'
import { s3ErrorInfo } from './s3-errors.js'
import { groupPrefix, rebaseKey, snapshotPrefix } from './s3-keys.js'
import { S3MoveIntentFile, type S3MoveIntentEntry } from './s3-move-intent.js'
import { S3_BATCH_SIZE, type S3ObjectStore, type S3RequestOptions } from './s3-object-store.js'

/**
 * @internal Crash points for tests: when PBS_STORE_S3_MOVE_CRASH_AT names a step the process
 * exits there. Snapshot moves: `after-intent`, `after-copy`, `after-rename`, `after-delete`;
 * S3Backend: `after-owner-put`, `after-notes-put`, `after-group-delete`, `after-marker-put`,
 * `before-marker-delete`.
 */
export function crashPoint(step: string): void {
  if (process.env.PBS_STORE_S3_MOVE_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}

/** The intent entry of a move item. */
export function intentEntryOf(item: SnapshotMoveItem): S3MoveIntentEntry {
  return {
    sourceNs: item.sourceNs.toString(),
    targetNs: item.targetNs.toString(),
    snapshot: formatSnapshotPath(item.dir),
    sourcePrefix: snapshotPrefix(item.sourceNs, item.dir),
    targetPrefix: snapshotPrefix(item.targetNs, item.dir),
    sourcePath: item.sourcePath,
    targetPath: item.targetPath,
  }
}

/** Per-snapshot state of a running batch. */
interface SnapshotCopy {
  entry: S3MoveIntentEntry
  /** Source keys listed so far (all of them once `listed` resolved). */
  sources: string[]
  /** Target keys a copy was sent for. */
  targets: string[]
  /** The copies sent (each settles; failures are observed when the snapshot commits). */
  copies: Promise<void>[]
  /** Resolves when the listing of the snapshot's group has ended: `sources` is complete. */
  listed: Promise<void>
  /** A copy of this snapshot failed without an answer (or was aborted): the server may still apply it. */
  unknownOutcome: boolean
}

/** One listing of a source group prefix, feeding the batch snapshots in that group. */
interface GroupListing {
  prefix: string
  /** Batch snapshots of the group by time string, with their index in the batch. */
  byTime: Map<string, { s: SnapshotCopy; index: number }>
}

/**
 * Moves one batch of snapshots on S3 (see the module doc). Throws the first failure once the
 * state is consistent (or recorded in the intent); `options.onMoved(i)` runs after each commit.
 */
export async function moveSnapshotsS3(
  objects: S3ObjectStore,
  intentDir: string,
  items: readonly SnapshotMoveItem[],
  options: MoveSnapshotsOptions = {},
): Promise<MoveSnapshotsResult> {
  if (items.length === 0) return { moved: 0, warnings: [] }
  const signal = options.signal
  const req: S3RequestOptions = signal === undefined ? {} : { signal }
  const entries = items.map(intentEntryOf)
  const intentReady = S3MoveIntentFile.create(intentDir, entries).then((f) => {
    crashPoint('after-intent')
    return f
  })
  intentReady.catch(() => undefined) // awaited below

  const warnings: string[] = []
  /** Index of the first snapshot whose copy failed: it and later ones get no more copies. */
  let failedAt = Infinity
  /** The commit loop ended: a listing still running is of no use any more. */
  let done = false
  let failure: unknown
  let moved = 0

  const snaps: SnapshotCopy[] = entries.map((entry) => ({
    entry,
    sources: [],
    targets: [],
    copies: [],
    listed: Promise.resolve(),
    unknownOutcome: false,
  }))
  const groups = new Map<string, GroupListing>()
  for (const [index, item] of items.entries()) {
    const prefix = groupPrefix(item.sourceNs, item.dir)
    let g = groups.get(prefix)
    if (g === undefined) {
      g = { prefix, byTime: new Map() }
      groups.set(prefix, g)
    }
    g.byTime.set(item.dir.timeString, { s: snaps[index]!, index })
  }

  const copy = (s: SnapshotCopy, index: number, key: string): void => {
    const target = rebaseKey(key, s.entry.sourcePrefix, s.entry.targetPrefix)
    s.sources.push(key)
    s.targets.push(target)
    const p = intentReady
      .then(() => objects.copyObject(key, target, req))
      .catch((e: unknown) => {
        if (isUnknownOutcome(e)) s.unknownOutcome = true
        failedAt = Math.min(failedAt, index)
        throw e
      })
    p.catch(() => undefined) // observed by the commit loop or the rollback
    s.copies.push(p)
  }

  /**
   * Lists the group prefix to its end - no assumption on key order, so every batch snapshot's key
   * list is complete only then - and sends each batch snapshot's copies as their page arrives. The
   * next page is requested before this page's copies are queued, so the limiter never waits for it.
   */
  const listGroup = async (g: GroupListing): Promise<void> => {
    const pages = objects.listObjectPages(g.prefix, req)[Symbol.asyncIterator]()
    let next = pages.next()
    for (;;) {
      const page = await next
      if (page.done === true || done) return
      next = pages.next()
      next.catch(() => undefined) // awaited in the next round
      for (const o of page.value) {
        const rest = o.key.slice(g.prefix.length)
        const slash = rest.indexOf('/')
        if (slash < 0) continue // owner, notes
        const hit = g.byTime.get(rest.slice(0, slash))
        if (hit !== undefined && hit.index < failedAt) copy(hit.s, hit.index, o.key)
      }
    }
  }
  const listings = [...groups.values()].map((g) => {
    const p = listGroup(g).catch((e: unknown) => {
      failedAt = -1 // nothing more is copied
      throw e
    })
    p.catch(() => undefined) // observed through `listed`
    for (const { s } of g.byTime.values()) s.listed = p
    return p
  })

  let intent: S3MoveIntentFile
  try {
    intent = await intentReady
  } catch (e) {
    failedAt = -1 // no copy went out: nothing to undo
    await Promise.allSettled(listings)
    throw e
  }

  // Commits in order; committed source keys go out in full DeleteObjects batches meanwhile.
  const deletes: Promise<void>[] = []
  let queued: string[] = []
  let deleteFailures = 0
  let committedKeys = 0
  const flush = (): void => {
    if (queued.length === 0) return
    const keys = queued
    queued = []
    deletes.push(
      objects.deleteObjects(keys).then(
        () => undefined,
        (e: unknown) => {
          deleteFailures += keys.length
          warnings.push(
            `deleting ${keys.length} source object(s) of moved snapshots failed - ${errorMessage(e)}; the snapshots are moved, 'pbs-store s3 cleanup' removes the orphans`,
          )
        },
      ),
    )
  }
  for (const [i, s] of snaps.entries()) {
    try {
      if (signal?.aborted === true)
        throw new AbortedError(`moving snapshots aborted after ${moved} snapshot(s)`, { moved })
      await s.listed
      const results = await Promise.allSettled(s.copies)
      const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (bad !== undefined) throw bad.reason
      if (i === 0) crashPoint('after-copy')
      renameSync(s.entry.sourcePath, s.entry.targetPath)
    } catch (err) {
      failure = err
      failedAt = Math.min(failedAt, i)
      break
    }
    moved++
    options.onMoved?.(i)
    if (i === 0) crashPoint('after-rename')
    queued.push(...s.sources)
    committedKeys += s.sources.length
    if (queued.length >= S3_BATCH_SIZE) flush()
  }

  done = true
  let unknown = signal?.aborted === true
  try {
    // roll back the uncommitted snapshots once no copy can be sent any more and all have settled
    await Promise.allSettled(listings)
    const uncommitted = snaps.slice(moved)
    await Promise.allSettled(uncommitted.flatMap((s) => s.copies))
    if (uncommitted.some((s) => s.unknownOutcome)) unknown = true
    const targets = uncommitted.flatMap((s) => s.targets)
    if (targets.length > 0) {
      try {
        await objects.deleteObjects(targets)
      } catch (err) {
        // some targets may remain: the intent stays, and a recovery lists and deletes them
        warnings.push(
          `removing ${targets.length} partial target cop(ies) failed - ${errorMessage(err)}; 'pbs-store s3 cleanup' removes them`,
        )
      }
    }
    flush()
    await Promise.all(deletes)
    if (deleteFailures === 0 && committedKeys > 0) crashPoint('after-delete')
    if (warnings.length === 0 && !unknown) await intent.remove()
    else await intent.leave(!unknown)
  } catch (e) {
    await intent.leave(false)
    throw e
  }
  if (failure !== undefined)
    throw failure instanceof Error ? failure : new Error('moving snapshots failed', { cause: failure })
  return { moved, warnings }
}

/** A failure after which the request may still be applied: no HTTP answer arrived, or it was aborted. */
function isUnknownOutcome(e: unknown): boolean {
  if (e instanceof AbortedError) return true
  const data = (e as { data?: { status?: unknown } } | undefined)?.data
  if (typeof data?.status === 'number') return false
  const cause = e instanceof Error && e.cause !== undefined ? e.cause : e
  return s3ErrorInfo(cause).status === undefined
}
