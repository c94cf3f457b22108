/**
 * PBS privileges and built-in roles (pbs-api-types/src/acl.rs, spec/pbs-api.md §3.1–§3.2).
 * A privilege set is a bitmask; bit numbers follow PBS's declaration order, so masks can be
 * compared with PBS's own where needed. Pure data, no I/O.
 */

/** Every privilege name, bit 0 first (PBS order). */
export const PRIVILEGE_NAMES = [
  'Sys.Audit',
  'Sys.Modify',
  'Sys.PowerManagement',
  'Datastore.Audit',
  'Datastore.Allocate',
  'Datastore.Modify',
  'Datastore.Read',
  'Datastore.Verify',
  'Datastore.Backup',
  'Datastore.Prune',
  'Permissions.Modify',
  'Remote.Audit',
  'Remote.Modify',
  'Remote.Read',
  'Remote.DatastoreBackup',
  'Remote.DatastoreModify',
  'Remote.DatastorePrune',
  'Sys.Console',
  'Tape.Audit',
  'Tape.Modify',
  'Tape.Write',
  'Tape.Read',
  'Realm.Allocate',
] as const

/** A privilege name such as `Datastore.Modify`. */
export type PrivilegeName = (typeof PRIVILEGE_NAMES)[number]

/** Bit of one privilege. */
export function privBit(name: PrivilegeName): number {
  return 1 << PRIVILEGE_NAMES.indexOf(name)
}

/** The privilege bits by name, e.g. `PRIV.DatastoreModify`. */
export const PRIV = {
  SysAudit: privBit('Sys.Audit'),
  SysModify: privBit('Sys.Modify'),
  DatastoreAudit: privBit('Datastore.Audit'),
  DatastoreAllocate: privBit('Datastore.Allocate'),
  DatastoreModify: privBit('Datastore.Modify'),
  DatastoreRead: privBit('Datastore.Read'),
  DatastoreVerify: privBit('Datastore.Verify'),
  DatastoreBackup: privBit('Datastore.Backup'),
  DatastorePrune: privBit('Datastore.Prune'),
  PermissionsModify: privBit('Permissions.Modify'),
} as const

/** All privilege bits set. */
export const ALL_PRIVS = (1 << PRIVILEGE_NAMES.length) - 1

/** PBS NS_PRIVS_OK: any of these makes a namespace or datastore visible. */
export const NS_PRIVS_OK =
  PRIV.DatastoreModify | PRIV.DatastoreRead | PRIV.DatastoreBackup | PRIV.DatastoreAudit

/** A built-in role. */
export interface RoleDefinition {
  /** Privilege bits the role grants. */
  privs: number
  /** The comment `/access/roles` returns. */
  comment: string
}

const bits = (...names: PrivilegeName[]): number => names.reduce((m, n) => m | privBit(n), 0)

/** The built-in roles (PBS has no custom roles). `NoAccess` grants nothing and blocks inheritance. */
export const ROLES: Readonly<Record<string, RoleDefinition>> = Object.freeze({
  Admin: { privs: ALL_PRIVS, comment: 'Administrator' },
  Audit: { privs: bits('Sys.Audit', 'Datastore.Audit'), comment: 'Auditor' },
  NoAccess: { privs: 0, comment: 'Disable Access' },
  DatastoreAdmin: {
    privs: bits(
      'Datastore.Audit',
      'Datastore.Modify',
      'Datastore.Read',
      'Datastore.Verify',
      'Datastore.Backup',
      'Datastore.Prune',
    ),
    comment: 'Datastore Administrator',
  },
  DatastoreReader: {
    privs: bits('Datastore.Audit', 'Datastore.Verify', 'Datastore.Read'),
    comment: 'Datastore Reader (inspect datastore content and do restores)',
  },
  DatastoreBackup: {
    privs: bits('Datastore.Backup'),
    comment: 'Datastore Backup (backup and restore owned backups)',
  },
  DatastorePowerUser: {
    privs: bits('Datastore.Prune', 'Datastore.Backup'),
    comment: 'Datastore PowerUser (backup, restore and prune owned backup)',
  },
  DatastoreAudit: { privs: bits('Datastore.Audit'), comment: 'Datastore Auditor' },
  RemoteAudit: { privs: bits('Remote.Audit'), comment: 'Remote Auditor' },
  RemoteAdmin: {
    privs: bits('Remote.Audit', 'Remote.Modify', 'Remote.Read'),
    comment: 'Remote Administrator',
  },
  RemoteSyncOperator: { privs: bits('Remote.Audit', 'Remote.Read'), comment: 'Synchronisation Operator' },
  RemoteSyncPushOperator: {
    privs: bits('Remote.Audit', 'Remote.DatastoreBackup'),
    comment: 'Synchronisation Operator (push direction)',
  },
  RemoteDatastorePowerUser: {
    privs: bits('Remote.Audit', 'Remote.DatastoreBackup', 'Remote.DatastorePrune'),
    comment: 'Remote Datastore PowerUser',
  },
  RemoteDatastoreAdmin: {
    privs: bits('Remote.Audit', 'Remote.DatastoreBackup', 'Remote.DatastoreModify', 'Remote.DatastorePrune'),
    comment: 'Remote Datastore Administrator',
  },
  TapeAudit: { privs: bits('Tape.Audit'), comment: 'Tape Auditor' },
  TapeAdmin: {
    privs: bits('Tape.Audit', 'Tape.Modify', 'Tape.Read', 'Tape.Write'),
    comment: 'Tape Administrator',
  },
  TapeOperator: { privs: bits('Tape.Audit', 'Tape.Read', 'Tape.Write'), comment: 'Tape Operator' },
  TapeReader: { privs: bits('Tape.Audit', 'Tape.Read'), comment: 'Tape Reader' },
})

/** True for a built-in role name. */
export function isRoleName(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(ROLES, name)
}

/** Names of the privileges in a mask, in PBS order. */
export function privNames(mask: number): PrivilegeName[] {
  return PRIVILEGE_NAMES.filter((_, i) => (mask & (1 << i)) !== 0)
}
