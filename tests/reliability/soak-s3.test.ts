// Concurrency soak (issue 10, part 2) on an S3 datastore (moto, no faults): the same concurrent
// real processes as the filesystem soak (soak-harness.ts), scaled down for moto (~150 requests/s):
// smaller images, fewer shared blocks, and two snapshots per group backed up in-process before the
// loops start, so moves, prune and GC have work at once. PBS_STORE_SOAK_SECONDS sizes it (default 60). After the
// loops `pbs-store s3 cleanup` runs, then the final prune/GC round and the common checks; then
// the bucket must hold 0 orphaned objects: every object under the store prefix is a chunk some
// index references, or belongs to a snapshot, group or namespace that exists in the cache.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { makeS3Store, type S3TestStore } from '../helpers/s3-store.js'
import { censusProblems, orphanCount, s3Census } from './s3-census.js'
import { prepareSoakStore, runSoak, type SoakTarget } from './soak-harness.js'

const SECONDS = Number(process.env.PBS_STORE_SOAK_SECONDS ?? 60)
const KIB = 1024

describe('concurrency soak on an S3 datastore: backups, moves, verify, prune and GC at once', () => {
  let s: S3TestStore
  let target: SoakTarget

  before(async () => {
    s = await makeS3Store({ name: 'soaks3' })
    // No process is killed in the soak (no request outlives its writer): the final cleanup may
    // sweep orphans of the last seconds at once instead of waiting out the move grace period.
    target = { home: s.home, store: s.store, env: { ...s.home.env, PBS_STORE_S3_MOVE_GRACE_MS: '0' } }
    await prepareSoakStore(target)
  })
  after(() => s.cleanup())

  it(
    `${SECONDS} s of concurrent real processes lose nothing and leave 0 orphaned S3 objects`,
    { timeout: (SECONDS + 300) * 1000 },
    async () => {
      const cleanups: string[] = []
      const outcome = await runSoak(
        target,
        {
          label: 's3',
          seconds: SECONDS,
          seed: Number(process.env.PBS_STORE_SOAK_SEED ?? Date.now() % 1_000_000),
          sharedBlocks: 2,
          sharedFraction: 0.4,
          tailMaxBytes: 256 * KIB,
          // S3 GC also lists the bucket: a longer pause between runs leaves backups room.
          gcPauseMs: 6000,
          seedPerGroup: 2,
          minLoopBackups: 1,
        },
        {
          // Finishes or rolls back whatever a move left (there should be nothing without faults).
          afterLoops: async (run) => {
            const r = await run('s3 cleanup', ['s3', 'cleanup'])
            assert.ok(r, 's3 cleanup succeeded')
            const out = JSON.parse(r.stdout) as Record<string, number>
            cleanups.push(
              `intents ${out.intents}, rolled forward ${out['rolled-forward']}, rolled back ${out['rolled-back']}, orphans swept ${out['orphans-deleted']}`,
            )
          },
        },
      )
      const census = await s3Census(s.store, s.backend.objects, { compareContent: true })
      const counters = s.backend.objects.counters()
      console.log(
        `# soak (s3): cleanup ${cleanups.join('; ')}; bucket objects ${census.objects}, snapshots ${census.snapshots} ` +
          `(cache ${outcome.where.size}), orphaned S3 objects ${orphanCount(census)}, missing ${census.missingContent.length + census.missingChunks.length}, ` +
          `intents left ${census.intents.length}, test-process requests ${JSON.stringify(counters.requests)}`,
      )
      assert.deepEqual(
        censusProblems(census),
        [],
        'no orphaned, missing or duplicated S3 object after recovery',
      )
      assert.equal(census.snapshots, outcome.where.size, 'the bucket holds exactly the cache snapshots')
    },
  )
})
