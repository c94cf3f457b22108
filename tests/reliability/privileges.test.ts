// Privileges (issue 10, part 5): every API route × role scenarios (datastore roles on the store,
// datastore roles on namespace ns1 only, NoAccess below a role, a non-propagated role, Admin/Audit
// on /, /access…, /system/tasks, no ACL) × the user, its token with the same ACL and its token
// narrowed (privileges ANDed) × ownership (own group, the partner's group — a user owns its
// token's group, a token does not own its user's — and a foreign group), in the root namespace and
// in ns1. The expected answer comes from privilege-rules.ts, written from the spec (pbs-api.md §3,
// §4; move.md §4), not from the server's route table. Allowed → the exact success status (and the
// effect, or the filtered listing); denied → 403 with a PermissionError and no effect. Also:
// unauthenticated calls, cookie requests without the CSRF token, and ticket expiry.
import assert from 'node:assert/strict'
import { access as fsAccess, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, backupDir } from '../../src/api-types/index.js'
import {
  SHADOW_FILE,
  TOKEN_SHADOW_FILE,
  hashSecret,
  loadSecrets,
  saveSecrets,
  shadowKey,
} from '../../src/config/secret-store.js'
import { updateDatastoreConfig } from '../../src/config/datastore-config.js'
import { updateUserConfig } from '../../src/config/user-config.js'
import { configLock } from '../../src/datastore/config-lock.js'
import { encodeManifestBlob, newManifest } from '../../src/format/index.js'
import { TICKET_LIFETIME_SECONDS } from '../../src/server/auth-keys.js'
import { accessRoutes } from '../../src/server/routes/access-routes.js'
import { datastoreRoutes } from '../../src/server/routes/datastore-routes.js'
import { jobRoutes } from '../../src/server/routes/job-routes.js'
import { taskRoutes } from '../../src/server/routes/task-routes.js'
import { createCsrfToken, createTicket } from '../../src/server/ticket.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ServerFixture, type ApiAnswer, type Identity } from '../helpers/server-fixture.js'
import {
  NS_PRIVS_OK,
  RULES,
  aclVisible,
  anyPrivsBelow,
  datastoreListed,
  groupCounted,
  groupVisible,
  propagatedPrivsOf,
  privsOf,
  statusMode,
  usersVisible,
  visibleNamespaces,
  type AclEntry,
  type Caller,
  type Facts,
  type Verdict,
} from './privilege-rules.js'

const T0 = 1776359903
const STORE = 'store1'
const D = `/admin/datastore/${STORE}`
const PASSWORD = 'user-password'
const TOKEN_SECRET = '6f1c2a9e-0c41-4a55-9f0e-3d2b8c7a1e55'

const FOREIGN = 'other@pbs'
const ERROR_HEADER = 'x-pbs-store-error'

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

/** A caller of the matrix. */
interface TCaller extends Caller {
  label: string
  who: Identity
  /** The user's group owner counterpart: its token for a user, its user for a token. */
  partner: string
  /** A token of the same user without ACL entries. */
  spare: string
  /** Tag of its fixed groups and tasks. */
  tag: string
}

/** One call of the matrix. */
interface Case {
  key: string
  variant: string
  path: string
  params: Record<string, unknown>
  facts: Facts
  /** Overrides RULES[key] (listings whose denial depends on what exists). */
  verdict?: Verdict
  /** The caller when not the matrix caller (clones for self-deletion). */
  as?: { caller: Caller; who: Identity }
  setup?: () => Promise<void>
  /** Checks the effect; returns a complaint or undefined. */
  check?: (r: ApiAnswer, v: Verdict) => Promise<string | undefined>
  cleanup?: () => Promise<void>
}

