/**
 * Lock-file paths in the PBS "new locking" layout (spec §3.2), so pbs-store and a live PBS pointed at
 * the same lock directory lock the very same files. Pure: no I/O.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'

import { escapeUnitPath } from './systemd-escape.js'

/** Name of the manifest lock inside the snapshot rpath (`MANIFEST_LOCK_NAME`). */
export const MANIFEST_LOCK_NAME = '.index.json.lck'

/** Escaped names of this length or more go to `hashed/` (filesystems cap names at 255 bytes). */
export const MAX_PLAIN_LOCK_NAME = 255

/** Bytes of the escaped name kept at each end of a hashed lock name. */
const HASHED_KEEP = 80

/** Namespace directory part: components joined with ':'; '' for the root (no subdirectory). */
export function namespaceLockDir(nsComponents: readonly string[]): string {
  return nsComponents.join(':')
}

/** File name (relative to the namespace lock dir) for an object rpath: escaped, or `hashed/…` when long. */
export function lockFileName(rpath: string): string {
  const enc = escapeUnitPath(rpath)
  if (enc.length < MAX_PLAIN_LOCK_NAME) return enc
  // enc is pure ASCII, so string indices are byte indices as in PBS.
  const hash = createHash('sha256').update(rpath, 'utf8').digest('hex')
  return join('hashed', `${enc.slice(0, HASHED_KEEP)}...${enc.slice(enc.length - HASHED_KEEP)}-${hash}`)
}

/** Lock file for an object at `rpath` (relative to its namespace) of datastore `store`. */
export function lockFilePath(
  lockDir: string,
  store: string,
  nsComponents: readonly string[],
  rpath: string,
): string {
  return join(lockDir, store, namespaceLockDir(nsComponents), lockFileName(rpath))
}

/** Group lock file (rpath `<type>/<id>`). */
export function groupLockPath(
  lockDir: string,
  store: string,
  ns: readonly string[],
  type: string,
  id: string,
): string {
  return lockFilePath(lockDir, store, ns, `${type}/${id}`)
}

/** Snapshot lock file (rpath `<type>/<id>/<time>`); `timeString` is the directory name, e.g. `2024-01-02T03:04:05Z`. */
export function snapshotLockPath(
  lockDir: string,
  store: string,
  ns: readonly string[],
  type: string,
  id: string,
  timeString: string,
): string {
  return lockFilePath(lockDir, store, ns, `${type}/${id}/${timeString}`)
}

/** Manifest lock file (rpath `<type>/<id>/<time>/.index.json.lck`). */
export function manifestLockPath(
  lockDir: string,
  store: string,
  ns: readonly string[],
  type: string,
  id: string,
  timeString: string,
): string {
  return lockFilePath(lockDir, store, ns, `${type}/${id}/${timeString}/${MANIFEST_LOCK_NAME}`)
}

/** Per-chunk lock of the S3 backend: `<lockDir>/<store>/.chunks/<first 4 hex>/<digest>`. */
export function chunkLockPath(lockDir: string, store: string, digestHex: string): string {
  return join(lockDir, store, '.chunks', digestHex.slice(0, 4), digestHex)
}

/** Lock file guarding the move journal: `<lockDir>/<store>/move-journal`. */
export function moveJournalPath(lockDir: string, store: string): string {
  return join(lockDir, store, 'move-journal')
}
