/**
 * The backend seam (DESIGN.md): what differs between a filesystem datastore and an S3 datastore
 * whose local directory is a cache. The engine (src/datastore) always does the local work itself
 * and calls the backend for the remote half, in the order of spec §8.4. The filesystem backend has
 * no remote half: its calls are no-ops, except moveSnapshots, which is the one place where the
 * backend owns the whole operation (a rename on FS; on S3 an intent, then per snapshot list →
 * copy, the renames in order, and the deletes - pipelined).
 */
import type { BackupDirRef, BackupGroupRef, BackupNamespace } from '../api-types/index.js'
import type { DatastoreBackendType } from '../config/datastore-config.js'

/** Result of a conditional chunk upload. */
export type ChunkUploadResult = 'created' | 'exists'

/** One chunk-store object as listed for GC (S3 phase 2). */
export interface ChunkObject {
  /** Relative key (`.chunks/xxxx/<digest>[.<n>.bad]`). */
  key: string
  digest: string
  /** n of `<digest>.<n>.bad`, undefined for a good chunk. */
  bad: number | undefined
  size: number
}

/** One snapshot to move (paths are the local directories: the store or the cache). */
export interface SnapshotMoveItem {
  sourceNs: BackupNamespace
  targetNs: BackupNamespace
  dir: BackupDirRef
  sourcePath: string
  targetPath: string
}

/** Options of moveSnapshots. */
export interface MoveSnapshotsOptions {
  signal?: AbortSignal
  /** Runs right after item `i` was committed (its local rename happened). */
  onMoved?: (i: number) => void
}

/** What moveSnapshots did; an error is thrown after the committed prefix is cleaned up. */
export interface MoveSnapshotsResult {
  moved: number
  /** Non-fatal problems (source objects that could not be deleted; cleanup finishes them). */
  warnings: string[]
}

/**
 * An object whose change goes with a change of its local counterpart (two requests a crash could
 * separate): a group's owner/notes file, or a namespace marker (counterpart: the namespace dir).
 */
export type GuardedObject =
  | {
      kind: 'group-file'
      ns: BackupNamespace
      group: BackupGroupRef
      file: 'owner' | 'notes'
      /** The local file. */
      localPath: string
    }
  | {
      kind: 'namespace-marker'
      ns: BackupNamespace
      /** The local namespace directory. */
      localPath: string
    }

/** A running guard (see DatastoreBackend.guardObjects). */
export interface ObjectGuard {
  /** The step is over: `leave` = it failed half-way, let the recovery reconcile the objects. */
  release(leave?: boolean): Promise<void>
}

/** What a move-intent recovery did. */
export interface MoveRecoveryResult {
  /** Intent files found (and not held by a running move). */
  intents: number
  /** Snapshots whose move was committed and whose source objects were deleted. */
  rolledForward: number
  /** Snapshots whose move was not committed and whose target copies were deleted. */
  rolledBack: number
  /** Objects deleted in total. */
  deletedObjects: number
  /** Objects copied to complete a committed move (0 since intents name prefixes: see S3 docs). */
  copiedObjects: number
  /** Intents (or parts) held by a live move, or whose groups/snapshots are locked; left alone. */
  busy: number
  /** Intents whose rollbacks wait for the grace period of a recently dead writer (settle 'defer'). */
  deferred: number
  /** Milliseconds spent waiting for such grace periods (settle 'wait'). */
  waitedMs: number
  /** Guarded objects made to match their local counterpart (uploaded or deleted). */
  reconciledObjects: number
  warnings: string[]
}

/** Options of recoverMoves. */
export interface MoveRecoveryOptions {
  /** Takes the exclusive snapshot lock while one entry is repaired (the engine's lock). */
  lockSnapshot?: (ns: BackupNamespace, dir: BackupDirRef) => Promise<AsyncDisposable>
  /** Takes the exclusive group lock of each source and target group of an intent meanwhile. */
  lockGroup?: (ns: BackupNamespace, group: BackupGroupRef) => Promise<AsyncDisposable>
  /**
   * A rollback of a move whose writer stopped less than the grace period ago: 'wait' (default)
   * until the grace has passed, or 'defer' it to a later recovery (and return at once).
   */
  settle?: 'wait' | 'defer'
  /** Called before waiting `ms` for a grace period. */
  onWait?: (ms: number) => void
}

