/**
 * Shared pieces of the datastore endpoints: opening the store, group/snapshot refs from params, and
 * the store → namespace → privilege (→ owner) preamble most handlers start with.
 */
import {
  BackupNamespace,
  backupDir,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupType,
} from '../../api-types/index.js'
import { openDatastore, type Datastore, type DatastoreOperation } from '../../datastore/index.js'
import {
  BACKUP_ID,
  BACKUP_TIME,
  BACKUP_TYPE,
  STORE,
  checkTime,
  nsParam,
  type ParamSchema,
} from '../params.js'
import { checkGroupOwner, checkNsPrivs } from '../permissions.js'
import type { Access, ApiCall } from '../router.js'

/**
 * Opens the datastore named by the `store` parameter for `operation`, checked against its
 * maintenance mode: by default GET requests read and every other method writes.
 */
export function storeOf(call: ApiCall, operation?: DatastoreOperation): Promise<Datastore> {
  return openDatastore(call.ctx.installation, call.params.store as string, {
    operation: operation ?? (call.request.method === 'GET' ? 'read' : 'write'),
  })
}

/** The `ns` parameter (root when absent). */
export function nsOf(call: ApiCall, name = 'ns'): BackupNamespace {
  return (call.params[name] as BackupNamespace | undefined) ?? BackupNamespace.ROOT
}

/** The group named by `backup-type` and `backup-id`. */
export function groupOf(call: ApiCall): BackupGroupRef {
  return { type: call.params['backup-type'] as BackupType, id: call.params['backup-id'] as string }
}

/** The snapshot named by `backup-type`, `backup-id` and `backup-time`. */
export function snapshotOf(call: ApiCall): BackupDirRef {
  return backupDir(groupOf(call), checkTime(call.params['backup-time'] as number))
}

/**
 * The caller's namespace privileges on `ns` of `store` (see checkNsPrivs).
 * @returns true when access is limited to owned groups.
 * @throws PermissionError
 */
export function callerNsPrivs(
  call: ApiCall,
  store: Datastore,
  ns: BackupNamespace,
  full: number,
  partial = 0,
): Promise<boolean> {
  return checkNsPrivs(call.ctx, call.auth, store.name, ns, full, partial)
}

/** A namespace a handler works on, and whether the caller is limited to owned groups there. */
export interface NsTarget {
  store: Datastore
  ns: BackupNamespace
  limited: boolean
}

/** Opens the store and checks the caller's privileges on the `ns` parameter. */
export async function openNs(call: ApiCall, full: number, partial = 0): Promise<NsTarget> {
  const store = await storeOf(call)
  const ns = nsOf(call)
  const limited = await callerNsPrivs(call, store, ns, full, partial)
  return { store, ns, limited }
}

/** A group a handler works on after the access checks. */
export interface GroupTarget {
  store: Datastore
  ns: BackupNamespace
  group: BackupGroupRef
}

/**
 * Opens the store and checks namespace privileges and, when only `partial` is held, ownership of
 * the group named by the parameters.
 * @throws PermissionError, NotFoundError
 */
export async function openGroup(call: ApiCall, full: number, partial: number): Promise<GroupTarget> {
  const { store, ns, limited } = await openNs(call, full, partial)
  const group = groupOf(call)
  if (limited) await checkGroupOwner(store, ns, group, call.auth)
  return { store, ns, group }
}

/** A snapshot a handler works on after the access checks. */
export interface SnapshotTarget {
  store: Datastore
  ns: BackupNamespace
  dir: BackupDirRef
}

/** openGroup, then the snapshot named by the parameters (its time is checked after the access). */
export async function openSnapshot(call: ApiCall, full: number, partial: number): Promise<SnapshotTarget> {
  const { store, ns } = await openGroup(call, full, partial)
  return { store, ns, dir: snapshotOf(call) }
}

/** Route access: `privs` on `/datastore/{store}`. */
export function storeAccess(privs: number): Access {
  return { kind: 'privs', path: (u) => `/datastore/${u.store}`, privs }
}

/** Only `store`. */
export const STORE_ONLY: ParamSchema = { store: STORE }

/** `store` + `ns` (optional). */
export const STORE_NS: ParamSchema = { store: STORE, ns: nsParam('Namespace (default: root).') }

/** `store` + group + `ns`. */
export const GROUP_PARAMS: ParamSchema = { ...STORE_NS, 'backup-type': BACKUP_TYPE, 'backup-id': BACKUP_ID }

/** `store` + snapshot + `ns`. */
export const SNAPSHOT_PARAMS: ParamSchema = { ...GROUP_PARAMS, 'backup-time': BACKUP_TIME }

/** `store` + `ns` + an optional group filter. */
export const GROUP_FILTER_PARAMS: ParamSchema = {
  ...STORE_NS,
  'backup-type': { ...BACKUP_TYPE, optional: true },
  'backup-id': { ...BACKUP_ID, optional: true },
}
