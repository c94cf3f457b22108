// Privileges (issue 10, part 5): snapshot and group endpoints × every datastore role × user,
// token with the same role and token narrowed to DatastoreAudit × own / foreign group. The
// expected answer is computed from the PBS rules (spec/pbs-api.md §3.2, §3.4, §3.7, §4.4–§4.8):
// FULL privilege → allowed; PARTIAL privilege → allowed only on an owned group; a token's
// privileges are ANDed with its user's and a token does not own its user's groups. Also: cookie
// requests without the CSRF token are refused, and an expired ticket is refused.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { TICKET_LIFETIME_SECONDS } from '../../src/server/auth-keys.js'
import { createTicket } from '../../src/server/ticket.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ServerFixture, type Identity } from '../helpers/server-fixture.js'

const T0 = 1776359903
const D = '/admin/datastore/store1'

type Priv = 'Audit' | 'Modify' | 'Read' | 'Verify' | 'Backup' | 'Prune'
/** Datastore privileges of the built-in roles (spec §3.2). */
const ROLES: Record<string, Priv[]> = {
  Admin: ['Audit', 'Modify', 'Read', 'Verify', 'Backup', 'Prune'],
  DatastoreAdmin: ['Audit', 'Modify', 'Read', 'Verify', 'Backup', 'Prune'],
  DatastorePowerUser: ['Prune', 'Backup'],
  DatastoreBackup: ['Backup'],
  DatastoreReader: ['Audit', 'Verify', 'Read'],
  DatastoreAudit: ['Audit'],
  NoAccess: [],
}

/** An endpoint with its FULL and PARTIAL (owner-only) privileges. */
interface Endpoint {
  method: 'GET' | 'PUT'
  path: string
  full: Priv[]
  partial: Priv[]
  /** Extra parameters besides the group or snapshot. */
  extra?: Record<string, unknown>
  snapshot: boolean
  /** A listing: PARTIAL callers get 200 with their own groups only, whatever group is asked. */
  listing?: boolean
}
// Fake snapshots carry no real manifest, so the endpoints that need none stand for the rest.
const ENDPOINTS: Endpoint[] = [
  {
    method: 'GET',
    path: `${D}/groups`,
    full: ['Audit'],
    partial: ['Backup'],
    snapshot: false,
    listing: true,
  },
  { method: 'GET', path: `${D}/protected`, full: ['Audit'], partial: ['Backup'], snapshot: true },
  {
    method: 'PUT',
    path: `${D}/protected`,
    full: ['Modify'],
    partial: ['Backup'],
    snapshot: true,
    extra: { protected: false },
  },
  { method: 'GET', path: `${D}/group-notes`, full: ['Audit'], partial: ['Backup'], snapshot: false },
  {
    method: 'PUT',
    path: `${D}/group-notes`,
    full: ['Modify'],
    partial: ['Backup'],
    snapshot: false,
    extra: { notes: 'g' },
  },
]

/** The expected status for a caller with `privs` on a group it owns or not. */
function expected(e: Endpoint, privs: Priv[], owns: boolean): number {
  if (e.full.some((p) => privs.includes(p))) return 200
  if (e.partial.some((p) => privs.includes(p))) return owns || e.listing ? 200 : 403
  return 403
}

