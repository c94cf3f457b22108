// Remote mode of the datastore content commands (datastore list, group notes|change-owner|forget,
// snapshot forget|protected|files, prune-datastore): a real HTTPS server in a temp home and real
// CLI processes. Each command prints the same through the server as locally (text and JSON), and
// a token without the privilege fails with exit 1 and "permission check failed".
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, type BackupType } from '../../src/api-types/index.js'
import { AccessConfig } from '../../src/config/access-config.js'
import {
  createNamespace,
  groupExists,
  isProtected,
  listSnapshotRefs,
  readNotes,
  readOwner,
  type Datastore,
} from '../../src/datastore/index.js'
import { encodeManifestBlob, newManifest } from '../../src/format/index.js'
import { serve, type RunningServer } from '../../src/server/serve.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { runCli, type CliResult } from '../helpers/run-cli.js'
import { createLightDatastore } from '../helpers/server-fixture.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const PROD = ns('prod')
const T0 = 1776359903
const SNAP = '2026-04-16T17:18:23Z' // T0
const S = ['--store', 'store1', '--ns', 'prod']

describe('pbs-store remote mode: datastore content commands', () => {
  let home: TempHome
  let server: RunningServer
  let store: Datastore
  /** Admin token, certificate trusted by fingerprint. */
  let admin: NodeJS.ProcessEnv
  /** A token with DatastoreAudit on the store: reads, but may change nothing. */
  let auditor: NodeJS.ProcessEnv
  /** A token without any privilege. */
  let nobody: NodeJS.ProcessEnv
  /** Local mode: the same home, no server. */
  let local: NodeJS.ProcessEnv

  /** A snapshot with a real manifest listing one image archive. */
  async function realSnapshot(type: BackupType, id: string, time: number): Promise<void> {
    const dir = await makeFakeSnapshot(store, PROD, type, id, time, { files: ['drive-scsi0.img.fidx'] })
    const m = newManifest(type, id, time)
    m.files.push({
      filename: 'drive-scsi0.img.fidx',
      'crypt-mode': 'none',
      size: 4096,
      csum: 'ab'.repeat(32),
    })
    await writeFile(join(dir, 'index.json.blob'), encodeManifestBlob(m))
  }

  /** Runs the same arguments remotely and locally (text and JSON) and returns the four results. */
  async function both(args: string[], env = admin): Promise<{ remote: CliResult; localRun: CliResult }> {
    const remote = await runCli(args, env)
    const localRun = await runCli(args, local)
    assert.equal(remote.code, 0, `remote ${args.join(' ')}: ${remote.stderr}`)
    assert.equal(localRun.code, 0, `local ${args.join(' ')}: ${localRun.stderr}`)
    return { remote, localRun }
  }

  /** Asserts that remote and local print exactly the same, as text and as JSON. */
  async function sameOutput(args: string[]): Promise<string> {
    const text = await both(args)
    assert.equal(text.remote.stdout, text.localRun.stdout, `text of ${args.join(' ')}`)
    const json = await both([...args, '--output-format', 'json'])
    assert.equal(json.remote.stdout, json.localRun.stdout, `JSON of ${args.join(' ')}`)
    return text.remote.stdout
  }

  /** Asserts a refused call: exit 1, "permission check failed", no stack trace. */
  function assertDenied(r: CliResult, what: string): void {
    assert.equal(r.code, 1, `${what} should fail: ${r.stdout}`)
    assert.match(r.stderr, /^error: permission check failed/m, what)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }

  before(async () => {
    home = await makeTempHome('pbs-store-remote-content-')
    store = await createLightDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    await createNamespace(store, PROD)
    for (const id of ['100', '101', '102']) await realSnapshot('vm', id, T0)
    for (const id of ['201', '202']) {
      await makeFakeSnapshot(store, PROD, 'ct', id, T0)
      await makeFakeSnapshot(store, PROD, 'ct', id, T0 + 60)
    }
    const access = new AccessConfig(home.installation.etcDir)
    await access.createUser('admin@pbs', {}, 'admin-password')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs' })
    const adminSecret = await access.createToken('admin@pbs', 'cli')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs!cli' })
    await access.createUser('audit@pbs', {})
    await access.modifyAcl({ path: '/datastore/store1', role: 'DatastoreAudit', authid: 'audit@pbs' })
    const auditSecret = await access.createToken('audit@pbs', 'ro')
    await access.modifyAcl({ path: '/datastore/store1', role: 'DatastoreAudit', authid: 'audit@pbs!ro' })
    await access.createUser('nobody@pbs', {})
    const nobodySecret = await access.createToken('nobody@pbs', 'none')
    server = await serve({
      installation: home.installation,
      listen: '127.0.0.1:0',
      authFailureDelayMs: 0,
      permissionDeniedDelayMs: 0,
    })
    const base = {
      ...home.env,
      PBS_STORE_SERVER: server.url,
      PBS_STORE_FINGERPRINT: new X509Certificate(server.cert!).fingerprint256,
    }
    admin = { ...base, PBS_STORE_TOKEN: 'admin@pbs!cli', PBS_STORE_TOKEN_SECRET: adminSecret }
    auditor = { ...base, PBS_STORE_TOKEN: 'audit@pbs!ro', PBS_STORE_TOKEN_SECRET: auditSecret }
    nobody = { ...base, PBS_STORE_TOKEN: 'nobody@pbs!none', PBS_STORE_TOKEN_SECRET: nobodySecret }
    local = home.env
  })
  after(async () => {
    await server.close()
    await home.cleanup()
  })

  it('datastore list: the same rows as locally, without the path the API does not tell', async () => {
    const list = ['datastore', 'list', '--output-format', 'json']
    const remote = JSON.parse((await runCli(list, admin)).stdout) as Record<string, unknown>[]
    const localRows = JSON.parse((await runCli(list, local)).stdout) as Record<string, unknown>[]
    assert.deepEqual(
      remote,
      localRows.map(({ path: _p, ...r }) => r),
    )
    assert.deepEqual(remote, [{ store: 'store1', comment: null, 'backend-type': 'filesystem' }])
    const text = await runCli(['datastore', 'list'], admin)
    assert.match(text.stdout, /^store\s+backend\s+comment\n-+\s+-+\s+-+\nstore1\s+filesystem\n$/)
    // A caller without any datastore privilege sees no datastore (not an error, as in PBS).
    const none = await runCli(['datastore', 'list', '--output-format', 'json'], nobody)
    assert.equal(none.code, 0, none.stderr)
    assert.deepEqual(JSON.parse(none.stdout), [])
  })

  it('group notes: set and read through the server as locally; read-only tokens are refused', async () => {
    const set = await runCli(['group', 'notes', 'vm/101', ...S, '--set', 'web server\nline 2'], admin)
    assert.equal(set.code, 0, set.stderr)
    assert.equal(set.stdout, "notes of 'vm/101' in namespace 'prod' updated\n")
    assert.equal(await readNotes(store, PROD, { type: 'vm', id: '101' }), 'web server\nline 2')
    const setLocal = await runCli(['group', 'notes', 'vm/102', ...S, '--set', 'web server\nline 2'], local)
    assert.equal(setLocal.stdout, set.stdout.replace('101', '102'))
    assert.equal(await sameOutput(['group', 'notes', 'vm/101', ...S]), 'web server\nline 2\n')
    assert.equal(await sameOutput(['group', 'notes', 'vm/100', ...S]), '')
    // A group that does not exist is an error in both modes (the API itself answers '').
    for (const env of [admin, local]) {
      const missing = await runCli(['group', 'notes', 'vm/999', ...S], env)
      assert.equal(missing.code, 1)
      assert.match(
        missing.stderr,
        /^error: group 'vm\/999' in namespace 'prod' does not exist on store 'store1'$/m,
      )
    }
    assertDenied(await runCli(['group', 'notes', 'vm/101', ...S, '--set', 'x'], auditor), 'notes --set')
    assertDenied(await runCli(['group', 'notes', 'vm/101', ...S], nobody), 'notes read')
    assert.equal(await readNotes(store, PROD, { type: 'vm', id: '101' }), 'web server\nline 2')
  })

  it('group change-owner: same message as locally; a read-only token is refused', async () => {
    const remote = await runCli(['group', 'change-owner', 'ct/201', ...S, '--new-owner', 'audit@pbs'], admin)
    assert.equal(remote.code, 0, remote.stderr)
    assert.equal(remote.stdout, "owner of 'ct/201' in namespace 'prod' changed from root@pam to audit@pbs\n")
    const localRun = await runCli(
      ['group', 'change-owner', 'ct/202', ...S, '--new-owner', 'audit@pbs'],
      local,
    )
    assert.equal(localRun.stdout, remote.stdout.replace('201', '202'))
    assert.equal(await readOwner(store, PROD, { type: 'ct', id: '201' }), 'audit@pbs')
    const json = await runCli(
      ['group', 'change-owner', 'ct/201', ...S, '--new-owner', 'root@pam', '--output-format', 'json'],
      admin,
    )
    assert.equal(json.stdout, 'null\n')
    const denied = await runCli(
      ['group', 'change-owner', 'ct/201', ...S, '--new-owner', 'nobody@pbs'],
      auditor,
    )
    assertDenied(denied, 'change-owner')
    assert.equal(await readOwner(store, PROD, { type: 'ct', id: '201' }), 'root@pam')
    // Unknown new owners are refused by the server, as locally by name.
    const unknown = await runCli(['group', 'change-owner', 'ct/201', ...S, '--new-owner', 'ghost@pbs'], admin)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /user 'ghost@pbs' is inactive or non-existent/)
  })

  it('snapshot files: the API shape in both modes (manifest files, then the manifest)', async () => {
    const spec = `vm/100/${SNAP}`
    const text = await sameOutput(['snapshot', 'files', spec, ...S])
    assert.match(text, /^file\s+size\s+crypt-mode\n/)
    const dir = { type: 'vm' as const, id: '100', time: T0, timeString: SNAP }
    const manifestSize = (await readFile(join(store.snapshotDir(PROD, dir), 'index.json.blob'))).length
    const json = await runCli(['snapshot', 'files', spec, ...S, '--output-format', 'json'], admin)
    const files = JSON.parse(json.stdout) as { filename: string; size?: number }[]
    assert.deepEqual(
      files.map((f) => [f.filename, f.size]),
      [
        ['drive-scsi0.img.fidx', 4096],
        ['index.json.blob', manifestSize],
      ],
    )
    assertDenied(await runCli(['snapshot', 'files', spec, ...S], nobody), 'files')
    for (const env of [admin, local]) {
      const missing = await runCli(['snapshot', 'files', `vm/100/2026-04-16T17:18:24Z`, ...S], env)
      assert.equal(missing.code, 1)
      assert.match(missing.stderr, /does not exist|not found/)
    }
  })

  it('snapshot protected: read and set as locally; a read-only token may read but not set', async () => {
    const spec = `vm/100/${SNAP}`
    assert.equal(
      await sameOutput(['snapshot', 'protected', spec, ...S]),
      `'vm/100/${SNAP}' in namespace 'prod' is not protected\n`,
    )
    const set = await runCli(
      ['snapshot', 'protected', spec, ...S, '--set', 'true', '--output-format', 'json'],
      admin,
    )
    assert.equal(set.code, 0, set.stderr)
    assert.equal(set.stdout, 'true\n')
    const dir = { type: 'vm' as const, id: '100', time: T0, timeString: SNAP }
    assert.equal(await isProtected(store, PROD, dir), true)
    assert.equal(
      await sameOutput(['snapshot', 'protected', spec, ...S]),
      `'vm/100/${SNAP}' in namespace 'prod' is protected\n`,
    )
    const read = await runCli(['snapshot', 'protected', spec, ...S], auditor)
    assert.equal(read.code, 0, read.stderr)
    assertDenied(
      await runCli(['snapshot', 'protected', spec, ...S, '--set', 'false'], auditor),
      'protected --set',
    )
    assert.equal(await isProtected(store, PROD, dir), true)
  })

  it('snapshot forget: removes through the server; protected ones and read-only tokens are refused', async () => {
    const protectedOne = await runCli(['snapshot', 'forget', `vm/100/${SNAP}`, ...S], admin)
    assert.equal(protectedOne.code, 1)
    assert.match(
      protectedOne.stderr,
      /cannot remove protected snapshot 'vm\/100\/2026-04-16T17:18:23Z' in namespace 'prod'/,
    )
    assertDenied(await runCli(['snapshot', 'forget', `ct/201/${SNAP}`, ...S], auditor), 'snapshot forget')
    assert.equal((await listSnapshotRefs(store, PROD, { type: 'ct', id: '201' })).length, 2)
    const remote = await runCli(['snapshot', 'forget', `ct/201/${SNAP}`, ...S], admin)
    assert.equal(remote.code, 0, remote.stderr)
    assert.equal(remote.stdout, `removed snapshot 'ct/201/${SNAP}' in namespace 'prod'\n`)
    const localRun = await runCli(['snapshot', 'forget', `ct/202/${SNAP}`, ...S], local)
    assert.equal(localRun.stdout, remote.stdout.replace('201', '202'))
    assert.equal((await listSnapshotRefs(store, PROD, { type: 'ct', id: '201' })).length, 1)
  })

  it('group forget: the same result as locally, also when protected snapshots are kept', async () => {
    assertDenied(await runCli(['group', 'forget', 'ct/201', ...S], auditor), 'group forget')
    assert.equal(await groupExists(store, PROD, { type: 'ct', id: '201' }), true)
    const remote = await runCli(['group', 'forget', 'ct/201', ...S, '--output-format', 'json'], admin)
    assert.equal(remote.code, 0, remote.stderr)
    const localRun = await runCli(['group', 'forget', 'ct/202', ...S, '--output-format', 'json'], local)
    assert.equal(remote.stdout, localRun.stdout)
    assert.deepEqual(JSON.parse(remote.stdout), {
      'removed-groups': 1,
      'removed-snapshots': 1,
      'protected-snapshots': 0,
    })
    assert.equal(await groupExists(store, PROD, { type: 'ct', id: '201' }), false)
    // vm/100 has a protected snapshot: kept, exit 0, as locally.
    const partial = await runCli(['group', 'forget', 'vm/100', ...S], admin)
    assert.equal(partial.code, 0, partial.stderr)
    assert.equal(
      partial.stdout,
      "group 'vm/100' in namespace 'prod' only partially removed - 1 protected snapshot(s) kept\n",
    )
  })

  it('prune-datastore runs as a task followed to its end; a read-only token is refused', async () => {
    for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, ns('prod'), 'host', 'p1', T0 + i * 86400)
    assertDenied(await runCli(['prune-datastore', ...S, '--keep-last', '1'], auditor), 'prune-datastore')
    const dry = await runCli(['prune-datastore', ...S, '--keep-last', '1', '--dry-run'], admin)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /^dry run: prune of 'prod' on store 'store1' finished: OK\n$/)
    assert.match(dry.stderr, /host\/p1/, 'the task log names the pruned group')
    assert.equal((await listSnapshotRefs(store, PROD, { type: 'host', id: 'p1' })).length, 3)
    const real = await runCli(['prune-datastore', ...S, '--keep-last', '1', '--output-format', 'json'], admin)
    assert.equal(real.code, 0, real.stderr)
    const r = JSON.parse(real.stdout) as { upid: string; exitstatus: string }
    assert.match(r.upid, /^UPID:.*:prune:/)
    assert.equal(r.exitstatus, 'OK')
    assert.equal((await listSnapshotRefs(store, PROD, { type: 'host', id: 'p1' })).length, 1)
  })
})
