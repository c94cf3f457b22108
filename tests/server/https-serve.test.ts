// A real listening HTTPS server (self-signed certificate created on first start): login → ticket
// → CSRF token → namespace create, then a token call; a restart reuses the certificate.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { AccessConfig } from '../../src/config/access-config.js'
import { namespaceExists } from '../../src/datastore/index.js'
import { BackupNamespace } from '../../src/api-types/index.js'
import { parseListen, serve, type RunningServer } from '../../src/server/serve.js'
import { createLightDatastore } from '../helpers/server-fixture.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'
import type { Datastore } from '../../src/datastore/index.js'

/** One HTTPS request accepting the self-signed certificate. */
function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api2/json${path}`, { method, headers, rejectUnauthorized: false }, (res) => {
      let data = ''
      res.setEncoding('utf8').on('data', (d: string) => (data += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('HTTPS server', () => {
  let home: TempHome
  let server: RunningServer
  let store: Datastore
  before(async () => {
    home = await makeTempHome('pbs-store-https-')
    store = await createLightDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    const access = new AccessConfig(home.installation.etcDir)
    await access.createUser('admin@pbs', {}, 'admin-password')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs' })
    server = await serve({ installation: home.installation, listen: '127.0.0.1:0', authFailureDelayMs: 0 })
  })
  after(async () => {
    await server.close()
    await home.cleanup()
  })

  it('parses listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:8007'), { host: '127.0.0.1', port: 8007 })
    assert.deepEqual(parseListen('[::1]:8007'), { host: '::1', port: 8007 })
    assert.throws(() => parseListen('8007'), /--listen/)
  })

  it('serves HTTPS with the self-signed certificate kept in <home>/etc', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const pem = await readFile(join(home.installation.etcDir, 'proxy.pem'), 'utf8')
    assert.equal(pem, server.cert)
    assert.match(await readFile(join(home.installation.etcDir, 'proxy.key'), 'utf8'), /PRIVATE KEY/)
  })

  it('login → ticket → CSRF → namespace create', async () => {
    const login = await call(
      server.url,
      'POST',
      '/access/ticket',
      { 'content-type': 'application/json' },
      JSON.stringify({ username: 'admin@pbs', password: 'admin-password' }),
    )
    assert.equal(login.status, 200, login.body)
    const { ticket, CSRFPreventionToken } = (
      JSON.parse(login.body) as { data: { ticket: string; CSRFPreventionToken: string } }
    ).data
    const cookie = `PBSAuthCookie=${encodeURIComponent(ticket)}`
    const denied = await call(
      server.url,
      'POST',
      '/admin/datastore/store1/namespace',
      { cookie, 'content-type': 'application/json' },
      JSON.stringify({ name: 'web' }),
    )
    assert.equal(denied.status, 401)
    const created = await call(
      server.url,
      'POST',
      '/admin/datastore/store1/namespace',
      { cookie, csrfpreventiontoken: CSRFPreventionToken, 'content-type': 'application/json' },
      JSON.stringify({ name: 'web' }),
    )
    assert.equal(created.status, 200, created.body)
    assert.deepEqual(JSON.parse(created.body), { data: 'web' })
    assert.ok(await namespaceExists(store, BackupNamespace.parse('web')))
    const list = await call(server.url, 'GET', '/admin/datastore/store1/namespace', { cookie })
    assert.deepEqual((JSON.parse(list.body) as { data: unknown }).data, [{ ns: '' }, { ns: 'web' }])
  })

  it('API tokens work over HTTPS, and a restart reuses the certificate', async () => {
    const access = new AccessConfig(home.installation.etcDir)
    const secret = await access.createToken('admin@pbs', 'https')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs!https' })
    const v = await call(server.url, 'GET', '/version', {
      authorization: `PBSAPIToken=admin@pbs!https:${secret}`,
    })
    assert.equal(v.status, 200)
    const second = await serve({ installation: home.installation, listen: '127.0.0.1:0' })
    try {
      assert.equal(second.cert, server.cert)
    } finally {
      await second.close()
    }
  })
})