describe('privileges: endpoints × roles × user/token × ownership', () => {
  let fx: ServerFixture
  const callers: { label: string; who: Identity; privs: Priv[]; owned: string }[] = []

  before(async () => {
    fx = await ServerFixture.create('pbs-store-privileges-')
    await makeFakeSnapshot(fx.store, BackupNamespace.ROOT, 'vm', 'foreign', T0, { owner: 'other@pbs' })
    let i = 0
    for (const [role, privs] of Object.entries(ROLES)) {
      const userid = `u${i++}@pbs`
      const same = await fx.identity(userid, [['/datastore/store1', role]])
      const narrow = await fx.identity(
        userid,
        [['/datastore/store1', role]],
        [['/datastore/store1', 'DatastoreAudit']],
      )
      const anded = privs.filter((p) => ROLES.DatastoreAudit!.includes(p))
      // Each caller owns one group of its own; a token does not own its user's group.
      for (const [label, who, p] of [
        [`${role} user`, same.user, privs],
        [`${role} token`, same.token, privs],
        [`${role} token∧DatastoreAudit`, narrow.token, anded],
      ] as const) {
        const owned = `own-${callers.length}`
        await makeFakeSnapshot(fx.store, BackupNamespace.ROOT, 'vm', owned, T0, { owner: who.authid })
        callers.push({ label, who, privs: [...p], owned })
      }
    }
  })
  after(async () => {
    await fx.close()
  })

  it('every answer matches the PBS rules', async () => {
    const wrong: string[] = []
    let cases = 0
    for (const c of callers) {
      for (const e of ENDPOINTS) {
        for (const [id, owns] of [
          [c.owned, true],
          ['foreign', false],
        ] as const) {
          const params: Record<string, unknown> = e.listing
            ? {}
            : { 'backup-type': 'vm', 'backup-id': id, ...e.extra }
          if (e.snapshot) params['backup-time'] = T0
          const r = await fx.call(e.method, e.path, params, c.who)
          const want = expected(e, c.privs, owns)
          cases++
          if (r.status !== want)
            wrong.push(
              `${c.label} ${e.method} ${e.path} ${id}: ${r.status} (want ${want}) ${r.text.slice(0, 120)}`,
            )
        }
      }
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${cases} answers differ from the PBS rules`)
    console.log(
      `# privileges: ${cases} cases (${callers.length} callers × ${ENDPOINTS.length} endpoints × own/foreign)`,
    )
  })

  it('a user may act on a group owned by its own token with Backup only (owner check, spec §3.7)', async () => {
    const ids = await fx.identity('bk@pbs', [['/datastore/store1', 'DatastoreBackup']])
    await makeFakeSnapshot(fx.store, BackupNamespace.ROOT, 'vm', 'tok-owned', T0, { owner: ids.token.authid })
    const p = { 'backup-type': 'vm', 'backup-id': 'tok-owned', 'backup-time': T0 }
    assert.equal((await fx.call('GET', `${D}/protected`, p, ids.user)).status, 200)
    assert.equal((await fx.call('GET', `${D}/protected`, p, ids.token)).status, 200)
  })

  it('cookie requests without the CSRF token are refused on PUT/POST/DELETE, not on GET', async () => {
    const ids = await fx.identity('csrf@pbs', [['/datastore/store1', 'DatastoreAdmin']])
    const cookieOnly = { authid: ids.user.authid, headers: { cookie: ids.user.headers.cookie! } }
    const badCsrf = { authid: ids.user.authid, headers: { ...ids.user.headers, csrfpreventiontoken: 'X:Y' } }
    const snap = { 'backup-type': 'vm', 'backup-id': 'foreign', 'backup-time': T0 }
    let refused = 0
    for (const who of [cookieOnly, badCsrf]) {
      for (const [method, path, params] of [
        ['PUT', `${D}/notes`, { ...snap, notes: 'x' }],
        ['PUT', `${D}/protected`, { ...snap, protected: true }],
        ['POST', `${D}/namespace`, { name: 'csrf' }],
        ['DELETE', `${D}/snapshots`, snap],
        ['POST', `${D}/move-group`, { 'backup-type': 'vm', 'backup-id': 'foreign', 'target-ns': 'x' }],
      ] as const) {
        const r = await fx.call(method, path, params, who)
        assert.equal(r.status, 401, `${method} ${path} without a valid CSRF token: ${r.status} ${r.text}`)
        refused++
      }
    }
    assert.equal(
      (await fx.call('GET', `${D}/protected`, snap, cookieOnly)).status,
      200,
      'GET needs no CSRF token',
    )
    assert.equal((await fx.call('GET', `${D}/protected`, snap, fx.admin)).data, false, 'nothing was changed')
    console.log(`# CSRF: ${refused} cookie requests without a valid token refused`)
  })

  it('an expired, a future and a forged ticket are refused', async () => {
    const ids = await fx.identity('old@pbs', [['/datastore/store1', 'DatastoreAdmin']])
    const now = Math.floor(Date.now() / 1000)
    const asCookie = (ticket: string): Identity => ({
      authid: 'old@pbs',
      headers: { cookie: `PBSAuthCookie=${encodeURIComponent(ticket)}` },
    })
    const keys = fx.server.ctx.keys
    const fresh = createTicket(keys, 'old@pbs', now - 60)
    assert.equal(
      (await fx.call('GET', `${D}/groups`, {}, asCookie(fresh))).status,
      200,
      'a fresh ticket works',
    )
    // Properly signed by the server's key, but outside the validity window (−300 s … +7200 s).
    for (const t of [now - TICKET_LIFETIME_SECONDS - 1, now - 86400, now + 3600]) {
      const r = await fx.call('GET', `${D}/groups`, {}, asCookie(createTicket(keys, 'old@pbs', t)))
      assert.equal(r.status, 401, `ticket timed ${t - now} s: ${r.status} ${r.text}`)
    }
    // A genuine ticket with its time changed: the signature no longer matches.
    const m = /^(PBS:[^:]+:)([0-9A-F]{8,})(::.+)$/.exec(fresh)
    assert.ok(m, `ticket format: ${fresh}`)
    const forged = `${m[1]}${(now + 10).toString(16).toUpperCase().padStart(8, '0')}${m[3]}`
    assert.equal((await fx.call('GET', `${D}/groups`, {}, asCookie(forged))).status, 401, 'a re-timed ticket')
    assert.equal((await fx.call('GET', `${D}/groups`, {}, ids.user)).status, 200, 'the login ticket works')
  })
})
