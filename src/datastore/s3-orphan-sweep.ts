/**
 * The orphan sweep of `pbs-store s3 cleanup`: removes content objects (`.cnt/…`) of an S3 datastore
 * that have no counterpart in the local cache - a namespace marker whose namespace is gone, the
 * files of a snapshot whose directory is gone (a failed backup whose abort also failed), a group's
 * owner/notes without the group, any file the cache lacks. The cache is the truth, as everywhere
 * in the S3 backend (spec §8.4: a failed step leaves the local state as it was). Chunks are not
 * looked at: unreferenced chunks are GC's.
 *
 * Safe against concurrent work, because every writer puts an object up *before* its local
 * counterpart appears (S3 first) and holds a lock meanwhile:
 * - backups and moves hold the group lock while they upload owner, notes and snapshot files:
 *   group files and snapshot files are decided under the group lock (non-blocking; busy groups are
 *   skipped and reported), snapshot files also under the exclusive snapshot lock (protect/unprotect
 *   hold only that one), and the cache is checked again after locking;
 * - a prefix or object named by a move intent still on disk after the recovery (a live move, or one
 *   whose rollback waits for its grace period) is left to the move recovery;
 * - namespaces have no lock: a marker is put up just before its mkdir, so markers (like every
 *   object) younger than the move grace period (PBS_STORE_S3_MOVE_GRACE_MS) are left for a later
 *   cleanup, and a marker whose namespace appears right after the delete is put back;
 * - the maintenance mode is re-read before each group or marker: an `s3 refresh` swapping the
 *   cache in makes local directories vanish for a moment, so the sweep stops when one starts.
 *
 * Never deleted: a finished snapshot (its manifest is in the bucket - a backup uploads it last)
 * whose directory the cache lacks, with its group's files and its namespace markers. That is a
 * lost or wiped cache, and the bucket holds the only copy: skipped with a warning to run
 * `s3 refresh`.
 *
 * Three leftovers are repaired the other way round, because deleting them would lose data the
 * cache still refers to: the owner object of a group whose directory exists but lacks its owner
 * file, the manifest of a snapshot directory that lacks it, and a file that the local manifest of
 * a snapshot lists, are downloaded into the cache.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import pLimit from 'p-limit'

import {
  BackupNamespace,
  parseGroupPath,
  parseSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
} from '../api-types/index.js'
import { S3Backend } from '../backend/s3/s3-backend.js'
import { S3DeleteError } from '../backend/s3/s3-errors.js'
import { S3_CONTENT_PREFIX, S3_NAMESPACE_MARKER, S3_PROTECTED_MARKER } from '../backend/s3/s3-keys.js'
import { intentFileKind, s3MoveGraceMs, type S3MoveIntent } from '../backend/s3/s3-move-intent.js'
import { getDatastore, loadDatastoreConfig } from '../config/datastore-config.js'
import { LockBusyError, ValidationError, errorMessage } from '../errors.js'
import { MANIFEST_BLOB_NAME } from '../format/manifest.js'
import { replaceFile } from '../io/replace-file.js'
import type { LockGuard } from '../lock/index.js'
import type { Datastore } from './datastore.js'
import { isDirectory, isErrno, isFile, removeFileIfExists } from './fs-util.js'
import { GROUP_OWNER_FILE } from './groups.js'
import { maintenanceRefusal } from './maintenance.js'
import { loadManifest } from './manifest-io.js'

/** Why an orphan was left in the bucket (for a later cleanup). */
export type S3OrphanSkipReason =
  'busy' | 'young' | 'move' | 'unknown' | 'maintenance' | 'failed' | 'finished-snapshot'

/** An orphan left in the bucket. */
export interface S3SkippedOrphan {
  key: string
  reason: S3OrphanSkipReason
  /** What was busy, or the error. */
  message: string
}

/** What the sweep did. */
export interface S3OrphanSweepResult {
  /** Content objects listed. */
  scanned: number
  /** Orphans deleted (relative keys, sorted). */
  deleted: string[]
  /** Objects downloaded into the cache instead (see the module doc), sorted. */
  restored: string[]
  /** Orphans left for a later cleanup, sorted by key. */
  skipped: S3SkippedOrphan[]
  warnings: string[]
}

/** Options of the sweep. */
export interface S3OrphanSweepOptions {
  /** Objects younger than this are left alone (default: the S3 move grace period). */
  graceMs?: number
}

/** A content key taken apart. */
type ParsedKey =
  | { kind: 'marker'; ns: BackupNamespace }
  | { kind: 'group-file'; ns: BackupNamespace; group: BackupGroupRef; file: string }
  | { kind: 'snapshot-file'; ns: BackupNamespace; dir: BackupDirRef; file: string }
  | { kind: 'unknown' }

