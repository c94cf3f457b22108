// Server core: envelopes, authentication (tickets, CSRF, tokens), error mapping, body modes.
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { buildServer } from '../../src/server/build-server.js'

import { ServerFixture } from '../helpers/server-fixture.js'

describe('API core', () => {
  let fx: ServerFixture
  before(async () => {
    fx = await ServerFixture.create()
  })
  after(async () => {
    await fx.close()
  })

  it('GET /version answers in the {"data": …} envelope', async () => {
    const r = await fx.call('GET', '/version')
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /^application\/json/)
    const d = r.data as Record<string, string>
    assert.equal(d.version, '4.2')
    assert.match(d.release!, /^\d+$/)
  })

  it('the extjs format wraps data with success and status', async () => {
    const r = await fx.call('GET', '/api2/extjs/version')
    assert.equal(r.status, 200)
    assert.equal(r.json?.success, true)
    assert.equal(r.json?.status, 200)
  })

  it('an unsupported output format is 400', async () => {
    const r = await fx.call('GET', '/api2/xml/version')
    assert.equal(r.status, 400)
    assert.equal(r.text, "Unsupported output format 'xml'.")
  })

  it('no credentials: 401 authentication failed, without content type, also for unknown paths', async () => {
    for (const path of ['/version', '/no/such/path']) {
      const r = await fx.call('GET', path, {}, null)
      assert.equal(r.status, 401)
      assert.equal(r.text, 'authentication failed')
      assert.equal(r.headers['content-type'], undefined)
      assert.match(String(r.headers['set-cookie']), /__Host-PBSAuthCookie=;/)
    }
  })

  it('an unknown path is 404 after authentication', async () => {
    const r = await fx.call('GET', '/no/such/path')
    assert.equal(r.status, 404)
    assert.equal(r.text, "Path '/api2/json/no/such/path' not found.")
  })

  it('a wrong token secret is 401', async () => {
    const r = await fx.call(
      'GET',
      '/version',
      {},
      { authid: 'x', headers: { authorization: 'PBSAPIToken=admin@pbs!t:wrong' } },
    )
    assert.equal(r.status, 401)
  })

  it('the token header also works with a space instead of "="', async () => {
    const header = fx.admin.headers.authorization!.replace('PBSAPIToken=', 'PBSAPIToken ')
    const r = await fx.call('GET', '/version', {}, { authid: 'x', headers: { authorization: header } })
    assert.equal(r.status, 200)
  })

  it('login: wrong password is 401 "permission check failed."; right password gives ticket and CSRF token', async () => {
    const bad = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: 'nope-nope' },
      null,
    )
    assert.equal(bad.status, 401)
    assert.equal(bad.text, 'permission check failed.')
    const ok = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: 'admin-password' },
      null,
    )
    assert.equal(ok.status, 200)
    assert.equal(ok.json?.success, true)
    const d = ok.data as Record<string, string>
    assert.equal(d.username, 'admin@pbs')
    assert.match(d.ticket!, /^PBS:admin@pbs:[0-9A-F]{8}::[A-Za-z0-9+/]+$/)
    assert.match(d.CSRFPreventionToken!, /^[0-9A-F]{8}:[A-Za-z0-9+/]+$/)
  })

  it('ticket auth: GET works without CSRF; POST needs the CSRFPreventionToken', async () => {
    const ok = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: 'admin-password' },
      null,
    )
    const d = ok.data as Record<string, string>
    const cookie = `PBSAuthCookie=${encodeURIComponent(d.ticket!)}`
    const get = await fx.call('GET', '/version', {}, { authid: 'admin@pbs', headers: { cookie } })
    assert.equal(get.status, 200)
    const noCsrf = await fx.call(
      'POST',
      '/admin/datastore/store1/namespace',
      { name: 'csrf1' },
      { authid: 'a', headers: { cookie } },
    )
    assert.equal(noCsrf.status, 401)
    const badCsrf = await fx.call(
      'POST',
      '/admin/datastore/store1/namespace',
      { name: 'csrf1' },
      {
        authid: 'a',
        headers: { cookie, csrfpreventiontoken: `${d.CSRFPreventionToken!.slice(0, 9)}AAAA` },
      },
    )
    assert.equal(badCsrf.status, 401)
    const withCsrf = await fx.call(
      'POST',
      '/admin/datastore/store1/namespace',
      { name: 'csrf1' },
      {
        authid: 'a',
        headers: { cookie, csrfpreventiontoken: d.CSRFPreventionToken! },
      },
    )
    assert.equal(withCsrf.status, 200, withCsrf.text)
    assert.equal(withCsrf.data, 'csrf1')
  })

  it('ticket renewal: a valid ticket as password gives a new ticket', async () => {
    const first = (
      await fx.call('POST', '/access/ticket', { username: 'admin@pbs', password: 'admin-password' }, null)
    ).data as Record<string, string>
    const renewed = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: first.ticket },
      null,
    )
    assert.equal(renewed.status, 200)
    const tampered = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: `${first.ticket!}x` },
      null,
    )
    assert.equal(tampered.status, 401)
  })

  it('http-only login sets the __Host- cookie and returns ticket-info', async () => {
    const r = await fx.call(
      'POST',
      '/access/ticket',
      { username: 'admin@pbs', password: 'admin-password', 'http-only': true },
      null,
    )
    assert.equal(r.status, 200)
    const d = r.data as Record<string, string>
    assert.equal(d.ticket, undefined)
    assert.match(d['ticket-info']!, /::ticketinfo$/)
    assert.match(String(r.headers['set-cookie']), /^__Host-PBSAuthCookie=PBS%3Aadmin%40pbs%3A.*HttpOnly/)
  })

  it('a missing password is 400 "no password provided"', async () => {
    const r = await fx.call('POST', '/access/ticket', { username: 'admin@pbs' }, null)
    assert.equal(r.status, 400)
    assert.match(r.text, /no password provided/)
  })

  it('parameter errors are 400 naming the parameter and the rule', async () => {
    const r = await fx.call('GET', '/admin/datastore/store1/groups', { ns: 'bad ns' })
    assert.equal(r.status, 400)
    assert.match(r.text, /^parameter verification failed - 'ns': /)
    const id = JSON.parse(String(r.headers['x-pbs-store-error'])) as { code: string; data: { input: string } }
    assert.equal(id.code, 'ValidationError')
    assert.equal(id.data.input, 'ns')
  })

  it('unknown parameters are refused', async () => {
    const r = await fx.call('GET', '/admin/datastore/store1/groups', { bogus: '1' })
    assert.equal(r.status, 400)
    assert.equal(
      r.text,
      "parameter verification failed - 'bogus': schema does not allow additional properties.",
    )
  })

  it('several parameter errors are listed one per line', async () => {
    const r = await fx.call('GET', '/admin/datastore/store1/snapshots', { 'backup-type': 'xx', bogus: 1 })
    assert.equal(r.status, 400)
    assert.match(r.text, /^parameter verification failed:\n- '/)
  })

  it('JSON mode is strict about types; form mode converts strings', async () => {
    const json = await fx.call('POST', '/admin/datastore/store1/prune', {
      'backup-type': 'vm',
      'backup-id': 'x',
      'dry-run': 'yes',
    })
    assert.equal(json.status, 400)
    assert.match(json.text, /'dry-run': Expected boolean value\./)
    const form = await fx.server.app.inject({
      method: 'POST',
      url: '/api2/json/admin/datastore/store1/namespace',
      headers: { ...fx.admin.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=formns&_dc=123',
    })
    assert.equal(form.statusCode, 200, form.body)
    assert.deepEqual(JSON.parse(form.body), { data: 'formns' })
  })

  it('an unsupported content type is 400', async () => {
    const r = await fx.server.app.inject({
      method: 'POST',
      url: '/api2/json/admin/datastore/store1/namespace',
      headers: { ...fx.admin.headers, 'content-type': 'text/xml' },
      payload: '<x/>',
    })
    assert.equal(r.statusCode, 400)
    assert.match(r.body, /unsupported content type/)
  })

  it('a missing datastore is 404 and an internal error never leaks a stack', async () => {
    const r = await fx.call('GET', '/admin/datastore/nostore/groups')
    assert.equal(r.status, 404)
    assert.doesNotMatch(r.text, /at .*\.js:\d+/)
  })

  it('ExtJS errors are status 200 with success false and per-parameter errors', async () => {
    const r = await fx.call('GET', '/api2/extjs/admin/datastore/store1/groups', { ns: 'a b' })
    assert.equal(r.status, 200)
    assert.equal(r.json?.success, false)
    assert.equal(r.json?.status, 400)
    assert.ok((r.json?.errors as Record<string, string>).ns)
  })

  it('the UI placeholder is served at / when web/dist is missing', async () => {
    const r = await fx.server.app.inject({ method: 'GET', url: '/' })
    assert.equal(r.statusCode, 200)
    assert.match(r.body, /web UI is not built/)
  })

  it('serves the built web UI from webRoot when it exists', async () => {
    const web = join(fx.home.dir, 'web')
    await mkdir(web)
    await writeFile(join(web, 'index.html'), '<html>ui</html>')
    const s = await buildServer({ installation: fx.home.installation, webRoot: web })
    try {
      const r = await s.app.inject({ method: 'GET', url: '/' })
      assert.equal(r.statusCode, 200)
      assert.equal(r.body, '<html>ui</html>')
    } finally {
      await s.close()
    }
  })

  it('GET /ping needs no authentication', async () => {
    const r = await fx.call('GET', '/ping', {}, null)
    assert.deepEqual(r.json, { data: { pong: true } })
  })
})
