// Concurrency soak (issue 10, part 2) on a filesystem datastore: for a bounded time
// (PBS_STORE_SOAK_SECONDS, default 60; 600 via `npm run test:reliability`) several real
// `pbs-store` processes run at once: backups into a few groups, group moves a <-> b, a namespace
// move x <-> y, verify, prune and GC with a 1-minute atime cutoff (see soak-harness.ts). At the
// end every finished, unpruned snapshot must exist exactly once and restore to the bytes recorded
// at backup time, and a final verify must report 0 failures.
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { createDatastore, type Datastore } from '../../src/datastore/index.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'
import { prepareSoakStore, runSoak } from './soak-harness.js'

const SECONDS = Number(process.env.PBS_STORE_SOAK_SECONDS ?? 60)
const MIB = 1024 * 1024

describe('concurrency soak: backups, moves, verify, prune and GC at once', () => {
  let home: TempHome
  let store: Datastore

  before(async () => {
    home = await makeTempHome('pbs-store-soak-')
    store = await createDatastore(home.installation, 'soak', join(home.dir, 'store'))
    await prepareSoakStore({ home, store, env: home.env })
  })
  after(async () => {
    store.close()
    await home.cleanup()
  })

  it(
    `${SECONDS} s of concurrent real processes lose nothing`,
    { timeout: (SECONDS + 300) * 1000 },
    async () => {
      await runSoak(
        { home, store, env: home.env },
        {
          label: 'fs',
          seconds: SECONDS,
          seed: Number(process.env.PBS_STORE_SOAK_SEED ?? Date.now() % 1_000_000),
          sharedBlocks: 3,
          sharedFraction: 0.6,
          tailMaxBytes: MIB,
          gcPauseMs: 3000,
        },
      )
    },
  )
})
