// Prune execution on a real filesystem datastore (spec §10 "Execution", §3.5 forget/prune locks):
// dry run, oldest-first removal through the snapshot + manifest locks, a snapshot held by a
// reader in ANOTHER process, a snapshot protected mid-run, protected and empty groups, namespaces.
// One store for the whole file (creation makes 65,536 dirs); each case uses its own namespace.
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import {
  BackupNamespace,
  backupDir,
  formatSnapshotPath,
  parseRfc3339,
  type BackupGroupRef,
} from '../../src/api-types/index.js'
import { createDatastore, listSnapshotRefs, setProtected, type Datastore } from '../../src/datastore/index.js'
import { pruneDatastore, pruneGroup, toPbsPruneJson } from '../../src/datastore/prune/index.js'
import { LegacyLockingError, NotFoundError } from '../../src/errors.js'
import { OLD_LOCKING_MARKER } from '../../src/lock/index.js'
import { makeFakeGroup, makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const VM100: BackupGroupRef = { type: 'vm', id: '100' }
/** Noon UTC on 2026-04-10 + n days: one snapshot per local day in any zone. */
const day = (n: number): number => parseRfc3339('2026-04-10T12:00:00Z') + n * 86_400

describe('prune execution', () => {
  let home: TempHome
  let store: Datastore

  before(async () => {
    home = await makeTempHome()
    store = await createDatastore(home.installation, 'prune', join(home.dir, 'prune'))
  })
  after(() => home.cleanup())

  /** Six daily snapshots of vm/100 in namespace `name`; returns the namespace. */
  async function sixDays(name: string): Promise<BackupNamespace> {
    const ns = BackupNamespace.parse(name)
    for (let i = 0; i < 6; i++) await makeFakeSnapshot(store, ns, 'vm', '100', day(i))
    return ns
  }
  const remaining = async (ns: BackupNamespace, group = VM100): Promise<number[]> =>
    (await listSnapshotRefs(store, ns, group)).map((d) => d.time)

  it('dry run reports the plan and changes nothing', async () => {
    const ns = await sixDays('dry')
    const lines: string[] = []
    const r = await pruneGroup(store, ns, VM100, { keepLast: 2 }, { dryRun: true, log: (l) => lines.push(l) })
    assert.deepEqual(
      r.entries.map((e) => [e.dir.time, e.keep, e.mark]),
      [
        [day(0), false, 'remove'],
        [day(1), false, 'remove'],
        [day(2), false, 'remove'],
        [day(3), false, 'remove'],
        [day(4), true, 'keep'],
        [day(5), true, 'keep'],
      ],
      'entries oldest first, as the PBS prune API',
    )
    assert.ok(r.entries.every((e) => e.removed === undefined && e.warning === undefined))
    assert.deepEqual(await remaining(ns), [0, 1, 2, 3, 4, 5].map(day))
    assert.ok(lines.includes(`would remove vm/100/${backupDir(VM100, day(0)).timeString}`), lines.join('\n'))
    assert.ok(
      lines.includes(`would keep vm/100/${backupDir(VM100, day(5)).timeString} (keep-last)`),
      lines.join('\n'),
    )
  })

  it('removes exactly the snapshots marked remove, oldest first, with their lock files', async () => {
    const ns = await sixDays('exec')
    // Each removal is logged just before it runs: at that moment every older victim must be gone
    // and every newer one still present.
    const victims = [day(0), day(1), day(2), day(3)]
    const order: number[] = []
    const r = await pruneGroup(
      store,
      ns,
      VM100,
      { keepLast: 1, keepDaily: 1 },
      {
        log: (line) => {
          const m = /^remove vm\/100\/(\S+)$/.exec(line)
          if (!m) return
          const t = parseRfc3339(m[1])
          order.push(t)
          for (const v of victims) {
            const present = existsSync(store.snapshotDir(ns, backupDir(VM100, v)))
            assert.equal(
              present,
              v >= t,
              `when removing ${m[1]}: ${backupDir(VM100, v).timeString} present=${present}`,
            )
          }
        },
      },
    )
    assert.deepEqual(order, victims)
    assert.deepEqual(await remaining(ns), [day(4), day(5)])
    assert.deepEqual(
      r.entries.map((e) => [e.dir.time, e.mark, e.rule, e.removed]),
      [
        [day(0), 'remove', undefined, true],
        [day(1), 'remove', undefined, true],
        [day(2), 'remove', undefined, true],
        [day(3), 'remove', undefined, true],
        [day(4), 'keep', 'keep-daily', undefined],
        [day(5), 'keep', 'keep-last', undefined],
      ],
    )
    assert.deepEqual(r.warnings, [])
    for (const v of victims)
      for (const f of store.snapshotLockFiles(ns, backupDir(VM100, v))) assert.equal(existsSync(f), false, f)
  })

  it('a snapshot held by a shared lock in another process stays, as a warning; the rest is pruned', async () => {
    const ns = await sixDays('busy')
    const held = backupDir(VM100, day(2))
    const holder = await spawnNodeHolder('flock', store.snapshotLockFiles(ns, held)[0], 'shared')
    try {
      const r = await pruneGroup(store, ns, VM100, { keepLast: 2 })
      assert.deepEqual(
        await remaining(ns),
        [day(2), day(4), day(5)],
        'older and newer victims removed, the held one kept',
      )
      const entry = r.entries.find((e) => e.dir.time === day(2))!
      assert.equal(entry.keep, false)
      assert.equal(entry.removed, false)
      assert.match(
        entry.warning ?? '',
        new RegExp(`failed to remove snapshot '${formatSnapshotPath(held)}' in namespace 'busy'`),
      )
      assert.deepEqual(r.warnings, [entry.warning])
      assert.deepEqual(
        r.entries.filter((e) => e.removed === true).map((e) => e.dir.time),
        [day(0), day(1), day(3)],
      )
    } finally {
      await holder.release()
    }
    // Once the reader is gone, the next prune removes it.
    const again = await pruneGroup(store, ns, VM100, { keepLast: 2 })
    assert.deepEqual(again.warnings, [])
    assert.deepEqual(await remaining(ns), [day(4), day(5)])
  })

  it('a snapshot protected after the listing is refused by forget and reported, not fatal', async () => {
    const ns = await sixDays('race')
    const target = backupDir(VM100, day(1))
    const r = await pruneGroup(
      store,
      ns,
      VM100,
      { keepLast: 1 },
      {
        log: (line) => {
          // Someone protects day 1 while prune is already removing day 0.
          if (line === `remove vm/100/${backupDir(VM100, day(0)).timeString}`)
            writeFileSync(join(store.snapshotDir(ns, target), '.protected'), '')
        },
      },
    )
    assert.deepEqual(await remaining(ns), [day(1), day(5)])
    const entry = r.entries.find((e) => e.dir.time === day(1))!
    assert.equal(entry.removed, false)
    assert.match(entry.warning ?? '', /cannot remove protected snapshot/)
    assert.equal(r.warnings.length, 1)
  })

  it('protected snapshots stay and use no slot', async () => {
    const ns = await sixDays('prot')
    await setProtected(store, ns, backupDir(VM100, day(5)), true)
    await setProtected(store, ns, backupDir(VM100, day(1)), true)
    const r = await pruneGroup(store, ns, VM100, { keepLast: 1 })
    assert.deepEqual(await remaining(ns), [day(1), day(4), day(5)])
    assert.deepEqual(
      r.entries.filter((e) => e.keep).map((e) => [e.dir.time, e.mark, e.protected]),
      [
        [day(1), 'protected', true],
        [day(4), 'keep', false],
        [day(5), 'protected', true],
      ],
    )
    assert.deepEqual(
      toPbsPruneJson(r.entries)
        .filter((j) => j.protected)
        .map((j) => j['backup-time']),
      [day(1), day(5)],
    )
  })

  it('groups are never removed: an empty group and a pruned group keep their owner', async () => {
    const ns = BackupNamespace.parse('groups')
    await makeFakeGroup(store, ns, 'ct', '200', 'alice@pbs')
    for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, ns, 'vm', '100', day(i), { owner: 'bob@pbs' })
    const r = await pruneDatastore(store, ns, undefined, { keepLast: 1 })
    assert.deepEqual(
      r.groups.map((g) => [`${g.group.type}/${g.group.id}`, g.entries.length]),
      [
        ['ct/200', 0],
        ['vm/100', 3],
      ],
    )
    assert.equal(
      await readFile(join(store.groupDir(ns, { type: 'ct', id: '200' }), 'owner'), 'utf8'),
      'alice@pbs\n',
    )
    assert.equal(await readFile(join(store.groupDir(ns, VM100), 'owner'), 'utf8'), 'bob@pbs\n')
    assert.deepEqual(await remaining(ns), [day(2)])
  })

  it('an unfinished snapshot older than a finished one is removed; the newest partial is kept', async () => {
    const ns = BackupNamespace.parse('partial')
    await makeFakeSnapshot(store, ns, 'vm', '100', day(0))
    await makeFakeSnapshot(store, ns, 'vm', '100', day(1), { finished: false })
    await makeFakeSnapshot(store, ns, 'vm', '100', day(2))
    await makeFakeSnapshot(store, ns, 'vm', '100', day(3), { finished: false })
    const r = await pruneGroup(store, ns, VM100, { keepLast: 5 })
    assert.deepEqual(
      r.entries.map((e) => [e.dir.time, e.mark, e.finished]),
      [
        [day(0), 'keep', true],
        [day(1), 'remove', false],
        [day(2), 'keep', true],
        [day(3), 'keep-partial', false],
      ],
    )
    assert.deepEqual(await remaining(ns), [day(0), day(2), day(3)])
  })

  it('prune-datastore walks the namespace subtree up to max-depth and reports PBS JSON', async () => {
    const top = BackupNamespace.parse('tree')
    const a = BackupNamespace.parse('tree/a')
    const b = BackupNamespace.parse('tree/a/b')
    for (const ns of [top, a, b])
      for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, ns, 'host', 'web', day(i))
    const host: BackupGroupRef = { type: 'host', id: 'web' }
    const dry = await pruneDatastore(store, top, 1, { keepLast: 2 }, { dryRun: true })
    assert.deepEqual(
      dry.groups.map((g) => g.ns.toString()),
      ['tree', 'tree/a'],
    )
    const json = toPbsPruneJson(dry.entries)
    assert.deepEqual(json[0], {
      'backup-type': 'host',
      'backup-id': 'web',
      'backup-time': day(0),
      keep: false,
      protected: false,
      ns: 'tree',
    })
    assert.equal(json.length, 6)
    const r = await pruneDatastore(store, top, 1, { keepLast: 2 })
    assert.equal(r.entries.filter((e) => e.removed).length, 2)
    assert.deepEqual(await remaining(top, host), [day(1), day(2)])
    assert.deepEqual(await remaining(a, host), [day(1), day(2)])
    assert.deepEqual(await remaining(b, host), [day(0), day(1), day(2)], 'below max-depth: untouched')
    await pruneDatastore(store, top, undefined, { keepLast: 2 })
    assert.deepEqual(await remaining(b, host), [day(1), day(2)], 'default depth reaches everything')
  })

  it('root-namespace entries carry no ns key; nothing set keeps everything', async () => {
    const root = BackupNamespace.ROOT
    const g: BackupGroupRef = { type: 'ct', id: 'rootgroup' }
    for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, root, 'ct', 'rootgroup', day(i))
    const r = await pruneGroup(store, root, g, {})
    assert.deepEqual(await remaining(root, g), [day(0), day(1), day(2)])
    assert.deepEqual(toPbsPruneJson(r.entries), [
      { 'backup-type': 'ct', 'backup-id': 'rootgroup', 'backup-time': day(0), keep: true, protected: false },
      { 'backup-type': 'ct', 'backup-id': 'rootgroup', 'backup-time': day(1), keep: true, protected: false },
      { 'backup-type': 'ct', 'backup-id': 'rootgroup', 'backup-time': day(2), keep: true, protected: false },
    ])
  })

  it('a missing group or namespace is NotFoundError; old locking refuses removal but not a dry run', async () => {
    await assert.rejects(
      pruneGroup(store, BackupNamespace.ROOT, { type: 'vm', id: 'nope' }, { keepLast: 1 }),
      NotFoundError,
    )
    await assert.rejects(
      pruneDatastore(store, BackupNamespace.parse('missing'), undefined, { keepLast: 1 }),
      NotFoundError,
    )
    const ns = await sixDays('oldlock')
    await mkdir(home.installation.pbsRunDir, { recursive: true })
    const marker = join(home.installation.pbsRunDir, OLD_LOCKING_MARKER)
    await writeFile(marker, '')
    try {
      await assert.rejects(pruneGroup(store, ns, VM100, { keepLast: 1 }), LegacyLockingError)
      await assert.rejects(pruneDatastore(store, ns, undefined, { keepLast: 1 }), LegacyLockingError)
      const dry = await pruneGroup(store, ns, VM100, { keepLast: 1 }, { dryRun: true })
      assert.equal(dry.entries.filter((e) => !e.keep).length, 5)
      assert.equal((await remaining(ns)).length, 6)
    } finally {
      await rm(marker, { force: true })
    }
  })
})
