/**
 * Task endpoints under `/nodes/{node}/tasks` (spec/pbs-api.md §4.15): list, status (with our
 * progress extension), log, abort. The node name is accepted as given (`localhost` is customary).
 */
import type { Upid } from '../../api-types/upid.js'
import { parseTaskUpid, parseUpid } from '../../api-types/upid.js'
import { PRIV } from '../../config/privileges.js'
import { PermissionError, ValidationError } from '../../errors.js'
import type { TaskEntry } from '../../tasks/task-manager.js'
import { formatTaskState } from '../../tasks/task-log.js'
import type { AuthInfo } from '../authenticate.js'
import { STORE, boolParam, type ParamSchema, type StringParam } from '../params.js'
import { hasAnyPriv } from '../permissions.js'
import { RAW_REPLY, type ApiCall, type Endpoint } from '../router.js'
import type { ServerContext } from '../server-context.js'

const user = { kind: 'user' } as const
const NODE: StringParam = {
  type: 'string',
  description: 'Node name (any; `localhost` is customary).',
  parse: (v, n) => {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v))
      throw new ValidationError(n, v, 'value does not match the regex pattern')
    return v
  },
}
// the log file is named after the UPID text: parseTaskUpid refuses what could leave the directory
const UPID: StringParam = { type: 'string', description: 'Task UPID.', parse: (v, n) => parseTaskUpid(v, n) }
const TASK_PARAMS: ParamSchema = { node: NODE, upid: UPID }
const U64 = (d: string, def?: number): ParamSchema[string] => ({
  type: 'integer',
  minimum: 0,
  optional: true,
  ...(def === undefined ? {} : { default: def }),
  description: d,
})

/** Store part of a worker id for the `store` filter (verify, prune, GC, move, backup …). */
function storeOfTask(t: Upid): string | undefined {
  const id = t.workerId
  if (id === undefined) return undefined
  return id.split(':')[0]
}

/**
 * PBS check_task_access: own task (or a token of the caller's user), Sys.Audit on /system/tasks,
 * or the job privilege (GC and prune: Datastore.Modify on the store).
 * @throws PermissionError `task access not allowed`
 */
export async function checkTaskAccess(ctx: ServerContext, auth: AuthInfo, t: Upid): Promise<void> {
  if (await canAccessTask(ctx, auth, t)) return
  throw new PermissionError('task access not allowed', { upid: t.authid })
}

async function canAccessTask(ctx: ServerContext, auth: AuthInfo, t: Upid): Promise<boolean> {
  if (t.authid === auth.authid) return true
  if (auth.tokenName === undefined && t.authid.startsWith(`${auth.userid}!`)) return true
  if (await hasAnyPriv(ctx, auth, '/system/tasks', PRIV.SysAudit)) return true
  const store = storeOfTask(t)
  if (store && ['garbage_collection', 'prune', 'prunejob'].includes(t.workerType)) {
    const path =
      t.workerType === 'garbage_collection'
        ? `/datastore/${store}`
        : `/datastore/${[store, ...(t.workerId!.split(':')[1] ?? '').split('/').filter(Boolean)].join('/')}`
    if (await hasAnyPriv(ctx, auth, path, PRIV.DatastoreModify)) return true
  }
  return false
}

function statusClass(e: TaskEntry): 'ok' | 'warning' | 'error' | 'unknown' | undefined {
  if (!e.state) return undefined
  return e.state.kind === 'warnings' ? 'warning' : e.state.kind
}

