/**
 * The files of a snapshot in the shape of PBS's `files` answer, shared by the API and the CLI so
 * both show the same list: the manifest's files with crypt mode and size, the manifest itself,
 * then any other file of the directory (`.protected` is a marker, not a file of the backup).
 */
import type { BackupDirRef, BackupNamespace } from '../api-types/index.js'
import { DatastoreError } from '../errors.js'
import { MANIFEST_BLOB_NAME } from '../format/index.js'
import type { Datastore } from './datastore.js'
import { loadManifest, type LoadedManifest } from './manifest-io.js'
import { snapshotFiles } from './snapshots.js'

/** One file of a snapshot; crypt mode and size only for what the manifest lists (and itself). */
export interface SnapshotFileEntry {
  filename: string
  'crypt-mode'?: string
  size?: number
}

/**
 * The snapshot's files and its manifest; without a readable manifest, just the files on disk and
 * `manifest: undefined` (listings show such snapshots; the `files` endpoint treats them as missing).
 */
export async function snapshotFileList(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<{ files: SnapshotFileEntry[]; manifest: LoadedManifest | undefined }> {
  const onDisk = (await snapshotFiles(store, ns, dir)).filter((f) => f.filename !== '.protected')
  let loaded: LoadedManifest | undefined
  try {
    loaded = await loadManifest(store, ns, dir)
  } catch (e) {
    if (!(e instanceof DatastoreError)) throw e
  }
  if (loaded === undefined)
    return { files: onDisk.map((f) => ({ filename: f.filename })), manifest: undefined }
  const files: SnapshotFileEntry[] = loaded.manifest.files.map((f) => ({
    filename: f.filename,
    'crypt-mode': f['crypt-mode'],
    size: f.size,
  }))
  files.push({
    filename: MANIFEST_BLOB_NAME,
    'crypt-mode': loaded.manifest.signature ? 'sign-only' : 'none',
    size: loaded.rawSize,
  })
  for (const f of onDisk)
    if (!files.some((x) => x.filename === f.filename)) files.push({ filename: f.filename })
  return { files, manifest: loaded }
}