/** An orphan candidate of one group (its group files and its snapshots' files). */
interface GroupUnit {
  ns: BackupNamespace
  group: BackupGroupRef
  groupFiles: { key: string; file: string }[]
  snapshots: Map<string, { dir: BackupDirRef; files: { key: string; file: string }[] }>
}

/** What the remaining move intents keep for the move recovery. */
interface IntentClaims {
  prefixes: string[]
  keys: Set<string>
  unreadable: string[]
}

const TIME_DIR = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
/** Groups (or markers) worked on at once: each holds a lock and sends one DeleteObjects. */
const UNIT_CONCURRENCY = 8
/** Local stats at once while listing. */
const STAT_CONCURRENCY = 16

/**
 * Deletes the content objects of S3 datastore `store` that have no cache counterpart (see the
 * module doc). Run it after the move recovery (cleanupS3 does both).
 * @throws ValidationError for a filesystem datastore; StorageError when listing the bucket fails.
 */
export async function sweepS3Orphans(
  store: Datastore,
  options: S3OrphanSweepOptions = {},
): Promise<S3OrphanSweepResult> {
  const backend = store.backend
  if (!(backend instanceof S3Backend))
    throw new ValidationError('store', store.name, 'is not an S3 datastore (no orphan objects to sweep)')
  const graceMs = options.graceMs ?? s3MoveGraceMs()
  const result: S3OrphanSweepResult = { scanned: 0, deleted: [], restored: [], skipped: [], warnings: [] }
  const skip = (key: string, reason: S3OrphanSkipReason, message: string): void => {
    result.skipped.push({ key, reason, message })
  }

  let claims = await readIntentClaims(backend.intentDir)
  if (claims.unreadable.length > 0) {
    // Whatever such an intent names is unknown: better no sweep than deleting a move's copies.
    result.warnings.push(
      `orphan sweep of store '${store.name}' skipped - unreadable S3 move intent(s) ${claims.unreadable.join(', ')}`,
    )
    return result
  }
  const refusal = await maintenanceRefusalOf(store)
  if (refusal !== undefined) {
    result.warnings.push(`orphan sweep of store '${store.name}' skipped - ${refusal}`)
    return result
  }

  // 1. list `.cnt/`, keep what has no counterpart (a stat per key, bounded)
  const markers: { key: string; ns: BackupNamespace }[] = []
  const groups = new Map<string, GroupUnit>()
  const statLimit = pLimit(STAT_CONCURRENCY)
  const listedAt = Date.now()
  for await (const page of backend.objects.listObjectPages(`${S3_CONTENT_PREFIX}/`)) {
    result.scanned += page.length
    const orphans = await Promise.all(
      page.map((o) =>
        statLimit(async () => {
          const parsed = parseContentKey(o.key)
          return (await hasCounterpart(store, o.key, parsed)) ? undefined : { o, parsed }
        }),
      ),
    )
    for (const c of orphans) {
      if (c === undefined) continue
      const { o, parsed } = c
      if (isClaimed(claims, o.key)) {
        skip(o.key, 'move', 'named by an unfinished S3 move intent (left to the move recovery)')
        continue
      }
      const age = o.lastModified === undefined ? -1 : listedAt - o.lastModified.getTime()
      if (age < graceMs) {
        skip(o.key, 'young', `younger than the grace period of ${graceMs} ms; left for a later cleanup`)
        continue
      }
      if (parsed.kind === 'unknown') {
        skip(o.key, 'unknown', 'not a datastore content key; left alone')
        continue
      }
      if (parsed.kind === 'marker') {
        markers.push({ key: o.key, ns: parsed.ns })
        continue
      }
      const group: BackupGroupRef =
        parsed.kind === 'group-file' ? parsed.group : { type: parsed.dir.type, id: parsed.dir.id }
      const id = `${parsed.ns.toString()}\u0000${group.type}/${group.id}`
      let unit = groups.get(id)
      if (unit === undefined) {
        unit = { ns: parsed.ns, group, groupFiles: [], snapshots: new Map() }
        groups.set(id, unit)
      }
      if (parsed.kind === 'group-file') unit.groupFiles.push({ key: o.key, file: parsed.file })
      else {
        const snap = unit.snapshots.get(parsed.dir.timeString) ?? { dir: parsed.dir, files: [] }
        snap.files.push({ key: o.key, file: parsed.file })
        unit.snapshots.set(parsed.dir.timeString, snap)
      }
    }
  }

  // 2. groups, each under its lock (contents before markers, as deleteNamespace does)
  const state = { stopped: undefined as string | undefined }
  const unitLimit = pLimit(UNIT_CONCURRENCY)
  await Promise.all(
    [...groups.values()].map((unit) =>
      unitLimit(async () => {
        if (await stopped(store, state)) {
          for (const k of unitKeys(unit)) skip(k, 'maintenance', state.stopped ?? '')
          return
        }
        try {
          await sweepGroup(store, backend, unit, result, skip)
        } catch (e) {
          const done = new Set([...result.deleted, ...result.restored, ...result.skipped.map((k) => k.key)])
          for (const k of unitKeys(unit)) if (!done.has(k)) skip(k, 'failed', errorMessage(e))
          result.warnings.push(
            `removing orphaned objects of group ${store.describeGroup(unit.ns, unit.group)} failed - ${errorMessage(e)}`,
          )
        }
      }),
    ),
  )

  // 3. namespace markers: moves may have journalled one meanwhile
  const kept = result.skipped.filter((k) => k.reason === 'finished-snapshot').map((k) => k.key)
  if (markers.length > 0) claims = await readIntentClaims(backend.intentDir)
  await Promise.all(
    markers.map((m) =>
      unitLimit(async () => {
        if (isClaimed(claims, m.key) || claims.unreadable.length > 0) {
          skip(m.key, 'move', 'named by an unfinished S3 move intent (left to the move recovery)')
          return
        }
        if (await stopped(store, state)) {
          skip(m.key, 'maintenance', state.stopped ?? '')
          return
        }
        const nsPrefix = m.key.slice(0, m.key.length - S3_NAMESPACE_MARKER.length)
        if (kept.some((k) => k.startsWith(nsPrefix))) {
          skip(
            m.key,
            'finished-snapshot',
            `namespace '${m.ns.display()}' holds finished snapshots the cache lacks`,
          )
          return
        }
        try {
          await sweepMarker(store, backend, m.key, m.ns, result)
        } catch (e) {
          skip(m.key, 'failed', errorMessage(e))
          result.warnings.push(`removing orphaned namespace marker '${m.key}' failed - ${errorMessage(e)}`)
        }
      }),
    ),
  )
  if (state.stopped !== undefined)
    result.warnings.push(`orphan sweep of store '${store.name}' stopped - ${state.stopped}`)
  result.deleted.sort()
  result.restored.sort()
  result.skipped.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return result
}

