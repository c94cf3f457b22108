// bench/move-fs: moving a group of 10,000 snapshots between namespaces, next to a bare rename
// loop of the same directories measured in the same run; then move-namespace with 100 and 1,000
// groups to show the time per group stays flat. Prints ratios and peak RSS.
//   node dist/bench/move-fs.js [snapshots=10000]
import { mkdir, rename } from 'node:fs/promises'
import { join } from 'node:path'

import { BackupNamespace } from '../src/api-types/index.js'
import { createDatastore, createNamespace, listSnapshotRefs } from '../src/datastore/index.js'
import { moveGroup, moveNamespace } from '../src/datastore/move/index.js'
import { makeFakeSnapshot } from '../tests/helpers/fake-snapshot.js'
import { makeTempHome } from '../tests/helpers/temp-home.js'

const SNAPSHOTS = Number(process.argv[2] ?? 10_000)
const T0 = 1776359903
const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)

const home = await makeTempHome('pbs-store-bench-')
try {
  const store = await createDatastore(home.installation, 'bench', join(home.dir, 'bench'))
  for (const n of ['a', 'b', 'bare']) await createNamespace(store, ns(n))
  console.log(`creating 2 × ${SNAPSHOTS} snapshots …`)
  for (let i = 0; i < SNAPSHOTS; i++) {
    await makeFakeSnapshot(store, ns('a'), 'vm', '100', T0 + i, {
      files: ['drive-scsi0.img.fidx', 'qemu-server.conf.blob'],
    })
    await makeFakeSnapshot(store, ns('bare'), 'vm', '100', T0 + i, {
      files: ['drive-scsi0.img.fidx', 'qemu-server.conf.blob'],
    })
  }

  // Baseline: the bare rename loop of the same kind of directories, same filesystem.
  const bareSrc = store.groupDir(ns('bare'), { type: 'vm', id: '100' })
  const bareDst = join(store.namespaceDir(ns('bare')), 'vm', 'moved')
  await mkdir(bareDst, { recursive: true })
  const snaps = await listSnapshotRefs(store, ns('bare'), { type: 'vm', id: '100' })
  let t = process.hrtime.bigint()
  for (const s of snaps) await rename(join(bareSrc, s.timeString), join(bareDst, s.timeString))
  const bareMs = Number(process.hrtime.bigint() - t) / 1e6

  t = process.hrtime.bigint()
  const r = await moveGroup(store, ns('a'), { type: 'vm', id: '100' }, ns('b'))
  const moveMs = Number(process.hrtime.bigint() - t) / 1e6
  if (r.movedSnapshots !== SNAPSHOTS) throw new Error(`moved ${r.movedSnapshots}, expected ${SNAPSHOTS}`)

  console.log(
    `bare rename loop : ${bareMs.toFixed(0)} ms  (${((bareMs * 1000) / SNAPSHOTS).toFixed(1)} µs/snapshot)`,
  )
  console.log(
    `move-group       : ${moveMs.toFixed(0)} ms  (${((moveMs * 1000) / SNAPSHOTS).toFixed(1)} µs/snapshot)`,
  )
  console.log(`ratio move/bare  : ${(moveMs / bareMs).toFixed(2)} × (goal ≤ 3)`)

  // move-namespace: time per group with 100 and with 1,000 groups (5 snapshots each).
  const perGroup: number[] = []
  for (const groups of [100, 1000]) {
    const src = ns(`n${groups}`)
    await createNamespace(store, src)
    for (let g = 0; g < groups; g++)
      for (let i = 0; i < 5; i++) await makeFakeSnapshot(store, src, 'ct', String(g), T0 + i)
    t = process.hrtime.bigint()
    await moveNamespace(store, src, ns(`m${groups}`))
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    perGroup.push(ms / groups)
    console.log(
      `move-namespace ${String(groups).padStart(4)} groups: ${ms.toFixed(0)} ms (${(ms / groups).toFixed(2)} ms/group)`,
    )
  }
  console.log(`time per group growth 100 → 1000: ${(perGroup[1]! / perGroup[0]!).toFixed(2)} × (goal ≤ 1.2)`)
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
} finally {
  await home.cleanup()
}
