// `pbs-store prune` and `pbs-store prune-datastore` end to end: a real CLI process per command,
// PBS prune JSON on stdout, warnings on stderr with exit 0, bad keep options refused up front.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir, parseRfc3339, type BackupGroupRef } from '../../src/api-types/index.js'
import { listSnapshotRefs, openDatastore, type Datastore } from '../../src/datastore/index.js'
import type { PbsPruneItem } from '../../src/datastore/prune/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const VM100: BackupGroupRef = { type: 'vm', id: '100' }
const day = (n: number): number => parseRfc3339('2026-04-10T12:00:00Z') + n * 86_400

describe('pbs-store prune CLI', () => {
  let home: TempHome
  let store: Datastore

  before(async () => {
    home = await makeTempHome()
    await runCliJson(['datastore', 'create', 'store1', join(home.dir, 's1')], home.env)
    store = await openDatastore(home.installation, 'store1')
  })
  after(() => home.cleanup())

  async function fourDays(name: string): Promise<BackupNamespace> {
    const ns = BackupNamespace.parse(name)
    for (let i = 0; i < 4; i++) await makeFakeSnapshot(store, ns, 'vm', '100', day(i))
    return ns
  }
  const remaining = async (ns: BackupNamespace): Promise<number[]> =>
    (await listSnapshotRefs(store, ns, VM100)).map((d) => d.time)

  it('prune --dry-run prints the PBS prune JSON and changes nothing; without it, removes', async () => {
    const ns = await fourDays('cli')
    const args = ['prune', 'vm/100', '--store', 'store1', '--ns', 'cli', '--keep-last', '2']
    const dry = await runCliJson<PbsPruneItem[]>([...args, '--dry-run'], home.env)
    assert.deepEqual(dry, [
      {
        'backup-type': 'vm',
        'backup-id': '100',
        'backup-time': day(0),
        keep: false,
        protected: false,
        ns: 'cli',
      },
      {
        'backup-type': 'vm',
        'backup-id': '100',
        'backup-time': day(1),
        keep: false,
        protected: false,
        ns: 'cli',
      },
      {
        'backup-type': 'vm',
        'backup-id': '100',
        'backup-time': day(2),
        keep: true,
        protected: false,
        ns: 'cli',
      },
      {
        'backup-type': 'vm',
        'backup-id': '100',
        'backup-time': day(3),
        keep: true,
        protected: false,
        ns: 'cli',
      },
    ])
    assert.equal((await remaining(ns)).length, 4)
    const done = await runCliJson<PbsPruneItem[]>(args, home.env)
    assert.deepEqual(done, dry)
    assert.deepEqual(await remaining(ns), [day(2), day(3)])
  })

  it('text output names the action and the rule of every snapshot', async () => {
    await fourDays('text')
    const r = await runCli(
      [
        'prune',
        'vm/100',
        '--store',
        'store1',
        '--ns',
        'text',
        '--keep-last',
        '1',
        '--keep-daily',
        '1',
        '--dry-run',
      ],
      home.env,
    )
    assert.equal(r.code, 0, r.stderr)
    const t = (n: number): string => backupDir(VM100, day(n)).timeString
    assert.match(r.stdout, new RegExp(`vm/100/${t(3)}\\s+keep\\s+keep-last`))
    assert.match(r.stdout, new RegExp(`vm/100/${t(2)}\\s+keep\\s+keep-daily 2026/04/12`))
    assert.match(r.stdout, new RegExp(`vm/100/${t(0)}\\s+would remove`))
    assert.match(r.stdout, /dry run: would keep 2 and remove 2 snapshot\(s\)/)
  })

  it('prune-datastore covers the namespace subtree and honours --max-depth', async () => {
    const top = await fourDays('dsall')
    const child = await fourDays('dsall/child')
    const onlyTop = await runCliJson<PbsPruneItem[]>(
      ['prune-datastore', '--store', 'store1', '--ns', 'dsall', '--max-depth', '0', '--keep-last', '3'],
      home.env,
    )
    assert.deepEqual([...new Set(onlyTop.map((i) => i.ns))], ['dsall'])
    assert.deepEqual(await remaining(top), [day(1), day(2), day(3)])
    assert.equal((await remaining(child)).length, 4)
    const all = await runCliJson<PbsPruneItem[]>(
      ['prune-datastore', '--store', 'store1', '--ns', 'dsall', '--keep-last', '1'],
      home.env,
    )
    assert.deepEqual(
      all.filter((i) => !i.keep).map((i) => [i.ns, i['backup-time']]),
      [
        ['dsall', day(1)],
        ['dsall', day(2)],
        ['dsall/child', day(0)],
        ['dsall/child', day(1)],
        ['dsall/child', day(2)],
      ],
    )
    assert.deepEqual(await remaining(child), [day(3)])
  })

  it('a snapshot locked by another process is a warning on stderr, exit 0', async () => {
    const ns = await fourDays('cliwarn')
    const held = backupDir(VM100, day(0))
    const holder = await spawnNodeHolder('flock', store.snapshotLockFiles(ns, held)[0], 'shared')
    try {
      const r = await runCli(
        [
          'prune',
          'vm/100',
          '--store',
          'store1',
          '--ns',
          'cliwarn',
          '--keep-last',
          '1',
          '--output-format',
          'json',
        ],
        home.env,
      )
      assert.equal(r.code, 0, r.stderr)
      assert.match(
        r.stderr,
        new RegExp(
          `^warning: failed to remove snapshot 'vm/100/${held.timeString}' in namespace 'cliwarn' - `,
          'm',
        ),
      )
      assert.equal((JSON.parse(r.stdout) as PbsPruneItem[]).length, 4)
      assert.deepEqual(await remaining(ns), [day(0), day(3)])
    } finally {
      await holder.release()
    }
  })

  it('bad keep options fail with exit 1 naming the option, before anything is touched', async () => {
    const ns = await fourDays('bad')
    for (const [opt, value] of [
      ['--keep-daily', '-1'],
      ['--keep-last', 'abc'],
      ['--keep-weekly', '1.5'],
    ] as const) {
      const r = await runCli(
        ['prune', 'vm/100', '--store', 'store1', '--ns', 'bad', `${opt}=${value}`],
        home.env,
      )
      assert.equal(r.code, 1, `${opt}=${value}: ${r.stdout}`)
      assert.match(
        r.stderr,
        new RegExp(
          `^error: invalid ${opt} '${value.replace('.', '\\.')}' - must be an integer of at least 1`,
          'm',
        ),
      )
    }
    const sep = await runCli(['prune-datastore', '--store', 'store1', '--keep-yearly', '-3'], home.env)
    assert.notEqual(sep.code, 0)
    assert.match(sep.stderr, /--keep-yearly/)
    const depth = await runCli(
      ['prune-datastore', '--store', 'store1', '--max-depth', '9', '--keep-last', '1'],
      home.env,
    )
    assert.equal(depth.code, 1)
    assert.match(depth.stderr, /invalid --max-depth '9'/)
    assert.equal((await remaining(ns)).length, 4)
  })

  it('nothing set keeps everything; a missing group fails with exit 1', async () => {
    const ns = await fourDays('keepall')
    const r = await runCliJson<PbsPruneItem[]>(
      ['prune', 'vm/100', '--store', 'store1', '--ns', 'keepall'],
      home.env,
    )
    assert.ok(r.length === 4 && r.every((i) => i.keep))
    assert.equal((await remaining(ns)).length, 4)
    const missing = await runCli(['prune', 'vm/999', '--store', 'store1', '--keep-last', '1'], home.env)
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /group 'vm\/999' does not exist/)
  })
})
