/**
 * Shapes of the API answers the client returns (field names exactly as the PBS API sends them,
 * see spec/pbs-api.md §4). Optional fields are absent when the server omits them.
 */
import type { BackupType } from '../api-types/index.js'

/** Dry-run move plans (`dry-run` answers of move-group and move-namespace). */
export type { GroupMovePlan, MovePlan, S3RequestEstimate } from '../api-types/index.js'

/** GET /admin/datastore item. */
export interface DatastoreListItem {
  store: string
  comment?: string | null
  'mount-status'?: string
  maintenance?: string
  'backend-type'?: string
}

/** GET /admin/datastore/{store}/status (byte counts from statfs). */
export interface DatastoreStatus {
  total: number
  used: number
  avail: number
  'backend-type'?: string
}

/** GET …/namespace item; `ns` is '' for the root. */
export interface NamespaceListItem {
  ns: string
  comment?: string
}

/** GET …/groups item. */
export interface GroupListItem {
  'backup-type': BackupType
  'backup-id': string
  /** Epoch of the newest finished snapshot; 0 for an empty group. */
  'last-backup': number
  'backup-count': number
  files?: string[]
  owner?: string
  /** First line of the group notes (may end in '\n'). */
  comment?: string
}

/** Verify state of a snapshot. */
export interface SnapshotVerification {
  upid: string
  /** `ok` or `failed`. */
  state: string
}

/** One file of a snapshot. */
export interface SnapshotFile {
  filename: string
  'crypt-mode'?: string
  size?: number
}

/** GET …/snapshots item. */
export interface SnapshotListItem {
  'backup-type': BackupType
  'backup-id': string
  'backup-time': number
  comment?: string
  verification?: SnapshotVerification
  fingerprint?: string
  files?: (SnapshotFile | string)[]
  size?: number
  owner?: string
  protected?: boolean
}

/** Answer of a namespace or group delete. */
export interface DeleteResult {
  'removed-groups'?: number
  'protected-snapshots'?: number
  'removed-snapshots'?: number
}

/** GET /nodes/{node}/tasks item (snake_case as in PBS). */
export interface TaskListItem {
  upid: string
  node?: string
  pid?: number
  pstart?: number
  starttime: number
  worker_type: string
  worker_id?: string | null
  user: string
  endtime?: number
  /** Task status string (OK, WARNINGS: n, the error message, unknown); absent while running. */
  status?: string
}

/** Progress of a running task (pbs-store extension of the status answer). */
export interface TaskProgress {
  done: number
  total: number
  /** Units per second since the start. */
  rate?: number
  /** Estimated seconds left (null until something is done). */
  eta?: number | null
  /** What is counted (snapshots, chunks …). */
  unit?: string
}

/** GET /nodes/{node}/tasks/{upid}/status. */
export interface TaskStatus {
  upid: string
  node?: string
  pid?: number
  pstart?: number
  starttime: number
  type: string
  id?: string | null
  user: string
  tokenid?: string
  status: 'running' | 'stopped'
  exitstatus?: string
  endtime?: number
  progress?: TaskProgress
}

/** One task log line. */
export interface TaskLogLine {
  /** Line number, 1-based. */
  n: number
  t: string
}

/** A page of a task log. */
export interface TaskLogPage {
  lines: TaskLogLine[]
  /** Lines in the whole log. */
  total: number
  /** Whether the task still runs (when asked with test-status). */
  active?: boolean
}

/** One API token as the access endpoints list it. */
export interface TokenListItem {
  tokenid: string
  comment?: string
  enable?: boolean
  /** Epoch; 0 = never. */
  expire?: number
}

/** GET /access/users item (with include_tokens: its tokens, when it has any). */
export interface UserListItem {
  userid: string
  comment?: string
  enable?: boolean
  /** Epoch; 0 = never. */
  expire?: number
  firstname?: string
  lastname?: string
  email?: string
  tokens?: TokenListItem[]
}

/** GET /access/acl item. */
export interface AclListItem {
  path: string
  /** User id, token id or `@group`. */
  ugid: string
  ugid_type: 'user' | 'group'
  propagate: boolean
  roleid: string
}

/** POST /access/users/{userid}/token/{name}: the secret, shown only here. */
export interface NewToken {
  tokenid: string
  value: string
}

/** GET /access/permissions: privileges per ACL path, each with its propagate flag. */
export type PermissionMap = Record<string, Record<string, boolean>>
