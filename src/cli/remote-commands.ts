/**
 * Remote mode of the task-starting datastore commands (moves, verify, gc, prune, prune-datastore)
 * and the task following they share: the same arguments, but the work is done by the server
 * through src/client. Task-starting commands follow the task log to its end and fail with the
 * task's exit status; output goes through the same emitters and tables as local mode. The other
 * areas: remote-group-, remote-snapshot-, remote-namespace-, remote-datastore- and
 * remote-access-commands.ts.
 */
import {
  type BackupNamespace,
  formatBackupTime,
  formatGroupPath,
  type BackupGroupRef,
  type BackupDirRef,
} from '../api-types/index.js'
import {
  ApiError,
  followTask,
  taskSucceeded,
  typedError,
  type MovePlan,
  type PbsClient,
  type TaskStatus,
} from '../client/index.js'
import { ConflictError, errorMessage } from '../errors.js'
import type { CliContext } from './context.js'
import { emit, formatTable } from './output.js'
import { printPlan } from './views.js'

/** The failure of a remote task, with its exit status as the message. */
export class RemoteTaskError extends ConflictError {}

/**
 * Follows a task to its end, printing its log lines to stderr in text mode.
 * @throws RemoteTaskError when the task did not end OK (or with warnings only)
 */
export async function followToEnd(ctx: CliContext, client: PbsClient, upid: string): Promise<TaskStatus> {
  const text = ctx.format === 'text'
  const status = await followTask(client, upid, {
    intervalMs: 200,
    onLines: (lines) => {
      if (text) for (const l of lines) ctx.sink.err(`${l.t}\n`)
    },
  })
  if (!taskSucceeded(status.exitstatus))
    throw new RemoteTaskError(`task ${upid} failed - ${status.exitstatus ?? 'unknown status'}`, {
      upid,
      exitstatus: status.exitstatus ?? null,
    })
  return status
}

/**
 * Follows a started task to its end and prints `{upid, exitstatus}` (text: `done(exitstatus)`).
 * @throws RemoteTaskError when the task failed
 */
export async function reportTask(
  ctx: CliContext,
  client: PbsClient,
  upid: string,
  done: (exitstatus: string) => string,
): Promise<void> {
  const status = await followToEnd(ctx, client, upid)
  const exitstatus = status.exitstatus ?? 'OK'
  emit(ctx.sink, ctx.format, { upid, exitstatus }, () => done(exitstatus))
}

/** What a remote group move needs. */
export interface RemoteGroupMove {
  store: string
  ns: BackupNamespace
  groups: BackupGroupRef[]
  targetNs: BackupNamespace
  mergeGroup: boolean
  dryRun: boolean
}

/** `group move` through the server: one task per group, in order; a failed group does not stop the rest. */
export async function remoteGroupMove(ctx: CliContext, client: PbsClient, m: RemoteGroupMove): Promise<void> {
  const one = (group: BackupGroupRef): Parameters<PbsClient['moveGroup']>[1] => ({
    ns: m.ns.toString(),
    group,
    targetNs: m.targetNs.toString(),
    mergeGroup: m.mergeGroup,
  })
  if (m.dryRun) {
    const plans: MovePlan[] = []
    for (const g of m.groups) plans.push(await client.planMoveGroup(m.store, one(g)))
    printPlan(ctx, mergePlans(m.store, plans))
    return
  }
  const moved: { group: string; upid: string; exitstatus: string }[] = []
  const failed: { group: string; error: string; upid?: string }[] = []
  for (const g of m.groups) {
    let upid: string | undefined
    try {
      upid = await client.moveGroup(m.store, one(g))
      const status = await followToEnd(ctx, client, upid)
      moved.push({ group: formatGroupPath(g), upid, exitstatus: status.exitstatus ?? 'OK' })
    } catch (e) {
      if (m.groups.length === 1) throw e
      const message = errorMessage(e instanceof ApiError ? typedError(e) : e)
      failed.push({ group: formatGroupPath(g), error: message, ...(upid ? { upid } : {}) })
      ctx.sink.err(`error: ${message}\n`)
    }
  }
  emit(ctx.sink, ctx.format, { moved, failed }, () =>
    moved
      .map((r) => `moved group '${r.group}' to '${m.targetNs.display()}' (task ${r.exitstatus})\n`)
      .join(''),
  )
  if (failed.length > 0)
    throw new ConflictError(`${failed.length} of ${m.groups.length} group(s) could not be moved`, {
      failed: failed.length,
    })
}

/** What a remote namespace move needs. */
export interface RemoteNamespaceMove {
  store: string
  source: BackupNamespace
  target: BackupNamespace
  maxDepth?: number
  deleteSource: boolean
  mergeGroups: boolean
  dryRun: boolean
}

