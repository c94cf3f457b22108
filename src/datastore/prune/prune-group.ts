import {
  MAX_NAMESPACE_DEPTH,
  formatSnapshotPath,
  parseMaxDepth,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import { ConflictError, LockBusyError, NotFoundError, errorMessage } from '../../errors.js'
import type { Datastore } from '../datastore.js'
import { assertGroupExists, listGroupRefs } from '../groups.js'
import { listNamespaces } from '../namespaces.js'
import { forgetSnapshot, listSnapshots } from '../snapshots.js'
import { computePruneInfo, type PruneMarkKind, type PruneReason } from './compute-prune-info.js'
import { formatKeepOptions, keepsSomething, type KeepOptions } from './keep-options.js'

/** How to run a prune. */
export interface PruneRunOptions {
  /** Only compute and report; change nothing. */
  dryRun?: boolean
  /** Receives one line per step (PBS task-log style). */
  log?: (line: string) => void
}

/** The outcome for one snapshot. */
export interface PruneEntry {
  readonly ns: BackupNamespace
  readonly dir: BackupDirRef
  readonly finished: boolean
  /** False when prune wants it gone. */
  readonly keep: boolean
  readonly protected: boolean
  readonly mark: PruneMarkKind
  /** The rule that kept it (undefined for removals). */
  readonly rule: PruneReason | undefined
  /** The rule's selector id, e.g. `2026/04/16` for keep-daily. */
  readonly selector?: string
  /** Set on execution for snapshots marked `remove`: whether they are gone now. */
  removed?: boolean
  /** Why a `remove` snapshot is still there (locked, protected meanwhile, vanished). */
  warning?: string
}

/** What prune did to one group. */
export interface PruneGroupResult {
  readonly ns: BackupNamespace
  readonly group: BackupGroupRef
  /** Every snapshot, oldest first (the PBS prune API order). */
  readonly entries: PruneEntry[]
  /** One line per snapshot that should have gone but stayed. */
  readonly warnings: string[]
}

/** What prune did to a namespace subtree. */
export interface PruneDatastoreResult {
  readonly groups: PruneGroupResult[]
  /** All entries, group by group, oldest first within a group. */
  readonly entries: PruneEntry[]
  readonly warnings: string[]
}

/** Errors that make one removal a warning instead of a failure (PBS logs every removal error as a warning). */
const SKIPPABLE = [LockBusyError, ConflictError, NotFoundError]

/**
 * Prunes one group (PBS prune API / prune job for one group): lists the snapshots, computes the
 * marks, then — unless `dryRun` — removes the `remove` ones OLDEST FIRST through forgetSnapshot
 * (exclusive snapshot lock + manifest lock, protected refused). A snapshot that is locked (reader,
 * verify, the base of a running backup), got protected or vanished meanwhile stays and becomes a
 * warning. The group lock is not taken, so prune may run during a backup; the group itself is
 * kept even when no snapshot is left.
 * @throws NotFoundError when the group does not exist; LegacyLockingError when PBS runs with old
 *   locking (removal only); other I/O errors of a removal propagate.
 * @example await pruneGroup(store, ns, { type: 'vm', id: '100' }, { keepDaily: 7 }, { dryRun: true })
 */
export async function pruneGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  keep: KeepOptions,
  opts: PruneRunOptions = {},
): Promise<PruneGroupResult> {
  if (!opts.dryRun) store.assertNewStyleLocking(`pruning group ${store.describeGroup(ns, group)}`)
  await assertGroupExists(store, ns, group)
  logHeader(store, ns, keep, opts)
  return pruneOneGroup(store, ns, group, keep, opts)
}

/**
 * Prunes every group of `ns` and of its sub-namespaces up to `maxDepth` levels below it (default
 * 7, the whole subtree), namespace by namespace, in PBS group order.
 * @throws ValidationError for a bad maxDepth, NotFoundError when `ns` does not exist.
 */
export async function pruneDatastore(
  store: Datastore,
  ns: BackupNamespace,
  maxDepth: number = MAX_NAMESPACE_DEPTH,
  keep: KeepOptions,
  opts: PruneRunOptions = {},
): Promise<PruneDatastoreResult> {
  const depth = parseMaxDepth(maxDepth)
  if (!opts.dryRun)
    store.assertNewStyleLocking(`pruning namespace '${ns.display()}' on store '${store.name}'`)
  const namespaces = await listNamespaces(store, ns, depth)
  logHeader(store, ns, keep, opts)
  const groups: PruneGroupResult[] = []
  for (const child of namespaces) {
    for (const g of await listGroupRefs(store, child))
      groups.push(await pruneOneGroup(store, child, g, keep, opts))
  }
  return { groups, entries: groups.flatMap((g) => g.entries), warnings: groups.flatMap((g) => g.warnings) }
}

function logHeader(store: Datastore, ns: BackupNamespace, keep: KeepOptions, opts: PruneRunOptions): void {
  if (!opts.log) return
  if (!keepsSomething(keep)) opts.log('No prune selection - keeping all files.')
  else
    opts.log(
      `retention options: ${[ns.isRoot ? '' : `--ns ${ns.toString()}`, formatKeepOptions(keep)].filter(Boolean).join(' ')}`,
    )
  opts.log(`Starting prune on store '${store.name}'${opts.dryRun ? ' (dry run)' : ''}`)
}

async function pruneOneGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  keep: KeepOptions,
  opts: PruneRunOptions,
): Promise<PruneGroupResult> {
  const log = opts.log ?? (() => {})
  const snapshots = (await listSnapshots(store, ns, group)).map((s) => ({ ...s, time: s.dir.time }))
  // Oldest first: removal order, log order and the PBS API's result order.
  const marks = computePruneInfo(snapshots, keep).reverse()
  const entries: PruneEntry[] = []
  const warnings: string[] = []
  log(`Pruning group ${store.describeGroup(ns, group)}`)
  for (const m of marks) {
    const entry: PruneEntry = {
      ns,
      dir: m.item.dir,
      finished: m.item.finished,
      keep: m.keep,
      protected: m.item.protected,
      mark: m.mark,
      rule: m.rule,
      ...(m.selector === undefined ? {} : { selector: m.selector }),
    }
    entries.push(entry)
    log(
      `${opts.dryRun ? 'would ' : ''}${m.mark} ${formatSnapshotPath(m.item.dir)}${m.rule && m.rule !== m.mark ? ` (${m.rule})` : ''}`,
    )
    if (m.keep || opts.dryRun) continue
    try {
      await forgetSnapshot(store, ns, m.item.dir)
      entry.removed = true
    } catch (e) {
      if (!SKIPPABLE.some((cls) => e instanceof cls)) throw e
      entry.removed = false
      entry.warning = `failed to remove snapshot ${store.describeSnapshot(ns, m.item.dir)} - ${errorMessage(e)}`
      warnings.push(entry.warning)
      log(`WARN: ${entry.warning}`)
    }
  }
  return { ns, group, entries, warnings }
}
