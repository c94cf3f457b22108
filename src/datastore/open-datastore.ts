import { stat } from 'node:fs/promises'

import { parseDatastoreName } from '../api-types/index.js'
import { getDatastore, loadDatastoreConfig } from '../config/datastore-config.js'
import type { Installation } from '../config/installation.js'
import { StorageError } from '../errors.js'
import { openBackend, type S3ClientOverrides } from '../backend/open-backend.js'
import { Datastore } from './datastore.js'
import { checkMaintenance, type DatastoreOperation } from './maintenance.js'

/** Options of {@link openDatastore}. */
export interface OpenDatastoreOptions {
  s3?: S3ClientOverrides
  /** What the caller is about to do, checked against the maintenance mode; default `write`. */
  operation?: DatastoreOperation
}

/**
 * Opens a configured datastore by name for an operation and checks its chunk store is there.
 * @throws ValidationError (bad name), NotFoundError (not configured), MaintenanceError (the
 *   maintenance mode refuses the operation), StorageError (missing layout).
 */
export async function openDatastore(
  installation: Installation,
  name: string,
  options: OpenDatastoreOptions = {},
): Promise<Datastore> {
  parseDatastoreName(name, 'store')
  const cfg = await loadDatastoreConfig(installation.etcDir)
  const entry = getDatastore(cfg, name)
  checkMaintenance(name, entry.maintenanceMode, options.operation ?? 'write')
  const probe = new Datastore(installation, entry)
  try {
    const st = await stat(probe.chunkDir)
    if (!st.isDirectory()) throw new Error('.chunks is not a directory')
  } catch (e) {
    throw new StorageError(
      `datastore '${name}' at '${probe.base}' is not usable - missing or unreadable .chunks directory`,
      { store: name },
      { cause: e },
    )
  }
  return new Datastore(installation, entry, await openBackend(installation.etcDir, entry, options.s3 ?? {}))
}