/** `namespace move` through the server. */
export async function remoteNamespaceMove(
  ctx: CliContext,
  client: PbsClient,
  m: RemoteNamespaceMove,
): Promise<void> {
  const o = {
    ns: m.source.toString(),
    targetNs: m.target.toString(),
    maxDepth: m.maxDepth,
    deleteSource: m.deleteSource,
    mergeGroups: m.mergeGroups,
  }
  if (m.dryRun) {
    printPlan(ctx, await client.planMoveNamespace(m.store, o))
    return
  }
  await reportTask(
    ctx,
    client,
    await client.moveNamespace(m.store, o),
    (status) => `moved namespace '${m.source.display()}' to '${m.target.display()}' (task ${status})\n`,
  )
}

/** Starts a datastore job (`gc`, `verify`, …) on the server and follows it. */
export async function remoteJob(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  job: 'gc' | 'verify',
  params: Record<string, string | number | boolean | undefined>,
): Promise<void> {
  const upid = await client.api.post<string>(`/admin/datastore/${encodeURIComponent(store)}/${job}`, params)
  await reportTask(
    ctx,
    client,
    upid,
    (status) => `${job === 'gc' ? 'garbage collection' : 'verify'} on store '${store}' finished: ${status}\n`,
  )
}

/** API parameters of a verify target (group or snapshot). */
export function verifyTargetParams(
  target: BackupGroupRef | BackupDirRef | undefined,
): Record<string, string | number> {
  if (target === undefined) return {}
  return {
    'backup-type': target.type,
    'backup-id': target.id,
    ...('time' in target ? { 'backup-time': target.time } : {}),
  }
}

/** One plan of several per-group dry runs. */
function mergePlans(store: string, plans: MovePlan[]): MovePlan {
  const union = (key: 'create-namespaces' | 'remove-namespaces'): string[] => [
    ...new Set(plans.flatMap((p) => p[key])),
  ]
  const out: MovePlan = {
    store,
    groups: plans.flatMap((p) => p.groups),
    'create-namespaces': union('create-namespaces'),
    'remove-namespaces': union('remove-namespaces'),
    'total-snapshots': plans.reduce((n, p) => n + p['total-snapshots'], 0),
    conflicts: plans.reduce((n, p) => n + p.conflicts, 0),
  }
  const s3 = plans.map((p) => p['s3-requests']).filter((r) => r !== undefined)
  if (s3.length > 0)
    out['s3-requests'] = s3.reduce((a, r) => ({
      list: a.list + r.list,
      copy: a.copy + r.copy,
      delete: a.delete + r.delete,
      put: a.put + r.put,
    }))
  return out
}

/** One item of the PBS prune answer. */
interface PruneItem {
  'backup-type': string
  'backup-id': string
  'backup-time': number
  keep: boolean
  protected?: boolean
}

/** `prune` of one group through the server (synchronous API call; the server logs it as a task). */
export async function remotePrune(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef,
  keep: Record<string, number | undefined>,
  dryRun: boolean,
): Promise<void> {
  const items = await client.api.post<PruneItem[]>(`/admin/datastore/${encodeURIComponent(store)}/prune`, {
    ns: ns.isRoot ? undefined : ns.toString(),
    'backup-type': group.type,
    'backup-id': group.id,
    'dry-run': dryRun,
    ...keep,
  })
  emit(ctx.sink, ctx.format, items, () => {
    const kept = items.filter((i) => i.keep).length
    return (
      formatTable(
        items,
        [
          {
            header: 'snapshot',
            value: (i) => `${i['backup-type']}/${i['backup-id']}/${formatBackupTime(i['backup-time'])}`,
          },
          {
            header: 'action',
            value: (i) =>
              i.keep ? (i.protected === true ? 'protected' : 'keep') : dryRun ? 'would remove' : 'remove',
          },
        ],
        '(no snapshots)',
      ) +
      (dryRun
        ? `dry run: would keep ${kept} and remove ${items.length - kept} snapshot(s)\n`
        : `kept ${kept}, removed ${items.length - kept} snapshot(s)\n`)
    )
  })
}

/** What a remote prune-datastore needs. */
export interface RemotePruneDatastore {
  store: string
  ns: BackupNamespace
  maxDepth: number | undefined
  keep: Record<string, number | undefined>
  dryRun: boolean
}

/**
 * `prune-datastore` through the server: a task, followed to its end. Its log (to stderr in text
 * mode) names every snapshot kept and removed; stdout gets `{upid, exitstatus}`.
 */
export async function remotePruneDatastore(
  ctx: CliContext,
  client: PbsClient,
  p: RemotePruneDatastore,
): Promise<void> {
  const upid = await client.pruneDatastore(p.store, {
    ns: p.ns.toString(),
    maxDepth: p.maxDepth,
    dryRun: p.dryRun,
    keep: p.keep,
  })
  await reportTask(
    ctx,
    client,
    upid,
    (status) =>
      `${p.dryRun ? 'dry run: ' : ''}prune of '${p.ns.display()}' on store '${p.store}' finished: ${status}\n`,
  )
}
