/**
 * The S3 backend (spec §8): the bucket holds the datastore under `<store>/`, the local directory
 * is the cache. Besides the single-object calls of the seam, it owns the S3 snapshot move with
 * an intent journal (DESIGN.md "orphan-free S3 moves"): the streamed batch move is in
 * s3-snapshot-move.ts, the intent file in s3-move-intent.ts, the recovery (run before every move,
 * at the start of GC and by `pbs-store s3 cleanup`) in s3-move-recovery.ts.
 */
import { join } from 'node:path'

import {
  formatGroupPath,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../../api-types/index.js'
import type {
  ChunkObject,
  ChunkUploadResult,
  DatastoreBackend,
  MoveRecoveryOptions,
  MoveRecoveryResult,
  MoveSnapshotsOptions,
  MoveSnapshotsResult,
  GuardedObject,
  ObjectGuard,
  SnapshotMoveItem,
} from '../datastore-backend.js'
import {
  badChunkKey,
  chunkKey,
  chunksPrefix,
  groupOwnerKey,
  groupNotesKey,
  groupPrefix,
  namespaceMarkerKey,
  protectedMarkerKey,
  snapshotFileKey,
  snapshotPrefix,
} from './s3-keys.js'
import { S3_MOVE_INTENT_DIR, S3MoveIntentFile, type S3GuardedObjectEntry } from './s3-move-intent.js'
import { recoverS3MoveIntents } from './s3-move-recovery.js'
import type { S3ObjectStore } from './s3-object-store.js'
import { crashPoint, moveSnapshotsS3 } from './s3-snapshot-move.js'

export { S3_MOVE_INTENT_DIR, type S3MoveIntent, type S3MoveIntentEntry } from './s3-move-intent.js'

const CHUNK_KEY_RE = /^\.chunks\/([a-f0-9]{4})\/([a-f0-9]{64})(?:\.(\d)\.bad)?$/

/** The backend of an S3 datastore. */
export class S3Backend implements DatastoreBackend {
  readonly type = 's3' as const
  readonly remote = true
  /** The bucket client (store prefix = datastore name). */
  readonly objects: S3ObjectStore
  /** The local cache directory. */
  readonly cacheDir: string

  constructor(objects: S3ObjectStore, cacheDir: string) {
    this.objects = objects
    this.cacheDir = cacheDir
  }

  /** `<cache>/.s3-move-intents`. */
  get intentDir(): string {
    return join(this.cacheDir, S3_MOVE_INTENT_DIR)
  }

  putChunk(digest: string, blob: Uint8Array): Promise<ChunkUploadResult> {
    return this.objects.putObject(chunkKey(digest), blob, { replace: false })
  }

  getChunk(digest: string): Promise<Buffer | undefined> {
    return this.objects.getObject(chunkKey(digest))
  }

  async markChunkBad(digest: string, n: number): Promise<void> {
    if ((await this.objects.headObject(chunkKey(digest))) === undefined) return
    await this.objects.copyObject(chunkKey(digest), badChunkKey(digest, n))
    await this.objects.deleteObjects([chunkKey(digest)])
  }

  async *listChunkObjects(signal?: AbortSignal): AsyncGenerator<ChunkObject[]> {
    for await (const page of this.objects.listObjectPages(chunksPrefix(), signal ? { signal } : {})) {
      const out: ChunkObject[] = []
      for (const o of page) {
        const m = CHUNK_KEY_RE.exec(o.key)
        if (m === null || !m[2]!.startsWith(m[1]!)) continue
        out.push({
          key: o.key,
          digest: m[2]!,
          bad: m[3] === undefined ? undefined : Number(m[3]),
          size: o.size,
        })
      }
      if (out.length > 0) yield out
    }
  }

  async deleteChunkObjects(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.objects.deleteObjects(keys)
  }

  async createNamespaceMarker(ns: BackupNamespace): Promise<void> {
    await this.objects.putObject(namespaceMarkerKey(ns), '', { replace: false })
    crashPoint('after-marker-put')
  }

  async removeNamespaceMarker(ns: BackupNamespace): Promise<void> {
    crashPoint('before-marker-delete')
    await this.objects.deleteObjects([namespaceMarkerKey(ns)])
  }

  async putGroupFile(
    ns: BackupNamespace,
    group: BackupGroupRef,
    file: 'owner' | 'notes',
    content: string,
  ): Promise<void> {
    const key = file === 'owner' ? groupOwnerKey(ns, group) : groupNotesKey(ns, group)
    await this.objects.putObject(key, content, { replace: true })
    crashPoint(`after-${file}-put`)
  }

  async deleteGroupFile(ns: BackupNamespace, group: BackupGroupRef, file: 'owner' | 'notes'): Promise<void> {
    await this.objects.deleteObjects([file === 'owner' ? groupOwnerKey(ns, group) : groupNotesKey(ns, group)])
  }

  async deleteGroup(ns: BackupNamespace, group: BackupGroupRef): Promise<number> {
    const n = await this.objects.deletePrefix(groupPrefix(ns, group))
    crashPoint('after-group-delete')
    return n
  }

  async putSnapshotFile(
    ns: BackupNamespace,
    dir: BackupDirRef,
    file: string,
    body: Uint8Array,
  ): Promise<void> {
    await this.objects.putObject(snapshotFileKey(ns, dir, file), body, { replace: true })
  }

  async putProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void> {
    await this.objects.putObject(protectedMarkerKey(ns, dir), '', { replace: false })
  }

  async deleteProtectedMarker(ns: BackupNamespace, dir: BackupDirRef): Promise<void> {
    await this.objects.deleteObjects([protectedMarkerKey(ns, dir)])
  }

  deleteSnapshot(ns: BackupNamespace, dir: BackupDirRef): Promise<number> {
    return this.objects.deletePrefix(snapshotPrefix(ns, dir))
  }

  moveSnapshots(
    items: readonly SnapshotMoveItem[],
    options: MoveSnapshotsOptions = {},
  ): Promise<MoveSnapshotsResult> {
    return moveSnapshotsS3(this.objects, this.intentDir, items, options)
  }

  recoverMoves(options: MoveRecoveryOptions = {}): Promise<MoveRecoveryResult> {
    return recoverS3MoveIntents(this.objects, this.intentDir, options)
  }

  async guardObjects(objects: readonly GuardedObject[]): Promise<ObjectGuard> {
    const entries: S3GuardedObjectEntry[] = objects.map((o) =>
      o.kind === 'group-file'
        ? {
            kind: o.kind,
            ns: o.ns.toString(),
            group: formatGroupPath(o.group),
            key: o.file === 'owner' ? groupOwnerKey(o.ns, o.group) : groupNotesKey(o.ns, o.group),
            localPath: o.localPath,
          }
        : { kind: o.kind, ns: o.ns.toString(), key: namespaceMarkerKey(o.ns), localPath: o.localPath },
    )
    const intent = await S3MoveIntentFile.create(this.intentDir, [], entries)
    // a step that failed may have sent a request whose answer never came: not settled
    return { release: (leave = false) => (leave ? intent.leave(false) : intent.remove()) }
  }

  close(): void {
    this.objects.destroy()
  }
}
