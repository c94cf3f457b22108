import { ValidationError } from '../errors.js'

/** The three PBS backup types. */
export type BackupType = 'vm' | 'ct' | 'host'

/** All backup types in PBS sort order (ct < host < vm). */
export const BACKUP_TYPES: readonly BackupType[] = ['ct', 'host', 'vm']

/** True for 'vm', 'ct' and 'host'. */
export function isBackupType(value: unknown): value is BackupType {
  return value === 'vm' || value === 'ct' || value === 'host'
}

/**
 * Checks a backup type and returns it.
 * @throws ValidationError when it is not one of vm, ct, host.
 */
export function parseBackupType(value: unknown, input = 'backup-type'): BackupType {
  if (!isBackupType(value)) throw new ValidationError(input, value, "must be one of 'vm', 'ct', 'host'")
  return value
}

/** PBS ordering of types: ct < host < vm. */
export function compareBackupType(a: BackupType, b: BackupType): number {
  return BACKUP_TYPES.indexOf(a) - BACKUP_TYPES.indexOf(b)
}
