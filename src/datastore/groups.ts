import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import {
  BACKUP_ID_REGEX,
  BACKUP_TYPES,
  MAX_BACKUP_ID_LENGTH,
  compareGroups,
  parseAuthid,
  type BackupGroupRef,
  type BackupNamespace,
} from '../api-types/index.js'
import { NotFoundError, StorageError, ValidationError } from '../errors.js'
import { replaceFile } from '../io/replace-file.js'
import type { LockGuard } from '../lock/index.js'
import type { Datastore } from './datastore.js'
import { isDirectory, isErrno, listSubdirs, removeFileIfExists } from './fs-util.js'
import { groupCreationTmpName } from './interrupted-group-work.js'
import { forgetSnapshot, listSnapshotRefs, listSnapshots } from './snapshots.js'

/** The owner file of a group. */
export const GROUP_OWNER_FILE = 'owner'
/** The notes file of a group. */
export const GROUP_NOTES_FILE = 'notes'

/** A group as listed (empty groups included). */
export interface GroupInfo extends BackupGroupRef {
  owner: string | undefined
  /** Number of snapshot directories, finished or not. */
  snapshotCount: number
  /** Newest finished snapshot time (epoch), if any. */
  lastBackup: number | undefined
  /** First line of the group notes. */
  comment: string | undefined
}

/** Groups of a namespace (directories with a valid id), in PBS order. */
export async function listGroupRefs(store: Datastore, ns: BackupNamespace): Promise<BackupGroupRef[]> {
  const out: BackupGroupRef[] = []
  for (const type of BACKUP_TYPES) {
    for (const id of await listSubdirs(store.typeDir(ns, type))) {
      if (BACKUP_ID_REGEX.test(id) && id.length <= MAX_BACKUP_ID_LENGTH) out.push({ type, id })
    }
  }
  return out.sort(compareGroups)
}

/** Groups of a namespace with owner, counts and comment — a group without snapshots is listed too. */
export async function listGroups(store: Datastore, ns: BackupNamespace): Promise<GroupInfo[]> {
  const out: GroupInfo[] = []
  for (const g of await listGroupRefs(store, ns)) {
    const snaps = await listSnapshots(store, ns, g)
    const finished = snaps.filter((s) => s.finished)
    out.push({
      ...g,
      owner: await readOwner(store, ns, g),
      snapshotCount: snaps.length,
      lastBackup: finished.length ? finished[finished.length - 1]!.dir.time : undefined,
      comment: (await readNotes(store, ns, g))?.split('\n')[0] || undefined,
    })
  }
  return out
}

