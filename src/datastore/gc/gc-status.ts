/** The GC result as PBS stores it in `<base>/.gc-status` (spec §7.5). */
import { join } from 'node:path'

import { replaceFile } from '../../io/replace-file.js'

/** Name of the status file in the datastore base. */
export const GC_STATUS_FILE = '.gc-status'

/** Counters of one GC run (PBS GarbageCollectionStatus, camel-cased). */
export interface GcStatus {
  upid?: string
  indexFileCount: number
  indexDataBytes: number
  diskBytes: number
  diskChunks: number
  removedBytes: number
  removedChunks: number
  pendingBytes: number
  pendingChunks: number
  removedBad: number
  stillBad: number
  cacheStats?: { hits: number; misses: number }
}

/** A zeroed status. */
export function emptyGcStatus(upid?: string): GcStatus {
  return {
    ...(upid === undefined ? {} : { upid }),
    indexFileCount: 0,
    indexDataBytes: 0,
    diskBytes: 0,
    diskChunks: 0,
    removedBytes: 0,
    removedChunks: 0,
    pendingBytes: 0,
    pendingChunks: 0,
    removedBad: 0,
    stillBad: 0,
  }
}

/** The PBS JSON shape (kebab-case keys, key order as PBS serialises them). */
export function gcStatusJson(s: GcStatus): Record<string, unknown> {
  return {
    ...(s.upid === undefined ? {} : { upid: s.upid }),
    'index-file-count': s.indexFileCount,
    'index-data-bytes': s.indexDataBytes,
    'disk-bytes': s.diskBytes,
    'disk-chunks': s.diskChunks,
    'removed-bytes': s.removedBytes,
    'removed-chunks': s.removedChunks,
    'pending-bytes': s.pendingBytes,
    'pending-chunks': s.pendingChunks,
    'removed-bad': s.removedBad,
    'still-bad': s.stillBad,
    ...(s.cacheStats === undefined ? {} : { 'cache-stats': { ...s.cacheStats } }),
  }
}

/** Writes `.gc-status` atomically (compact JSON, mode 0644). */
export async function writeGcStatus(base: string, status: GcStatus): Promise<void> {
  await replaceFile(join(base, GC_STATUS_FILE), JSON.stringify(gcStatusJson(status)), { mode: 0o644 })
}
