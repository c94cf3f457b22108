/**
 * move-group (spec/move.md §2): moves one backup group, with all its snapshots, to another
 * namespace of the same datastore, merging into an existing group when that is safe.
 *
 * Crash safety: every snapshot moves by one rename(2), oldest first, in batches of at most 512
 * exclusively locked snapshots; the index paths are journalled before the renames (GC race, §2.6).
 * Whatever the moment of a crash or abort, every snapshot is at exactly one place, and everything
 * at the target is older than everything still at the source — so a rerun (a merge) finishes it.
 */
import { rmSync } from 'node:fs'
import { readFile, readdir, rename, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import pLimit from 'p-limit'

import {
  formatGroupPath,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import {
  AbortedError,
  ConflictError,
  LockBusyError,
  NotFoundError,
  ValidationError,
  errorMessage,
} from '../../errors.js'
import type { GuardedObject, MoveRecoveryResult } from '../../backend/datastore-backend.js'
import type { LockGuard } from '../../lock/index.js'
import type { Datastore } from '../datastore.js'
import { isErrno, removeFileIfExists } from '../fs-util.js'
import {
  GROUP_NOTES_FILE,
  GROUP_OWNER_FILE,
  createLockedGroup,
  getOwner,
  groupExists,
  readNotes,
} from '../groups.js'
import { namespaceExists } from '../namespaces.js'
import { SILENT_LOG, ProgressTracker, throwIfAborted, type OperationContext } from '../operation-context.js'
import { listSnapshotRefs } from '../snapshots.js'
import { checkMergeInvariants } from './merge-check.js'
import { appendMoveJournal } from './move-journal.js'
import { groupRemovalTmpName } from '../interrupted-group-work.js'
import { removeStaleSnapshotLocks } from './stale-locks.js'
import { withMoveAction } from './with-move-action.js'

/** Most snapshot locks held at once (PBS MAX_SNAPSHOT_LOCKS). */
export const MAX_SNAPSHOT_LOCKS = 512

/** Options of moveGroup. */
export interface MoveGroupOptions extends OperationContext {
  /** Merge into an existing same-named target group (default true). */
  mergeGroup?: boolean
  /** Shared progress counter (namespace moves count all their snapshots in one). */
  progress?: ProgressTracker
  /**
   * @internal The caller ran the S3 move recovery already (a namespace move runs it once, so
   * groups moving in parallel never find each other's groups locked by a recovery).
   */
  skipRecovery?: boolean
}

/** What moveGroup did. */
export interface MoveGroupResult {
  group: BackupGroupRef
  sourceNs: BackupNamespace
  targetNs: BackupNamespace
  movedSnapshots: number
  /** The target group existed and received the snapshots. */
  merged: boolean
  warnings: string[]
}

/** Builds the "moving group … failed - …" prefix every move error carries. */
export function moveGroupAction(
  group: BackupGroupRef,
  sourceNs: BackupNamespace,
  targetNs: BackupNamespace,
): string {
  return `moving group '${formatGroupPath(group)}' from '${sourceNs.display()}' to '${targetNs.display()}'`
}

/**
 * Pre-flight checks 3–6 of spec §2.2, in order: namespaces differ, target namespace exists, source
 * group exists, target group absent unless merging. Run before locking and again after.
 * @throws ValidationError, NotFoundError, ConflictError
 */
export async function checkMoveGroup(
  store: Datastore,
  sourceNs: BackupNamespace,
  group: BackupGroupRef,
  targetNs: BackupNamespace,
  mergeGroup: boolean,
): Promise<void> {
  const action = moveGroupAction(group, sourceNs, targetNs)
  const data = {
    store: store.name,
    ns: sourceNs.toString(),
    targetNs: targetNs.toString(),
    group: formatGroupPath(group),
  }
  if (sourceNs.equals(targetNs))
    throw new ValidationError(
      'target-ns',
      targetNs.toString(),
      'source and target namespace must be different',
    )
  if (!(await namespaceExists(store, targetNs)))
    throw new NotFoundError(
      `${action} failed - target namespace '${targetNs.display()}' does not exist`,
      data,
    )
  if (!(await groupExists(store, sourceNs, group)))
    throw new NotFoundError(
      `${action} failed - group '${formatGroupPath(group)}' does not exist in namespace '${sourceNs.display()}'`,
      data,
    )
  if (!mergeGroup && (await groupExists(store, targetNs, group)))
    throw new ConflictError(`${action} failed - target group exists and merge-group is disabled`, data)
}

/**
 * Moves a group (the worker part, PBS lock_and_move_group). Lock conflicts are LockBusyError
 * (soft: retry later); everything else is a hard error. Either way the state stays consistent.
 * @throws LockBusyError (soft), ConflictError (merge refused), NotFoundError, ValidationError,
 *   LegacyLockingError, AbortedError, StorageError
 */
export async function moveGroup(
  store: Datastore,
  sourceNs: BackupNamespace,
  group: BackupGroupRef,
  targetNs: BackupNamespace,
  options: MoveGroupOptions = {},
): Promise<MoveGroupResult> {
  const action = moveGroupAction(group, sourceNs, targetNs)
  return withMoveAction(action, moveGroupUnchecked(store, sourceNs, group, targetNs, action, options))
}

async function moveGroupUnchecked(
  store: Datastore,
  sourceNs: BackupNamespace,
  group: BackupGroupRef,
  targetNs: BackupNamespace,
  action: string,
  options: MoveGroupOptions,
): Promise<MoveGroupResult> {
  const merge = options.mergeGroup ?? true
  const log = options.log ?? SILENT_LOG
  store.assertNewStyleLocking(action)
  await checkMoveGroup(store, sourceNs, group, targetNs, merge)
  // defer: a move must not sit out the grace of a crash that just happened (cleanup/GC finish it)
  if (options.skipRecovery !== true) await recoverS3Moves(store, log, 'defer')

  const sourceLock = await store.lockGroup(sourceNs, group)
  let targetLock: LockGuard | undefined
  try {
    // Authoritative re-check now that nobody else can change the source group.
    await checkMoveGroup(store, sourceNs, group, targetNs, merge)
    const sourceOwner = await getOwner(store, sourceNs, group)
    const target = await guarded(
      store,
      [groupFile(store, targetNs, group, 'owner')],
      () => createLockedGroup(store, targetNs, group, sourceOwner),
      // a new group's owner object goes up before the local rename (spec §8.4): journalled, so a
      // crash in between cannot leave the object without the group
      store.backend.remote && !(await groupExists(store, targetNs, group)),
    )
    targetLock = target.lock
    if (!target.created && !merge)
      throw new ConflictError(`${action} failed - target group exists and merge-group is disabled`, {
        store: store.name,
      })

    const snapshots = await listSnapshotRefs(store, sourceNs, group) // oldest first
    if (!target.created) {
      const conflict = checkMergeInvariants(
        sourceOwner,
        snapshots,
        target.owner,
        await listSnapshotRefs(store, targetNs, group),
      )
      if (conflict) {
        for (const d of conflict.details) log.info(d)
        throw new ConflictError(`${action} failed - ${conflict.reason}`, {
          store: store.name,
          kind: conflict.kind,
        })
      }
      log.info(
        `merging ${snapshots.length} snapshot(s) into existing group ${store.describeGroup(targetNs, group)}`,
      )
    }

    const progress =
      options.progress ?? new ProgressTracker(snapshots.length, 'snapshots', options.onProgress)
    const batchWarnings: string[] = []
    let moved = 0
    for (let start = 0; start < snapshots.length; start += MAX_SNAPSHOT_LOCKS) {
      throwIfAborted(options.signal, action)
      const batch = snapshots.slice(start, start + MAX_SNAPSHOT_LOCKS)
      moved += await moveSnapshotBatch(
        store,
        sourceNs,
        targetNs,
        batch,
        action,
        snapshots.length - moved,
        options,
        progress,
        batchWarnings,
      )
    }

    const warnings = [...batchWarnings, ...(await moveGroupNotes(store, sourceNs, targetNs, group, log))]
    warnings.push(...(await destroyEmptiedSourceGroup(store, sourceNs, group, log)))
    log.info(
      `moved ${moved} snapshot(s) of group '${formatGroupPath(group)}' from '${sourceNs.display()}' to '${targetNs.display()}'`,
    )
    return { group, sourceNs, targetNs, movedSnapshots: moved, merged: !target.created, warnings }
  } finally {
    await targetLock?.release()
    await sourceLock.release()
  }
}

/** Parallel lock, readdir and release calls per batch; renames stay strictly sequential. */
const BATCH_IO_CONCURRENCY = 16

/**
 * Locks a batch exclusively (all or nothing), journals its index paths, renames each snapshot
 * directory oldest first, removes the stale source lock files, and releases the batch.
 * Lock and readdir calls run in parallel (they are independent); the renames use renameSync in
 * order, because the order is what keeps a partial move a clean time split, and a synchronous
 * rename costs a tenth of a thread-pool round trip (a 512 batch blocks the loop for ~10 ms).
 */
async function moveSnapshotBatch(
  store: Datastore,
  sourceNs: BackupNamespace,
  targetNs: BackupNamespace,
  batch: readonly BackupDirRef[],
  action: string,
  remaining: number,
  options: MoveGroupOptions,
  progress: ProgressTracker,
  warnings: string[],
): Promise<number> {
  const limit = pLimit(BATCH_IO_CONCURRENCY)
  const locks: LockGuard[] = []
  let moved = 0
  try {
    const attempts = await Promise.allSettled(
      batch.map((snap) =>
        limit(async () => {
          const lock = await store.lockSnapshot(sourceNs, snap, 'exclusive')
          locks.push(lock)
        }),
      ),
    )
    const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected')
    if (failed) {
      const e: unknown = failed.reason
      if (e instanceof LockBusyError)
        throw new LockBusyError(
          `${action} failed - ${e.message}; ${remaining} snapshot(s) remain at the source (older ones already moved)`,
          {
            ...e.data,
            remaining,
          },
        )
      throw e
    }
    const indexLists = await Promise.all(
      batch.map((snap) =>
        limit(async () => {
          const targetDir = store.snapshotDir(targetNs, snap)
          return (await readdir(store.snapshotDir(sourceNs, snap)))
            .filter((f) => f.endsWith('.fidx') || f.endsWith('.didx'))
            .map((f) => join(targetDir, f))
        }),
      ),
    )
    await appendMoveJournal(store, indexLists.flat())
    // FS: renameSync per snapshot, oldest first. S3: list → parallel copy → the same ordered
    // renames (the commit points) → DeleteObjects, under an intent journal.
    try {
      const r = await store.backend.moveSnapshots(
        batch.map((snap) => ({
          sourceNs,
          targetNs,
          dir: snap,
          sourcePath: store.snapshotDir(sourceNs, snap),
          targetPath: store.snapshotDir(targetNs, snap),
        })),
        {
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onMoved: (i) => {
            moved++
            progress.add()
            for (const f of store.snapshotLockFiles(sourceNs, batch[i]!)) rmSync(f, { force: true })
          },
        },
      )
      for (const w of r.warnings) {
        ;(options.log ?? SILENT_LOG).warn(w)
        warnings.push(w)
      }
    } catch (e) {
      if (e instanceof AbortedError || options.signal?.aborted)
        throw new AbortedError(`${action} aborted after ${progress.done} snapshot(s)`, {
          moved: progress.done,
        })
      if (isErrno(e, 'EEXIST', 'ENOTEMPTY'))
        throw new ConflictError(
          `${action} failed - target snapshot ${batch[moved]?.timeString ?? ''} already exists`,
          { store: store.name },
        )
      throw e
    }
    return moved
  } finally {
    await Promise.all(locks.map((l) => limit(() => l.release())))
  }
}

/**
 * Group notes (§2.4): moved when only the source has them; when both differ the target's win
 * and a warning says so.
 */
async function moveGroupNotes(
  store: Datastore,
  sourceNs: BackupNamespace,
  targetNs: BackupNamespace,
  group: BackupGroupRef,
  log: NonNullable<OperationContext['log']>,
): Promise<string[]> {
  const sourceNotes = await readNotes(store, sourceNs, group)
  if (sourceNotes === undefined) return []
  const targetNotes = await readNotes(store, targetNs, group)
  if (targetNotes === undefined) {
    // S3: the target notes object first (replace), then the local rename (journalled: a crash in
    // between is reconciled); the source object goes with the source group prefix.
    await guarded(store, [groupFile(store, targetNs, group, 'notes')], async () => {
      await store.backend.putGroupFile(targetNs, group, 'notes', sourceNotes)
      await rename(
        join(store.groupDir(sourceNs, group), GROUP_NOTES_FILE),
        join(store.groupDir(targetNs, group), GROUP_NOTES_FILE),
      )
    })
    return []
  }
  if (targetNotes === sourceNotes) return []
  const w = `group notes differ - kept the notes of the target group ${store.describeGroup(targetNs, group)}, dropped the source's`
  log.warn(w)
  return [w]
}

/** The temporary name of an owner or notes write (replaceFile) that a crash interrupted. */
const DEAD_GROUP_TMP = new RegExp(`^(${GROUP_OWNER_FILE}|${GROUP_NOTES_FILE})\\.tmp_[A-Za-z0-9_-]{6}$`)

/** Removes the emptied source group under the still-held source lock (owner, notes, dir, lock files). */
async function destroyEmptiedSourceGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  log: NonNullable<OperationContext['log']>,
): Promise<string[]> {
  const dir = store.groupDir(ns, group)
  // The bucket side goes first, the local removal after: journalled, so that a crash in between
  // cannot leave a local group whose owner object is gone (recovery uploads it again).
  const guard = await store.backend.guardObjects([
    groupFile(store, ns, group, 'owner'),
    groupFile(store, ns, group, 'notes'),
  ])
  try {
    // owner, notes and any leftover objects under `<group>/` (the prefix ends in '/')
    await store.backend.deleteGroup(ns, group)
  } catch (e) {
    // The emptied group stays: its owner/notes objects go back up at once (the failed delete may
    // have removed them); if that fails too, the guard stays and the recovery does it.
    await guard.release(!(await restoreGroupFiles(store, ns, group)))
    const w = `source group ${store.describeGroup(ns, group)}: deleting its objects failed - ${errorMessage(e)}; the emptied group stays (a group forget removes it and its objects)`
    log.warn(w)
    return [w]
  }
  try {
    const entries = await readdir(dir)
    // A crash while the owner or notes were written (always under this group lock, which we
    // hold) leaves `owner.tmp_XXXXXX` / `notes.tmp_XXXXXX`: dead leftovers, removed with the group.
    const deadTmp = entries.filter((f) => DEAD_GROUP_TMP.test(f))
    const unexpected = entries.filter(
      (f) => f !== GROUP_NOTES_FILE && f !== GROUP_OWNER_FILE && !deadTmp.includes(f),
    )
    if (unexpected.length > 0) {
      // the group stays, so its owner/notes objects must too
      await guard.release(!(await restoreGroupFiles(store, ns, group)))
      const w = `source group ${store.describeGroup(ns, group)} not fully removed - unexpected files remain in ${dir}`
      log.warn(w)
      return [w]
    }
    // Hide the group with one rename before emptying it: a crash in between must never leave a
    // visible group without its owner file (a later move would refuse it as fatal).
    const hidden = join(store.typeDir(ns, group.type), groupRemovalTmpName(group.id))
    await rename(dir, hidden)
    for (const f of [GROUP_NOTES_FILE, GROUP_OWNER_FILE, ...deadTmp])
      await removeFileIfExists(join(hidden, f))
    await rmdir(hidden)
  } catch (e) {
    await guard.release(true)
    throw e
  }
  await guard.release()
  await removeStaleSnapshotLocks(store, ns, group)
  await removeFileIfExists(store.groupLockFile(ns, group))
  return []
}

/** Uploads the owner and notes files a group has locally (replace); false if any upload failed. */
async function restoreGroupFiles(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<boolean> {
  let ok = true
  for (const file of ['owner', 'notes'] as const) {
    const { localPath } = groupFile(store, ns, group, file)
    let text: string
    try {
      text = await readFile(localPath, 'utf8')
    } catch {
      continue // none
    }
    try {
      await store.backend.putGroupFile(ns, group, file, text)
    } catch {
      ok = false
    }
  }
  return ok
}

/** The guard entry of a group's owner or notes file. */
function groupFile(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  file: 'owner' | 'notes',
): GuardedObject {
  const name = file === 'owner' ? GROUP_OWNER_FILE : GROUP_NOTES_FILE
  return { kind: 'group-file', ns, group, file, localPath: join(store.groupDir(ns, group), name) }
}

/**
 * Runs `step` under a guard of `objects` (DatastoreBackend.guardObjects; `when` false: unguarded).
 * A failed step leaves the guard for the recovery, unless it failed on a lock, before any request.
 */
export async function guarded<T>(
  store: Datastore,
  objects: readonly GuardedObject[],
  step: () => Promise<T>,
  when = true,
): Promise<T> {
  if (!when) return step()
  const guard = await store.backend.guardObjects(objects)
  let result: T
  try {
    result = await step()
  } catch (e) {
    await guard.release(!(e instanceof LockBusyError))
    throw e
  }
  await guard.release()
  return result
}

/**
 * Finishes or rolls back the S3 moves a crash or failure left behind (every move starts with it;
 * `pbs-store s3 cleanup` and GC run it too). A no-op on the filesystem. `settle` (default 'wait'):
 * what to do with the rollback of a move whose process died less than the S3 grace period ago
 * (its last requests may still be applied): wait for the grace, or 'defer' it to a later recovery.
 */
export async function recoverS3Moves(
  store: Datastore,
  log: NonNullable<OperationContext['log']> = SILENT_LOG,
  settle: 'wait' | 'defer' = 'wait',
): Promise<MoveRecoveryResult> {
  const r = await store.backend.recoverMoves({
    lockSnapshot: (ns, dir) => store.lockSnapshot(ns, dir, 'exclusive'),
    lockGroup: (ns, group) => store.lockGroup(ns, group),
    settle,
    onWait: (ms) =>
      log.info(
        `S3 move recovery: waiting ${(ms / 1000).toFixed(1)} s for the last requests of a move that stopped just now`,
      ),
  })
  if (r.rolledForward + r.rolledBack > 0)
    log.info(
      `S3 move recovery: ${r.rolledForward} snapshot move(s) completed, ${r.rolledBack} rolled back, ${r.deletedObjects} object(s) deleted`,
    )
  if (r.deferred > 0)
    log.info(
      `S3 move recovery: ${r.deferred} move(s) stopped less than the grace period ago; rolling them back is left to a later recovery`,
    )
  for (const w of r.warnings) log.warn(w)
  return r
}
