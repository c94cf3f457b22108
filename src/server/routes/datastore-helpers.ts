/** Shared pieces of the datastore endpoints: opening the store, group/snapshot refs from params. */
import {
  BackupNamespace,
  backupDir,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupType,
} from '../../api-types/index.js'
import { openDatastore, type Datastore } from '../../datastore/index.js'
import {
  BACKUP_ID,
  BACKUP_TIME,
  BACKUP_TYPE,
  STORE,
  checkTime,
  nsParam,
  type ParamSchema,
} from '../params.js'
import type { ApiCall } from '../router.js'

/** Opens the datastore named by the `store` parameter. */
export function storeOf(call: ApiCall): Promise<Datastore> {
  return openDatastore(call.ctx.installation, call.params.store as string)
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

/** `store` + `ns` (optional). */
export const STORE_NS: ParamSchema = { store: STORE, ns: nsParam('Namespace (default: root).') }

/** `store` + group + `ns`. */
export const GROUP_PARAMS: ParamSchema = { ...STORE_NS, 'backup-type': BACKUP_TYPE, 'backup-id': BACKUP_ID }

/** `store` + snapshot + `ns`. */
export const SNAPSHOT_PARAMS: ParamSchema = { ...GROUP_PARAMS, 'backup-time': BACKUP_TIME }
