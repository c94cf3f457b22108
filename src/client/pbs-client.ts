/**
 * Typed calls of the datastore, task and access endpoints (spec/pbs-api.md §4), on top of
 * ApiClient. Namespaces are passed in their API form (`a/b`, '' = root); the root namespace is
 * sent as "no `ns` parameter", as PBS clients do.
 */
import type { BackupDirRef, BackupGroupRef } from '../api-types/index.js'
import { AccessClient } from './access-client.js'
import { ApiClient, pathOf, type ApiClientOptions, type Params } from './api-client.js'
import type {
  DatastoreListItem,
  DatastoreStatus,
  DeleteResult,
  GroupListItem,
  MovePlan,
  NamespaceListItem,
  SnapshotFile,
  SnapshotListItem,
  TaskListItem,
  TaskLogPage,
  TaskLogLine,
  TaskStatus,
  UserListItem,
} from './response-types.js'

/** The node name the API expects in task paths. */
export const NODE = 'localhost'

/** Options of a group move. */
export interface MoveGroupOptions {
  /** Source namespace ('' = root). */
  ns: string
  group: BackupGroupRef
  /** Target namespace ('' = root). */
  targetNs: string
  /** Merge into an existing same-named group (sent explicitly, true or false). */
  mergeGroup: boolean
}

/** Options of a namespace move. */
export interface MoveNamespaceOptions {
  ns: string
  /** New full path of the namespace (parent/name). */
  targetNs: string
  /** Levels below `ns` to move; undefined = whole subtree. */
  maxDepth?: number | undefined
  deleteSource: boolean
  mergeGroups: boolean
}

/** Filters of the task list. */
export interface TaskListOptions {
  start?: number
  limit?: number
  running?: boolean
  errors?: boolean
  store?: string
  typefilter?: string
  userfilter?: string
  since?: number
}

/** Retention options of prune-datastore (API names). */
export interface PruneDatastoreOptions {
  /** Namespace ('' = root). */
  ns: string
  maxDepth?: number | undefined
  dryRun: boolean
  keep: {
    'keep-last'?: number | undefined
    'keep-hourly'?: number | undefined
    'keep-daily'?: number | undefined
    'keep-weekly'?: number | undefined
    'keep-monthly'?: number | undefined
    'keep-yearly'?: number | undefined
  }
}

/** Typed API calls; see the module comment. */
export class PbsClient {
  /** The underlying HTTP client (credentials, raw requests). */
  readonly api: ApiClient
  /** Users, tokens, passwords and ACLs. */
  readonly access: AccessClient

  constructor(api: ApiClient | ApiClientOptions = {}) {
    this.api = api instanceof ApiClient ? api : new ApiClient(api)
    this.access = new AccessClient(this.api)
  }

  /** GET /version. */
  version(): Promise<{ version: string; release: string; repoid?: string }> {
    return this.api.get('/version')
  }

  /** Datastores visible to the caller. */
  listDatastores(): Promise<DatastoreListItem[]> {
    return this.api.get('/admin/datastore')
  }

  /** Usage of one datastore. */
  datastoreStatus(store: string): Promise<DatastoreStatus> {
    return this.api.get(`${storePath(store)}/status`)
  }

  /** Namespaces below `parent` (included first), depth-first. */
  listNamespaces(
    store: string,
    options: { parent?: string; maxDepth?: number } = {},
  ): Promise<NamespaceListItem[]> {
    return this.api.get(`${storePath(store)}/namespace`, {
      parent: nsParam(options.parent),
      'max-depth': options.maxDepth,
    })
  }

  /** Creates `parent/name`; returns the new namespace. */
  createNamespace(store: string, name: string, parent = ''): Promise<string> {
    return this.api.post(`${storePath(store)}/namespace`, { name, parent: nsParam(parent) })
  }

