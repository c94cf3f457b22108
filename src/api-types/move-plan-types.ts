/**
 * The dry-run plan of a group or namespace move as plain data: what the engine computes, what the
 * API answers with `dry-run`, and what the client, CLI and web UI show. Shared here so the shape
 * is written down once.
 */

/** Requests an S3 move makes, by kind. */
export interface S3RequestEstimate {
  list: number
  copy: number
  delete: number
  put: number
}

/** The plan for one group. */
export interface GroupMovePlan {
  ns: string
  'target-ns': string
  /** `type/id`. */
  group: string
  snapshots: number
  /** 'create' = new group at the target; 'merge' = into the existing one; 'conflict' = would fail. */
  action: 'create' | 'merge' | 'conflict'
  'target-snapshots': number
  /** Why it would fail (merge refused, …). */
  conflict?: string
  /** What happens to the group notes. */
  notes: 'none' | 'move' | 'keep-target' | 'identical'
  /** S3 stores: the requests the move will make (from the cache's file counts). */
  's3-requests'?: S3RequestEstimate
}

/** A whole move plan (group or namespace move). */
export interface MovePlan {
  store: string
  groups: GroupMovePlan[]
  'create-namespaces': string[]
  'remove-namespaces': string[]
  'total-snapshots': number
  conflicts: number
  /** S3 stores: the sum over all groups that would move. */
  's3-requests'?: S3RequestEstimate
}
