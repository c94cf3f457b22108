import { ValidationError } from '../errors.js'
import { compareGroups, parseGroupPath, type BackupGroupRef } from './backup-group.js'
import { formatBackupTime, parseBackupTimeString } from './backup-time.js'

/** A snapshot reference: group plus backup time (epoch and its canonical directory name). */
export interface BackupDirRef extends BackupGroupRef {
  /** Epoch seconds. */
  readonly time: number
  /** The directory name, e.g. `2026-04-16T17:18:23Z`. */
  readonly timeString: string
}

/** Builds a snapshot reference from a group and an epoch. */
export function backupDir(group: BackupGroupRef, time: number): BackupDirRef {
  return { type: group.type, id: group.id, time, timeString: formatBackupTime(time) }
}

/**
 * Parses `vm/100/2026-04-16T17:18:23Z`.
 * @throws ValidationError naming the input and the expected form.
 */
export function parseSnapshotPath(value: unknown, input = 'snapshot'): BackupDirRef {
  if (typeof value !== 'string')
    throw new ValidationError(input, value, "must be a string like 'vm/100/2026-04-16T17:18:23Z'")
  const parts = value.split('/')
  if (parts.length !== 3)
    throw new ValidationError(
      input,
      value,
      "must have the form '<type>/<id>/<time>', like 'vm/100/2026-04-16T17:18:23Z'",
    )
  const group = parseGroupPath(`${parts[0]}/${parts[1]}`, input)
  const timeString = parts[2] ?? ''
  const time = parseBackupTimeString(timeString, `${input} time`)
  return { ...group, time, timeString: formatBackupTime(time) }
}

/** The `type/id/time` form. */
export function formatSnapshotPath(dir: BackupDirRef): string {
  return `${dir.type}/${dir.id}/${dir.timeString}`
}

/** PBS ordering: group, then time. */
export function compareSnapshots(a: BackupDirRef, b: BackupDirRef): number {
  return compareGroups(a, b) || a.time - b.time
}
