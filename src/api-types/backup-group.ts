import { ValidationError } from '../errors.js'
import { compareBackupId, parseBackupId } from './backup-id.js'
import { compareBackupType, parseBackupType, type BackupType } from './backup-type.js'

/** A backup group inside a namespace: type plus id. */
export interface BackupGroupRef {
  readonly type: BackupType
  readonly id: string
}

/**
 * Builds a checked group reference.
 * @throws ValidationError
 */
export function backupGroup(type: unknown, id: unknown): BackupGroupRef {
  return { type: parseBackupType(type), id: parseBackupId(id) }
}

/**
 * Parses `vm/100`.
 * @throws ValidationError naming the input and the expected form.
 */
export function parseGroupPath(value: unknown, input = 'group'): BackupGroupRef {
  if (typeof value !== 'string') throw new ValidationError(input, value, "must be a string like 'vm/100'")
  const parts = value.split('/')
  if (parts.length !== 2)
    throw new ValidationError(input, value, "must have the form '<type>/<id>', like 'vm/100'")
  return { type: parseBackupType(parts[0], `${input} type`), id: parseBackupId(parts[1], `${input} id`) }
}

/** The `type/id` form. */
export function formatGroupPath(group: BackupGroupRef): string {
  return `${group.type}/${group.id}`
}

/** PBS ordering: type, then id (numeric ids first, numerically). */
export function compareGroups(a: BackupGroupRef, b: BackupGroupRef): number {
  return compareBackupType(a.type, b.type) || compareBackupId(a.id, b.id)
}

/** Same type and id? */
export function sameGroup(a: BackupGroupRef, b: BackupGroupRef): boolean {
  return a.type === b.type && a.id === b.id
}