/** Deletes (or restores) the orphans of one group under its lock and its snapshots' locks. */
async function sweepGroup(
  store: Datastore,
  backend: S3Backend,
  unit: GroupUnit,
  result: S3OrphanSweepResult,
  skip: (key: string, reason: S3OrphanSkipReason, message: string) => void,
): Promise<void> {
  const { ns, group } = unit
  const groupLock = await tryLock(store.groupLockFile(ns, group), () => store.lockGroup(ns, group))
  if (groupLock instanceof LockBusyError) {
    for (const k of unitKeys(unit)) skip(k, 'busy', groupLock.message)
    return
  }
  try {
    const groupDirExists = await isDirectory(store.groupDir(ns, group))
    const snapDirs = new Set<string>()
    for (const snap of unit.snapshots.values())
      if (await isDirectory(store.snapshotDir(ns, snap.dir))) snapDirs.add(snap.dir.timeString)
    const doomed: string[] = []
    for (const f of unit.groupFiles) {
      if (await hasCounterpart(store, f.key, { kind: 'group-file', ns, group, file: f.file })) continue
      if (groupDirExists && f.file === GROUP_OWNER_FILE) {
        // a group without its owner file is broken; the bucket holds the only owner left
        if (await restore(backend, f.key, join(store.groupDir(ns, group), GROUP_OWNER_FILE)))
          result.restored.push(f.key)
      } else doomed.push(f.key)
    }
    // A finished snapshot (its manifest is in the bucket) missing from the cache is what a lost
    // or wiped cache looks like, not a failed backup (whose manifest goes up last): never deleted.
    const finished = [...unit.snapshots.values()].filter(
      (snap) => snap.files.some((f) => f.file === MANIFEST_BLOB_NAME) && !snapDirs.has(snap.dir.timeString),
    )
    for (const snap of finished) {
      const why = `snapshot ${store.describeSnapshot(ns, snap.dir)} is finished in the bucket (manifest present) but missing from the cache - not deleted; 'pbs-store s3 refresh' brings it back`
      for (const f of snap.files) skip(f.key, 'finished-snapshot', why)
      result.warnings.push(why)
      unit.snapshots.delete(snap.dir.timeString)
    }
    if (finished.length > 0 && !groupDirExists) {
      // the owner and notes of those snapshots' group stay with them
      const why = `group ${store.describeGroup(ns, group)} has finished snapshots in the bucket that the cache lacks`
      for (const k of doomed) skip(k, 'finished-snapshot', why)
    } else await deleteKeys(backend, doomed, result, skip)
    for (const snap of unit.snapshots.values()) {
      const { dir } = snap
      const snapLock = await tryLock(store.snapshotLockFiles(ns, dir)[0], () =>
        store.lockSnapshot(ns, dir, 'exclusive'),
      )
      if (snapLock instanceof LockBusyError) {
        for (const f of snap.files) skip(f.key, 'busy', snapLock.message)
        continue
      }
      try {
        const snapDir = store.snapshotDir(ns, dir)
        // the cache lost the manifest of a snapshot it still has: the bucket's copy comes back first
        const manifestKey = snap.files.find((f) => f.file === MANIFEST_BLOB_NAME)?.key
        if (
          manifestKey !== undefined &&
          (await isDirectory(snapDir)) &&
          !(await hasCounterpart(store, manifestKey, {
            kind: 'snapshot-file',
            ns,
            dir,
            file: MANIFEST_BLOB_NAME,
          })) &&
          (await restore(backend, manifestKey, join(snapDir, MANIFEST_BLOB_NAME)))
        )
          result.restored.push(manifestKey)
        const listed = await manifestFiles(store, ns, dir)
        const gone: string[] = []
        for (const f of snap.files) {
          if (await hasCounterpart(store, f.key, { kind: 'snapshot-file', ns, dir, file: f.file })) continue
          if (f.key === manifestKey) continue // restored above, or the snapshot is gone meanwhile
          if (listed.has(f.file)) {
            // the finished snapshot's manifest refers to it: the cache lost it, not the other way round
            if (await restore(backend, f.key, join(snapDir, f.file))) result.restored.push(f.key)
          } else gone.push(f.key)
        }
        await deleteKeys(backend, gone, result, skip)
      } finally {
        await snapLock.release()
      }
    }
  } finally {
    await groupLock.release()
  }
}

