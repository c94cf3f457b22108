import { formatBackupTime, type BackupDirRef } from '../../api-types/index.js'

/** Why two groups cannot be merged, or undefined when they can. */
export interface MergeConflict {
  kind: 'owner-mismatch' | 'snapshot-time-mismatch'
  /** One line for an error message. */
  reason: string
  /** Extra lines for the task log (oldest source / first conflicting target). */
  details: string[]
}

/**
 * The merge invariants of spec/move.md §2.2 step 11: equal owners, and every target snapshot
 * strictly older than the oldest source snapshot (equal times conflict). An empty source passes.
 */
export function checkMergeInvariants(
  sourceOwner: string,
  sourceSnapshots: readonly BackupDirRef[],
  targetOwner: string,
  targetSnapshots: readonly BackupDirRef[],
): MergeConflict | undefined {
  if (sourceOwner !== targetOwner)
    return {
      kind: 'owner-mismatch',
      reason: `owner mismatch - source group is owned by '${sourceOwner}', target group by '${targetOwner}'`,
      details: [],
    }
  if (sourceSnapshots.length === 0) return undefined
  const oldestSource = sourceSnapshots.reduce((min, s) => Math.min(min, s.time), Infinity)
  const conflicting = targetSnapshots.filter((t) => t.time >= oldestSource).sort((a, b) => a.time - b.time)
  const first = conflicting[0]
  if (first === undefined) return undefined
  return {
    kind: 'snapshot-time-mismatch',
    reason:
      `snapshot time mismatch - target snapshot ${first.timeString} is not older than the oldest source snapshot ` +
      `${formatBackupTime(oldestSource)} (${conflicting.length} conflicting target snapshot(s))`,
    details: [
      `oldest source snapshot: ${formatBackupTime(oldestSource)}`,
      `first conflicting target snapshot: ${first.timeString}`,
    ],
  }
}