/** True when the group directory exists. */
export async function groupExists(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<boolean> {
  return isDirectory(store.groupDir(ns, group))
}

/** @throws NotFoundError when the group does not exist. */
export async function assertGroupExists(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<void> {
  if (!(await groupExists(store, ns, group))) throw groupNotFound(store, ns, group)
}

/** The NotFoundError for a group. */
export function groupNotFound(store: Datastore, ns: BackupNamespace, group: BackupGroupRef): NotFoundError {
  return new NotFoundError(
    `group ${store.describeGroup(ns, group)} does not exist on store '${store.name}'`,
    {
      store: store.name,
      ns: ns.toString(),
      group: `${group.type}/${group.id}`,
    },
  )
}

/** The owner (first line of `owner`, trimmed), or undefined when the file is missing. */
export async function readOwner(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<string | undefined> {
  try {
    const text = await readFile(join(store.groupDir(ns, group), GROUP_OWNER_FILE), 'utf8')
    return (text.split('\n')[0] ?? '').trimEnd() || undefined
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

/**
 * The owner of an existing group.
 * @throws NotFoundError when the group or its owner file is missing.
 */
export async function getOwner(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<string> {
  await assertGroupExists(store, ns, group)
  const owner = await readOwner(store, ns, group)
  if (owner === undefined)
    throw new StorageError(
      `group ${store.describeGroup(ns, group)} on store '${store.name}' has no owner file`,
      { store: store.name },
    )
  return owner
}

/**
 * Changes a group's owner under the exclusive group lock (atomic replace of `owner`).
 * @throws ValidationError (bad authid), NotFoundError, LockBusyError
 */
export async function setOwner(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  owner: string,
): Promise<void> {
  parseAuthid(owner, 'new-owner')
  await assertGroupExists(store, ns, group)
  await using _lock = await store.lockGroup(ns, group)
  await assertGroupExists(store, ns, group)
  // S3 first, then local: a failed upload leaves the local state unchanged (spec §8.4).
  await store.backend.putGroupFile(ns, group, 'owner', `${owner}\n`)
  await replaceFile(join(store.groupDir(ns, group), GROUP_OWNER_FILE), `${owner}\n`, { mode: 0o644 })
}

/** Group notes, or undefined when there are none. */
export async function readNotes(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<string | undefined> {
  try {
    return await readFile(join(store.groupDir(ns, group), GROUP_NOTES_FILE), 'utf8')
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

/** Largest notes text accepted (PBS has no limit; a bound keeps hostile input out). */
export const MAX_NOTES_LENGTH = 64 * 1024

/**
 * Replaces the group notes atomically under the exclusive group lock.
 * @throws ValidationError (too long), NotFoundError, LockBusyError
 */
export async function setNotes(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  notes: string,
): Promise<void> {
  if (typeof notes !== 'string') throw new ValidationError('notes', notes, 'must be a string')
  if (Buffer.byteLength(notes) > MAX_NOTES_LENGTH)
    throw new ValidationError('notes', notes, `must be at most ${MAX_NOTES_LENGTH} bytes`)
  await assertGroupExists(store, ns, group)
  await using _lock = await store.lockGroup(ns, group)
  await assertGroupExists(store, ns, group)
  await store.backend.putGroupFile(ns, group, 'notes', notes)
  await replaceFile(join(store.groupDir(ns, group), GROUP_NOTES_FILE), notes, { mode: 0o644 })
}

/**
 * Opens or creates a group under its exclusive lock (PBS create_locked_backup_group). The lock is
 * taken first; a new group is prepared as a hidden temporary directory holding its `owner` and
 * renamed into place, so a crash never leaves a group without an owner. The caller releases the lock.
 * @returns the lock, the owner on disk, and whether the group was created now.
 * @throws LockBusyError when the group is locked, ValidationError for a bad owner.
 */
export async function createLockedGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  owner: string,
): Promise<{ lock: LockGuard; owner: string; created: boolean }> {
  parseAuthid(owner, 'owner')
  const lock = await store.lockGroup(ns, group)
  try {
    const dir = store.groupDir(ns, group)
    let created = false
    if (!(await isDirectory(dir))) {
      await mkdir(store.typeDir(ns, group.type), { recursive: true })
      // '.'-prefixed: not a valid backup id, so listings never show the half-made group.
      const tmp = join(store.typeDir(ns, group.type), groupCreationTmpName(group.id))
      await mkdir(tmp)
      try {
        await writeFile(join(tmp, GROUP_OWNER_FILE), `${owner}\n`, { mode: 0o644 })
        // The owner object goes up before the group appears locally (S3 first, spec §8.4).
        await store.backend.putGroupFile(ns, group, 'owner', `${owner}\n`)
        await rename(tmp, dir)
        created = true
      } catch (e) {
        await rm(tmp, { recursive: true, force: true })
        if (!isErrno(e, 'EEXIST', 'ENOTEMPTY')) throw e
      }
    }
    return { lock, owner: await getOwner(store, ns, group), created }
  } catch (e) {
    await lock.release()
    throw e
  }
}

/** What forgetGroup did. */
export interface ForgetGroupResult {
  removedSnapshots: number
  protectedKept: number
  /** The group directory (owner, notes) is gone. */
  removedGroup: boolean
}

/**
 * Removes a group: exclusive group lock, every unprotected snapshot through the normal snapshot
 * removal, then — when nothing is left — notes, owner, the directory and the group lock file.
 * @throws NotFoundError, LockBusyError (group or a snapshot in use)
 */
export async function forgetGroup(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<ForgetGroupResult> {
  store.assertNewStyleLocking(`removing group ${store.describeGroup(ns, group)}`)
  await assertGroupExists(store, ns, group)
  const lock = await store.lockGroup(ns, group)
  let removedGroup = false
  let removedSnapshots = 0
  let protectedKept = 0
  try {
    await assertGroupExists(store, ns, group)
    for (const snap of await listSnapshots(store, ns, group)) {
      if (snap.protected) {
        protectedKept++
        continue
      }
      await forgetSnapshot(store, ns, snap.dir)
      removedSnapshots++
    }
    if ((await listSnapshotRefs(store, ns, group)).length === 0) {
      const dir = store.groupDir(ns, group)
      // Owner, notes and any leftovers under `<group>/` (never `<id>0…`); a failure keeps the local group.
      await store.backend.deleteGroup(ns, group)
      await removeFileIfExists(join(dir, GROUP_NOTES_FILE))
      await removeFileIfExists(join(dir, GROUP_OWNER_FILE))
      await rm(dir, { recursive: true, force: true })
      removedGroup = true
    }
  } finally {
    await lock.release()
  }
  if (removedGroup) await removeFileIfExists(store.groupLockFile(ns, group))
  return { removedSnapshots, protectedKept, removedGroup }
}
