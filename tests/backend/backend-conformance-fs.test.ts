// The backend conformance suite on the filesystem backend.
import { join } from 'node:path'

import { createDatastore } from '../../src/datastore/index.js'
import { makeTempHome } from '../helpers/temp-home.js'
import { runBackendConformance } from './backend-conformance.js'

runBackendConformance('filesystem', async () => {
  const home = await makeTempHome()
  const store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
  return { store, cleanup: () => home.cleanup() }
})
