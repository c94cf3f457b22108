// `pbs-store datastore update --maintenance-mode`: real CLI processes in a temp home. The mode
// shows in `datastore list`, refuses what it should with PBS's message, and clears again.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

describe('pbs-store datastore update --maintenance-mode', () => {
  let home: TempHome
  before(async () => {
    home = await makeTempHome()
    await runCliJson(['datastore', 'create', 'store1', join(home.dir, 's1')], home.env)
    await runCliJson(['namespace', 'create', 'prod', '--store', 'store1'], home.env)
  })
  after(() => home.cleanup())

  it('read-only: listed, writes refused with the PBS message, reads work; then cleared', async () => {
    const set = await runCli(
      ['datastore', 'update', 'store1', '--maintenance-mode', 'type=read-only,message=disk%20swap'],
      home.env,
    )
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /maintenance mode type=read-only,message=disk%20swap/)
    const list = await runCliJson<{ store: string; maintenance?: string }[]>(['datastore', 'list'], home.env)
    assert.equal(list[0]?.maintenance, 'type=read-only,message=disk%20swap')

    const refused = await runCli(['namespace', 'create', 'other', '--store', 'store1'], home.env)
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /datastore 'store1' is unavailable: read-only maintenance mode: disk swap/)
    const listed = await runCliJson<{ ns: string }[]>(['namespace', 'list', '--store', 'store1'], home.env)
    assert.deepEqual(listed, [{ ns: '' }, { ns: 'prod' }])

    const cleared = await runCli(['datastore', 'update', 'store1', '--delete', 'maintenance-mode'], home.env)
    assert.equal(cleared.code, 0, cleared.stderr)
    assert.doesNotMatch(
      await readFile(join(home.env.PBS_STORE_HOME!, 'etc', 'datastore.cfg'), 'utf8'),
      /maintenance/,
    )
    assert.equal(await runCliJson(['namespace', 'create', 'other', '--store', 'store1'], home.env), 'other')
  })

  it('offline refuses reads too', async () => {
    assert.equal(
      (await runCli(['datastore', 'update', 'store1', '--maintenance-mode', 'offline'], home.env)).code,
      0,
    )
    const r = await runCli(['group', 'list', '--store', 'store1'], home.env)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /offline maintenance mode/)
    assert.equal(
      (await runCli(['datastore', 'update', 'store1', '--delete', 'maintenance-mode'], home.env)).code,
      0,
    )
  })

  it('refuses modes an admin does not set, unknown types and a missing option, changing nothing', async () => {
    const cfg = join(home.env.PBS_STORE_HOME!, 'etc', 'datastore.cfg')
    const before = await readFile(cfg, 'utf8')
    for (const [args, pattern] of [
      [['--maintenance-mode', 'delete'], /--maintenance-mode.*'read-only' or 'offline'/],
      [['--maintenance-mode', 'paused'], /maintenance-mode\.type/],
      [[], /--maintenance-mode.*required/],
      [['--delete', 'comment'], /--delete.*maintenance-mode/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['datastore', 'update', 'store1', ...args], home.env)
      assert.notEqual(r.code, 0, args.join(' '))
      assert.match(r.stderr, pattern)
    }
    const unknown = await runCli(
      ['datastore', 'update', 'nostore', '--maintenance-mode', 'offline'],
      home.env,
    )
    assert.match(unknown.stderr, /datastore 'nostore' does not exist/)
    assert.equal(await readFile(cfg, 'utf8'), before)
  })
})
