import { join } from 'node:path'

import type { BackupDirRef, BackupGroupRef, BackupNamespace } from '../api-types/index.js'
import { formatGroupPath, formatSnapshotPath } from '../api-types/index.js'
import type { DatastoreBackend } from '../backend/datastore-backend.js'
import { FilesystemBackend } from '../backend/filesystem/filesystem-backend.js'
import type { DatastoreConfigEntry } from '../config/datastore-config.js'
import type { Installation } from '../config/installation.js'
import {
  GROUP_LOCK_TIMEOUT_MS,
  MANIFEST_LOCK_TIMEOUT_MS,
  SNAPSHOT_LOCK_TIMEOUT_MS,
  acquireFileLock,
  groupLockPath,
  manifestLockPath,
  snapshotLockPath,
  type LockGuard,
  type LockMode,
} from '../lock/index.js'
import { assertNewStyleLocking } from '../lock/old-locking.js'

/**
 * An open datastore: its name, base directory and lock root, and the path and lock helpers every
 * engine operation builds on. Paths are only ever built from validated names (src/api-types), so
 * none can leave the base directory.
 */
export class Datastore {
  readonly name: string
  readonly base: string
  readonly config: DatastoreConfigEntry
  readonly installation: Installation
  /** The remote half (S3) or the no-op filesystem backend; the local directory is always `base`. */
  readonly backend: DatastoreBackend

  constructor(installation: Installation, config: DatastoreConfigEntry, backend?: DatastoreBackend) {
    this.installation = installation
    this.config = config
    this.name = config.name
    this.base = config.path
    this.backend = backend ?? new FilesystemBackend()
  }

  /** True for an S3 datastore (the local directory is a cache). */
  get remote(): boolean {
    return this.backend.remote
  }

  /** Releases the backend's connections (S3 keep-alive sockets). */
  close(): void {
    this.backend.close()
  }

  /** The lock root for this store's locks. */
  get lockDir(): string {
    return this.installation.lockDir
  }

  /** `<base>/ns/a/ns/b` (the base itself for the root). */
  namespaceDir(ns: BackupNamespace): string {
    return ns.isRoot ? this.base : join(this.base, ns.path())
  }

  /** `<ns dir>/<type>` */
  typeDir(ns: BackupNamespace, type: BackupGroupRef['type']): string {
    return join(this.namespaceDir(ns), type)
  }

  /** `<ns dir>/<type>/<id>` */
  groupDir(ns: BackupNamespace, group: BackupGroupRef): string {
    return join(this.namespaceDir(ns), group.type, group.id)
  }

  /** `<ns dir>/<type>/<id>/<time>` */
  snapshotDir(ns: BackupNamespace, dir: BackupDirRef): string {
    return join(this.groupDir(ns, dir), dir.timeString)
  }

  /** `<base>/.chunks` */
  get chunkDir(): string {
    return join(this.base, '.chunks')
  }

  /** Human form of a group for messages: `vm/100` or `a/b:vm/100`... PBS style `[ns] vm/100`. */
  describeGroup(ns: BackupNamespace, group: BackupGroupRef): string {
    return ns.isRoot
      ? `'${formatGroupPath(group)}'`
      : `'${formatGroupPath(group)}' in namespace '${ns.toString()}'`
  }

  /** Human form of a snapshot for messages. */
  describeSnapshot(ns: BackupNamespace, dir: BackupDirRef): string {
    return ns.isRoot
      ? `'${formatSnapshotPath(dir)}'`
      : `'${formatSnapshotPath(dir)}' in namespace '${ns.toString()}'`
  }

  /** Exclusive group lock (non-blocking, as PBS). */
  lockGroup(ns: BackupNamespace, group: BackupGroupRef): Promise<LockGuard> {
    return acquireFileLock(groupLockPath(this.lockDir, this.name, ns.components, group.type, group.id), {
      mode: 'exclusive',
      timeoutMs: GROUP_LOCK_TIMEOUT_MS,
      what: `group ${this.describeGroup(ns, group)} on store '${this.name}'`,
    })
  }

  /** Snapshot lock, exclusive or shared (non-blocking, as PBS). */
  lockSnapshot(ns: BackupNamespace, dir: BackupDirRef, mode: LockMode = 'exclusive'): Promise<LockGuard> {
    return acquireFileLock(
      snapshotLockPath(this.lockDir, this.name, ns.components, dir.type, dir.id, dir.timeString),
      {
        mode,
        timeoutMs: SNAPSHOT_LOCK_TIMEOUT_MS,
        what: `snapshot ${this.describeSnapshot(ns, dir)} on store '${this.name}'`,
      },
    )
  }

  /** Manifest lock (exclusive, waits up to 5 s, as PBS). */
  lockManifest(ns: BackupNamespace, dir: BackupDirRef): Promise<LockGuard> {
    return acquireFileLock(
      manifestLockPath(this.lockDir, this.name, ns.components, dir.type, dir.id, dir.timeString),
      {
        mode: 'exclusive',
        timeoutMs: MANIFEST_LOCK_TIMEOUT_MS,
        what: `manifest of snapshot ${this.describeSnapshot(ns, dir)} on store '${this.name}'`,
      },
    )
  }

  /** Path of the group lock file (removed when the group is destroyed or moved). */
  groupLockFile(ns: BackupNamespace, group: BackupGroupRef): string {
    return groupLockPath(this.lockDir, this.name, ns.components, group.type, group.id)
  }

  /** Paths of the snapshot and manifest lock files (removed when the snapshot goes away). */
  snapshotLockFiles(ns: BackupNamespace, dir: BackupDirRef): [string, string] {
    return [
      snapshotLockPath(this.lockDir, this.name, ns.components, dir.type, dir.id, dir.timeString),
      manifestLockPath(this.lockDir, this.name, ns.components, dir.type, dir.id, dir.timeString),
    ]
  }

  /** Refuses structural changes while PBS runs with legacy locking (spec §3.1). */
  assertNewStyleLocking(action: string): void {
    assertNewStyleLocking(this.installation.pbsRunDir, action)
  }
}
