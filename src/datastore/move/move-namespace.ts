/**
 * move-namespace (spec/move.md §3): moves a namespace subtree to a new full path (rename
 * semantics; an existing target is merged into), group by group with the move-group routine.
 * Lock conflicts are deferred and retried once; other failures are recorded and the rest goes on.
 * With delete-source, only namespaces verifiably emptied by this move are removed, deepest first.
 */
import { join } from 'node:path'

import {
  BACKUP_TYPES,
  MAX_NAMESPACE_DEPTH,
  formatGroupPath,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import {
  ConflictError,
  DatastoreError,
  LockBusyError,
  NotFoundError,
  ValidationError,
  errorMessage,
} from '../../errors.js'
import type { Datastore } from '../datastore.js'
import { listSubdirs, removeEmptyDir } from '../fs-util.js'
import { listGroupRefs } from '../groups.js'
import { removeInterruptedGroupWork } from '../interrupted-group-work.js'
import { createNamespace, listChildNamespaces, listNamespaces, namespaceExists } from '../namespaces.js'
import { SILENT_LOG, ProgressTracker, throwIfAborted, type OperationContext } from '../operation-context.js'
import { listSnapshotRefs } from '../snapshots.js'
import type { GuardedObject } from '../../backend/datastore-backend.js'
import { MAX_SNAPSHOT_LOCKS, guarded, moveGroup, moveGroupAction, recoverS3Moves } from './move-group.js'
import { moveErrorCause, withMoveAction } from './with-move-action.js'

/**
 * Groups of one namespace moved at once on a remote (S3) backend. A group move is a chain of
 * round trips (owner PUT, listing, copies, DeleteObjects, group-prefix list and delete) that
 * leaves the store's request slots mostly idle for small groups; several at once fill them.
 * Each group keeps its own locks and its oldest-first order; the snapshot locks held at once stay
 * bounded by MAX_SNAPSHOT_LOCKS over all of them. On a filesystem groups move one by one.
 */
export const S3_PARALLEL_GROUPS = 4

/** Options of moveNamespace. */
export interface MoveNamespaceOptions extends OperationContext {
  /** Levels below the source to include (undefined = whole subtree, 0 = only its own groups). */
  maxDepth?: number
  /** Remove the emptied source namespaces (default true). */
  deleteSource?: boolean
  /** Merge groups into existing same-named target groups (default true). */
  mergeGroups?: boolean
}

/** A group left at the source. */
export interface FailedGroup {
  ns: string
  group: string
  /** 'retryable' = still lock-conflicted after the retry; 'fatal' = investigate before retrying. */
  kind: 'retryable' | 'fatal'
  error: string
}

/** What moveNamespace did. */
export interface MoveNamespaceResult {
  movedGroups: number
  movedSnapshots: number
  createdNamespaces: string[]
  removedNamespaces: string[]
  failed: FailedGroup[]
  warnings: string[]
}

/** The source subtree and its mapping, checked (spec §3.2): what both the move and its plan use. */
export interface NamespaceMapping {
  subtree: BackupNamespace[]
  map: (ns: BackupNamespace) => BackupNamespace
}

/**
 * Checks of spec §3.2 and the full mapping (length/depth failures surface before anything moves).
 * @throws ValidationError, NotFoundError
 */
export async function checkMoveNamespace(
  store: Datastore,
  source: BackupNamespace,
  target: BackupNamespace,
  maxDepth: number | undefined,
): Promise<NamespaceMapping> {
  const action = `moving namespace '${source.display()}' to '${target.display()}'`
  if (source.isRoot) throw new ValidationError('ns', '', 'cannot move root namespace')
  if (source.equals(target))
    throw new ValidationError('target-ns', target.toString(), 'source and target namespace must be different')
  if (!(await namespaceExists(store, source)))
    throw new NotFoundError(`${action} failed - source namespace '${source.display()}' does not exist`, {
      store: store.name,
    })
  const parent = target.parent()
  if (parent !== undefined && !(await namespaceExists(store, parent)))
    throw new NotFoundError(
      `${action} failed - target parent namespace '${parent.display()}' does not exist`,
      { store: store.name },
    )
  if (source.contains(target) !== undefined)
    throw new ValidationError(
      'target-ns',
      target.toString(),
      `cannot move namespace '${source.display()}' into its own subtree`,
    )
  const subtree = await listNamespaces(store, source, maxDepth)
  const deepest = subtree.reduce((d, ns) => Math.max(d, ns.depth - source.depth), 0)
  if (target.depth + deepest > MAX_NAMESPACE_DEPTH)
    throw new ValidationError(
      'target-ns',
      target.toString(),
      `namespace too deep - the source subtree is ${deepest} level(s) deep; at depth ${target.depth} that exceeds the maximum depth ${MAX_NAMESPACE_DEPTH}`,
    )
  const mapped = new Map<string, BackupNamespace>()
  for (const ns of subtree) mapped.set(ns.toString(), ns.mapPrefix(source, target, 'target-ns'))
  return { subtree, map: (ns) => mapped.get(ns.toString()) ?? ns.mapPrefix(source, target, 'target-ns') }
}

/**
 * Moves the namespace `source` to the full path `target`.
 * @throws ValidationError/NotFoundError (pre-checks), ConflictError when any group stayed behind
 *   (the error lists them, split into fatal and retryable), AbortedError, LegacyLockingError
 */
export async function moveNamespace(
  store: Datastore,
  source: BackupNamespace,
  target: BackupNamespace,
  options: MoveNamespaceOptions = {},
): Promise<MoveNamespaceResult> {
  const log = options.log ?? SILENT_LOG
  const action = `moving namespace '${source.display()}' to '${target.display()}'`
  store.assertNewStyleLocking(action)
  const { subtree, map } = await checkMoveNamespace(store, source, target, options.maxDepth)
  const result: MoveNamespaceResult = {
    movedGroups: 0,
    movedSnapshots: 0,
    createdNamespaces: [],
    removedNamespaces: [],
    failed: [],
    warnings: [],
  }

  // Parent before child; a failure here aborts before any group moved.
  for (const ns of subtree) {
    const t = map(ns)
    if (t.isRoot || (await namespaceExists(store, t))) continue
    // marker first, then mkdir (spec §8.4): journalled on S3, so a crash in between is reconciled
    await withMoveAction(
      `${action} failed - creating target namespace '${t.display()}'`,
      guarded(store, [marker(store, t)], () => createNamespace(store, t), store.backend.remote),
    )
    result.createdNamespaces.push(t.toString())
    log.info(`created namespace '${t.toString()}'`)
  }

  let total = 0
  const counts = new Map<string, number>()
  for (const ns of subtree)
    for (const g of await listGroupRefs(store, ns)) {
      const n = (await listSnapshotRefs(store, ns, g)).length
      counts.set(groupKey(ns, g), n)
      total += n
    }
  const progress = new ProgressTracker(total, 'snapshots', options.onProgress)
  const failedNs = new Map<string, BackupNamespace>()
  const deferred: { ns: BackupNamespace; group: BackupGroupRef }[] = []
  const causes = new Map<FailedGroup, string>()
  const moveOne = async (ns: BackupNamespace, group: BackupGroupRef, lastTry: boolean): Promise<void> => {
    throwIfAborted(options.signal, action)
    try {
      const r = await moveGroup(store, ns, group, map(ns), {
        mergeGroup: options.mergeGroups ?? true,
        progress,
        log,
        skipRecovery: true,
        ...signalOf(options),
      })
      result.movedGroups++
      result.movedSnapshots += r.movedSnapshots
      result.warnings.push(...r.warnings)
    } catch (e) {
      if (e instanceof DatastoreError && e.code === 'AbortedError') throw e
      const soft = e instanceof LockBusyError
      if (soft && !lastTry) {
        log.info(`deferring group '${formatGroupPath(group)}' in '${ns.display()}' - ${errorMessage(e)}`)
        deferred.push({ ns, group })
        return
      }
      log.warn(errorMessage(e))
      const failed: FailedGroup = {
        ns: ns.toString(),
        group: formatGroupPath(group),
        kind: soft ? 'retryable' : 'fatal',
        error: errorMessage(e),
      }
      result.failed.push(failed)
      causes.set(failed, moveErrorCause(moveGroupAction(group, ns, map(ns)), failed.error))
      failedNs.set(ns.toString(), ns)
    }
  }
  await recoverS3Moves(store, log, 'defer') // once for all groups (see skipRecovery)
  const parallel = store.backend.remote ? S3_PARALLEL_GROUPS : 1
  const weightOf = (ns: BackupNamespace, g: BackupGroupRef): number =>
    Math.min(counts.get(groupKey(ns, g)) ?? MAX_SNAPSHOT_LOCKS, MAX_SNAPSHOT_LOCKS)
  for (const ns of subtree) {
    let groups: BackupGroupRef[]
    try {
      groups = await listGroupRefs(store, ns) // lazily, one namespace at a time
    } catch (e) {
      log.warn(`listing groups of namespace '${ns.display()}' failed - ${errorMessage(e)}`)
      failedNs.set(ns.toString(), ns)
      continue
    }
    await runBounded(
      groups.map((g) => ({ weight: weightOf(ns, g), run: () => moveOne(ns, g, false) })),
      parallel,
    )
  }
  if (deferred.length > 0) log.info(`retrying ${deferred.length} lock-conflicted group(s)`)
  const retries = deferred.splice(0)
  await runBounded(
    retries.map(({ ns, group }) => ({ weight: weightOf(ns, group), run: () => moveOne(ns, group, true) })),
    parallel,
  )

  if (options.deleteSource ?? true)
    await removeEmptiedSources(store, subtree, failedNs, options.maxDepth, source, result, log)

  if (result.failed.length > 0) {
    const fatal = result.failed.filter((f) => f.kind === 'fatal')
    const retry = result.failed.filter((f) => f.kind === 'retryable')
    const list = (fs: FailedGroup[]): string =>
      fs.map((f) => `'${f.group}' in '${f.ns || 'root'}'`).join(', ')
    // a fatal group needs investigating: its cause goes in the task's error line, not just the log
    const withCause = (fs: FailedGroup[]): string =>
      fs.map((f) => `'${f.group}' in '${f.ns || 'root'}' (${causes.get(f) ?? f.error})`).join(', ')
    const parts = [
      `namespace move partially completed; ${result.failed.length} group(s) could not be moved and remain at source`,
    ]
    if (fatal.length) parts.push(`fatal (investigate before retrying): ${withCause(fatal)}`)
    if (retry.length)
      parts.push(`still locked (rerun move-namespace or move-group may succeed): ${list(retry)}`)
    throw new ConflictError(`${action} failed - ${parts.join('; ')}`, { store: store.name, ...result })
  }
  log.info(`moved ${result.movedGroups} group(s), ${result.movedSnapshots} snapshot(s)`)
  return result
}

function groupKey(ns: BackupNamespace, g: BackupGroupRef): string {
  return `${ns.toString()}\u0000${formatGroupPath(g)}`
}

/**
 * Runs tasks in order, at most `parallel` at once and at most MAX_SNAPSHOT_LOCKS of weight (the
 * snapshots a group move may lock) at once; a task heavier than that runs alone. The first
 * rejection (an abort: moveOne handles everything else) stops new tasks and is thrown once the
 * running ones ended.
 */
async function runBounded(
  tasks: readonly { weight: number; run: () => Promise<void> }[],
  parallel: number,
): Promise<void> {
  const running = new Set<Promise<void>>()
  let weight = 0
  let failed = false
  let failure: unknown
  for (const t of tasks) {
    const w = Math.min(Math.max(t.weight, 1), MAX_SNAPSHOT_LOCKS)
    while (running.size > 0 && (running.size >= parallel || weight + w > MAX_SNAPSHOT_LOCKS))
      await Promise.race(running)
    if (failed) break
    weight += w
    const p: Promise<void> = t
      .run()
      .catch((e: unknown) => {
        if (!failed) failure = e
        failed = true
      })
      .finally(() => {
        weight -= w
        running.delete(p)
      })
    running.add(p)
  }
  await Promise.all(running)
  if (failed) throw failure
}

function signalOf(o: OperationContext): { signal?: AbortSignal } {
  return o.signal === undefined ? {} : { signal: o.signal }
}

/** delete-source (§3.3 step 6): deepest first, only verifiably emptied namespaces, flat removes. */
async function removeEmptiedSources(
  store: Datastore,
  subtree: BackupNamespace[],
  failedNs: ReadonlyMap<string, BackupNamespace>,
  maxDepth: number | undefined,
  source: BackupNamespace,
  result: MoveNamespaceResult,
  log: NonNullable<OperationContext['log']>,
): Promise<void> {
  const attempted = new Set(subtree.map(String))
  const byDepth = [...subtree].sort((a, b) => b.depth - a.depth)
  for (const ns of byDepth) {
    if ([...failedNs.values()].some((f) => ns.contains(f) !== undefined)) {
      const w = `not removing source namespace '${ns.display()}' - it or a namespace below it still holds groups that could not be moved`
      log.warn(w)
      result.warnings.push(w)
      continue
    }
    const children = await listChildNamespaces(store, ns)
    const foreign = children.filter((c) => !attempted.has(c.toString()))
    if (foreign.length > 0) {
      const level = ns.depth - source.depth
      if (maxDepth === undefined || level < maxDepth) {
        const w = `not removing source namespace '${ns.display()}' - namespace '${foreign[0]!.display()}' was created during the move`
        log.warn(w)
        result.warnings.push(w)
      }
      continue // beyond max-depth: kept on purpose
    }
    const dir = store.namespaceDir(ns)
    // rmdir first, then the marker (spec §8.4): journalled on S3, so a crash in between cannot
    // leave the marker of a removed namespace (recovery deletes it, or puts it back if the
    // directory stayed)
    const guard = await store.backend.guardObjects([marker(store, ns)])
    let keepGuard = true
    try {
      for (const t of BACKUP_TYPES) {
        await removeInterruptedGroupWork(store, ns, t)
        await removeEmptyDir(join(dir, t))
      }
      await removeEmptyDir(join(dir, 'ns'))
      if (await removeEmptyDir(dir)) {
        try {
          await store.backend.removeNamespaceMarker(ns)
          keepGuard = false
        } catch (e) {
          const w = `removing the S3 marker of source namespace '${ns.display()}' failed - ${errorMessage(e)}; 'pbs-store s3 cleanup' removes it`
          log.warn(w)
          result.warnings.push(w)
        }
        result.removedNamespaces.push(ns.toString())
        log.info(`removed source namespace '${ns.display()}'`)
      } else {
        keepGuard = false
        const left = await listSubdirs(dir)
        const w = `source namespace '${ns.display()}' not fully removed - it still contains ${left.join(', ') || 'files'}`
        log.warn(w)
        result.warnings.push(w)
      }
    } finally {
      await guard.release(keepGuard)
    }
  }
}

/** The guard entry of a namespace marker. */
function marker(store: Datastore, ns: BackupNamespace): GuardedObject {
  return { kind: 'namespace-marker', ns, localPath: store.namespaceDir(ns) }
}
