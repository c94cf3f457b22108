/**
 * Dry-run plans for moves: what would move where, merges, conflicts with their reasons, and the
 * namespaces that would be created and removed. Nothing is changed and nothing is locked.
 */
import { formatGroupPath, type BackupGroupRef, type BackupNamespace } from '../../api-types/index.js'
import { errorMessage } from '../../errors.js'
import type { Datastore } from '../datastore.js'
import { getOwner, groupExists, listGroupRefs, readNotes } from '../groups.js'
import { listChildNamespaces, namespaceExists } from '../namespaces.js'
import { listSnapshotRefs } from '../snapshots.js'
import { checkMergeInvariants } from './merge-check.js'
import { checkMoveGroup } from './move-group.js'
import { checkMoveNamespace, type MoveNamespaceOptions } from './move-namespace.js'

/** The plan for one group. */
export interface GroupMovePlan {
  ns: string
  'target-ns': string
  group: string
  snapshots: number
  /** 'create' = new group at the target; 'merge' = into the existing one; 'conflict' = would fail. */
  action: 'create' | 'merge' | 'conflict'
  'target-snapshots': number
  /** Why it would fail (merge refused, …). */
  conflict?: string
  notes: 'none' | 'move' | 'keep-target' | 'identical'
}

/** A whole move plan (group or namespace move). */
export interface MovePlan {
  store: string
  groups: GroupMovePlan[]
  'create-namespaces': string[]
  'remove-namespaces': string[]
  'total-snapshots': number
  conflicts: number
}

/** Plans one group (pre-checks throw as the real move would). */
export async function planGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  targetNs: BackupNamespace,
  merge: boolean,
  targetNsWillExist = false,
): Promise<GroupMovePlan> {
  if (!targetNsWillExist) await checkMoveGroup(store, ns, group, targetNs, merge)
  const snaps = await listSnapshotRefs(store, ns, group)
  const base = {
    ns: ns.toString(),
    'target-ns': targetNs.toString(),
    group: formatGroupPath(group),
    snapshots: snaps.length,
  }
  const sourceNotes = await readNotes(store, ns, group)
  if (!(await namespaceExists(store, targetNs)) || !(await groupExists(store, targetNs, group)))
    return {
      ...base,
      action: 'create',
      'target-snapshots': 0,
      notes: sourceNotes === undefined ? 'none' : 'move',
    }
  const targetSnaps = await listSnapshotRefs(store, targetNs, group)
  const targetNotes = await readNotes(store, targetNs, group)
  const notes =
    sourceNotes === undefined
      ? 'none'
      : targetNotes === undefined
        ? 'move'
        : targetNotes === sourceNotes
          ? 'identical'
          : 'keep-target'
  if (!merge)
    return {
      ...base,
      action: 'conflict',
      'target-snapshots': targetSnaps.length,
      conflict: 'target group exists and merging is disabled',
      notes,
    }
  let conflict: string | undefined
  try {
    conflict = checkMergeInvariants(
      await getOwner(store, ns, group),
      snaps,
      await getOwner(store, targetNs, group),
      targetSnaps,
    )?.reason
  } catch (e) {
    conflict = errorMessage(e)
  }
  return conflict === undefined
    ? { ...base, action: 'merge', 'target-snapshots': targetSnaps.length, notes }
    : { ...base, action: 'conflict', 'target-snapshots': targetSnaps.length, conflict, notes }
}

/** Plans a move of several groups from one namespace to another. */
export async function planMoveGroups(
  store: Datastore,
  ns: BackupNamespace,
  groups: readonly BackupGroupRef[],
  targetNs: BackupNamespace,
  merge: boolean,
): Promise<MovePlan> {
  const plans: GroupMovePlan[] = []
  for (const g of groups) plans.push(await planGroup(store, ns, g, targetNs, merge))
  return summarise(store, plans, [], [])
}

/** Plans a namespace move (same checks and mapping as the real one). */
export async function planMoveNamespace(
  store: Datastore,
  source: BackupNamespace,
  target: BackupNamespace,
  options: Pick<MoveNamespaceOptions, 'maxDepth' | 'deleteSource' | 'mergeGroups'> = {},
): Promise<MovePlan> {
  const { subtree, map } = await checkMoveNamespace(store, source, target, options.maxDepth)
  const create: string[] = []
  for (const ns of subtree) {
    const t = map(ns)
    if (!t.isRoot && !(await namespaceExists(store, t))) create.push(t.toString())
  }
  const plans: GroupMovePlan[] = []
  for (const ns of subtree)
    for (const g of await listGroupRefs(store, ns))
      plans.push(await planGroup(store, ns, g, map(ns), options.mergeGroups ?? true, true))
  const remove: string[] = []
  if (options.deleteSource ?? true) {
    const attempted = new Set(subtree.map(String))
    const blocked = new Set(plans.filter((p) => p.action === 'conflict').map((p) => p.ns))
    for (const ns of [...subtree].sort((a, b) => b.depth - a.depth)) {
      const blockedBelow = [...blocked].some((b) =>
        subtree.some((n) => n.toString() === b && ns.contains(n) !== undefined),
      )
      const foreignChild = (await listChildNamespaces(store, ns)).some((c) => !attempted.has(c.toString()))
      if (!blockedBelow && !foreignChild) remove.push(ns.toString())
    }
  }
  return summarise(store, plans, create, remove)
}

function summarise(store: Datastore, groups: GroupMovePlan[], create: string[], remove: string[]): MovePlan {
  return {
    store: store.name,
    groups,
    'create-namespaces': create,
    'remove-namespaces': remove,
    'total-snapshots': groups.reduce((n, g) => n + (g.action === 'conflict' ? 0 : g.snapshots), 0),
    conflicts: groups.filter((g) => g.action === 'conflict').length,
  }
}
