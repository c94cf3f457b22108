/**
 * The typed API client (src/client) in Node against the real server on a loopback port: ticket
 * login with the CSRF token, API tokens, envelope unwrapping (data, total), typed errors with
 * the server's code, dry-run plans, and following a task to its end.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { ApiError, followTask, isApiError, PbsClient, type TaskLogLine } from '../../src/client/index.js'
import { AccessConfig } from '../../src/config/access-config.js'
import { createNamespace, groupExists } from '../../src/datastore/index.js'
import { makeFakeGroup, makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ADMIN, UiServer } from './ui-harness.js'

describe('API client against the real server', { timeout: 60_000 }, () => {
  let server: UiServer
  let client: PbsClient
  const expired: ApiError[] = []

  before(async () => {
    server = await UiServer.start({ web: false })
    await createNamespace(server.store, BackupNamespace.parse('a'))
    await makeFakeSnapshot(server.store, BackupNamespace.ROOT, 'vm', '100', 1_700_000_000, {
      owner: ADMIN.user,
    })
    await makeFakeGroup(server.store, BackupNamespace.ROOT, 'ct', '300', ADMIN.user)
    client = new PbsClient({
      baseUrl: server.url,
      cookieHeader: true,
      onUnauthorized: (e) => expired.push(e),
    })
  })

  after(async () => {
    await server?.stop()
  })

  it('logs in with user and password and keeps ticket and CSRF token', async () => {
    const t = await client.api.login(ADMIN.user, ADMIN.password)
    assert.equal(t.username, ADMIN.user)
    assert.match(t.ticket ?? '', /^PBS:admin@pbs:[0-9A-F]{8,}::/)
    const c = client.api.credentials
    assert.equal(c?.kind, 'ticket')
    assert.equal(c?.kind === 'ticket' ? c.csrf : '', t.CSRFPreventionToken)
    const stores = await client.listDatastores()
    assert.deepEqual(
      stores.map((s) => s.store),
      ['store1'],
    )
    const status = await client.datastoreStatus('store1')
    assert.ok(status.total > 0 && status.used >= 0, 'usage numbers')
  })

  it('refuses a wrong password with a 401 ApiError', async () => {
    const other = new PbsClient({ baseUrl: server.url, cookieHeader: true })
    await assert.rejects(other.api.login(ADMIN.user, 'not-the-password'), (e: unknown) => {
      assert.ok(isApiError(e, 401), String(e))
      assert.equal(other.api.credentials, undefined)
      return true
    })
  })

  it('lists groups with the empty group, and namespaces', async () => {
    const groups = await client.listGroups('store1', '')
    const byName = new Map(groups.map((g) => [`${g['backup-type']}/${g['backup-id']}`, g]))
    assert.equal(byName.get('ct/300')?.['backup-count'], 0, 'empty group listed with count 0')
    assert.equal(byName.get('vm/100')?.['backup-count'], 1)
    const namespaces = await client.listNamespaces('store1', { maxDepth: 7 })
    assert.deepEqual(namespaces.map((n) => n.ns).sort(), ['', 'a'])
  })

  it('turns API errors into ApiErrors with status, code and the server message', async () => {
    await assert.rejects(client.createNamespace('store1', 'bad name'), (e: unknown) => {
      assert.ok(e instanceof ApiError)
      assert.equal(e.status, 400)
      assert.equal(e.code, 'ValidationError')
      assert.match(e.message, /parameter verification failed - 'name'/)
      assert.equal(e.request, 'POST /admin/datastore/store1/namespace')
      return true
    })
    await assert.rejects(client.listGroups('no-such-store', ''), (e: unknown) => {
      assert.ok(e instanceof ApiError)
      assert.ok(e.status === 400 || e.status === 404, `status ${e.status}`)
      assert.match(e.message, /no-such-store/)
      return true
    })
  })

  it('sends the CSRF token on changes; a bad token ends the session (401, onUnauthorized)', async () => {
    assert.equal(await client.createNamespace('store1', 'b'), 'b')
    const c = client.api.credentials
    assert.ok(c?.kind === 'ticket')
    const forged = new PbsClient({
      baseUrl: server.url,
      cookieHeader: true,
      onUnauthorized: (e) => expired.push(e),
    })
    forged.api.setCredentials({
      ...c,
      csrf: `${c.csrf.slice(0, 9)}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
    })
    // Reading needs no CSRF token; changing does.
    await forged.listNamespaces('store1')
    await assert.rejects(forged.createNamespace('store1', 'c'), (e: unknown) => isApiError(e, 401))
    assert.equal(expired.length, 1, 'onUnauthorized was called once')
    assert.equal(expired[0]?.isAuthentication, true)
  })

  it('authenticates with an API token (no CSRF needed)', async () => {
    const access = new AccessConfig(server.home.installation.etcDir)
    const secret = await access.createToken(ADMIN.user, 'ui')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: `${ADMIN.user}!ui` })
    const tok = new PbsClient({ baseUrl: server.url })
    tok.api.setCredentials({ kind: 'token', tokenid: `${ADMIN.user}!ui`, secret })
    assert.equal(await tok.createNamespace('store1', 'tok'), 'tok')
  })

  it('returns a dry-run plan, then follows the real move task to its end', async () => {
    const opts = { ns: '', group: { type: 'vm' as const, id: '100' }, targetNs: 'a', mergeGroup: false }
    const plan = await client.planMoveGroup('store1', opts)
    assert.equal(plan.groups.length, 1)
    assert.equal(plan.groups[0]?.action, 'create')
    assert.equal(plan.groups[0]?.['target-ns'], 'a')
    assert.equal(
      await groupExists(server.store, BackupNamespace.parse('a'), opts.group),
      false,
      'dry-run changed nothing',
    )
    const upid = await client.moveGroup('store1', opts)
    assert.match(upid, /^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8,16}:[0-9A-F]{8}:move-group:/)
    const lines: TaskLogLine[] = []
    const statuses: string[] = []
    const final = await followTask(client, upid, {
      intervalMs: 50,
      onLines: (l) => lines.push(...l),
      onStatus: (s) => statuses.push(s.status),
    })
    assert.equal(final.status, 'stopped')
    assert.equal(final.exitstatus, 'OK')
    assert.equal(statuses.at(-1), 'stopped')
    assert.deepEqual(
      lines.map((l) => l.n),
      lines.map((_, i) => i + 1),
      'every log line once, in order',
    )
    assert.match(lines.at(-1)?.t ?? '', /TASK OK$/)
    assert.equal(await groupExists(server.store, BackupNamespace.parse('a'), opts.group), true)
    const { tasks, total } = await client.listTasks({ limit: 10 })
    assert.ok(total >= 1)
    assert.equal(tasks[0]?.upid, upid)
    assert.equal(tasks[0]?.status, 'OK')
  })

  it('reports a refused move as a typed ApiError without starting a task', async () => {
    const before = (await client.listTasks({ limit: 0 })).tasks.length
    await assert.rejects(
      client.moveGroup('store1', {
        ns: '',
        group: { type: 'vm', id: '999' },
        targetNs: 'a',
        mergeGroup: true,
      }),
      (e: unknown) => {
        assert.ok(isApiError(e, 404), String(e))
        assert.equal(e.code, 'NotFoundError')
        assert.match(e.message, /group 'vm\/999' does not exist/)
        return true
      },
    )
    assert.equal((await client.listTasks({ limit: 0 })).tasks.length, before)
  })

  it('logs out: credentials are dropped', async () => {
    await client.api.logout()
    assert.equal(client.api.credentials, undefined)
    await assert.rejects(client.listDatastores(), (e: unknown) => isApiError(e, 401))
  })

  it('reports an unreachable server as status 0', async () => {
    const dead = new PbsClient({ baseUrl: 'http://127.0.0.1:9' })
    await assert.rejects(dead.version(), (e: unknown) => {
      assert.ok(isApiError(e, 0))
      assert.equal(e.code, 'NetworkError')
      assert.match(e.message, /cannot reach the server/)
      return true
    })
  })
})
