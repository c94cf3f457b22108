import type { BackupType } from '../../api-types/index.js'
import type { PruneEntry } from './prune-group.js'

/** One item of the PBS prune API answer (`POST /admin/datastore/{store}/prune`, dry run). */
export interface PbsPruneItem {
  'backup-type': BackupType
  'backup-id': string
  /** Epoch seconds. */
  'backup-time': number
  keep: boolean
  protected: boolean
  /** Only for snapshots outside the root namespace, as PBS. */
  ns?: string
}

/** Maps prune entries to the PBS prune API shape, keeping their order. */
export function toPbsPruneJson(entries: readonly PruneEntry[]): PbsPruneItem[] {
  return entries.map((e) => ({
    'backup-type': e.dir.type,
    'backup-id': e.dir.id,
    'backup-time': e.dir.time,
    keep: e.keep,
    protected: e.protected,
    ...(e.ns.isRoot ? {} : { ns: e.ns.toString() }),
  }))
}
