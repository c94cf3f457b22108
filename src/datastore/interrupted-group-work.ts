/**
 * Hidden directories of group work in a type directory (`<ns>/<type>/.tmp_*`): a new group is
 * prepared as `.tmp_new_<id>_<hex>` and renamed into place (createLockedGroup); an emptied group
 * is renamed to `.tmp_del_<id>_<hex>` before it is emptied (moveGroup). '.'-prefixed names are no
 * valid backup ids, so listings never show them; a crash can leave them behind, and they would
 * keep an emptied namespace from being removed.
 */
import { randomBytes } from 'node:crypto'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

import { BACKUP_ID_REGEX, type BackupNamespace, type BackupType } from '../api-types/index.js'
import { LockBusyError } from '../errors.js'
import type { LockGuard } from '../lock/index.js'
import type { Datastore } from './datastore.js'

/** The hidden name a new group `id` is prepared under. */
export function groupCreationTmpName(id: string): string {
  return `.tmp_new_${id}_${randomBytes(4).toString('hex')}`
}

/** The hidden name an emptied group `id` is renamed to before its last files go. */
export function groupRemovalTmpName(id: string): string {
  return `.tmp_del_${id}_${randomBytes(4).toString('hex')}`
}

/** The group id of a `.tmp_new_<id>_<hex>` name, or undefined for any other name. */
export function interruptedGroupCreation(name: string): string | undefined {
  return /^\.tmp_new_(.+)_[0-9a-f]{8}$/.exec(name)?.[1]
}

/**
 * Removes what crashes left in the type directory `type` of `ns`: every `.tmp_del_*` (only the
 * dead remover used it), and every `.tmp_new_<id>_*` whose group lock is free (a creation in
 * progress holds it: that one stays).
 */
export async function removeInterruptedGroupWork(
  store: Datastore,
  ns: BackupNamespace,
  type: BackupType,
): Promise<void> {
  const typeDir = store.typeDir(ns, type)
  let names: string[]
  try {
    names = await readdir(typeDir)
  } catch {
    return // no such type directory
  }
  for (const n of names) {
    if (n.startsWith('.tmp_del_')) {
      await rm(join(typeDir, n), { recursive: true, force: true })
      continue
    }
    const id = interruptedGroupCreation(n)
    if (id === undefined || !BACKUP_ID_REGEX.test(id)) continue
    let lock: LockGuard
    try {
      lock = await store.lockGroup(ns, { type, id })
    } catch (e) {
      if (e instanceof LockBusyError) continue // being created right now
      throw e
    }
    try {
      await rm(join(typeDir, n), { recursive: true, force: true })
    } finally {
      await lock.release()
    }
  }
}
