import { lstat, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import {
  BACKUP_TIME_REGEX,
  MANIFEST_BLOB_NAME,
  backupDir,
  parseBackupTimeString,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../api-types/index.js'
import { ConflictError, NotFoundError } from '../errors.js'
import type { Datastore } from './datastore.js'
import { isErrno, listSubdirs, removeFileIfExists } from './fs-util.js'

/** Name of the marker file that protects a snapshot from forget and prune. */
export const PROTECTED_MARKER = '.protected'

/** Files that belong to a snapshot listing (PBS BACKUP_FILES_AND_PROTECTED_REGEX). */
const SNAPSHOT_FILE_REGEX = /^(.*\.([fd]idx|blob)|\.protected)$/

/** One file of a snapshot. */
export interface SnapshotFile {
  filename: string
  /** Bytes on disk. */
  size: number
}

/** A snapshot as found on disk. */
export interface SnapshotInfo {
  readonly dir: BackupDirRef
  /** Has a manifest (`index.json.blob`); without it the snapshot is unfinished. */
  readonly finished: boolean
  readonly protected: boolean
  readonly files: SnapshotFile[]
}

/** Snapshot directories of a group, oldest first (names that are not canonical times are ignored). */
export async function listSnapshotRefs(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<BackupDirRef[]> {
  const out: BackupDirRef[] = []
  for (const name of await listSubdirs(store.groupDir(ns, group))) {
    if (!BACKUP_TIME_REGEX.test(name)) continue
    let time: number
    try {
      time = parseBackupTimeString(name)
    } catch {
      continue // matches the regex but is no real time (2026-02-30): not a snapshot of ours
    }
    const dir = backupDir(group, time)
    if (dir.timeString !== name) continue
    out.push(dir)
  }
  return out.sort((a, b) => a.time - b.time)
}

/** The regular files of a snapshot that PBS lists (indexes, blobs, .protected). */
export async function snapshotFiles(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<SnapshotFile[]> {
  const path = store.snapshotDir(ns, dir)
  let entries
  try {
    entries = await readdir(path, { withFileTypes: true })
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw snapshotNotFound(store, ns, dir)
    throw e
  }
  const files: SnapshotFile[] = []
  for (const e of entries) {
    if (!e.isFile() || !SNAPSHOT_FILE_REGEX.test(e.name)) continue
    const st = await lstat(join(path, e.name))
    files.push({ filename: e.name, size: st.size })
  }
  return files.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))
}

/** Snapshot info of every snapshot of a group, oldest first. */
export async function listSnapshots(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = []
  for (const dir of await listSnapshotRefs(store, ns, group)) {
    let files: SnapshotFile[]
    try {
      files = await snapshotFiles(store, ns, dir)
    } catch (e) {
      if (e instanceof NotFoundError) continue // removed while listing
      throw e
    }
    out.push({
      dir,
      finished: files.some((f) => f.filename === MANIFEST_BLOB_NAME),
      protected: files.some((f) => f.filename === PROTECTED_MARKER),
      files: files.filter((f) => f.filename !== PROTECTED_MARKER),
    })
  }
  return out
}

/** The NotFoundError for a snapshot. */
export function snapshotNotFound(store: Datastore, ns: BackupNamespace, dir: BackupDirRef): NotFoundError {
  return new NotFoundError(
    `snapshot ${store.describeSnapshot(ns, dir)} does not exist on store '${store.name}'`,
    {
      store: store.name,
      ns: ns.toString(),
      snapshot: `${dir.type}/${dir.id}/${dir.timeString}`,
    },
  )
}

/** True when the snapshot carries the `.protected` marker. */
export async function isProtected(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<boolean> {
  try {
    return (await lstat(join(store.snapshotDir(ns, dir), PROTECTED_MARKER))).isFile()
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false
    throw e
  }
}

/** @throws NotFoundError when the snapshot directory does not exist. */
export async function assertSnapshotExists(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<void> {
  try {
    if ((await lstat(store.snapshotDir(ns, dir))).isDirectory()) return
  } catch (e) {
    if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e
  }
  throw snapshotNotFound(store, ns, dir)
}

/**
 * Sets or clears protection under the exclusive snapshot lock (PBS update_protection).
 * @throws NotFoundError, LockBusyError
 */
export async function setProtected(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
  value: boolean,
): Promise<void> {
  await assertSnapshotExists(store, ns, dir)
  await using _lock = await store.lockSnapshot(ns, dir, 'exclusive')
  await assertSnapshotExists(store, ns, dir)
  const marker = join(store.snapshotDir(ns, dir), PROTECTED_MARKER)
  if (value) {
    // local first, then the conditional put (spec §8.4); a failed put takes the local marker back
    await writeFile(marker, '', { mode: 0o644 })
    try {
      await store.backend.putProtectedMarker(ns, dir)
    } catch (e) {
      await removeFileIfExists(marker).catch(() => undefined)
      throw e
    }
  } else {
    const had = await isProtected(store, ns, dir)
    await removeFileIfExists(marker)
    try {
      await store.backend.deleteProtectedMarker(ns, dir)
    } catch (e) {
      if (had) await writeFile(marker, '', { mode: 0o644 }).catch(() => undefined)
      throw e
    }
  }
}

/**
 * Removes a snapshot (PBS BackupDir::destroy with force=false): exclusive snapshot lock, then the
 * manifest lock; refuses protected snapshots; removes the directory, then its lock files. The
 * group is kept even when it becomes empty, with its owner and notes.
 * @throws NotFoundError, ConflictError (protected), LockBusyError
 */
export async function forgetSnapshot(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<void> {
  await assertSnapshotExists(store, ns, dir)
  const snapLock = await store.lockSnapshot(ns, dir, 'exclusive')
  try {
    const manifestLock = await store.lockManifest(ns, dir)
    try {
      await assertSnapshotExists(store, ns, dir)
      if (await isProtected(store, ns, dir))
        throw new ConflictError(
          `cannot remove protected snapshot ${store.describeSnapshot(ns, dir)} on store '${store.name}'`,
          {
            store: store.name,
            ns: ns.toString(),
            snapshot: `${dir.type}/${dir.id}/${dir.timeString}`,
          },
        )
      // The bucket first (prefix ends in '/'): if a delete fails, the local snapshot stays (spec §8.4).
      await store.backend.deleteSnapshot(ns, dir)
      await rm(store.snapshotDir(ns, dir), { recursive: true, force: true })
    } finally {
      await manifestLock.release()
    }
  } finally {
    await snapLock.release()
  }
  // Lock files go after the directory, as PBS: a waiter that got the old inode fails its double-stat check.
  for (const f of store.snapshotLockFiles(ns, dir)) await removeFileIfExists(f)
}
