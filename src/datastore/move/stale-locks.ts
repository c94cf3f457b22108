import { readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'

import type { BackupGroupRef, BackupNamespace } from '../../api-types/index.js'
import { escapeUnitPath } from '../../lock/index.js'
import type { Datastore } from '../datastore.js'
import { isErrno, removeFileIfExists } from '../fs-util.js'

/**
 * Removes snapshot and manifest lock files left for a group that no longer exists at `ns` (a
 * crash between a snapshot rename and its lock-file cleanup leaves them). Called only while the
 * group lock is held and the group directory is gone, so no such lock can be in use. Lock files
 * of long ids live under `hashed/` and are left alone.
 */
export async function removeStaleSnapshotLocks(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<number> {
  const groupLock = store.groupLockFile(ns, group)
  const dir = dirname(groupLock)
  // Escaped snapshot names start with the escaped group path plus '-' ('/' escapes to '-', while
  // a '-' inside an id escapes to \x2d), so the prefix cannot match another group.
  const prefix = `${escapeUnitPath(`${group.type}/${group.id}`)}-`
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0
    throw e
  }
  let removed = 0
  for (const n of names) {
    if (!n.startsWith(prefix)) continue
    await removeFileIfExists(join(dir, n))
    removed++
  }
  return removed
}
