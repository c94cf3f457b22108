/**
 * The filesystem backend: the local directory is the datastore, so there is no remote half.
 * Every remote call is a no-op; a snapshot move is one rename(2) per snapshot, oldest first.
 */
import { renameSync } from 'node:fs'

import type {
  ChunkObject,
  ChunkUploadResult,
  DatastoreBackend,
  MoveRecoveryResult,
  MoveSnapshotsOptions,
  ObjectGuard,
  MoveSnapshotsResult,
  SnapshotMoveItem,
} from '../datastore-backend.js'
import { emptyRecoveryResult } from '../datastore-backend.js'
import { AbortedError } from '../../errors.js'

/** The backend of a filesystem datastore. */
export class FilesystemBackend implements DatastoreBackend {
  readonly type = 'filesystem' as const
  readonly remote = false

  putChunk(): Promise<ChunkUploadResult> {
    return Promise.resolve('exists')
  }

  getChunk(): Promise<Buffer | undefined> {
    return Promise.resolve(undefined)
  }

  markChunkBad(): Promise<void> {
    return Promise.resolve()
  }

  // eslint-disable-next-line require-yield, @typescript-eslint/require-await
  async *listChunkObjects(): AsyncGenerator<ChunkObject[]> {
    return
  }

  deleteChunkObjects(): Promise<void> {
    return Promise.resolve()
  }

  createNamespaceMarker(): Promise<void> {
    return Promise.resolve()
  }

  removeNamespaceMarker(): Promise<void> {
    return Promise.resolve()
  }

  putGroupFile(): Promise<void> {
    return Promise.resolve()
  }

  deleteGroupFile(): Promise<void> {
    return Promise.resolve()
  }

  deleteGroup(): Promise<number> {
    return Promise.resolve(0)
  }

  putSnapshotFile(): Promise<void> {
    return Promise.resolve()
  }

  putProtectedMarker(): Promise<void> {
    return Promise.resolve()
  }

  deleteProtectedMarker(): Promise<void> {
    return Promise.resolve()
  }

  deleteSnapshot(): Promise<number> {
    return Promise.resolve(0)
  }

  /**
   * renameSync in order: the order is what keeps a partial move a clean time split, and a
   * synchronous rename costs a tenth of a thread-pool round trip.
   */
  moveSnapshots(
    items: readonly SnapshotMoveItem[],
    options: MoveSnapshotsOptions = {},
  ): Promise<MoveSnapshotsResult> {
    let moved = 0
    for (const [i, item] of items.entries()) {
      if (options.signal?.aborted)
        return Promise.reject(
          new AbortedError(`moving snapshots aborted after ${moved} snapshot(s)`, { moved }),
        )
      try {
        renameSync(item.sourcePath, item.targetPath)
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)))
      }
      moved++
      options.onMoved?.(i)
    }
    return Promise.resolve({ moved, warnings: [] })
  }

  recoverMoves(): Promise<MoveRecoveryResult> {
    return Promise.resolve(emptyRecoveryResult())
  }

  guardObjects(): Promise<ObjectGuard> {
    return Promise.resolve({ release: () => Promise.resolve() })
  }

  close(): void {}
}
