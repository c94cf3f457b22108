// The backend conformance suite on the S3 backend (moto, started by scripts/run-tests.mjs).
import { makeS3Store } from '../helpers/s3-store.js'
import { runBackendConformance } from './backend-conformance.js'

runBackendConformance('s3', async () => {
  const s = await makeS3Store()
  return { store: s.store, cleanup: () => s.cleanup() }
})
