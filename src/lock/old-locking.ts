/**
 * Refuse structural operations while a PBS older than 3.3.5 may still run with directory locks
 * (spec §3.1): its locks are invisible to the lock-file scheme, so moving or removing would race.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { LegacyLockingError } from '../errors.js'

/** Default PBS run directory, where the `old-locking` marker lives. */
export const PBS_RUN_DIR = '/run/proxmox-backup'

/** Name of the marker PBS's postinst creates when upgrading from < 3.3.5 (gone after a reboot). */
export const OLD_LOCKING_MARKER = 'old-locking'

/** True when `<pbsRunDir>/old-locking` exists. */
export function isOldLockingActive(pbsRunDir: string = PBS_RUN_DIR): boolean {
  return existsSync(join(pbsRunDir, OLD_LOCKING_MARKER))
}

/** Throw LegacyLockingError if the old-locking marker exists; `action` e.g. "move-group". */
export function assertNewStyleLocking(pbsRunDir: string, action: string): void {
  const marker = join(pbsRunDir, OLD_LOCKING_MARKER)
  if (!existsSync(marker)) return
  throw new LegacyLockingError(
    `${action} requires new-style file-based locking - '${marker}' exists ` +
      `(a PBS older than 3.3.5 may still run with directory locks; reboot after upgrading PBS to remove it)`,
    { action, marker },
  )
}