/** The remote half of a datastore (see the module doc). */
export interface DatastoreBackend {
  readonly type: DatastoreBackendType
  /** True when the local directory is a cache of a remote store. */
  readonly remote: boolean

  /** Uploads a chunk unless it exists (conditional put). FS: 'exists' (the local file is the chunk). */
  putChunk(digest: string, blob: Uint8Array): Promise<ChunkUploadResult>
  /** Downloads a chunk; undefined when missing (FS: always undefined). */
  getChunk(digest: string): Promise<Buffer | undefined>
  /** Copies a chunk to `<digest>.<n>.bad` and deletes the original (verify, on corruption). */
  markChunkBad(digest: string, n: number): Promise<void>
  /** Lists the chunk objects in pages (GC phase 2 on S3; FS: none). */
  listChunkObjects(signal?: AbortSignal): AsyncGenerator<ChunkObject[]>
  /** Deletes chunk objects by key (DeleteObjects batches). */
  deleteChunkObjects(keys: readonly string[]): Promise<void>

  /** Creates the namespace marker (conditional put). */
  createNamespaceMarker(ns: BackupNamespace): Promise<void>
  /** Deletes the namespace marker. */
  removeNamespaceMarker(ns: BackupNamespace): Promise<void>

  /** Uploads the group's owner or notes file (replace). */
  putGroupFile(
    ns: BackupNamespace,
    group: BackupGroupRef,
    file: 'owner' | 'notes',
    content: string,
  ): Promise<void>
  /** Deletes one group file object (owner or notes). */
  deleteGroupFile(ns: BackupNamespace, group: BackupGroupRef, file: 'owner' | 'notes'): Promise<void>
  /** Deletes every object under the group prefix (ending in '/'): owner, notes, leftovers. */
  deleteGroup(ns: BackupNamespace, group: BackupGroupRef): Promise<number>

  /** Uploads one snapshot file (replace): index at close, blob, manifest. */
  putSnapshotFile(ns: BackupNamespace, dir: BackupDirRef, file: string, body: Uint8Array): Promise<void>
  /** Creates the `.protected` marker object (conditional put). */
  putProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void>
  /** Deletes the `.protected` marker object. */
  deleteProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void>
  /** Deletes every object under the snapshot prefix (ending in '/'). */
  deleteSnapshot(ns: BackupNamespace, dir: BackupDirRef): Promise<number>

  /**
   * Moves snapshots (all of one group, oldest first). The local renames happen strictly in the
   * given order; the first failure stops the rest and is thrown once the remote state is
   * consistent again (or recorded for recovery).
   */
  moveSnapshots(
    items: readonly SnapshotMoveItem[],
    options?: MoveSnapshotsOptions,
  ): Promise<MoveSnapshotsResult>
  /** Finishes or rolls back the moves of crashed or failed runs (S3 intent journal; FS: nothing). */
  recoverMoves(options?: MoveRecoveryOptions): Promise<MoveRecoveryResult>
  /**
   * Journals objects before a step that changes them and their local counterparts (S3: upload
   * then rename, delete then remove …). Unless the guard is released, recoverMoves makes each
   * object match its counterpart: uploaded from the local file (a marker: created) when that
   * exists, deleted when not. FS: nothing to guard.
   */
  guardObjects(objects: readonly GuardedObject[]): Promise<ObjectGuard>

  /** Releases connections. */
  close(): void
}

/** An empty recovery result. */
export function emptyRecoveryResult(): MoveRecoveryResult {
  return {
    intents: 0,
    rolledForward: 0,
    rolledBack: 0,
    deletedObjects: 0,
    copiedObjects: 0,
    busy: 0,
    deferred: 0,
    waitedMs: 0,
    reconciledObjects: 0,
    warnings: [],
  }
}
