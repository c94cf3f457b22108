/**
 * Maintenance modes at datastore lookup, as PBS checks them (`MaintenanceMode::check`): every
 * caller says what it is about to do, and the mode decides whether that may happen now.
 */
import {
  getDatastore,
  updateDatastoreConfig,
  validateMaintenanceMode,
  type MaintenanceMode,
} from '../config/datastore-config.js'
import type { Installation } from '../config/installation.js'
import { MaintenanceError } from '../errors.js'
import { configLock } from './config-lock.js'

/**
 * What a caller opens a datastore for: `lookup` only reads its configuration and status,
 * `read` reads backups (list, restore, verify reading), `write` changes anything.
 */
export type DatastoreOperation = 'lookup' | 'read' | 'write'

/** Why `mode` refuses `operation`, or undefined when it allows it. */
export function maintenanceRefusal(
  mode: MaintenanceMode | undefined,
  operation: DatastoreOperation,
): string | undefined {
  if (mode === undefined) return undefined
  // Deletion refuses even a lookup; the other modes leave status and configuration visible.
  if (mode.type === 'delete') return 'datastore is being deleted'
  if (operation === 'lookup') return undefined
  const message = decodeMessage(mode.message)
  switch (mode.type) {
    case 'unmount':
      return 'datastore is being unmounted'
    case 'offline':
      return `offline maintenance mode: ${message}`
    case 's3-refresh':
      return `S3 refresh maintenance mode: ${message}`
    case 'read-only':
      return operation === 'write' ? `read-only maintenance mode: ${message}` : undefined
  }
}

/**
 * Refuses `operation` on datastore `store` when its maintenance mode does not allow it.
 * @throws MaintenanceError `datastore '<store>' is unavailable: <reason>` (the PBS message)
 */
export function checkMaintenance(
  store: string,
  mode: MaintenanceMode | undefined,
  operation: DatastoreOperation,
): void {
  const reason = maintenanceRefusal(mode, operation)
  if (reason !== undefined)
    throw new MaintenanceError(`datastore '${store}' is unavailable: ${reason}`, {
      store,
      operation,
      maintenance: mode?.type,
    })
}

/** The message is stored percent-encoded (PBS); a malformed encoding is shown as written. */
function decodeMessage(message: string | undefined): string {
  if (message === undefined) return ''
  try {
    return decodeURIComponent(message)
  } catch {
    return message
  }
}

/**
 * Sets (or with `undefined` clears) the maintenance mode of datastore `name` in datastore.cfg,
 * under the config lock. Operations already running are not interrupted (as in PBS); every
 * later lookup sees the new mode. Returns the previous mode.
 * @throws NotFoundError (unknown datastore), ValidationError (bad mode)
 */
export async function setMaintenanceMode(
  installation: Installation,
  name: string,
  mode: MaintenanceMode | undefined,
): Promise<MaintenanceMode | undefined> {
  if (mode !== undefined) validateMaintenanceMode(mode)
  return updateDatastoreConfig(installation.etcDir, configLock(installation), (cfg) => {
    const entry = getDatastore(cfg, name)
    const previous = entry.maintenanceMode
    if (mode === undefined) delete entry.maintenanceMode
    else entry.maintenanceMode = mode
    return previous
  })
}
