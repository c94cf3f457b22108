// Remote mode of `user|token|acl …`: a real HTTPS server in a temp home and real CLI processes.
// Each command prints the same through the server as locally and changes the server's access
// config; a caller without the privilege fails with exit 1 and "permission check failed".
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { AccessConfig } from '../../src/config/access-config.js'
import { serve, type RunningServer } from '../../src/server/serve.js'
import { runCli, type CliResult } from '../helpers/run-cli.js'
import { createLightDatastore } from '../helpers/server-fixture.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

describe('pbs-store remote mode: user, token and acl commands', () => {
  let home: TempHome
  let server: RunningServer
  let access: AccessConfig
  /** Admin token, certificate trusted by fingerprint. */
  let admin: NodeJS.ProcessEnv
  /** The token of a user without any privilege. */
  let bob: NodeJS.ProcessEnv
  /** Server and certificate, but no token (for ticket logins). */
  let base: NodeJS.ProcessEnv
  /** Local mode: the same home, no server. */
  let local: NodeJS.ProcessEnv

  /** Asserts a refused call: exit 1, "permission check failed", no stack trace. */
  function assertDenied(r: CliResult, what: string): void {
    assert.equal(r.code, 1, `${what} should fail: ${r.stdout}`)
    assert.match(r.stderr, /^error: permission check failed/m, what)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }

  /** Runs a command expecting exit 0. */
  async function ok(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    const r = await runCli(args, env)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  /** Env of a later command using the ticket `login` saved in `homeDir`. */
  async function loginAs(userid: string, password: string, homeDir: string): Promise<NodeJS.ProcessEnv> {
    const env = { ...base, PBS_STORE_HOME: homeDir }
    await ok(['login', '--user', userid], { ...env, PBS_STORE_PASSWORD: password })
    return env
  }

  before(async () => {
    home = await makeTempHome('pbs-store-remote-access-')
    await createLightDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    access = new AccessConfig(home.installation.etcDir)
    await access.createUser('admin@pbs', {}, 'admin-password')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs' })
    const adminSecret = await access.createToken('admin@pbs', 'cli')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs!cli' })
    await access.createUser('bob@pbs', { comment: 'no privileges' }, 'bob-password')
    const bobSecret = await access.createToken('bob@pbs', 't')
    server = await serve({
      installation: home.installation,
      listen: '127.0.0.1:0',
      authFailureDelayMs: 0,
      permissionDeniedDelayMs: 0,
    })
    base = {
      ...home.env,
      PBS_STORE_SERVER: server.url,
      PBS_STORE_FINGERPRINT: new X509Certificate(server.cert!).fingerprint256,
    }
    admin = { ...base, PBS_STORE_TOKEN: 'admin@pbs!cli', PBS_STORE_TOKEN_SECRET: adminSecret }
    bob = { ...base, PBS_STORE_TOKEN: 'bob@pbs!t', PBS_STORE_TOKEN_SECRET: bobSecret }
    local = home.env
  })
  after(async () => {
    await server.close()
    await home.cleanup()
  })

  it('user list and acl list print the same as locally; others see only their own part', async () => {
    for (const args of [
      ['user', 'list'],
      ['acl', 'list'],
    ]) {
      assert.equal(await ok(args, admin), await ok(args, local), `text of ${args.join(' ')}`)
      const json = [...args, '--output-format', 'json']
      assert.equal(await ok(json, admin), await ok(json, local), `JSON of ${args.join(' ')}`)
    }
    const users = JSON.parse(await ok(['user', 'list', '--output-format', 'json'], admin)) as {
      userid: string
      tokens: string[]
    }[]
    assert.deepEqual(users.find((u) => u.userid === 'admin@pbs')?.tokens, ['admin@pbs!cli'])
    // Without Sys.Audit the server shows the caller's own user, and no foreign ACL entry.
    const own = JSON.parse(await ok(['user', 'list', '--output-format', 'json'], bob)) as { userid: string }[]
    assert.deepEqual(
      own.map((u) => u.userid),
      ['bob@pbs'],
    )
    assert.equal(await ok(['acl', 'list', '--output-format', 'json'], bob), '[]\n')
  })

  it('user create, update and delete through the server, with the local messages', async () => {
    const created = await ok(
      ['user', 'create', 'carol@pbs', '--comment', 'first', '--password', 'carol-pass-1'],
      admin,
    )
    assert.equal(created, "created user 'carol@pbs'\n")
    assert.equal(await ok(['user', 'create', 'dave@pbs'], local), created.replace('carol', 'dave'))
    assert.equal(await access.verifyPassword('carol@pbs', 'carol-pass-1'), true)
    const json = await ok(
      ['user', 'update', 'carol@pbs', '--comment', 'second', '--enable', 'false', '--output-format', 'json'],
      admin,
    )
    assert.equal(json, '{"userid":"carol@pbs"}\n')
    const carol = (await access.users()).config.users.get('carol@pbs')
    assert.deepEqual([carol?.comment, carol?.enable], ['second', false])
    assert.equal(await ok(['user', 'delete', 'carol@pbs'], admin), "deleted user 'carol@pbs'\n")
    assert.equal((await access.users()).config.users.has('carol@pbs'), false)
    // The server's errors read as locally.
    for (const env of [admin, local]) {
      const r = await runCli(['user', 'delete', 'carol@pbs'], env)
      assert.equal(r.code, 1)
      assert.match(r.stderr, /^error: user 'carol@pbs' does not exist\.$/m)
    }
  })

  it('a caller without Permissions.Modify may not manage other users', async () => {
    assertDenied(await runCli(['user', 'create', 'eve@pbs'], bob), 'user create')
    assertDenied(await runCli(['user', 'update', 'dave@pbs', '--comment', 'x'], bob), 'user update')
    assertDenied(await runCli(['user', 'delete', 'dave@pbs'], bob), 'user delete')
    assertDenied(await runCli(['user', 'passwd', 'dave@pbs', '--password', 'new-password-1'], bob), 'passwd')
    const { config } = await access.users()
    assert.equal(config.users.has('eve@pbs'), false)
    assert.equal(config.users.get('dave@pbs')?.comment, undefined)
  })

  it('user passwd: an admin ticket sets any password; a user needs its current one', async () => {
    const adminEnv = await loginAs('admin@pbs', 'admin-password', join(home.dir, 'admin-home'))
    assert.equal(
      await ok(['user', 'passwd', 'dave@pbs', '--password', 'dave-pass-1'], adminEnv),
      "password of 'dave@pbs' changed\n",
    )
    assert.equal(await access.verifyPassword('dave@pbs', 'dave-pass-1'), true)
    const daveEnv = await loginAs('dave@pbs', 'dave-pass-1', join(home.dir, 'dave-home'))
    assertDenied(
      await runCli(
        ['user', 'passwd', 'dave@pbs', '--password', 'dave-pass-2', '--confirmation-password', 'wrong-one'],
        daveEnv,
      ),
      'own password with a wrong confirmation',
    )
    await ok(
      ['user', 'passwd', 'dave@pbs', '--password', 'dave-pass-2', '--confirmation-password', 'dave-pass-1'],
      daveEnv,
    )
    assert.equal(await access.verifyPassword('dave@pbs', 'dave-pass-2'), true)
  })

  it('token create, regenerate and delete through the server; the secret works', async () => {
    const text = await ok(['token', 'create', 'dave@pbs!ci', '--comment', 'pipeline'], admin)
    const m = /^tokenid: dave@pbs!ci\nsecret: {2}(\S+)\n\(the secret is shown only once\)\n$/.exec(text)
    assert.ok(m, text)
    const localText = await ok(['token', 'create', 'dave@pbs!local'], local)
    assert.match(localText, /^tokenid: dave@pbs!local\nsecret: {2}\S+\n\(the secret is shown only once\)\n$/)
    const daveToken = { ...base, PBS_STORE_TOKEN: 'dave@pbs!ci', PBS_STORE_TOKEN_SECRET: m[1] }
    assert.match(await ok(['user', 'list'], daveToken), /dave@pbs/)
    const regen = JSON.parse(
      await ok(['token', 'regenerate', 'dave@pbs!ci', '--output-format', 'json'], admin),
    ) as {
      tokenid: string
      secret: string
    }
    assert.equal(regen.tokenid, 'dave@pbs!ci')
    assert.notEqual(regen.secret, m[1])
    assert.equal((await runCli(['user', 'list'], daveToken)).code, 1, 'the old secret is gone')
    assert.equal(
      (await runCli(['user', 'list'], { ...daveToken, PBS_STORE_TOKEN_SECRET: regen.secret })).code,
      0,
    )
    assertDenied(await runCli(['token', 'create', 'dave@pbs!evil'], bob), 'token create')
    assertDenied(await runCli(['token', 'regenerate', 'dave@pbs!ci'], bob), 'token regenerate')
    assertDenied(await runCli(['token', 'delete', 'dave@pbs!ci'], bob), 'token delete')
    assert.equal(await ok(['token', 'delete', 'dave@pbs!ci'], admin), "deleted token 'dave@pbs!ci'\n")
    assert.equal((await access.users()).config.tokens.has('dave@pbs!ci'), false)
    assert.equal((await access.users()).config.tokens.has('dave@pbs!evil'), false)
  })

  it('acl set and remove through the server; unprivileged callers are refused', async () => {
    const set = await ok(['acl', 'set', '/datastore/store1', 'dave@pbs', 'DatastoreReader'], admin)
    assert.equal(set, 'granted DatastoreReader on /datastore/store1 to dave@pbs\n')
    const entries = (): Promise<string[]> =>
      access.acl().then((a) => a.config.entries.map((e) => `${e.path} ${e.ugid} ${e.roleid} ${e.propagate}`))
    assert.ok((await entries()).includes('/datastore/store1 dave@pbs DatastoreReader true'))
    await ok(['acl', 'set', '/datastore/store1', 'dave@pbs', 'DatastoreAudit', '--propagate', 'false'], admin)
    assert.ok((await entries()).includes('/datastore/store1 dave@pbs DatastoreAudit false'))
    assertDenied(await runCli(['acl', 'set', '/', 'bob@pbs', 'Admin'], bob), 'acl set')
    assertDenied(
      await runCli(['acl', 'remove', '/datastore/store1', 'dave@pbs', 'DatastoreReader'], bob),
      'acl remove',
    )
    assert.equal(
      (await entries()).some((e) => e.startsWith('/ bob@pbs')),
      false,
    )
    const removed = await ok(['acl', 'remove', '/datastore/store1', 'dave@pbs', 'DatastoreReader'], admin)
    assert.equal(removed, 'removed DatastoreReader on /datastore/store1 from dave@pbs\n')
    assert.equal((await entries()).includes('/datastore/store1 dave@pbs DatastoreReader true'), false)
  })
})
