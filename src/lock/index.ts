/** Public API of the lock layer: PBS lock paths, flock lock files, the chunk-store process lock. */
export { escapeUnitPath } from './systemd-escape.js'
export {
  MANIFEST_LOCK_NAME,
  MAX_PLAIN_LOCK_NAME,
  chunkLockPath,
  groupLockPath,
  lockFileName,
  lockFilePath,
  manifestLockPath,
  moveJournalPath,
  namespaceLockDir,
  snapshotLockPath,
} from './lock-paths.js'
export {
  CHUNK_LOCK_TIMEOUT_MS,
  GROUP_LOCK_TIMEOUT_MS,
  LOCK_FILE_MODE,
  LockGuard,
  MANIFEST_LOCK_TIMEOUT_MS,
  MOVE_JOURNAL_LOCK_TIMEOUT_MS,
  SNAPSHOT_LOCK_TIMEOUT_MS,
  acquireFileLock,
  checkLockFileIdentity,
  withLock,
} from './file-lock.js'
export type { LockFileIdentity, LockMode, LockOptions } from './file-lock.js'
export type { LockHolder } from './lock-holders.js'
export {
  ChunkStoreProcessLock,
  ExclusiveGuard,
  PROCESS_LOCK_FILE,
  SharedGuard,
  processLockFor,
} from './process-lock.js'
export { OLD_LOCKING_MARKER, PBS_RUN_DIR, assertNewStyleLocking, isOldLockingActive } from './old-locking.js'