export const taskRoutes: Endpoint[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    description: 'List tasks: running ones first (newest first), then finished ones (newest first).',
    permission: 'Own tasks (and those of own tokens); all with Sys.Audit on /system/tasks.',
    access: user,
    params: {
      node: NODE,
      start: U64('Offset.', 0),
      limit: U64('Maximum number of tasks (0 = all).', 50),
      store: { ...STORE, optional: true },
      running: boolParam('Only running tasks.', false),
      errors: boolParam('Only tasks that did not end OK.', false),
      userfilter: { type: 'string', optional: true, description: 'Substring of the auth id.' },
      since: U64('Only tasks started at or after this epoch.'),
      until: U64('Only tasks started at or before this epoch.'),
      typefilter: { type: 'string', optional: true, description: 'Substring of the worker type.' },
      statusfilter: {
        type: 'array',
        optional: true,
        items: ['ok', 'warning', 'error', 'unknown'],
        description: 'Keep only these end states.',
      },
    },
    handler: async (call) => {
      const p = call.params
      const start = p.start as number
      const limit = p.limit as number
      const statusfilter = p.statusfilter as string[] | undefined
      const out: Record<string, unknown>[] = []
      let skipped = 0
      for (const e of await call.ctx.tasks.list()) {
        const t = e.parsed
        if (p.running && !e.running) continue
        if (p.errors && e.state?.kind === 'ok') continue
        if (statusfilter && (e.running || !statusfilter.includes(statusClass(e)!))) continue
        if (p.store !== undefined && storeOfTask(t) !== p.store) continue
        if (p.userfilter !== undefined && !t.authid.includes(p.userfilter as string)) continue
        if (p.typefilter !== undefined && !t.workerType.includes(p.typefilter as string)) continue
        if (p.until !== undefined && t.starttime > (p.until as number)) continue
        if (p.since !== undefined && t.starttime < (p.since as number)) {
          if (!e.running && e.state && e.state.endtime < (p.since as number)) break
          continue
        }
        if (!(await canAccessTask(call.ctx, call.auth, t))) continue
        if (skipped < start) {
          skipped++
          continue
        }
        if (limit !== 0 && out.length >= limit) break
        out.push({
          upid: e.upid,
          node: 'localhost',
          pid: t.pid,
          pstart: t.pstart,
          starttime: t.starttime,
          worker_type: t.workerType,
          worker_id: t.workerId ?? null,
          user: t.authid,
          ...(e.state ? { endtime: e.state.endtime, status: formatTaskState(e.state) } : {}),
        })
      }
      call.attributes.total = start + out.length + (limit !== 0 && out.length >= limit ? 1 : 0)
      return out
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}',
    description: 'Directory index of a task.',
    permission: 'Any authenticated user.',
    access: user,
    params: TASK_PARAMS,
    handler: () => Promise.resolve([{ subdir: 'log' }, { subdir: 'status' }]),
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    description: 'Task status; running tasks also report `progress` {done, total, unit, rate, eta}.',
    permission: 'Task access (own task, Sys.Audit on /system/tasks, or the job privilege).',
    access: user,
    params: TASK_PARAMS,
    handler: async (call) => {
      const upid = call.params.upid as string
      const s = await call.ctx.tasks.status(upid)
      const t = s.parsed
      await checkTaskAccess(call.ctx, call.auth, t)
      const bang = t.authid.indexOf('!')
      return {
        upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.workerType,
        id: t.workerId ?? null,
        user: bang < 0 ? t.authid : t.authid.slice(0, bang),
        ...(bang < 0 ? {} : { tokenid: t.authid.slice(bang + 1) }),
        status: s.running ? 'running' : 'stopped',
        ...(s.state
          ? {
              exitstatus: formatTaskState(s.state),
              ...(s.state.endtime > 0 ? { endtime: s.state.endtime } : {}),
            }
          : {}),
        ...(s.progress
          ? {
              progress: {
                done: s.progress.done,
                total: s.progress.total,
                unit: s.progress.unit,
                rate: Math.round(s.progress.rate * 100) / 100,
                eta: s.progress.etaSeconds === undefined ? null : Math.round(s.progress.etaSeconds),
              },
            }
          : {}),
      }
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    description: 'Read the task log: `{"data":[{"n":1,"t":"…"}],"total":N,"success":1}`.',
    permission: 'Task access (own task, Sys.Audit on /system/tasks, or the job privilege).',
    access: user,
    queryOnly: true,
    params: {
      ...TASK_PARAMS,
      start: U64('First line (1-based; 0 = 1).', 0),
      limit: U64('Number of lines (0 = to the end).', 50),
      download: boolParam('Download the whole log as text/plain.'),
      'test-status': boolParam('Add `active` (whether the task still runs).'),
    },
    handler: async (call: ApiCall) => {
      const upid = call.params.upid as string
      const t = parseUpid(upid, 'upid')
      await checkTaskAccess(call.ctx, call.auth, t)
      if (call.params.download) {
        const { lines } = await call.ctx.tasks.readLog(upid, 0, 0)
        const name = `task-${t.node}-${t.workerType}-${new Date(t.starttime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}.log`
        void call.reply
          .code(200)
          .type('text/plain')
          .header('content-disposition', `attachment; filename=${name}`)
          .send(lines.map((l) => `${l.t}\n`).join(''))
        return RAW_REPLY
      }
      const { lines, total } = await call.ctx.tasks.readLog(
        upid,
        call.params.start as number,
        call.params.limit as number,
      )
      const body: Record<string, unknown> = { data: lines, total, success: 1 }
      if (call.params['test-status'] !== undefined) body.active = call.ctx.tasks.isRunning(upid)
      void call.reply.code(200).type('application/json').send(JSON.stringify(body))
      return RAW_REPLY
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/tasks/{upid}',
    description: 'Abort a running task (fire and forget; the answer is always null).',
    permission: 'The task was started by the caller, or Sys.Modify on /system/tasks.',
    access: user,
    params: TASK_PARAMS,
    handler: async (call) => {
      const t = parseUpid(call.params.upid, 'upid')
      if (
        t.authid !== call.auth.authid &&
        !(await hasAnyPriv(call.ctx, call.auth, '/system/tasks', PRIV.SysModify))
      )
        throw new PermissionError(`missing permissions 'Sys.Modify' on '/system/tasks'`, {
          path: '/system/tasks',
        })
      call.ctx.tasks.abort(call.params.upid as string)
      return null
    },
  },
]
