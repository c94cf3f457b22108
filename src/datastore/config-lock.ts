import { mkdir } from 'node:fs/promises'

import { datastoreConfigLockPath } from '../config/datastore-config.js'
import type { ConfigLock } from '../config/config-file.js'
import type { Installation } from '../config/installation.js'
import { withLock } from '../lock/index.js'

/** Time to wait for the datastore.cfg lock (PBS uses 10 s for config locks). */
export const CONFIG_LOCK_TIMEOUT_MS = 10_000

/** The exclusive lock on `<etc>/.datastore.lck` that serialises datastore.cfg updates. */
export function configLock(installation: Installation): ConfigLock {
  return async (fn) => {
    await mkdir(installation.etcDir, { recursive: true, mode: 0o750 })
    return withLock(
      datastoreConfigLockPath(installation.etcDir),
      { mode: 'exclusive', timeoutMs: CONFIG_LOCK_TIMEOUT_MS, what: 'datastore configuration' },
      fn,
    )
  }
}