/** Deletes `keys` in DeleteObjects batches; keys that failed are skipped and warned about. */
async function deleteKeys(
  backend: S3Backend,
  keys: readonly string[],
  result: S3OrphanSweepResult,
  skip: (key: string, reason: S3OrphanSkipReason, message: string) => void,
): Promise<void> {
  if (keys.length === 0) return
  try {
    await backend.objects.deleteObjects(keys)
    result.deleted.push(...keys)
  } catch (e) {
    if (!(e instanceof S3DeleteError)) throw e
    const failed = new Map(e.failed.map((f) => [f.key, f.message]))
    for (const k of keys) {
      const message = failed.get(k)
      if (message === undefined) result.deleted.push(k)
      else skip(k, 'failed', message)
    }
    result.warnings.push(`deleting ${failed.size} orphaned object(s) failed - ${errorMessage(e)}`)
  }
}

/**
 * Deletes a marker whose namespace directory is missing; puts it back when the namespace appeared
 * meanwhile (a createNamespace whose conditional put found the old marker).
 */
async function sweepMarker(
  store: Datastore,
  backend: S3Backend,
  key: string,
  ns: BackupNamespace,
  result: S3OrphanSweepResult,
): Promise<void> {
  if (await isDirectory(store.namespaceDir(ns))) return
  await backend.objects.deleteObjects([key])
  if (await isDirectory(store.namespaceDir(ns))) {
    await backend.objects.putObject(key, '', { replace: false })
    return
  }
  result.deleted.push(key)
}

/**
 * Takes a lock without waiting; a LockBusyError is returned, not thrown. A lock file this call
 * created (the group or snapshot does not exist) is removed again before the lock is released,
 * so a waiter holding the old inode fails its double-stat check.
 */
async function tryLock(
  path: string,
  take: () => Promise<LockGuard>,
): Promise<LockBusyError | { release(): Promise<void> }> {
  let existed = true
  try {
    await stat(path)
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e
    existed = false
  }
  let guard: LockGuard
  try {
    guard = await take()
  } catch (e) {
    if (e instanceof LockBusyError) return e
    throw e
  }
  return {
    release: async () => {
      if (!existed) await removeFileIfExists(path).catch(() => undefined)
      await guard.release()
    },
  }
}

/** Downloads `key` to `path` (atomic replace); false when the object is gone meanwhile. */
async function restore(backend: S3Backend, key: string, path: string): Promise<boolean> {
  const body = await backend.objects.getObject(key)
  if (body === undefined) return false
  await replaceFile(path, body, { mode: 0o644 })
  return true
}

