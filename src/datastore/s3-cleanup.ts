/**
 * `pbs-store s3 cleanup`: the move recovery (finishes or rolls back S3 moves a crash or a failed
 * delete left unfinished), then the orphan sweep (content objects without a cache counterpart).
 * GC runs only the recovery: deleting content objects is left to this explicit command.
 */
import type { MoveRecoveryResult } from '../backend/datastore-backend.js'
import type { Datastore } from './datastore.js'
import { recoverS3Moves } from './move/move-group.js'
import type { OperationContext } from './operation-context.js'
import { sweepS3Orphans, type S3OrphanSweepOptions, type S3OrphanSweepResult } from './s3-orphan-sweep.js'

/** What cleanupS3 did; `sweep` is undefined on a filesystem datastore. */
export interface S3CleanupResult {
  recovery: MoveRecoveryResult
  sweep: S3OrphanSweepResult | undefined
}

/** Recovers S3 moves (waiting out the grace of a just-dead move), then sweeps orphaned objects. */
export async function cleanupS3(
  store: Datastore,
  options: S3OrphanSweepOptions & { log?: NonNullable<OperationContext['log']> } = {},
): Promise<S3CleanupResult> {
  const recovery = await recoverS3Moves(store, options.log)
  if (!store.remote) return { recovery, sweep: undefined }
  const sweep = await sweepS3Orphans(store, options.graceMs === undefined ? {} : { graceMs: options.graceMs })
  for (const w of sweep.warnings) options.log?.warn(w)
  return { recovery, sweep }
}
