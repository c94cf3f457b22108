/**
 * Endpoints that start worker tasks (spec/move.md §4, spec/pbs-api.md §4.10–§4.13): move-group and
 * move-namespace (with a synchronous `dry-run` plan), verify, garbage collection, prune and
 * prune-datastore. Privileges and pre-checks run before the task starts, so their failures are
 * plain 4xx answers; everything after is in the task log and the task status.
 */
import {
  backupDir,
  formatGroupPath,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import { repointAclPaths } from '../../config/acl-config.js'
import { PRIV } from '../../config/privileges.js'
import {
  listNamespaces,
  verifyDatastore,
  type Datastore,
  type VerifyOptions,
  type VerifyResult,
} from '../../datastore/index.js'
import { garbageCollect } from '../../datastore/gc/index.js'
import {
  checkMoveGroup,
  checkMoveNamespace,
  moveGroup,
  moveNamespace,
  planMoveGroups,
  planMoveNamespace,
} from '../../datastore/move/index.js'
import {
  parseKeepOptions,
  pruneDatastore,
  pruneGroup,
  toPbsPruneJson,
  type KeepOptions,
  type PruneEntry,
} from '../../datastore/prune/index.js'
import { DatastoreError, ValidationError } from '../../errors.js'
import type { TaskContext } from '../../tasks/task-context.js'
import {
  KEEP_PARAMS,
  STORE,
  boolParam,
  checkTime,
  maxDepthParam,
  nsParam,
  type IntegerParam,
} from '../params.js'
import { checkGroupOwner, checkPrivs, nsAclPath, privsOn } from '../permissions.js'
import type { ApiCall, Endpoint } from '../router.js'
import { accessibleGroups } from './datastore-routes.js'
import {
  GROUP_FILTER_PARAMS,
  GROUP_PARAMS,
  STORE_NS,
  STORE_ONLY,
  callerNsPrivs,
  groupOf,
  nsOf,
  openGroup,
  storeAccess,
  storeOf,
} from './datastore-helpers.js'
import { startTask, taskOperation } from './start-task.js'

const user = { kind: 'user' } as const

/** `<store>:<ns>/<type>/<id>` (no ns part for the root). */
function groupWorkerId(store: string, ns: BackupNamespace, g: BackupGroupRef): string {
  return `${store}:${ns.isRoot ? '' : `${ns.toString()}/`}${formatGroupPath(g)}`
}

/** Prune log lines to the task log (`WARN: ` lines count as warnings). */
function pruneLog(ctx: TaskContext): (line: string) => void {
  return (line) => (line.startsWith('WARN: ') ? ctx.log.warn(line.slice(6)) : ctx.log.info(line))
}

/**
 * move-group privileges (spec/move.md §4.1): source Modify (full) or Prune (limited), target
 * Modify (full) or Backup (limited); when either side is limited the caller must own the group.
 * @throws PermissionError
 */
export async function checkMoveGroupPrivs(
  call: ApiCall,
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  target: BackupNamespace,
): Promise<void> {
  const srcLimited = await callerNsPrivs(call, store, ns, PRIV.DatastoreModify, PRIV.DatastorePrune)
  const dstLimited = await callerNsPrivs(call, store, target, PRIV.DatastoreModify, PRIV.DatastoreBackup)
  if (srcLimited || dstLimited) await checkGroupOwner(store, ns, group, call.auth)
}

/**
 * move-namespace privileges (spec/move.md §4.2): Datastore.Modify on the parents of both `ns` and
 * `target-ns`; the root on either side is refused as by PBS's namespace-modification helper.
 * @throws ValidationError, PermissionError
 */
export async function checkMoveNamespacePrivs(
  call: ApiCall,
  store: Datastore,
  ns: BackupNamespace,
  target: BackupNamespace,
): Promise<void> {
  for (const [name, side] of [
    ['ns', ns],
    ['target-ns', target],
  ] as const) {
    if (side.isRoot) throw new ValidationError(name, '', 'Cannot create/delete root namespace!')
    await callerNsPrivs(call, store, side.parent()!, PRIV.DatastoreModify)
  }
}

const DRY_RUN_PLAN = boolParam('Only return the plan (nothing is changed).', false)
const DRY_RUN_PRUNE = boolParam('Only compute what would be removed.', false)

const VERIFY_THREADS: IntegerParam = {
  type: 'integer',
  optional: true,
  minimum: 1,
  maximum: 32,
  description: 'Threads (accepted for compatibility).',
}

export const jobRoutes: Endpoint[] = [
  {
    method: 'POST',
    path: '/admin/datastore/{store}/move-group',
    description:
      'Move a backup group to another namespace of the same datastore (merging into an existing group when allowed). Returns a UPID, or with dry-run the plan.',
    permission:
      'Source namespace: Datastore.Modify, or Datastore.Prune and owning the group. Target namespace: Datastore.Modify, or Datastore.Backup and owning the group.',
    access: user,
    params: {
      ...GROUP_PARAMS,
      'target-ns': nsParam('Target namespace (default: root); must exist.'),
      'merge-group': boolParam('Merge into an existing same-named group in the target.', true),
      'dry-run': DRY_RUN_PLAN,
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const ns = nsOf(call)
      const target = nsOf(call, 'target-ns')
      const group = groupOf(call)
      const merge = call.params['merge-group'] as boolean
      await checkMoveGroupPrivs(call, store, ns, group, target)
      await checkMoveGroup(store, ns, group, target, merge)
      if (call.params['dry-run']) return planMoveGroups(store, ns, [group], target, merge)
      return startTask(
        call,
        'move-group',
        `${groupWorkerId(store.name, ns, group)}:${target.toString()}`,
        async (task) => {
          task.log.info(
            `moving group '${formatGroupPath(group)}' from '${ns.display()}' to '${target.display()}' on store '${store.name}'`,
          )
          const r = await moveGroup(store, ns, group, target, { mergeGroup: merge, ...taskOperation(task) })
          return r.movedSnapshots
        },
      )
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/move-namespace',
    description:
      'Move a namespace subtree to a new full path (merging into existing target namespaces). ACL entries on the moved namespace paths are re-pointed to the new paths. Returns a UPID, or with dry-run the plan.',
    permission: 'Datastore.Modify on the parent of `ns` and on the parent of `target-ns`.',
    access: user,
    params: {
      store: STORE,
      ns: nsParam('Source namespace (not the root).', false),
      'target-ns': nsParam('New full path of the namespace; its parent must exist.', false),
      'max-depth': maxDepthParam(),
      'delete-source': boolParam('Remove the emptied source namespaces.', true),
      'merge-groups': boolParam('Merge groups into existing same-named target groups.', true),
      'dry-run': DRY_RUN_PLAN,
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const ns = nsOf(call)
      const target = nsOf(call, 'target-ns')
      const maxDepth = call.params['max-depth'] as number | undefined
      const deleteSource = call.params['delete-source'] as boolean
      const mergeGroups = call.params['merge-groups'] as boolean
      await checkMoveNamespacePrivs(call, store, ns, target)
      await checkMoveNamespace(store, ns, target, maxDepth)
      const opts = { deleteSource, mergeGroups, ...(maxDepth === undefined ? {} : { maxDepth }) }
      if (call.params['dry-run']) return planMoveNamespace(store, ns, target, opts)
      return startTask(
        call,
        'move-namespace',
        `${store.name}:${ns.toString()}:${target.toString()}`,
        async (task) => {
          task.log.info(
            `moving namespace '${ns.display()}' to '${target.display()}' on store '${store.name}'`,
          )
          const subtree = await listNamespaces(store, ns, maxDepth)
          const r = await moveNamespace(store, ns, target, { ...opts, ...taskOperation(task) })
          // Beyond PBS: the moved namespaces keep their permissions under the new path.
          const moved = await call.ctx.access.updateAcl((acl) =>
            maxDepth === undefined
              ? repointAclPaths(acl, nsAclPath(store.name, ns), nsAclPath(store.name, target))
              : subtree.flatMap((src) =>
                  repointAclPaths(
                    acl,
                    nsAclPath(store.name, src),
                    nsAclPath(store.name, src.mapPrefix(ns, target)),
                    true,
                  ),
                ),
          )
          for (const m of moved)
            task.log.info(
              `re-pointed ACL entry '${m.entry.roleid}' of '${m.entry.ugid}' from '${m.from}' to '${m.to}'`,
            )
          if (moved.length === 0) task.log.info('no ACL entries on the moved namespace paths')
          return r
        },
      )
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/verify',
    description: 'Verify a whole datastore/namespace, a group, or one snapshot. Returns a UPID.',
    permission: 'Datastore.Verify, or Datastore.Backup (only owned groups are verified).',
    access: user,
    params: {
      ...GROUP_FILTER_PARAMS,
      'backup-time': { type: 'integer', minimum: 1, optional: true, description: 'Backup time (epoch).' },
      'ignore-verified': boolParam('Skip snapshots verified before (see outdated-after).', true),
      'outdated-after': {
        type: 'integer',
        minimum: 0,
        optional: true,
        description: 'Re-verify after this many days.',
      },
      'max-depth': maxDepthParam(7),
      'read-threads': VERIFY_THREADS,
      'verify-threads': VERIFY_THREADS,
    },
    handler: async (call) => {
      // PBS verifies under the read operation: a read-only datastore can still be verified.
      const store = await storeOf(call, 'read')
      const ns = nsOf(call)
      const type = call.params['backup-type'] as string | undefined
      const id = call.params['backup-id'] as string | undefined
      const time = call.params['backup-time'] as number | undefined
      const isGroup = type !== undefined && id !== undefined
      if ((type !== undefined) !== (id !== undefined) || (time !== undefined && !isGroup))
        throw new ValidationError('backup-id', id, 'parameters do not specify a backup group or snapshot')
      const limited = await callerNsPrivs(call, store, ns, PRIV.DatastoreVerify, PRIV.DatastoreBackup)
      const group = isGroup ? groupOf(call) : undefined
      if (group && limited) await checkGroupOwner(store, ns, group, call.auth)
      const nsPart = ns.isRoot ? '' : ns.toString()
      let type_ = 'verify'
      let wid = ns.isRoot ? store.name : `${store.name}:${ns.path()}`
      if (group) {
        type_ = time === undefined ? 'verify_group' : 'verify_snapshot'
        wid = `${store.name}:${nsPart}/${formatGroupPath(group)}`
        if (time !== undefined) wid += `/${checkTime(time).toString(16).toUpperCase().padStart(8, '0')}`
      }
      const base = {
        ignoreVerified: call.params['ignore-verified'] as boolean,
        outdatedAfter: call.params['outdated-after'] as number | undefined,
      }
      return startTask(call, type_, wid, async (task) => {
        const started = Date.now()
        const common = {
          ...base,
          upid: task.upid,
          log: task.log,
          signal: task.signal,
          onProgress: (p: { snapshotsDone: number; snapshotsTotal: number }) => {
            const rate = p.snapshotsDone / Math.max((Date.now() - started) / 1000, 1e-3)
            task.onProgress({
              done: p.snapshotsDone,
              total: p.snapshotsTotal,
              rate,
              etaSeconds: p.snapshotsDone > 0 ? (p.snapshotsTotal - p.snapshotsDone) / rate : undefined,
              unit: 'snapshots',
            })
          },
        }
        const runs: VerifyOptions[] = []
        if (group)
          runs.push({
            ...common,
            ns,
            group,
            ...(time === undefined ? {} : { snapshot: backupDir(group, time) }),
          })
        else if (!limited) runs.push({ ...common, ns, maxDepth: call.params['max-depth'] as number })
        else
          for (const space of await listNamespaces(store, ns, call.params['max-depth'] as number))
            for (const g of await accessibleGroups(call, store, space, true))
              runs.push({ ...common, ns: space, group: g })
        let failed = 0
        for (const r of runs) {
          task.throwIfAborted()
          const res: VerifyResult = await verifyDatastore(store, r)
          failed += res.failed
        }
        if (failed > 0)
          throw new DatastoreError('verification failed - please check the log for details', { failed })
        return failed
      })
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/gc',
    description: 'Start garbage collection. Returns a UPID.',
    permission: 'Datastore.Modify on /datastore/{store}.',
    access: storeAccess(PRIV.DatastoreModify),
    params: STORE_ONLY,
    handler: async (call) => {
      const store = await storeOf(call)
      return startTask(call, 'garbage_collection', store.name, async (task) => {
        const r = await garbageCollect(store, { upid: task.upid, ...taskOperation(task) })
        return r.status
      })
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/prune',
    description:
      'Prune one backup group. Returns the snapshot list (oldest first) with keep flags; with use-task the UPID of the prune task instead.',
    permission: 'Datastore.Modify, or Datastore.Prune and owning the group.',
    access: user,
    params: {
      ...GROUP_PARAMS,
      'dry-run': DRY_RUN_PRUNE,
      'use-task': boolParam('Return the task UPID instead of the result.', false),
      ...KEEP_PARAMS,
    },
    handler: async (call) => {
      const { store, ns, group } = await openGroup(call, PRIV.DatastoreModify, PRIV.DatastorePrune)
      const keep: KeepOptions = parseKeepOptions(call.params)
      const dryRun = call.params['dry-run'] as boolean
      const started = await call.ctx.tasks.spawn(
        {
          type: 'prune',
          id: `${store.name}:${ns.toString()}:${formatGroupPath(group)}`,
          authid: call.auth.authid,
        },
        async (task) => (await pruneGroup(store, ns, group, keep, { dryRun, log: pruneLog(task) })).entries,
      )
      if (call.params['use-task']) {
        started.done.catch(() => undefined)
        return started.upid
      }
      const entries: PruneEntry[] = await started.done
      return toPbsPruneJson(entries).map((e) => {
        if (dryRun) return e
        const { ns: _ns, ...rest } = e
        return rest
      })
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/prune-datastore',
    description: 'Prune every group of a namespace subtree. Returns a UPID.',
    permission:
      'Datastore.Modify or Datastore.Prune on the namespace; groups are pruned where the caller has Datastore.Modify, or Datastore.Prune and owns them.',
    access: user,
    params: {
      ...STORE_NS,
      'dry-run': DRY_RUN_PRUNE,
      'max-depth': maxDepthParam(),
      ...KEEP_PARAMS,
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const ns = nsOf(call)
      await checkPrivs(
        call.ctx,
        call.auth,
        nsAclPath(store.name, ns),
        PRIV.DatastoreModify | PRIV.DatastorePrune,
        true,
      )
      const keep = parseKeepOptions(call.params)
      const dryRun = call.params['dry-run'] as boolean
      const maxDepth = (call.params['max-depth'] as number | undefined) ?? 7
      return startTask(call, 'prune', `${store.name}:${ns.toString()}`, async (task) => {
        const spaces = await listNamespaces(store, ns, Math.min(maxDepth, 7 - ns.depth))
        const modifyEverywhere = (
          await Promise.all(
            spaces.map(
              async (s) =>
                (await privsOn(call.ctx, call.auth, nsAclPath(store.name, s))) & PRIV.DatastoreModify,
            ),
          )
        ).every((p) => p !== 0)
        if (modifyEverywhere) {
          await pruneDatastore(store, ns, Math.min(maxDepth, 7 - ns.depth), keep, {
            dryRun,
            log: pruneLog(task),
          })
          return
        }
        for (const space of spaces) {
          task.throwIfAborted()
          const p = await privsOn(call.ctx, call.auth, nsAclPath(store.name, space))
          if ((p & (PRIV.DatastoreModify | PRIV.DatastorePrune)) === 0) continue
          for (const g of await accessibleGroups(call, store, space, (p & PRIV.DatastoreModify) === 0))
            await pruneGroup(store, space, g, keep, { dryRun, log: pruneLog(task) })
        }
      })
    },
  },
]