/** File names the local manifest of a finished snapshot lists (empty when there is none). */
async function manifestFiles(store: Datastore, ns: BackupNamespace, dir: BackupDirRef): Promise<Set<string>> {
  if (!(await isDirectory(store.snapshotDir(ns, dir)))) return new Set()
  try {
    const { manifest } = await loadManifest(store, ns, dir)
    return new Set(manifest.files.map((f) => f.filename))
  } catch {
    // unfinished (no manifest) or unreadable: nothing of the bucket is needed to keep it
    return new Set()
  }
}

/** Takes a content key apart; anything that is not a marker, group file or snapshot file is 'unknown'. */
export function parseContentKey(key: string): ParsedKey {
  if (!key.startsWith(`${S3_CONTENT_PREFIX}/`)) return { kind: 'unknown' }
  const parts = key.slice(S3_CONTENT_PREFIX.length + 1).split('/')
  const comps: string[] = []
  let i = 0
  while (parts[i] === 'ns' && i + 2 < parts.length) {
    comps.push(parts[i + 1]!)
    i += 2
  }
  const rest = parts.slice(i)
  try {
    const ns = BackupNamespace.parse(comps.join('/'))
    if (rest.length === 1 && rest[0] === S3_NAMESPACE_MARKER && !ns.isRoot) return { kind: 'marker', ns }
    if (rest.length === 3 && rest[2] !== '')
      return { kind: 'group-file', ns, group: parseGroupPath(`${rest[0]}/${rest[1]}`), file: rest[2]! }
    if (rest.length === 4 && TIME_DIR.test(rest[2]!) && rest[3] !== '')
      return { kind: 'snapshot-file', ns, dir: parseSnapshotPath(rest.slice(0, 3).join('/')), file: rest[3]! }
  } catch {
    /* not a valid name: unknown */
  }
  return { kind: 'unknown' }
}

/**
 * Whether the cache holds the counterpart of a key, as the cache's content tree is read (a marker:
 * the namespace directory; otherwise a regular file of a name the tree shows - not hidden except
 * `.protected`, not a `.tmp_` file).
 */
async function hasCounterpart(store: Datastore, key: string, parsed: ParsedKey): Promise<boolean> {
  if (parsed.kind === 'marker') return isDirectory(store.namespaceDir(parsed.ns))
  return visible(key) && isFile(join(store.base, key.slice(S3_CONTENT_PREFIX.length + 1)))
}

function visible(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1)
  if (name.includes('.tmp_')) return false
  return !name.startsWith('.') || name === S3_PROTECTED_MARKER
}

/** The prefixes and keys of the move intents on disk. */
async function readIntentClaims(intentDir: string): Promise<IntentClaims> {
  const claims: IntentClaims = { prefixes: [], keys: new Set(), unreadable: [] }
  let names: string[]
  try {
    names = await readdir(intentDir)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return claims
    throw e
  }
  for (const name of names) {
    const kind = intentFileKind(name)
    if (kind !== 'live' && kind !== 'settled') continue // tmp: nothing was sent under it yet
    let text: string
    try {
      text = await readFile(join(intentDir, name), 'utf8')
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue // finished meanwhile
      throw e
    }
    if (text === '') continue // removed by its move after our readdir (the recovery's lock re-created it)
    try {
      const intent = JSON.parse(text) as S3MoveIntent
      for (const e of intent.entries) claims.prefixes.push(e.sourcePrefix, e.targetPrefix)
      for (const o of intent.objects ?? []) claims.keys.add(o.key)
    } catch {
      claims.unreadable.push(name)
    }
  }
  return claims
}

function isClaimed(claims: IntentClaims, key: string): boolean {
  return claims.keys.has(key) || claims.prefixes.some((p) => key.startsWith(p))
}

function unitKeys(unit: GroupUnit): string[] {
  return [
    ...unit.groupFiles.map((f) => f.key),
    ...[...unit.snapshots.values()].flatMap((s) => s.files.map((f) => f.key)),
  ]
}

/** Re-reads the maintenance mode; once it refuses writes the sweep stops (state.stopped says why). */
async function stopped(store: Datastore, state: { stopped: string | undefined }): Promise<boolean> {
  if (state.stopped !== undefined) return true
  const refusal = await maintenanceRefusalOf(store)
  if (refusal !== undefined) state.stopped = refusal
  return refusal !== undefined
}

async function maintenanceRefusalOf(store: Datastore): Promise<string | undefined> {
  const cfg = await loadDatastoreConfig(store.installation.etcDir)
  return maintenanceRefusal(getDatastore(cfg, store.name).maintenanceMode, 'write')
}