describe('privileges: every route × roles × user/token × ownership', () => {
  let fx: ServerFixture
  const acl: AclEntry[] = []
  const callers: TCaller[] = []
  let seq = 0
  const next = (p: string): string => `${p}${(seq++).toString(36)}`
  /** Fixed foreign tasks (finished). */
  const foreignTasks: { label: string; upid: string; authid: string; type: string; workerId: string }[] = []
  /** Own and partner tasks per caller tag. */
  const ownTasks = new Map<string, { own: string; cross: string }>()

  const callerOf = (authid: string): Caller => ({
    authid,
    userid: authid.split('!')[0]!,
    isToken: authid.includes('!'),
    privs: (path) => privsOf(acl, authid, path),
    nsPrivsBelow: (path) => anyPrivsBelow(acl, authid, path, NS_PRIVS_OK),
  })
  const nsOf = (ns: string): BackupNamespace => (ns === '' ? BackupNamespace.ROOT : BackupNamespace.parse(ns))
  const exists = async (p: string): Promise<boolean> =>
    fsAccess(p).then(
      () => true,
      () => false,
    )
  const groupDir = (ns: string, id: string): string => fx.store.groupDir(nsOf(ns), { type: 'vm', id })
  const nsDir = (ns: string): string => fx.store.namespaceDir(nsOf(ns))
  /** The fixed group owned by `owner`. */
  const fixedGroup = (owner: string): string => `g-${owner.replace(/[@!]/g, '-')}`
  const ownerOf = async (ns: string, id: string): Promise<string | undefined> =>
    readFile(join(groupDir(ns, id), 'owner'), 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    )
  /** The groups of a namespace read from disk: id, owner, number of snapshots. */
  async function groupsIn(ns: string): Promise<{ id: string; owner: string; count: number }[]> {
    const dir = join(nsDir(ns), 'vm')
    const ids = await readdir(dir).catch(() => [] as string[])
    const out: { id: string; owner: string; count: number }[] = []
    for (const id of ids) {
      const owner = await ownerOf(ns, id)
      if (owner === undefined) continue
      const count = (await readdir(join(dir, id))).filter((n) => /^\d{4}-\d\d-\d\dT/.test(n)).length
      out.push({ id, owner, count })
    }
    return out
  }

  async function grant(ugid: string, path: string, role: string, propagate = true): Promise<void> {
    await fx.access.modifyAcl({ path, role, authid: ugid, propagate })
    acl.push({ path, ugid, role, propagate })
  }
  async function revoke(ugid: string, path: string, role: string): Promise<void> {
    await fx.access.modifyAcl({ path, role, authid: ugid, remove: true })
    const i = acl.findIndex((e) => e.ugid === ugid && e.path === path && e.role === role)
    if (i >= 0) acl.splice(i, 1)
  }
  // Hashing (scrypt) dominates user and token creation: every test user shares one password hash
  // and every test token one secret hash, written like the config API writes them.
  let passwordHash = ''
  let secretHash = ''
  /** A pbs-realm user with PASSWORD. */
  async function user(userid: string): Promise<void> {
    await fx.access.createUser(userid, {})
    const shadow = await loadSecrets(fx.home.installation.etcDir, SHADOW_FILE)
    shadow.set(shadowKey(userid), passwordHash)
    await saveSecrets(fx.home.installation.etcDir, SHADOW_FILE, shadow)
  }
  /** A token of `userid` with TOKEN_SECRET. */
  async function token(userid: string, name: string): Promise<Identity> {
    const tokenid = `${userid}!${name}`
    const etc = fx.home.installation.etcDir
    await updateUserConfig(etc, fx.access.userLock(), async (cfg) => {
      cfg.tokens.set(tokenid, { tokenid })
      const shadow = await loadSecrets(etc, TOKEN_SHADOW_FILE)
      shadow.set(tokenid, secretHash)
      await saveSecrets(etc, TOKEN_SHADOW_FILE, shadow)
    })
    return { authid: tokenid, headers: { authorization: `PBSAPIToken=${tokenid}:${TOKEN_SECRET}` } }
  }
  /** Ticket credentials of a user (signed with the server's key, as a login returns them). */
  function login(userid: string): Identity {
    const keys = fx.server.ctx.keys
    return {
      authid: userid,
      headers: {
        cookie: `PBSAuthCookie=${encodeURIComponent(createTicket(keys, userid))}`,
        csrfpreventiontoken: createCsrfToken(keys, userid),
      },
    }
  }
  async function deleteUserEverywhere(userid: string): Promise<void> {
    await fx.access.deleteUser(userid).catch(() => undefined)
    for (let i = acl.length - 1; i >= 0; i--)
      if (acl[i]!.ugid === userid || acl[i]!.ugid.startsWith(`${userid}!`)) acl.splice(i, 1)
  }
  /** A group with one finished snapshot (real manifest, no index file). */
  async function group(ns: string, id: string, owner: string): Promise<void> {
    const snap = await makeFakeSnapshot(fx.store, nsOf(ns), 'vm', id, T0, {
      owner,
      files: ['client.log.blob'],
    })
    await writeFile(join(snap, 'index.json.blob'), encodeManifestBlob(newManifest('vm', id, T0)))
  }
  async function admin(
    method: Method,
    path: string,
    params: Record<string, unknown> = {},
  ): Promise<ApiAnswer> {
    const r = await fx.call(method, path, params, fx.admin)
    assert.equal(r.status, 200, `admin ${method} ${path}: ${r.status} ${r.text}`)
    return r
  }
  async function allNamespaces(): Promise<string[]> {
    const r = await admin('GET', `${D}/namespace`)
    return (r.data as { ns: string }[]).map((x) => x.ns)
  }

  const waitTask = async (r: ApiAnswer): Promise<void> => {
    if (r.status === 200 && typeof r.data === 'string' && r.data.startsWith('UPID:'))
      await fx.server.ctx.tasks.waitFor(r.data)
  }
  /** A task that runs until aborted. */
  async function longTask(authid: string): Promise<{ upid: string; done: Promise<unknown> }> {
    const t = await fx.server.ctx.tasks.spawn(
      { type: 'probe', id: next('long'), authid },
      (task) =>
        new Promise((_, reject) => {
          // The abort may come before the task body starts.
          if (task.signal.aborted) reject(task.signal.reason as Error)
          task.signal.addEventListener('abort', () => reject(task.signal.reason as Error))
        }),
    )
    return { upid: t.upid, done: t.done.catch(() => undefined) }
  }
  async function finishedTask(authid: string, type: string, id: string): Promise<string> {
    const t = await fx.server.ctx.tasks.spawn({ type, id, authid }, () => Promise.resolve(0))
    await t.done
    return t.upid
  }

  before(async () => {
    fx = await ServerFixture.create('pbs-store-privileges-')
    passwordHash = await hashSecret(PASSWORD)
    // GC's atime safety check waits 1 s per run; what is under test here is only who may start it.
    await updateDatastoreConfig(fx.home.installation.etcDir, configLock(fx.home.installation), (cfg) => {
      const e = cfg.datastores.get(STORE)!
      e.tuning = { ...e.tuning, 'gc-atime-safety-check': false }
    })

    secretHash = await hashSecret(TOKEN_SECRET)

    acl.push(
      { path: '/', ugid: 'admin@pbs', role: 'Admin', propagate: true },
      { path: '/', ugid: 'admin@pbs!t', role: 'Admin', propagate: true },
    )
    for (const ns of ['ns1', 'ns2']) await admin('POST', `${D}/namespace`, { name: ns })
    await user('victim@pbs')
    await token('victim@pbs', 'vt')
    const ds = `/datastore/${STORE}`
    const ns1 = `/datastore/${STORE}/ns1`
    type Acl = [path: string, role: string, propagate?: boolean][]
    const scenarios: { name: string; user: Acl; tokens: { label: string; acl: Acl }[] }[] = []
    const same = (acl: Acl): { label: string; acl: Acl } => ({ label: 'token', acl })
    for (const role of [
      'Admin',
      'DatastoreAdmin',
      'DatastorePowerUser',
      'DatastoreBackup',
      'DatastoreReader',
      'DatastoreAudit',
      'NoAccess',
    ])
      scenarios.push({
        name: `${role}@store`,
        user: [[ds, role]],
        tokens: [same([[ds, role]]), { label: 'token∧DatastoreAudit', acl: [[ds, 'DatastoreAudit']] }],
      })
    for (const role of [
      'DatastoreAdmin',
      'DatastorePowerUser',
      'DatastoreBackup',
      'DatastoreReader',
      'DatastoreAudit',
    ])
      scenarios.push({ name: `${role}@ns1`, user: [[ns1, role]], tokens: [same([[ns1, role]])] })
    const noAccessBelow: Acl = [
      [ds, 'DatastoreAdmin'],
      [ns1, 'NoAccess'],
    ]
    scenarios.push(
      { name: 'DatastoreAdmin@store+NoAccess@ns1', user: noAccessBelow, tokens: [same(noAccessBelow)] },
      {
        name: 'DatastoreAdmin@store(no propagate)',
        user: [[ds, 'DatastoreAdmin', false]],
        tokens: [same([[ds, 'DatastoreAdmin', false]])],
      },
      {
        name: 'Admin@/',
        user: [['/', 'Admin']],
        tokens: [same([['/', 'Admin']]), { label: 'token∧Audit', acl: [['/', 'Audit']] }],
      },
      { name: 'Audit@/', user: [['/', 'Audit']], tokens: [same([['/', 'Audit']])] },
      {
        name: 'Audit@/access/users',
        user: [['/access/users', 'Audit']],
        tokens: [same([['/access/users', 'Audit']])],
      },
      { name: 'Admin@/access/users', user: [['/access/users', 'Admin']], tokens: [] },
      { name: 'Admin@/access/acl', user: [['/access/acl', 'Admin']], tokens: [] },
      { name: 'Audit@/access', user: [['/access', 'Audit']], tokens: [] },
      {
        name: 'Audit@/system/tasks',
        user: [['/system/tasks', 'Audit']],
        tokens: [same([['/system/tasks', 'Audit']])],
      },
      {
        name: 'Admin@/system/tasks',
        user: [['/system/tasks', 'Admin']],
        tokens: [same([['/system/tasks', 'Admin']])],
      },
      { name: 'no ACL', user: [], tokens: [same([])] },
    )
    let u = 0
    for (const s of scenarios) {
      const userid = `u${u++}@pbs`
      await user(userid)
      for (const [path, role, prop] of s.user) await grant(userid, path, role, prop ?? true)
      const spare = `${userid}!spare`
      await token(userid, 'spare')
      const toks: Identity[] = []
      for (const [i, t] of s.tokens.entries()) {
        const id = await token(userid, `t${i}`)
        for (const [path, role, prop] of t.acl) await grant(id.authid, path, role, prop ?? true)
        toks.push(id)
      }
      const userWho = login(userid)

      const firstToken = toks[0]?.authid ?? spare
      const add = (label: string, who: Identity, partner: string): void => {
        callers.push({
          ...callerOf(who.authid),
          label: `${s.name} ${label}`,
          who,
          partner,
          spare,
          tag: `c${callers.length}`,
        })
      }
      add('user', userWho, firstToken)
      for (const [i, t] of s.tokens.entries()) add(t.label, toks[i]!, userid)
    }
    // Fixed groups, one per owner (a caller's own group is its partner's "partner" group), and a
    // foreign one, in the root and in ns1.
    const owners = new Set([FOREIGN, ...callers.flatMap((c) => [c.authid, c.partner])])
    for (const ns of ['', 'ns1']) for (const owner of owners) await group(ns, fixedGroup(owner), owner)
    // Finished tasks: per caller its own and its partner's; foreign ones of every job kind.
    for (const c of callers)
      ownTasks.set(c.tag, {
        own: await finishedTask(c.authid, 'probe', c.tag),
        cross: await finishedTask(c.partner, 'probe', c.tag),
      })
    for (const [label, authid, type, workerId] of [
      ['foreign', 'admin@pbs', 'probe', 'x'],
      ['foreign-token', 'admin@pbs!t', 'probe', 'x'],
      ['gc', 'admin@pbs', 'garbage_collection', STORE],
      ['prune-root', 'admin@pbs', 'prune', `${STORE}::vm/foreign`],
      ['prune-ns1', 'admin@pbs', 'prune', `${STORE}:ns1:vm/foreign`],
      ['verify', 'admin@pbs', 'verify', STORE],
    ] as const)
      foreignTasks.push({ label, upid: await finishedTask(authid, type, workerId), authid, type, workerId })
  })
  after(async () => {
    await fx.close()
  })

  /** The cases of one route for one caller. */
  function casesFor(c: TCaller): Case[] {
    const out: Case[] = []
    const add = (
      key: string,
      variant: string,
      cs: Omit<Case, 'key' | 'variant' | 'path'> & { path?: string },
    ): void => {
      const path = cs.path ?? key.split(' ')[1]!.replace('{store}', STORE).replace('{node}', 'localhost')
      out.push({ key, variant, ...cs, path })
    }
    const f0: Facts = { store: STORE }
    // Access endpoints.
    add('GET /version', '', { params: {}, facts: f0 })
    add('GET /ping', '', { params: {}, facts: f0 })
    // A renewal (a valid ticket as the password) needs no password hashing; the login itself is
    // exercised by the CSRF and ticket tests.
    add('POST /access/ticket', '', {
      params: { username: c.userid, password: createTicket(fx.server.ctx.keys, c.userid) },
      facts: f0,
    })
    add('DELETE /access/ticket', '', { params: {}, facts: f0 })
    add('GET /access/domains', '', { params: {}, facts: f0 })
    add('GET /access/roles', '', { params: {}, facts: f0 })
    add('GET /access/users', '', {
      params: {},
      facts: f0,
      check: async (r) => {
        const all = [...(await fx.access.users()).config.users.keys()]
        const want = usersVisible(c, all).sort()
        const got = (r.data as { userid: string }[]).map((x) => x.userid).sort()
        return JSON.stringify(got) === JSON.stringify(want)
          ? undefined
          : `users ${got.join(',')} want ${want.join(',')}`
      },
    })
    {
      const userid = `${next('n')}@pbs`
      add('POST /access/users', '', {
        params: { userid },
        facts: f0,
        check: async (_r, v) =>
          (await fx.access.users()).config.users.has(userid) === (v === 'allow')
            ? undefined
            : 'user existence',
        cleanup: () => deleteUserEverywhere(userid),
      })
    }
    for (const [variant, userid] of [
      ['self', c.userid],
      ['other', 'admin@pbs'],
    ] as const) {
      add('GET /access/users/{userid}', variant, {
        path: `/access/users/${userid}`,
        params: {},
        facts: { ...f0, userid },
      })
      add('GET /access/users/{userid}/token', variant, {
        path: `/access/users/${userid}/token`,
        params: {},
        facts: { ...f0, userid },
      })
      const tokenName = variant === 'self' ? 'spare' : 't'
      add('GET /access/users/{userid}/token/{token-name}', variant, {
        path: `/access/users/${userid}/token/${tokenName}`,
        params: {},
        facts: { ...f0, userid },
      })
    }
    for (const [variant, userid] of [
      ['self', c.userid],
      ['other', 'victim@pbs'],
    ] as const) {
      const comment = next('c')
      add('PUT /access/users/{userid}', variant, {
        path: `/access/users/${userid}`,
        params: { comment },
        facts: { ...f0, userid },
        check: async (_r, v) =>
          ((await fx.access.users()).config.users.get(userid)?.comment === comment) === (v === 'allow')
            ? undefined
            : 'comment',
      })
      const name = next('k')
      add('POST /access/users/{userid}/token/{token-name}', variant, {
        path: `/access/users/${userid}/token/${name}`,
        params: {},
        facts: { ...f0, userid },
        check: async (_r, v) =>
          (await fx.access.users()).config.tokens.has(`${userid}!${name}`) === (v === 'allow')
            ? undefined
            : 'token existence',
        cleanup: () => fx.access.deleteToken(userid, name).catch(() => undefined),
      })
      const name2 = variant === 'self' ? 'spare' : 'vt'
      const tcomment = next('c')
      add('PUT /access/users/{userid}/token/{token-name}', variant, {
        path: `/access/users/${userid}/token/${name2}`,
        params: { comment: tcomment },
        facts: { ...f0, userid },
        check: async (_r, v) =>
          ((await fx.access.users()).config.tokens.get(`${userid}!${name2}`)?.comment === tcomment) ===
          (v === 'allow')
            ? undefined
            : 'token comment',
      })
      const name3 = next('k')
      add('DELETE /access/users/{userid}/token/{token-name}', variant, {
        path: `/access/users/${userid}/token/${name3}`,
        params: {},
        facts: { ...f0, userid },
        setup: async () => void (await token(userid, name3)),
        check: async (_r, v) =>
          (await fx.access.users()).config.tokens.has(`${userid}!${name3}`) === (v === 'deny')
            ? undefined
            : 'token existence',
        cleanup: () => fx.access.deleteToken(userid, name3).catch(() => undefined),
      })
    }
    {
      // Deleting another (fresh) user, and deleting oneself as a fresh clone of the caller.
      const victim = `${next('v')}@pbs`
      add('DELETE /access/users/{userid}', 'other', {
        path: `/access/users/${victim}`,
        params: {},
        facts: { ...f0, userid: victim },
        setup: () => fx.access.createUser(victim, {}),
        check: async (_r, v) =>
          (await fx.access.users()).config.users.has(victim) === (v === 'deny')
            ? undefined
            : 'user existence',
        cleanup: () => deleteUserEverywhere(victim),
      })
      const clone = `${next('x')}@pbs`
      const cloneId = c.isToken ? `${clone}!t` : clone
      const cloneCase: Case = {
        key: 'DELETE /access/users/{userid}',
        variant: 'self',
        path: `/access/users/${clone}`,
        params: {},
        facts: { ...f0, userid: clone },
        setup: async () => {
          await user(clone)
          for (const e of acl.filter((e) => e.ugid === c.userid))
            await grant(clone, e.path, e.role, e.propagate)
          let who: Identity
          if (c.isToken) {
            who = await token(clone, 't')
            for (const e of acl.filter((e) => e.ugid === c.authid))
              await grant(cloneId, e.path, e.role, e.propagate)
          } else who = login(clone)
          cloneCase.as = { caller: callerOf(cloneId), who }
        },
        check: async (_r, v) =>
          (await fx.access.users()).config.users.has(clone) === (v === 'deny') ? undefined : 'user existence',
        cleanup: () => deleteUserEverywhere(clone),
      }
      out.push(cloneCase)
    }
    for (const [variant, userid] of [
      ['self', c.userid],
      ['other', 'victim@pbs'],
    ] as const) {
      // The "new" password is the old one: a change shows as a new hash (fresh salt) and leaves
      // every later case working.
      const stored = async (): Promise<string | undefined> =>
        (await loadSecrets(fx.home.installation.etcDir, SHADOW_FILE)).get(shadowKey(userid))
      let before: string | undefined
      add('PUT /access/password', variant, {
        params: { userid, password: PASSWORD, 'confirmation-password': PASSWORD },
        facts: { ...f0, userid },
        setup: async () => void (before = await stored()),
        check: async (_r, v) =>
          ((await stored()) !== before) === (v === 'allow') ? undefined : 'password hash',
      })
    }
    add('GET /access/acl', '', {
      params: {},
      facts: f0,
      check: async (r) => {
        const key = (e: { path: string; ugid: string; roleid: string }): string =>
          `${e.ugid} ${e.path} ${e.roleid}`
        const want = (await fx.access.acl()).config.entries
          .filter((e) => aclVisible(c, e.ugid))
          .map(key)
          .sort()
        const got = (r.data as { path: string; ugid: string; roleid: string }[]).map(key).sort()
        return JSON.stringify(got) === JSON.stringify(want)
          ? undefined
          : `acl ${got.length} entries, want ${want.length}`
      },
    })
    for (const [variant, authid] of [
      ['own token', c.spare],
      ['own user', c.userid],
      ['other token', 'victim@pbs!vt'],
    ] as const) {
      const path = '/system/status'
      add('PUT /access/acl', variant, {
        params: { path, role: 'Audit', 'auth-id': authid },
        facts: { ...f0, authid },
        check: async (_r, v) =>
          (await fx.access.acl()).config.entries.some((e) => e.ugid === authid && e.path === path) ===
          (v === 'allow')
            ? undefined
            : 'acl entry',
        cleanup: () => revoke(authid, path, 'Audit').catch(() => undefined),
      })
    }
    for (const [variant, authid] of [
      ['own', ''],
      ['own token', c.spare],
      ['user', c.userid],
      ['other', 'admin@pbs'],
    ] as const) {
      const path = `/datastore/${STORE}/ns1`
      add('GET /access/permissions', variant, {
        params: authid ? { 'auth-id': authid, path } : { path },
        facts: { ...f0, authid },
        check: (r, v) => {
          if (v !== 'allow') return Promise.resolve(undefined)
          const target = authid || c.authid
          const privs = privsOf(acl, target, path)
          const prop = propagatedPrivsOf(acl, target, path)
          const want =
            privs.size === 0
              ? {}
              : { [path]: Object.fromEntries([...privs].sort().map((p) => [p, prop.has(p)])) }
          const got = r.data as Record<string, Record<string, boolean>>
          const norm = (o: Record<string, Record<string, boolean>>): string =>
            JSON.stringify(Object.entries(o).map(([k, x]) => [k, Object.entries(x).sort()]))
          return Promise.resolve(
            norm(got) === norm(want) ? undefined : `permissions ${norm(got)} want ${norm(want)}`,
          )
        },
      })
    }
    // Datastore list, index, namespaces.
    add('GET /admin/datastore', '', {
      params: {},
      facts: f0,
      check: (r) => {
        const item = (r.data as { store: string; comment: unknown }[]).find((x) => x.store === STORE)
        const want = datastoreListed(c, STORE)
        if ((item !== undefined) !== (want !== 'hidden'))
          return Promise.resolve(`listed: ${item !== undefined}, want ${want}`)
        return Promise.resolve(undefined)
      },
    })
    add('GET /admin/datastore/{store}', '', { params: {}, facts: f0 })
    for (const parent of ['', 'ns1']) {
      const listCase: Case = {
        key: 'GET /admin/datastore/{store}/namespace',
        variant: `parent '${parent}'`,
        path: `${D}/namespace`,
        params: parent ? { parent } : {},
        facts: { ...f0, ns: parent },
        setup: async () => {
          const want = visibleNamespaces(c, STORE, parent, await allNamespaces())
          listCase.verdict = want === 'deny' ? 'deny' : 'allow'
          listCase.check = (r) => {
            if (want === 'deny') return Promise.resolve(undefined)
            const got = (r.data as { ns: string }[]).map((x) => x.ns).sort()
            return Promise.resolve(
              JSON.stringify(got) === JSON.stringify([...want].sort())
                ? undefined
                : `namespaces ${got.join(',')} want ${want.join(',')}`,
            )
          }
        },
      }
      out.push(listCase)
      const name = next('p')
      const created = parent ? `${parent}/${name}` : name
      add('POST /admin/datastore/{store}/namespace', `parent '${parent}'`, {
        params: parent ? { name, parent } : { name },
        facts: { ...f0, ns: created },
        check: async (r, v) =>
          (await exists(nsDir(created))) === (v === 'allow') && (v === 'deny' || r.data === created)
            ? undefined
            : 'namespace existence',
        cleanup: () => rm(nsDir(created), { recursive: true, force: true }),
      })
      const doomed = parent ? `${parent}/${next('q')}` : next('q')
      add('DELETE /admin/datastore/{store}/namespace', `parent '${parent}'`, {
        params: { ns: doomed },
        facts: { ...f0, ns: doomed },
        setup: () => mkdirNs(doomed),
        check: async (_r, v) =>
          (await exists(nsDir(doomed))) === (v === 'deny') ? undefined : 'namespace existence',
        cleanup: () => rm(nsDir(doomed), { recursive: true, force: true }),
      })
    }
    // Group and snapshot endpoints: root and ns1 × own / partner's / foreign group.
    for (const ns of ['', 'ns1']) {
      const nsp = ns ? { ns } : {}
      const fn: Facts = { ...f0, ns }
      add('GET /admin/datastore/{store}/groups', `ns '${ns}'`, {
        params: nsp,
        facts: fn,
        check: async (r, v) => {
          if (v !== 'allow') return undefined
          const want = (await groupsIn(ns))
            .filter((g) => groupVisible(c, STORE, ns, g.owner))
            .map((g) => g.id)
            .sort()
          const got = (r.data as { 'backup-id': string }[]).map((g) => g['backup-id']).sort()
          return JSON.stringify(got) === JSON.stringify(want)
            ? undefined
            : `groups ${got.length}, want ${want.length}`
        },
      })
      add('GET /admin/datastore/{store}/snapshots', `ns '${ns}'`, {
        params: nsp,
        facts: fn,
        check: async (r, v) => {
          if (v !== 'allow') return undefined
          const want = (await groupsIn(ns))
            .filter((g) => groupVisible(c, STORE, ns, g.owner) && g.count > 0)
            .map((g) => g.id)
            .sort()
          const got = [...new Set((r.data as { 'backup-id': string }[]).map((g) => g['backup-id']))].sort()
          return JSON.stringify(got) === JSON.stringify(want)
            ? undefined
            : `snapshot groups ${got.length}, want ${want.length}`
        },
      })
      add('POST /admin/datastore/{store}/prune-datastore', `ns '${ns}'`, {
        params: { ...nsp, 'dry-run': true, 'keep-last': 1 },
        facts: fn,
        check: async (r) => void (await waitTask(r)),
      })
      for (const [variant, owner, fixedId] of [
        ['own', c.authid, fixedGroup(c.authid)],
        ['partner', c.partner, fixedGroup(c.partner)],
        ['foreign', FOREIGN, fixedGroup(FOREIGN)],
      ] as const) {
        const v = `ns '${ns}' ${variant}`
        const fg: Facts = { ...fn, owner }
        const g = { ...nsp, 'backup-type': 'vm', 'backup-id': fixedId }
        const s = { ...g, 'backup-time': T0 }
        add('GET /admin/datastore/{store}/files', v, { params: s, facts: fg })
        add('GET /admin/datastore/{store}/notes', v, { params: s, facts: fg })
        add('GET /admin/datastore/{store}/group-notes', v, { params: g, facts: fg })
        add('GET /admin/datastore/{store}/protected', v, { params: s, facts: fg })
        const notes = next('n')
        add('PUT /admin/datastore/{store}/notes', v, {
          params: { ...s, notes },
          facts: fg,
          check: async (_r, verdict) =>
            ((await admin('GET', `${D}/notes`, s)).data === notes) === (verdict === 'allow')
              ? undefined
              : 'notes',
        })
        const gnotes = next('g')
        add('PUT /admin/datastore/{store}/group-notes', v, {
          params: { ...g, notes: gnotes },
          facts: fg,
          check: async (_r, verdict) =>
            ((await admin('GET', `${D}/group-notes`, g)).data === gnotes) === (verdict === 'allow')
              ? undefined
              : 'group notes',
        })
        add('PUT /admin/datastore/{store}/protected', v, {
          params: { ...s, protected: true },
          facts: fg,
          check: async (_r, verdict) =>
            (await admin('GET', `${D}/protected`, s)).data === (verdict === 'allow')
              ? undefined
              : 'protection',
          cleanup: async () => void (await admin('PUT', `${D}/protected`, { ...s, protected: false })),
        })
        add('POST /admin/datastore/{store}/prune', v, {
          params: { ...g, 'keep-last': 1 },
          facts: fg,
          check: (r, verdict) =>
            Promise.resolve(
              verdict === 'deny' ||
                (Array.isArray(r.data) && r.data.length === 1 && (r.data[0] as { keep: boolean }).keep)
                ? undefined
                : `prune result ${r.text}`,
            ),
        })
        add('POST /admin/datastore/{store}/verify', v, {
          params: g,
          facts: fg,
          check: async (r) => void (await waitTask(r)),
        })
        // Destructive: a fresh group per case.
        const gone = next('d')
        add('DELETE /admin/datastore/{store}/groups', v, {
          params: { ...nsp, 'backup-type': 'vm', 'backup-id': gone },
          facts: fg,
          setup: () => group(ns, gone, owner),
          check: async (_r, verdict) =>
            (await exists(groupDir(ns, gone))) === (verdict === 'deny') ? undefined : 'group existence',
          cleanup: () => rm(groupDir(ns, gone), { recursive: true, force: true }),
        })
        const gone2 = next('s')
        add('DELETE /admin/datastore/{store}/snapshots', v, {
          params: { ...nsp, 'backup-type': 'vm', 'backup-id': gone2, 'backup-time': T0 },
          facts: fg,
          setup: () => group(ns, gone2, owner),
          check: async (_r, verdict) =>
            (await exists(fx.store.snapshotDir(nsOf(ns), backupDir({ type: 'vm', id: gone2 }, T0)))) ===
            (verdict === 'deny')
              ? undefined
              : 'snapshot existence',
          cleanup: () => rm(groupDir(ns, gone2), { recursive: true, force: true }),
        })
      }
      // Namespace-wide verify (ns2 holds no groups: quick).
      // change-owner: every kind of move between the user, its tokens and a foreign owner.
      const myToken = c.isToken ? c.authid : c.partner
      const who = { user: c.userid, token: myToken, spare: c.spare, foreign: FOREIGN, admin: 'admin@pbs' }
      for (const [ov, nv] of [
        ['user', 'token'],
        ['user', 'user'],
        ['user', 'admin'],
        ['token', 'spare'],
        ['token', 'token'],
        ['token', 'user'],
        ['token', 'admin'],
        ['foreign', 'user'],
        ['foreign', 'token'],
      ] as const) {
        const owner = who[ov]
        const newOwner = who[nv]
        const id = next('o')
        add('POST /admin/datastore/{store}/change-owner', `ns '${ns}' ${ov}→${nv}`, {
          params: { ...nsp, 'backup-type': 'vm', 'backup-id': id, 'new-owner': newOwner },
          facts: { ...fn, owner, newOwner },
          setup: () => group(ns, id, owner),
          check: async (_r, verdict) => {
            const now = await ownerOf(ns, id)
            return now === (verdict === 'allow' ? newOwner : owner) ? undefined : `owner ${now}`
          },
          cleanup: () => rm(groupDir(ns, id), { recursive: true, force: true }),
        })
      }
    }
    add('POST /admin/datastore/{store}/verify', `ns 'ns2'`, {
      params: { ns: 'ns2', 'max-depth': 0 },
      facts: { ...f0, ns: 'ns2' },
      check: async (r) => void (await waitTask(r)),
    })
    add('POST /admin/datastore/{store}/prune-datastore', `ns 'ns2'`, {
      params: { ns: 'ns2', 'dry-run': true },
      facts: { ...f0, ns: 'ns2' },
      check: async (r) => void (await waitTask(r)),
    })
    // Moves (real ones, on fresh groups and namespaces).
    for (const [src, dst] of [
      ['', 'ns1'],
      ['ns1', ''],
      ['ns1', 'ns2'],
    ] as const) {
      for (const [variant, owner] of [
        ['own', c.authid],
        ['partner', c.partner],
        ['foreign', FOREIGN],
      ] as const) {
        const id = next('m')
        add('POST /admin/datastore/{store}/move-group', `'${src}'→'${dst}' ${variant}`, {
          params: {
            ...(src ? { ns: src } : {}),
            ...(dst ? { 'target-ns': dst } : {}),
            'backup-type': 'vm',
            'backup-id': id,
          },
          facts: { ...f0, ns: src, targetNs: dst, owner },
          setup: () => group(src, id, owner),
          check: async (r, verdict) => {
            await waitTask(r)
            const moved = !(await exists(groupDir(src, id))) && (await exists(groupDir(dst, id)))
            return moved === (verdict === 'allow') ? undefined : `moved ${moved}`
          },
          cleanup: async () => {
            await rm(groupDir(src, id), { recursive: true, force: true })
            await rm(groupDir(dst, id), { recursive: true, force: true })
          },
        })
      }
      const name = next('mv')
      const from = src ? `${src}/${name}` : name
      const to = dst ? `${dst}/${name}` : name
      add('POST /admin/datastore/{store}/move-namespace', `'${from}'→'${to}'`, {
        params: { ns: from, 'target-ns': to },
        facts: { ...f0, ns: from, targetNs: to },
        setup: () => mkdirNs(from),
        check: async (r, verdict) => {
          await waitTask(r)
          const moved = !(await exists(nsDir(from))) && (await exists(nsDir(to)))
          return moved === (verdict === 'allow') ? undefined : `moved ${moved}`
        },
        cleanup: async () => {
          await rm(nsDir(from), { recursive: true, force: true })
          await rm(nsDir(to), { recursive: true, force: true })
        },
      })
    }
    // Status and GC.
    add('GET /admin/datastore/{store}/status', '', {
      params: { verbose: true },
      facts: f0,
      check: async (r, v) => {
        if (v !== 'allow') return undefined
        const d = r.data as { total: number; 'gc-status'?: unknown; counts: Record<string, unknown> }
        const mode = statusMode(c, STORE)
        if (d.total > 0 !== (mode === 'full')) return `total ${d.total} in mode ${mode}`
        if ((d['gc-status'] !== undefined) !== (mode === 'full')) return `gc-status in mode ${mode}`
        let vm: { groups: number; snapshots: number } | null = null
        for (const ns of await allNamespaces())
          for (const g of await groupsIn(ns))
            if (g.count > 0 && groupCounted(c, STORE, ns, g.owner)) {
              vm ??= { groups: 0, snapshots: 0 }
              vm.groups++
              vm.snapshots += g.count
            }
        const want = { ct: null, host: null, vm, other: null }
        return JSON.stringify(d.counts) === JSON.stringify(want)
          ? undefined
          : `counts ${JSON.stringify(d.counts)} want ${JSON.stringify(want)}`
      },
    })
    add('GET /admin/datastore/{store}/gc', '', { params: {}, facts: f0 })
    add('POST /admin/datastore/{store}/gc', '', {
      params: {},
      facts: f0,
      check: async (r) => void (await waitTask(r)),
    })
    // Tasks.
    add('GET /nodes/{node}/tasks', '', {
      params: { limit: 0 },
      facts: f0,
      check: async (r) => {
        const want = (await fx.server.ctx.tasks.list())
          .filter((t) =>
            taskVisible(c, {
              authid: t.parsed.authid,
              type: t.parsed.workerType,
              workerId: t.parsed.workerId ?? '',
            }),
          )
          .map((t) => t.upid)
          .sort()
        const got = (r.data as { upid: string }[]).map((t) => t.upid).sort()
        return JSON.stringify(got) === JSON.stringify(want)
          ? undefined
          : `tasks ${got.length}, want ${want.length}`
      },
    })
    const mine = ownTasks.get(c.tag)!
    const taskVariants: { label: string; upid: string; task: NonNullable<Facts['task']> }[] = [
      { label: 'own', upid: mine.own, task: { authid: c.authid, type: 'probe', workerId: c.tag } },
      { label: 'partner', upid: mine.cross, task: { authid: c.partner, type: 'probe', workerId: c.tag } },
      ...foreignTasks.map((t) => ({ label: t.label, upid: t.upid, task: t })),
    ]
    for (const t of taskVariants) {
      const base = `/nodes/localhost/tasks/${encodeURIComponent(t.upid)}`
      add('GET /nodes/{node}/tasks/{upid}', t.label, {
        path: base,
        params: {},
        facts: { ...f0, task: t.task },
      })
      add('GET /nodes/{node}/tasks/{upid}/status', t.label, {
        path: `${base}/status`,
        params: {},
        facts: { ...f0, task: t.task },
      })
      add('GET /nodes/{node}/tasks/{upid}/log', t.label, {
        path: `${base}/log`,
        params: {},
        facts: { ...f0, task: t.task },
      })
    }
    for (const [label, authid] of [
      ['own', c.authid],
      ['partner', c.partner],
      ['foreign', 'admin@pbs'],
    ] as const) {
      let running: { upid: string; done: Promise<unknown> } | undefined
      const abortCase: Case = {
        key: 'DELETE /nodes/{node}/tasks/{upid}',
        variant: label,
        path: '',
        params: {},
        facts: { ...f0, task: { authid, type: 'probe', workerId: '' } },
        setup: async () => {
          running = await longTask(authid)
          abortCase.path = `/nodes/localhost/tasks/${encodeURIComponent(running.upid)}`
        },
        check: async (_r, v) => {
          if (v === 'allow') await running!.done
          return fx.server.ctx.tasks.isRunning(running!.upid) === (v === 'deny') ? undefined : 'task running?'
        },
        cleanup: async () => {
          fx.server.ctx.tasks.abort(running!.upid)
          await running!.done
        },
      }
      out.push(abortCase)
    }
    return out
  }

  function taskVisible(c: Caller, t: NonNullable<Facts['task']>): boolean {
    return RULES['GET /nodes/{node}/tasks/{upid}/status']!(c, { store: STORE, task: t }) === 'allow'
  }
  async function mkdirNs(ns: string): Promise<void> {
    const parts = ns.split('/')
    await admin('POST', `${D}/namespace`, {
      name: parts.pop()!,
      ...(parts.length ? { parent: parts.join('/') } : {}),
    })
  }

  it('every route has a rule, and every rule a route', () => {
    const routes = [...accessRoutes, ...datastoreRoutes, ...jobRoutes, ...taskRoutes]
      .map((e) => `${e.method} ${e.path}`)
      .sort()
    assert.deepEqual(routes, Object.keys(RULES).sort())
  })

  it('every answer matches the PBS rules', async () => {
    const wrong: string[] = []
    const perKey = new Map<string, number>()
    let cases = 0
    let allowed = 0
    const timing = new Map<string, number>()
    for (const c of callers) {
      for (const k of casesFor(c)) {
        const t0 = performance.now()
        await k.setup?.()
        const caller = k.as?.caller ?? c
        const who = k.as?.who ?? c.who
        const verdict = k.verdict ?? RULES[k.key]!(caller, k.facts)
        const method = k.key.split(' ')[0] as Method
        const r = await fx.call(method, k.path, k.params, who)
        const where = `${c.label} ${k.key} [${k.variant}]`
        cases++
        perKey.set(k.key, (perKey.get(k.key) ?? 0) + 1)
        if (verdict === 'allow') {
          allowed++
          if (r.status !== 200) wrong.push(`${where}: ${r.status} (want 200) ${r.text.slice(0, 160)}`)
        } else {
          const code = (
            JSON.parse((r.headers[ERROR_HEADER] as string | undefined) ?? '{}') as { code?: string }
          ).code
          if (r.status !== 403 || code !== 'PermissionError')
            wrong.push(`${where}: ${r.status} ${code} (want 403 PermissionError) ${r.text.slice(0, 160)}`)
        }
        const complaint = await k.check?.(r, verdict)
        if (complaint) wrong.push(`${where}: ${complaint}`)
        await k.cleanup?.()
        timing.set(k.key, (timing.get(k.key) ?? 0) + performance.now() - t0)
      }
    }
    if (process.env.PRIV_DEBUG)
      for (const [k, ms] of [...timing].sort((x, y) => y[1] - x[1]))
        console.log(`# ${Math.round(ms)} ms ${k}`)
    const keys = [...perKey.keys()]
    console.log(
      `# privileges: ${cases} cases (${callers.length} callers × ${keys.length} routes; ${allowed} allowed, ${cases - allowed} denied)`,
    )
    assert.deepEqual(wrong, [], `${wrong.length} of ${cases} answers differ from the PBS rules`)
    assert.deepEqual(keys.sort(), Object.keys(RULES).sort(), 'every route was exercised')
  })

  it('unauthenticated calls: 401 except on the World routes', async () => {
    const world = new Set([
      'GET /ping',
      'POST /access/ticket',
      'DELETE /access/ticket',
      'GET /access/domains',
    ])
    let n = 0
    for (const key of Object.keys(RULES)) {
      const [method, tpl] = key.split(' ') as [Method, string]
      const path = tpl
        .replace('{store}', STORE)
        .replace('{node}', 'localhost')
        .replace('{userid}', 'victim@pbs')
        .replace('{token-name}', 'vt')
        .replace('{upid}', encodeURIComponent(foreignTasks[0]!.upid))
      const params =
        key === 'POST /access/ticket' ? { username: 'admin@pbs', password: 'admin-password' } : {}
      const r = await fx.call(method, path, params, null)
      assert.equal(r.status, world.has(key) ? 200 : 401, `${key} without credentials: ${r.status} ${r.text}`)
      n++
    }
    assert.ok((await fx.access.users()).config.users.has('victim@pbs'), 'nothing was deleted')
    console.log(`# unauthenticated: ${n} routes`)
  })

  it('cookie requests without a valid CSRF token are refused on every mutating route, not on GET', async () => {
    await user('csrf@pbs')
    await grant('csrf@pbs', '/', 'Admin')
    const r = await fx.call('POST', '/access/ticket', { username: 'csrf@pbs', password: PASSWORD }, null)
    assert.equal(r.status, 200, 'login')
    const d = r.data as { ticket: string; CSRFPreventionToken: string }
    const ids: Identity = {
      authid: 'csrf@pbs',
      headers: {
        cookie: `PBSAuthCookie=${encodeURIComponent(d.ticket)}`,
        csrfpreventiontoken: d.CSRFPreventionToken,
      },
    }
    const cookieOnly = { authid: 'csrf@pbs', headers: { cookie: ids.headers.cookie! } }
    const badCsrf = { authid: 'csrf@pbs', headers: { ...ids.headers, csrfpreventiontoken: 'X:Y' } }
    const task = await longTask('csrf@pbs')
    const victimComment = (await fx.access.users()).config.users.get('victim@pbs')?.comment
    const victimHash = (await loadSecrets(fx.home.installation.etcDir, SHADOW_FILE)).get(
      shadowKey('victim@pbs'),
    )

    const g = { 'backup-type': 'vm', 'backup-id': fixedGroup(FOREIGN) }
    const s = { ...g, 'backup-time': T0 }
    const mutating: [Method, string, Record<string, unknown>][] = [
      ['POST', '/access/users', { userid: 'csrf-new@pbs' }],
      ['PUT', '/access/users/victim@pbs', { comment: 'csrf' }],
      ['DELETE', '/access/users/victim@pbs', {}],
      ['PUT', '/access/password', { userid: 'victim@pbs', password: 'csrf-password' }],
      ['POST', '/access/users/victim@pbs/token/csrf', {}],
      ['PUT', '/access/users/victim@pbs/token/vt', { comment: 'csrf' }],
      ['DELETE', '/access/users/victim@pbs/token/vt', {}],
      ['PUT', '/access/acl', { path: '/', role: 'Admin', 'auth-id': 'victim@pbs' }],
      ['POST', `${D}/namespace`, { name: 'csrf' }],
      ['DELETE', `${D}/namespace`, { ns: 'ns2' }],
      ['DELETE', `${D}/groups`, g],
      ['DELETE', `${D}/snapshots`, s],
      ['PUT', `${D}/notes`, { ...s, notes: 'csrf' }],
      ['PUT', `${D}/group-notes`, { ...g, notes: 'csrf' }],
      ['PUT', `${D}/protected`, { ...s, protected: true }],
      ['POST', `${D}/change-owner`, { ...g, 'new-owner': 'csrf@pbs' }],
      ['POST', `${D}/gc`, {}],
      ['POST', `${D}/move-group`, { ...g, 'target-ns': 'ns2' }],
      ['POST', `${D}/move-namespace`, { ns: 'ns2', 'target-ns': 'ns1/ns2' }],
      ['POST', `${D}/verify`, {}],
      ['POST', `${D}/prune`, { ...g, 'keep-last': 1 }],
      ['POST', `${D}/prune-datastore`, { 'keep-last': 1 }],
      ['DELETE', `/nodes/localhost/tasks/${encodeURIComponent(task.upid)}`, {}],
    ]
    // Every non-GET route except the World ones (login/logout need no authentication at all).
    const covered = new Set(mutating.map(([m, p]) => `${m} ${p}`))
    const mutatingRoutes = Object.keys(RULES).filter(
      (k) => !k.startsWith('GET ') && k !== 'POST /access/ticket' && k !== 'DELETE /access/ticket',
    )
    assert.equal(covered.size, mutatingRoutes.length, 'one CSRF case per mutating route')
    let refused = 0
    for (const who of [cookieOnly, badCsrf])
      for (const [method, path, params] of mutating) {
        const r = await fx.call(method, path, params, who)
        assert.equal(r.status, 401, `${method} ${path} without a valid CSRF token: ${r.status} ${r.text}`)
        refused++
      }
    const { config } = await fx.access.users()
    assert.ok(config.users.has('victim@pbs') && config.tokens.has('victim@pbs!vt'), 'victim untouched')
    assert.ok(!config.users.has('csrf-new@pbs'), 'no user created')
    assert.equal(config.users.get('victim@pbs')?.comment, victimComment, 'victim comment unchanged')
    assert.ok(fx.server.ctx.tasks.isRunning(task.upid), 'the task still runs')
    assert.ok(await exists(nsDir('ns2')), 'ns2 still exists')
    assert.ok(!(await exists(nsDir('csrf'))), 'no namespace created')
    assert.equal(await ownerOf('', fixedGroup(FOREIGN)), FOREIGN, 'the group and its owner are unchanged')
    assert.equal((await admin('GET', `${D}/protected`, s)).data, false, 'protection unchanged')
    assert.equal(
      (await loadSecrets(fx.home.installation.etcDir, SHADOW_FILE)).get(shadowKey('victim@pbs')),
      victimHash,
      'password unchanged',
    )
    assert.equal(
      (await fx.call('GET', `${D}/protected`, s, cookieOnly)).status,
      200,
      'GET needs no CSRF token',
    )
    fx.server.ctx.tasks.abort(task.upid)
    await task.done
    console.log(
      `# CSRF: ${refused} cookie requests without a valid token refused (${mutating.length} routes)`,
    )
  })

  it('an expired, a future and a forged ticket are refused', async () => {
    await user('old@pbs')
    await grant('old@pbs', `/datastore/${STORE}`, 'DatastoreAdmin')
    const ids = login('old@pbs')
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
    assert.equal((await fx.call('GET', `${D}/groups`, {}, ids)).status, 200, 'the login ticket works')
  })
})
