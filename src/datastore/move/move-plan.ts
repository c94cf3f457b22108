/**
 * Dry-run plans for moves: what would move where, merges, conflicts with their reasons, and the
 * namespaces that would be created and removed. Nothing is changed and nothing is locked.
 */
import { readdir } from 'node:fs/promises'

import {
  formatGroupPath,
  type BackupGroupRef,
  type BackupNamespace,
  type GroupMovePlan,
  type MovePlan,
  type S3RequestEstimate,
} from '../../api-types/index.js'
import { errorMessage } from '../../errors.js'
import type { Datastore } from '../datastore.js'
import { getOwner, groupExists, listGroupRefs, readNotes } from '../groups.js'
import { listChildNamespaces, namespaceExists } from '../namespaces.js'
import { listSnapshotRefs } from '../snapshots.js'
import { checkMergeInvariants } from './merge-check.js'
import { checkMoveGroup } from './move-group.js'
import { checkMoveNamespace, type MoveNamespaceOptions } from './move-namespace.js'

/** The plan shapes (defined in src/api-types, shared with the client). */
export type { GroupMovePlan, MovePlan, S3RequestEstimate }

/** Snapshot objects per move batch (the engine locks at most 512 snapshots at a time). */
const PLAN_BATCH = 512

/**
 * What moving one group costs on S3: per snapshot one list page per 1000 objects and one copy
 * per object (files + `.protected`); the source keys go in DeleteObjects batches of ≤ 1000 per
 * move batch; plus the owner put (new group), the notes put and the source group-prefix list
 * and delete.
 */
export async function estimateS3Requests(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  createsGroup: boolean,
  movesNotes: boolean,
): Promise<S3RequestEstimate> {
  const snaps = await listSnapshotRefs(store, ns, group)
  const est: S3RequestEstimate = { list: 0, copy: 0, delete: 0, put: 0 }
  for (let start = 0; start < snaps.length; start += PLAN_BATCH) {
    let batchObjects = 0
    for (const dir of snaps.slice(start, start + PLAN_BATCH)) {
      let objects = 0
      try {
        objects = (await readdir(store.snapshotDir(ns, dir))).filter((f) => !f.includes('.tmp_')).length
      } catch {
        objects = 0
      }
      est.list += Math.max(1, Math.ceil(objects / 1000))
      est.copy += objects
      batchObjects += objects
    }
    est.delete += Math.ceil(batchObjects / 1000)
  }
  if (createsGroup) est.put++
  if (movesNotes) est.put++
  est.list++ // the emptied source group prefix (owner, notes)
  est.delete++
  return est
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
  const s3 = async (creates: boolean, notes: string): Promise<{ 's3-requests'?: S3RequestEstimate }> =>
    store.remote
      ? { 's3-requests': await estimateS3Requests(store, ns, group, creates, notes === 'move') }
      : {}
  if (!(await namespaceExists(store, targetNs)) || !(await groupExists(store, targetNs, group))) {
    const notes = sourceNotes === undefined ? 'none' : 'move'
    return {
      ...base,
      action: 'create',
      'target-snapshots': 0,
      notes,
      ...(await s3(true, notes)),
    }
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
    ? { ...base, action: 'merge', 'target-snapshots': targetSnaps.length, notes, ...(await s3(false, notes)) }
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
  let s3: S3RequestEstimate | undefined
  if (store.remote) {
    s3 = { list: 0, copy: 0, delete: 0, put: create.length }
    for (const g of groups) {
      const r = g['s3-requests']
      if (r === undefined || g.action === 'conflict') continue
      s3.list += r.list
      s3.copy += r.copy
      s3.delete += r.delete
      s3.put += r.put
    }
    s3.delete += remove.length
  }
  return {
    ...(s3 === undefined ? {} : { 's3-requests': s3 }),
    store: store.name,
    groups,
    'create-namespaces': create,
    'remove-namespaces': remove,
    'total-snapshots': groups.reduce((n, g) => n + (g.action === 'conflict' ? 0 : g.snapshots), 0),
    conflicts: groups.filter((g) => g.action === 'conflict').length,
  }
}