  /** Deletes a namespace subtree; a UPID string when the server runs it as a task. */
  deleteNamespace(store: string, ns: string, deleteGroups: boolean): Promise<DeleteResult | string | null> {
    return this.api.delete(`${storePath(store)}/namespace`, { ns, 'delete-groups': deleteGroups })
  }

  /** Groups of one namespace level, empty groups included. */
  listGroups(store: string, ns: string): Promise<GroupListItem[]> {
    return this.api.get(`${storePath(store)}/groups`, { ns: nsParam(ns) })
  }

  /** Snapshots of a namespace level (or of one group). */
  listSnapshots(store: string, ns: string, group?: BackupGroupRef): Promise<SnapshotListItem[]> {
    return this.api.get(`${storePath(store)}/snapshots`, { ns: nsParam(ns), ...groupParams(group) })
  }

  /**
   * Deletes a group with its snapshots (protected ones stay). With `errorOnProtected` false a
   * group that keeps protected snapshots is a result, not an error.
   */
  forgetGroup(
    store: string,
    ns: string,
    group: BackupGroupRef,
    options: { errorOnProtected?: boolean } = {},
  ): Promise<DeleteResult | string | null> {
    return this.api.delete(`${storePath(store)}/groups`, {
      ns: nsParam(ns),
      ...groupParams(group),
      'error-on-protected': options.errorOnProtected,
    })
  }

  /** Deletes one snapshot (refused when protected). */
  async forgetSnapshot(store: string, ns: string, dir: BackupDirRef): Promise<void> {
    await this.api.delete(`${storePath(store)}/snapshots`, { ns: nsParam(ns), ...snapshotParams(dir) })
  }

  /** Files of a snapshot (manifest files, the manifest, then other files). */
  snapshotFiles(store: string, ns: string, dir: BackupDirRef): Promise<SnapshotFile[]> {
    return this.api.get(`${storePath(store)}/files`, { ns: nsParam(ns), ...snapshotParams(dir) })
  }

  /** Whether a snapshot is protected. */
  isProtected(store: string, ns: string, dir: BackupDirRef): Promise<boolean> {
    return this.api.get(`${storePath(store)}/protected`, { ns: nsParam(ns), ...snapshotParams(dir) })
  }

  /** Protects or unprotects a snapshot. */
  async setProtected(store: string, ns: string, dir: BackupDirRef, value: boolean): Promise<void> {
    await this.api.put(`${storePath(store)}/protected`, {
      ns: nsParam(ns),
      ...snapshotParams(dir),
      protected: value,
    })
  }

  /** The group notes ('' when none). */
  getGroupNotes(store: string, ns: string, group: BackupGroupRef): Promise<string> {
    return this.api.get(`${storePath(store)}/group-notes`, { ns: nsParam(ns), ...groupParams(group) })
  }

  /** Replaces the group notes. */
  async setGroupNotes(store: string, ns: string, group: BackupGroupRef, notes: string): Promise<void> {
    await this.api.put(`${storePath(store)}/group-notes`, { ns: nsParam(ns), ...groupParams(group), notes })
  }

  /** Gives the group to another auth id. */
  async changeOwner(store: string, ns: string, group: BackupGroupRef, newOwner: string): Promise<void> {
    await this.api.post(`${storePath(store)}/change-owner`, {
      ns: nsParam(ns),
      ...groupParams(group),
      'new-owner': newOwner,
    })
  }

  /** Starts a group move; returns the task UPID. */
  moveGroup(store: string, o: MoveGroupOptions): Promise<string> {
    return this.api.post(`${storePath(store)}/move-group`, moveGroupParams(o, false))
  }

  /** The dry-run plan of a group move (nothing changes). */
  planMoveGroup(store: string, o: MoveGroupOptions): Promise<MovePlan> {
    return this.api.post(`${storePath(store)}/move-group`, moveGroupParams(o, true))
  }

  /** Starts a namespace move; returns the task UPID. */
  moveNamespace(store: string, o: MoveNamespaceOptions): Promise<string> {
    return this.api.post(`${storePath(store)}/move-namespace`, moveNamespaceParams(o, false))
  }

