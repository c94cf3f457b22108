// The CLI end to end in a temp home: a real `pbs-store` process per command, JSON output parsed.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { openDatastore } from '../../src/datastore/index.js'
import { encodeManifestBlob, newManifest } from '../../src/format/index.js'
import { makeFakeGroup, makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const T0 = 1776359903

describe('pbs-store CLI (foundation commands)', () => {
  let home: TempHome
  before(async () => {
    home = await makeTempHome()
  })
  after(() => home.cleanup())

  it('--help lists the command groups and exits 0', async () => {
    const r = await runCli(['--help'], home.env)
    assert.equal(r.code, 0)
    for (const c of ['datastore', 'namespace', 'group', 'snapshot'])
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`))
  })

  it('datastore create and list', async () => {
    const created = await runCliJson<{ store: string; path: string }>(
      ['datastore', 'create', 'store1', join(home.dir, 's1')],
      home.env,
    )
    assert.equal(created.store, 'store1')
    const list = await runCliJson<{ store: string; 'backend-type': string }[]>(
      ['datastore', 'list'],
      home.env,
    )
    assert.deepEqual(
      list.map((s) => [s.store, s['backend-type']]),
      [['store1', 'filesystem']],
    )
  })

  it('namespace create, list and delete', async () => {
    assert.equal(await runCliJson(['namespace', 'create', 'prod', '--store', 'store1'], home.env), 'prod')
    assert.equal(
      await runCliJson(['namespace', 'create', 'prod/web', '--store', 'store1'], home.env),
      'prod/web',
    )
    const all = await runCliJson<{ ns: string }[]>(['namespace', 'list', '--store', 'store1'], home.env)
    assert.deepEqual(all, [{ ns: '' }, { ns: 'prod' }, { ns: 'prod/web' }])
    const below = await runCliJson<{ ns: string }[]>(
      ['namespace', 'list', '--store', 'store1', '--ns', 'prod', '--max-depth', '0'],
      home.env,
    )
    assert.deepEqual(below, [{ ns: 'prod' }])
    await runCliJson(['namespace', 'create', 'tmp', '--store', 'store1'], home.env)
    const del = await runCliJson(['namespace', 'delete', 'tmp', '--store', 'store1'], home.env)
    assert.deepEqual(del, { 'removed-groups': 0, 'removed-snapshots': 0, 'protected-snapshots': 0 })
  })

  it('group list shows empty groups; notes, owner and forget work', async () => {
    const store = await openDatastore(home.installation, 'store1')
    const prod = BackupNamespace.parse('prod')
    await makeFakeSnapshot(store, prod, 'vm', '100', T0)
    await makeFakeGroup(store, prod, 'ct', '200')
    const groups = await runCliJson<Record<string, unknown>[]>(
      ['group', 'list', '--store', 'store1', '--ns', 'prod'],
      home.env,
    )
    assert.deepEqual(
      groups.map((g) => [g['backup-type'], g['backup-id'], g['backup-count'], g['last-backup'], g.owner]),
      [
        ['ct', '200', 0, 0, 'root@pam'],
        ['vm', '100', 1, T0, 'root@pam'],
      ],
    )
    await runCliJson(
      ['group', 'notes', 'vm/100', '--store', 'store1', '--ns', 'prod', '--set', 'web server\nmore'],
      home.env,
    )
    assert.equal(
      await runCliJson(['group', 'notes', 'vm/100', '--store', 'store1', '--ns', 'prod'], home.env),
      'web server\nmore',
    )
    await runCliJson(
      ['group', 'change-owner', 'vm/100', '--store', 'store1', '--ns', 'prod', '--new-owner', 'alice@pbs'],
      home.env,
    )
    const after = await runCliJson<Record<string, unknown>[]>(
      ['group', 'list', '--store', 'store1', '--ns', 'prod'],
      home.env,
    )
    assert.equal(after[1]!.owner, 'alice@pbs')
    assert.equal(after[1]!.comment, 'web server')
    const forgot = await runCliJson(
      ['group', 'forget', 'ct/200', '--store', 'store1', '--ns', 'prod'],
      home.env,
    )
    assert.deepEqual(forgot, { 'removed-groups': 1, 'removed-snapshots': 0, 'protected-snapshots': 0 })
  })

  it('snapshot list, files, protected and forget', async () => {
    const snaps = await runCliJson<Record<string, unknown>[]>(
      ['snapshot', 'list', '--store', 'store1', '--ns', 'prod'],
      home.env,
    )
    assert.equal(snaps.length, 1)
    assert.equal(snaps[0]!['backup-time'], T0)
    assert.equal(snaps[0]!.protected, false)
    const spec = 'vm/100/2026-04-16T17:18:23Z'
    const filesArgs = ['snapshot', 'files', spec, '--store', 'store1', '--ns', 'prod']
    // The placeholder manifest is unreadable: like the API, `files` says the manifest is missing.
    const noManifest = await runCli(filesArgs, home.env)
    assert.equal(noManifest.code, 1)
    assert.match(
      noManifest.stderr,
      /^error: manifest not found for snapshot 'vm\/100\/2026-04-16T17:18:23Z'$/m,
    )
    const store = await openDatastore(home.installation, 'store1')
    const manifest = newManifest('vm', '100', T0)
    manifest.files.push({
      filename: 'disk.img.fidx',
      'crypt-mode': 'none',
      size: 8192,
      csum: 'cd'.repeat(32),
    })
    const blob = encodeManifestBlob(manifest)
    await writeFile(join(store.base, 'ns/prod/vm/100/2026-04-16T17:18:23Z/index.json.blob'), blob)
    // The API's `files` shape: the manifest's archives (with their sizes), then the manifest.
    const files = await runCliJson<Record<string, unknown>[]>(filesArgs, home.env)
    assert.deepEqual(files, [
      { filename: 'disk.img.fidx', 'crypt-mode': 'none', size: 8192 },
      { filename: 'index.json.blob', 'crypt-mode': 'none', size: blob.length },
    ])
    assert.equal(
      await runCliJson(
        ['snapshot', 'protected', spec, '--store', 'store1', '--ns', 'prod', '--set', 'true'],
        home.env,
      ),
      true,
    )
    const refused = await runCli(['snapshot', 'forget', spec, '--store', 'store1', '--ns', 'prod'], home.env)
    assert.equal(refused.code, 1)
    assert.match(
      refused.stderr,
      /cannot remove protected snapshot 'vm\/100\/2026-04-16T17:18:23Z' in namespace 'prod'/,
    )
    await runCliJson(
      ['snapshot', 'protected', spec, '--store', 'store1', '--ns', 'prod', '--set', 'false'],
      home.env,
    )
    await runCliJson(['snapshot', 'forget', spec, '--store', 'store1', '--ns', 'prod'], home.env)
    assert.equal(existsSync(join(store.base, 'ns/prod/vm/100/2026-04-16T17:18:23Z')), false)
  })

  it('bad input: non-zero exit, a message naming the input and rule, nothing changed', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['namespace', 'create', 'a/../b', '--store', 'store1'],
        /invalid namespace 'a\/..\/b' - namespace component '..'/,
      ],
      [['namespace', 'create', 'x/y', '--store', 'store1'], /parent namespace 'x' does not exist/],
      [['group', 'list', '--store', 'nope'], /datastore 'nope' does not exist/],
      [['group', 'list', '--store', 'store1', '--ns', 'missing'], /namespace 'missing' does not exist/],
      [['group', 'notes', 'vm', '--store', 'store1'], /invalid group 'vm' - must have the form/],
      [['snapshot', 'forget', 'vm/100/yesterday', '--store', 'store1'], /invalid snapshot time 'yesterday'/],
      [
        ['snapshot', 'protected', 'vm/100/2026-04-16T17:18:23Z', '--store', 'store1', '--set', 'maybe'],
        /invalid --set 'maybe'/,
      ],
      [
        ['namespace', 'list', '--store', 'store1', '--max-depth', '9'],
        /invalid --max-depth '9' - must be an integer from 0 to 7/,
      ],
      [
        ['group', 'change-owner', 'vm/100', '--store', 'store1', '--ns', 'prod', '--new-owner', 'bob'],
        /invalid --new-owner 'bob'/,
      ],
      [
        ['datastore', 'create', 'x', join(home.dir, 'x')],
        /invalid datastore name 'x' - must be 3 to 32 characters/,
      ],
    ]
    for (const [args, message] of cases) {
      const r = await runCli(args, home.env)
      assert.equal(r.code, 1, `${args.join(' ')} should fail`)
      assert.match(r.stderr, message, args.join(' '))
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    assert.equal(existsSync(join(home.dir, 'x')), false)
    const all = await runCliJson<{ ns: string }[]>(['namespace', 'list', '--store', 'store1'], home.env)
    assert.deepEqual(all, [{ ns: '' }, { ns: 'prod' }, { ns: 'prod/web' }])
  })

  it('usage errors exit 2', async () => {
    const r = await runCli(['namespace', 'create', '--store', 'store1'], home.env)
    assert.equal(r.code, 2)
    assert.match(r.stderr, /missing required argument 'ns'/)
  })
})
