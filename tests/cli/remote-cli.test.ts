// The CLI's remote mode end to end: a real listening HTTPS server in a temp home and real CLI
// processes that talk to it with an API token or a saved ticket, trusting the self-signed
// certificate by fingerprint or with --insecure-tls.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { AccessConfig } from '../../src/config/access-config.js'
import {
  createNamespace,
  groupExists,
  listSnapshotRefs,
  namespaceExists,
  type Datastore,
} from '../../src/datastore/index.js'
import { serve, type RunningServer } from '../../src/server/serve.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { runCli, runCliJson } from '../helpers/run-cli.js'
import { createLightDatastore } from '../helpers/server-fixture.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const T0 = 1776359903

describe('pbs-store remote mode (--server)', () => {
  let home: TempHome
  let server: RunningServer
  let store: Datastore
  /** Env of a CLI run with the admin token and the certificate trusted by fingerprint. */
  let env: NodeJS.ProcessEnv
  let fingerprint: string
  before(async () => {
    home = await makeTempHome('pbs-store-remote-cli-')
    store = await createLightDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    for (const n of ['prod', 'archive', 'old']) await createNamespace(store, ns(n))
    for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, ns('prod'), 'vm', '100', T0 + i)
    await makeFakeSnapshot(store, ns('prod'), 'ct', '200', T0 + 50)
    await makeFakeSnapshot(store, ns('archive'), 'ct', '200', T0 + 100) // newer: merge conflict
    await makeFakeSnapshot(store, ns('old'), 'host', 'h1', T0)
    const access = new AccessConfig(home.installation.etcDir)
    await access.createUser('admin@pbs', {}, 'admin-password')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs' })
    const secret = await access.createToken('admin@pbs', 'cli')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs!cli' })
    server = await serve({ installation: home.installation, listen: '127.0.0.1:0', authFailureDelayMs: 0 })
    fingerprint = new X509Certificate(server.cert!).fingerprint256
    env = {
      ...home.env,
      PBS_STORE_SERVER: server.url,
      PBS_STORE_FINGERPRINT: fingerprint,
      PBS_STORE_TOKEN: 'admin@pbs!cli',
      PBS_STORE_TOKEN_SECRET: secret,
    }
  })
  after(async () => {
    await server.close()
    await home.cleanup()
  })

  it('dry run prints the plan from the server and changes nothing', async () => {
    const plan = await runCliJson<{ groups: { group: string; action: string; conflict?: string }[] }>(
      [
        'group',
        'move',
        'vm/100',
        'ct/200',
        '--store',
        'store1',
        '--ns',
        'prod',
        '--target-ns',
        'archive',
        '--dry-run',
      ],
      env,
    )
    assert.deepEqual(
      plan.groups.map((g) => [g.group, g.action]),
      [
        ['vm/100', 'create'],
        ['ct/200', 'conflict'],
      ],
    )
    assert.match(plan.groups[1]!.conflict!, /snapshot time mismatch/)
    const text = await runCli(
      ['group', 'move', 'vm/100', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive', '--dry-run'],
      env,
    )
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^dry run - nothing changed\n/)
    assert.match(text.stdout, /3 snapshot\(s\) would move; 0 conflict/)
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'vm', id: '100' })).length, 3)
  })

  it('moves a group through the server, following the task log to OK', async () => {
    const r = await runCli(
      ['group', 'move', 'vm/100', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive'],
      env,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /moved group 'vm\/100' to 'archive' \(task OK\)/)
    assert.match(r.stderr, /TASK OK|vm\/100/, 'the task log is printed to stderr')
    assert.equal((await listSnapshotRefs(store, ns('archive'), { type: 'vm', id: '100' })).length, 3)
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'vm', id: '100' })).length, 0)
  })

  it('a refused move (merge conflict) exits 1 with the reason', async () => {
    const r = await runCli(
      ['group', 'move', 'ct/200', '--store', 'store1', '--ns', 'prod', '--target-ns', 'archive'],
      env,
    )
    assert.equal(r.code, 1, r.stdout)
    assert.match(r.stderr, /error: .*snapshot time mismatch/)
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'ct', id: '200' })).length, 1)
  })

  it('task list, status and log show the move task', async () => {
    const tasks = await runCliJson<{ upid: string; worker_type: string; status?: string }[]>(
      ['task', 'list'],
      env,
    )
    const move = tasks.find((t) => t.worker_type.includes('move') && t.status === 'OK')
    assert.ok(move, JSON.stringify(tasks))
    const status = await runCliJson<{ status: string; exitstatus: string }>(
      ['task', 'status', move.upid],
      env,
    )
    assert.deepEqual([status.status, status.exitstatus], ['stopped', 'OK'])
    const log = await runCli(['task', 'log', move.upid], env)
    assert.equal(log.code, 0, log.stderr)
    assert.match(log.stdout, /TASK OK\n$/)
    const text = await runCli(['task', 'list'], env)
    assert.match(text.stdout, new RegExp(move.upid.replace(/[$^.*+?()[\]{}|\\]/g, '\\$&')))
  })

  it('namespace move, create, list and delete work remotely', async () => {
    const r = await runCli(
      ['namespace', 'move', 'old', '--store', 'store1', '--target-ns', 'archive/old'],
      env,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await namespaceExists(store, ns('old')), false)
    assert.equal((await listSnapshotRefs(store, ns('archive/old'), { type: 'host', id: 'h1' })).length, 1)
    assert.equal((await runCli(['namespace', 'create', 'scratch', '--store', 'store1'], env)).code, 0)
    assert.equal(await namespaceExists(store, ns('scratch')), true)
    const list = await runCliJson<{ ns: string }[]>(['namespace', 'list', '--store', 'store1'], env)
    assert.deepEqual(
      list.map((n) => n.ns),
      ['', 'archive', 'archive/old', 'prod', 'scratch'],
    )
    const del = await runCli(['namespace', 'delete', 'scratch', '--store', 'store1'], env)
    assert.equal(del.code, 0, del.stderr)
    assert.equal(await namespaceExists(store, ns('scratch')), false)
  })

  it('group list gives the same JSON remotely as locally', async () => {
    const args = ['group', 'list', '--store', 'store1', '--ns', 'archive']
    const remote = await runCliJson(args, env)
    const local = await runCliJson(args, home.env)
    assert.deepEqual(remote, local)
    const snaps = await runCliJson<{ 'backup-id': string }[]>(
      ['snapshot', 'list', 'vm/100', '--store', 'store1', '--ns', 'archive'],
      env,
    )
    assert.equal(snaps.length, 3)
  })

  it('a bad token is a clear 401 error', async () => {
    const r = await runCli(['group', 'list', '--store', 'store1'], {
      ...env,
      PBS_STORE_TOKEN_SECRET: 'wrong',
    })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^error: .*(authentication|permission|401)/im)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  })

  it('refuses a certificate with the wrong fingerprint, accepts any with --insecure-tls', async () => {
    const wrong = { ...env, PBS_STORE_FINGERPRINT: 'ab'.repeat(32) }
    const r = await runCli(['group', 'list', '--store', 'store1'], wrong)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /fingerprint .* does not match/)
    const { PBS_STORE_FINGERPRINT: _fp, ...noFp } = env
    const plain = await runCli(['group', 'list', '--store', 'store1'], noFp)
    assert.equal(plain.code, 1, 'a self-signed certificate is not trusted by default')
    const insecure = await runCli(['--insecure-tls', 'group', 'list', '--store', 'store1'], noFp)
    assert.equal(insecure.code, 0, insecure.stderr)
  })

  it('login saves a 0600 ticket that later commands use', async () => {
    const { PBS_STORE_TOKEN: _t, PBS_STORE_TOKEN_SECRET: _s, ...ticketEnv } = env
    const none = await runCli(['group', 'list', '--store', 'store1'], ticketEnv)
    assert.equal(none.code, 1)
    assert.match(none.stderr, /no credentials for .*pbs-store login/)
    const login = await runCli(['login', '--user', 'admin@pbs'], {
      ...ticketEnv,
      PBS_STORE_PASSWORD: 'admin-password',
    })
    assert.equal(login.code, 0, login.stderr)
    const st = await stat(join(home.installation.home, '.remote-ticket'))
    assert.equal(st.mode & 0o777, 0o600)
    const created = await runCli(['namespace', 'create', 'by-ticket', '--store', 'store1'], ticketEnv)
    assert.equal(created.code, 0, created.stderr)
    assert.equal(await namespaceExists(store, ns('by-ticket')), true)
  })

  it('prune (dry run and real) runs through the server; a failing gc task exits 1', async () => {
    for (let i = 0; i < 3; i++) await makeFakeSnapshot(store, ns('prod'), 'vm', '300', T0 + i * 86400)
    const args = ['prune', 'vm/300', '--store', 'store1', '--ns', 'prod', '--keep-last', '1']
    const plan = await runCliJson<{ keep: boolean }[]>([...args, '--dry-run'], env)
    assert.deepEqual(
      plan.map((p) => p.keep),
      [false, false, true], // oldest first, as PBS answers
    )
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'vm', id: '300' })).length, 3)
    const real = await runCli(args, env)
    assert.equal(real.code, 0, real.stderr)
    assert.match(real.stdout, /kept 1, removed 2 snapshot\(s\)/)
    assert.equal((await listSnapshotRefs(store, ns('prod'), { type: 'vm', id: '300' })).length, 1)
    // The fake snapshots' index files are placeholders, so GC's mark phase fails: the CLI follows
    // the log to the task's end and exits 1 with the task's exit status.
    const gc = await runCli(['gc', '--store', 'store1'], env)
    assert.equal(gc.code, 1, gc.stdout)
    assert.match(gc.stderr, /starting garbage collection on store store1/)
    assert.match(
      gc.stderr,
      /\nerror: task UPID:.*garbage_collection.* failed - marking chunks of index .*truncated header/,
    )
  })

  it('refuses local-only commands with --server and server-only commands without it', async () => {
    const backup = await runCli(
      ['backup', 'x.conf:/dev/null', '--store', 'store1', '--backup-type', 'host', '--backup-id', 'x'],
      env,
    )
    assert.equal(backup.code, 1)
    assert.match(
      backup.stderr,
      /^error: .*'backup' works on the local datastore only \(the server has no backup protocol endpoint\)$/m,
    )
    assert.equal(await groupExists(store, ns(''), { type: 'host', id: 'x' }), false)
    for (const [args, why] of [
      [['restore', 'vm/100/2026-04-16T17:18:23Z', 'x.conf', '-', '--store', 'store1'], 'no backup protocol'],
      [['datastore', 'create', 'store2', join(home.dir, 'store2')], 'no endpoint to create datastores'],
      [['s3', 'endpoint', 'list'], 'administered on the server host'],
      [['init'], 'sets up this installation'],
    ] as const) {
      const r = await runCli(args, env)
      assert.equal(r.code, 1, args.join(' '))
      assert.match(r.stderr, new RegExp(`works on the local datastore only \\(.*${why}`), args.join(' '))
    }
    const { PBS_STORE_SERVER: _s, ...noServer } = env
    const tasks = await runCli(['task', 'list'], noServer)
    assert.equal(tasks.code, 1)
    assert.match(tasks.stderr, /--server.* is required for 'task list'/)
  })
})