  /** The dry-run plan of a namespace move (nothing changes). */
  planMoveNamespace(store: string, o: MoveNamespaceOptions): Promise<MovePlan> {
    return this.api.post(`${storePath(store)}/move-namespace`, moveNamespaceParams(o, true))
  }

  /** Starts prune-datastore on a namespace subtree; returns the task UPID. */
  pruneDatastore(store: string, o: PruneDatastoreOptions): Promise<string> {
    return this.api.post(`${storePath(store)}/prune-datastore`, {
      ns: nsParam(o.ns),
      'max-depth': o.maxDepth,
      'dry-run': o.dryRun,
      ...o.keep,
    })
  }

  /** Tasks, running first, newest first. */
  async listTasks(options: TaskListOptions = {}): Promise<{ tasks: TaskListItem[]; total: number }> {
    const params: Params = { ...options }
    const env = await this.api.request<TaskListItem[]>('GET', `${pathOf('nodes', NODE)}/tasks`, params)
    return { tasks: env.data, total: env.total ?? env.data.length }
  }

  /** Status of one task (with progress while it runs, when the server reports it). */
  taskStatus(upid: string): Promise<TaskStatus> {
    return this.api.get(`${taskPath(upid)}/status`)
  }

  /** Log lines from `start` (1-based; 0 = from the beginning); limit 0 = to the end. */
  async taskLog(upid: string, start = 0, limit = 0): Promise<TaskLogPage> {
    const env = await this.api.request<TaskLogLine[]>('GET', `${taskPath(upid)}/log`, {
      start,
      limit,
      'test-status': true,
    })
    const page: TaskLogPage = { lines: env.data, total: env.total ?? env.data.length }
    if (env.active !== undefined) page.active = env.active
    return page
  }

  /** Asks a running task to abort. */
  async stopTask(upid: string): Promise<void> {
    await this.api.delete(taskPath(upid))
  }

  /** Users (and their tokens), for owner selection. */
  listUsers(): Promise<UserListItem[]> {
    return this.api.get('/access/users', { include_tokens: true })
  }
}

/** `/admin/datastore/<store>`. */
function storePath(store: string): string {
  return pathOf('admin', 'datastore', store)
}

/** `/nodes/localhost/tasks/<upid>`. */
function taskPath(upid: string): string {
  return pathOf('nodes', NODE, 'tasks', upid)
}

/** The root namespace is sent as no parameter at all. */
function nsParam(ns: string | undefined): string | undefined {
  return ns === undefined || ns === '' ? undefined : ns
}

/** `backup-type` and `backup-id` of a group (nothing for undefined). */
function groupParams(group: BackupGroupRef | undefined): Params {
  return group === undefined ? {} : { 'backup-type': group.type, 'backup-id': group.id }
}

/** `backup-type`, `backup-id` and `backup-time` of a snapshot. */
function snapshotParams(dir: BackupDirRef): Params {
  return { 'backup-type': dir.type, 'backup-id': dir.id, 'backup-time': dir.time }
}

/** Parameters of move-group; `merge-group` always explicit. */
function moveGroupParams(o: MoveGroupOptions, dryRun: boolean): Params {
  return {
    ns: nsParam(o.ns),
    ...groupParams(o.group),
    'target-ns': nsParam(o.targetNs),
    'merge-group': o.mergeGroup,
    'dry-run': dryRun ? true : undefined,
  }
}

/** Parameters of move-namespace; the booleans always explicit. */
function moveNamespaceParams(o: MoveNamespaceOptions, dryRun: boolean): Params {
  return {
    ns: o.ns,
    'target-ns': o.targetNs,
    'max-depth': o.maxDepth,
    'delete-source': o.deleteSource,
    'merge-groups': o.mergeGroups,
    'dry-run': dryRun ? true : undefined,
  }
}
