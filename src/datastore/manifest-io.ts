/**
 * Reading and writing a snapshot's manifest `index.json.blob` (spec §5).
 *
 * Writes only ever happen under the manifest lock (a separate lock file, because the atomic
 * replace gives the manifest a new inode and would void any lock on the file itself), as a full
 * load → modify → encode → atomic replace cycle, so concurrent verify / notes / backup-finish
 * updates never lose each other's changes.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import type { BackupDirRef, BackupNamespace } from '../api-types/index.js'
import type { SyncLevel } from '../config/datastore-config.js'
import { CorruptionError, NotFoundError, StorageError, errorMessage } from '../errors.js'
import {
  MANIFEST_BLOB_NAME,
  decodeManifestBlob,
  encodeManifestBlob,
  getManifestNotes,
  getVerifyState,
  manifestKeyFingerprint,
  type BackupManifest,
  type CryptMode,
  type SnapshotVerifyState,
} from '../format/index.js'
import { replaceFile } from '../io/replace-file.js'
import type { Datastore } from './datastore.js'
import { isErrno } from './fs-util.js'

/** A loaded manifest and the size of its blob file. */
export interface LoadedManifest {
  manifest: BackupManifest
  /** Bytes of `index.json.blob` on disk. */
  rawSize: number
}

/** Path of a snapshot's manifest. */
export function manifestPath(store: Datastore, ns: BackupNamespace, dir: BackupDirRef): string {
  return join(store.snapshotDir(ns, dir), MANIFEST_BLOB_NAME)
}

/**
 * Loads and decodes the manifest without locking (PBS load_manifest); CRC is checked.
 * @throws NotFoundError (unfinished or missing snapshot), CorruptionError (bad blob or JSON).
 */
export async function loadManifest(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<LoadedManifest> {
  const what = `manifest of snapshot ${store.describeSnapshot(ns, dir)} on store '${store.name}'`
  let raw: Buffer
  try {
    raw = await readFile(manifestPath(store, ns, dir))
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) {
      throw new NotFoundError(`loading ${what} failed - no manifest (snapshot missing or unfinished)`, {
        store: store.name,
        snapshot: `${dir.type}/${dir.id}/${dir.timeString}`,
      })
    }
    throw new StorageError(`loading ${what} failed - ${errorMessage(e)}`, { store: store.name }, { cause: e })
  }
  try {
    return { manifest: decodeManifestBlob(raw), rawSize: raw.length }
  } catch (e) {
    throw new CorruptionError(
      `loading ${what} failed - ${errorMessage(e)}`,
      { store: store.name },
      { cause: e },
    )
  }
}

/** Options for writing a manifest. */
export interface WriteManifestOptions {
  /** Durability (default: the store's sync-level; only 'file' fsyncs here). */
  sync?: SyncLevel
}

/**
 * Updates the manifest of an existing snapshot (PBS update_manifest): manifest lock (5 s), load,
 * `update` (returns the new manifest), encode, atomic replace. Returns what was written.
 * @throws LockBusyError, NotFoundError, CorruptionError, StorageError
 */
export async function updateManifest(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
  update: (manifest: BackupManifest) => BackupManifest,
  options: WriteManifestOptions = {},
): Promise<BackupManifest> {
  await using _lock = await store.lockManifest(ns, dir)
  const { manifest } = await loadManifest(store, ns, dir)
  const next = update(manifest)
  await writeManifestFile(store, ns, dir, next, options)
  return next
}

/**
 * Writes a manifest under the manifest lock, creating or replacing it (the backup writer's
 * final step, which makes the snapshot finished).
 * @throws LockBusyError, StorageError
 */
export async function storeManifest(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
  manifest: BackupManifest,
  options: WriteManifestOptions = {},
): Promise<void> {
  await using _lock = await store.lockManifest(ns, dir)
  await writeManifestFile(store, ns, dir, manifest, options)
}

async function writeManifestFile(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
  manifest: BackupManifest,
  options: WriteManifestOptions,
): Promise<void> {
  const sync = options.sync ?? store.config.tuning['sync-level'] ?? 'filesystem'
  const blob = encodeManifestBlob(manifest)
  try {
    // S3 first, then local: a failed upload leaves the local manifest unchanged (spec §8.4).
    await store.backend.putSnapshotFile(ns, dir, MANIFEST_BLOB_NAME, blob)
    await replaceFile(manifestPath(store, ns, dir), blob, {
      mode: 0o644,
      sync: sync === 'file' ? 'file' : 'none',
    })
  } catch (e) {
    throw new StorageError(
      `writing manifest of snapshot ${store.describeSnapshot(ns, dir)} on store '${store.name}' failed - ${errorMessage(e)}`,
      { store: store.name },
      { cause: e },
    )
  }
}

/** Manifest facts shown in snapshot listings (PBS SnapshotListItem). */
export interface ManifestSummary {
  /** Crypt mode per manifest file name. */
  cryptModes: ReadonlyMap<string, CryptMode>
  /** The last verification, if any. */
  verification: SnapshotVerifyState | undefined
  /** First line of the snapshot notes. */
  comment: string | undefined
  /** Key fingerprint of encrypted or signed snapshots. */
  fingerprint: string | undefined
}

/**
 * Reads what a listing shows from a snapshot's manifest; undefined when there is none or it
 * cannot be read (a listing must not fail because of one bad snapshot; verify reports those).
 */
export async function readManifestSummary(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<ManifestSummary | undefined> {
  try {
    const { manifest } = await loadManifest(store, ns, dir)
    const notes = getManifestNotes(manifest)
    return {
      cryptModes: new Map(manifest.files.map((f) => [f.filename, f['crypt-mode']])),
      verification: getVerifyState(manifest),
      comment: notes === undefined ? undefined : notes.split('\n')[0] || undefined,
      fingerprint: manifestKeyFingerprint(manifest),
    }
  } catch {
    return undefined
  }
}
