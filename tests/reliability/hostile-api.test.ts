// Hostile input against the API (issue 10, part 4 — API side): every endpoint of the access,
// datastore, job and task routes gets malformed or hostile values in every parameter, one at a
// time (traversal, NUL, look-alikes, overlong names, depth 8, length 257, namespace cycles, bad
// times, bad UPIDs, padded or out-of-range numbers, booleans as odd strings, wrong JSON types,
// arrays for scalars, unknown keys, > 512 KiB bodies), with an Admin token. Every request must be
// refused with a 4xx whose message names the parameter (or the path element), the server must
// keep answering, and a tree watcher must see no file created or changed anywhere in the
// installation (the datastore included: every input is invalid).
import assert from 'node:assert/strict'
import { lstat, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { createNamespace } from '../../src/datastore/index.js'
import { accessRoutes } from '../../src/server/routes/access-routes.js'
import { datastoreRoutes } from '../../src/server/routes/datastore-routes.js'
import { jobRoutes } from '../../src/server/routes/job-routes.js'
import { taskRoutes } from '../../src/server/routes/task-routes.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { ServerFixture } from '../helpers/server-fixture.js'
import {
  SOME_UPID,
  hostileAclPaths,
  hostileAuthids,
  hostileBooleans,
  hostileComments,
  hostileDigests,
  hostileIntegersFor,
  hostileNames,
  hostileNamespaces,
  hostileNodes,
  hostilePasswords,
  hostileRoles,
  hostileTimes,
  hostileTokenNames,
  hostileUpids,
  hostileUserids,
} from './hostile-values.js'

const T0 = 1776359903
const D = '/admin/datastore/{store}'
const ZERO_DIGEST = '0'.repeat(64)

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

/** How a request carries its parameters: query string (form mode) or a JSON body. */
type Mode = 'query' | 'json'

/** One request to try: it must be refused naming `param`. */
interface Case {
  method: Method
  route: string
  path: string
  mode: Mode
  params: Record<string, unknown>
  param: string
  /** The spoiled value sits in the URL path: a router-level refusal needs only a message. */
  inPath: boolean
}

/** One endpoint: URI parameters, valid body/query parameters, and the kind of each parameter. */
interface Endpoint {
  method: Method
  path: string
  uri?: Record<string, string>
  base: Record<string, unknown>
  /** Parameters read only from the query (raw-HTTP handlers). */
  queryOnly?: boolean
}

/** Every path under dir with size, mtime and mode, to detect any change. */
async function tree(dir: string, skip: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name)
      if (p === skip) continue
      const st = await lstat(p)
      out.set(p, `${st.size}:${st.mtimeMs}:${st.mode}`)
      if (st.isDirectory()) await walk(p)
    }
  }
  await walk(dir)
  return out
}

const STORE = { store: 'store1' }
const GROUP = { ns: 'ok', 'backup-type': 'vm', 'backup-id': '100' }
const SNAP = { ...GROUP, 'backup-time': T0 }
const USER = { userid: 'u1@pbs' }
const TOKEN = { userid: 'u1@pbs', 'token-name': 'tk' }
const TASK = { node: 'localhost', upid: SOME_UPID }
const KEEPS = {
  'keep-last': 1,
  'keep-hourly': 1,
  'keep-daily': 1,
  'keep-weekly': 1,
  'keep-monthly': 1,
  'keep-yearly': 1,
}

/**
 * The endpoints with valid parameters naming existing objects. Writing calls carry something
 * that makes them fail late (a stale digest, a wrong password, an unknown user) so that a hostile
 * value accepted by mistake shows up as an unclear answer instead of a change.
 */
const ENDPOINTS: Endpoint[] = [
  // access
  { method: 'GET', path: '/version', base: {} },
  { method: 'GET', path: '/ping', base: {} },
  {
    method: 'POST',
    path: '/access/ticket',
    base: {
      username: 'u1@pbs',
      password: 'wrong-password',
      'tfa-challenge': 'c',
      path: '/',
      privs: 'Sys.Audit',
      port: 1,
      'http-only': false,
    },
  },
  { method: 'DELETE', path: '/access/ticket', base: {} },
  { method: 'GET', path: '/access/domains', base: {} },
  { method: 'GET', path: '/access/roles', base: {} },
  { method: 'GET', path: '/access/users', base: { include_tokens: true } },
  {
    method: 'POST',
    path: '/access/users',
    base: {
      userid: 'u1@pbs', // exists: an accepted value ends in a conflict, never a new user
      comment: 'c',
      enable: true,
      expire: 0,
      firstname: 'Ann',
      lastname: 'Bee',
      email: 'a@b.c',
      password: 'long-enough',
    },
  },
  { method: 'GET', path: '/access/users/{userid}', uri: USER, base: {} },
  {
    method: 'PUT',
    path: '/access/users/{userid}',
    uri: USER,
    base: {
      comment: 'c',
      enable: true,
      expire: 0,
      firstname: 'Ann',
      lastname: 'Bee',
      email: 'a@b.c',
      password: 'ignored',
      delete: ['email'],
      digest: ZERO_DIGEST,
    },
  },
  { method: 'DELETE', path: '/access/users/{userid}', uri: USER, base: { digest: ZERO_DIGEST } },
  {
    method: 'PUT',
    path: '/access/password',
    base: { userid: 'nobody@pbs', password: 'long-enough', 'confirmation-password': 'whatever1' },
  },
  { method: 'GET', path: '/access/users/{userid}/token', uri: USER, base: {} },
  { method: 'GET', path: '/access/users/{userid}/token/{token-name}', uri: TOKEN, base: {} },
  {
    method: 'POST',
    path: '/access/users/{userid}/token/{token-name}',
    uri: TOKEN, // exists: conflict
    base: { comment: 'c', enable: true, expire: 0, digest: ZERO_DIGEST },
  },
  {
    method: 'PUT',
    path: '/access/users/{userid}/token/{token-name}',
    uri: TOKEN,
    base: {
      comment: 'c',
      enable: true,
      expire: 0,
      regenerate: false,
      delete: ['comment'],
      digest: ZERO_DIGEST,
    },
  },
  {
    method: 'DELETE',
    path: '/access/users/{userid}/token/{token-name}',
    uri: TOKEN,
    base: { digest: ZERO_DIGEST },
  },
  { method: 'GET', path: '/access/acl', base: { path: '/datastore', exact: true } },
  {
    method: 'PUT',
    path: '/access/acl',
    base: {
      path: '/datastore/store1',
      role: 'Audit',
      propagate: true,
      'auth-id': 'u1@pbs',
      group: 'admins', // not supported: refused by the handler, after the parameters
      delete: false,
      digest: ZERO_DIGEST,
    },
  },
  { method: 'GET', path: '/access/permissions', base: { 'auth-id': 'u1@pbs', path: '/datastore' } },
  // datastore
  { method: 'GET', path: '/admin/datastore', base: {} },
  { method: 'GET', path: D, uri: STORE, base: {} },
  { method: 'GET', path: `${D}/namespace`, uri: STORE, base: { parent: 'ok', 'max-depth': 1 } },
  { method: 'POST', path: `${D}/namespace`, uri: STORE, base: { name: 'ok2', parent: '' } }, // exists
  {
    method: 'DELETE',
    path: `${D}/namespace`,
    uri: STORE,
    base: { ns: 'ok/none', 'delete-groups': false, 'error-on-protected': true },
  },
  { method: 'GET', path: `${D}/groups`, uri: STORE, base: { ns: 'ok' } },
  {
    method: 'DELETE',
    path: `${D}/groups`,
    uri: STORE,
    base: { ...GROUP, 'backup-id': '999', 'error-on-protected': true },
  },
  { method: 'GET', path: `${D}/snapshots`, uri: STORE, base: GROUP },
  { method: 'DELETE', path: `${D}/snapshots`, uri: STORE, base: { ...SNAP, 'backup-time': T0 + 1 } },
  { method: 'GET', path: `${D}/files`, uri: STORE, base: SNAP },
  { method: 'GET', path: `${D}/notes`, uri: STORE, base: SNAP },
  { method: 'PUT', path: `${D}/notes`, uri: STORE, base: { ...SNAP, 'backup-time': T0 + 1, notes: 'n' } },
  { method: 'GET', path: `${D}/group-notes`, uri: STORE, base: GROUP },
  { method: 'PUT', path: `${D}/group-notes`, uri: STORE, base: { ...GROUP, 'backup-id': '999', notes: 'n' } },
  { method: 'GET', path: `${D}/protected`, uri: STORE, base: SNAP },
  {
    method: 'PUT',
    path: `${D}/protected`,
    uri: STORE,
    base: { ...SNAP, 'backup-time': T0 + 1, protected: true },
  },
  {
    method: 'POST',
    path: `${D}/change-owner`,
    uri: STORE,
    base: { ...GROUP, 'backup-id': '999', 'new-owner': 'admin@pbs' },
  },
  { method: 'GET', path: `${D}/status`, uri: STORE, base: { verbose: true } },
  { method: 'GET', path: `${D}/gc`, uri: STORE, base: {} },
  // jobs (each names something missing, so an accepted value fails without starting a task)
  { method: 'POST', path: `${D}/gc`, uri: { store: 'store1' }, base: {} },
  {
    method: 'POST',
    path: `${D}/move-group`,
    uri: STORE,
    base: { ...GROUP, 'backup-id': '999', 'target-ns': 'ok2', 'merge-group': true, 'dry-run': true },
  },
  {
    method: 'POST',
    path: `${D}/move-namespace`,
    uri: STORE,
    base: {
      ns: 'ok/none',
      'target-ns': 'ok3',
      'max-depth': 1,
      'delete-source': true,
      'merge-groups': true,
      'dry-run': true,
    },
  },
  {
    method: 'POST',
    path: `${D}/verify`,
    uri: STORE,
    base: {
      ...GROUP,
      'backup-id': '999',
      'backup-time': T0,
      'ignore-verified': true,
      'outdated-after': 1,
      'max-depth': 1,
      'read-threads': 1,
      'verify-threads': 1,
    },
  },
  {
    method: 'POST',
    path: `${D}/prune`,
    uri: STORE,
    base: { ...GROUP, 'backup-id': '999', 'dry-run': true, 'use-task': false, ...KEEPS },
  },
  {
    method: 'POST',
    path: `${D}/prune-datastore`,
    uri: STORE,
    base: { ns: 'ok/none', 'max-depth': 1, 'dry-run': true, ...KEEPS },
  },
  // tasks
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    uri: { node: 'localhost' },
    base: {
      start: 0,
      limit: 50,
      store: 'store1',
      running: false,
      errors: false,
      userfilter: 'admin',
      since: 1,
      until: 2,
      typefilter: 'verify',
      statusfilter: ['ok'],
    },
  },
  { method: 'GET', path: '/nodes/{node}/tasks/{upid}', uri: TASK, base: {} },
  { method: 'GET', path: '/nodes/{node}/tasks/{upid}/status', uri: TASK, base: {} },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    uri: TASK,
    base: { start: 0, limit: 50, download: false, 'test-status': true },
    queryOnly: true,
  },
  { method: 'DELETE', path: '/nodes/{node}/tasks/{upid}', uri: TASK, base: {} },
]

/** Wrong JSON types for any scalar parameter (bodies only). */
const WRONG_TYPES: unknown[] = [[], ['ok'], {}, { a: 1 }]

/** Hostile values of one parameter: strings (both modes) and JSON-only values. */
function valuesFor(ep: Endpoint, param: string): { strings: string[]; json: unknown[] } {
  const p = ep.path
  const bool = {
    strings: [...hostileBooleans(), 'yes ', 'y', 'n', 'ja', '1.0', 'truee'],
    json: ['true', 'yes', 1, 0, 2, ...WRONG_TYPES],
  }
  const int = (min?: number, max?: number): { strings: string[]; json: unknown[] } => ({
    strings: hostileIntegersFor(min, max),
    json: ['1', ' 1', 1.5, true, ...WRONG_TYPES],
  })
  const str = (strings: string[]): { strings: string[]; json: unknown[] } => ({
    strings,
    json: [12, -1, true, 1.5, ...WRONG_TYPES],
  })
  // Arrays: an empty list is valid; lists of non-strings or unknown items are not.
  const list = (strings: string[]): { strings: string[]; json: unknown[] } => ({
    strings,
    json: [12, true, 'x', [12], [['comment']], [{}], {}],
  })
  switch (param) {
    case 'group':
      return str(['admins', '', '..', 'a\u0000b', '/etc'])
    case 'ns':
    case 'parent':
      return str(hostileNamespaces())
    case 'target-ns':
      // Cycles: a namespace moved into its own subtree (or onto itself).
      return str(hostileNamespaces())
    case 'name':
      return str([...hostileNames(), 'a'.repeat(33)])
    case 'backup-id':
      return str(hostileNames())
    case 'store':
      return str(
        hostileNames()
          .filter((n) => n !== 'x'.repeat(256))
          .concat(['ab', 'a'.repeat(33)]),
      )
    case 'backup-type':
      return str(['', 'VM', 'vmm', 'v/m', '..', 'vm\u0000', 'ｖｍ', 'vm ', 'x'.repeat(300)])
    case 'backup-time':
      return p.endsWith('/verify')
        ? int(1)
        : { strings: hostileTimes(), json: [[], {}, '1776359903x', true, 1.5, -1, 0] }
    case 'new-owner':
    case 'auth-id':
      return str(hostileAuthids())
    case 'userid':
    case 'username':
      return str(hostileUserids())
    case 'token-name':
      return str(hostileTokenNames())
    case 'max-depth':
      return int(0, 7)
    case 'keep-last':
    case 'keep-hourly':
    case 'keep-daily':
    case 'keep-weekly':
    case 'keep-monthly':
    case 'keep-yearly':
      return int(1)
    case 'read-threads':
    case 'verify-threads':
      return int(1, 32)
    case 'outdated-after':
    case 'expire':
    case 'start':
    case 'limit':
    case 'since':
    case 'until':
      return int(0)
    case 'port':
      return int(0, 65535)
    case 'dry-run':
    case 'protected':
    case 'merge-group':
    case 'merge-groups':
    case 'delete-source':
    case 'delete-groups':
    case 'error-on-protected':
    case 'ignore-verified':
    case 'use-task':
    case 'verbose':
    case 'include_tokens':
    case 'enable':
    case 'regenerate':
    case 'propagate':
    case 'exact':
    case 'running':
    case 'errors':
    case 'test-status':
    case 'download':
    case 'http-only':
      return bool
    case 'delete':
      return p === '/access/acl'
        ? bool
        : list(['x', 'userid', 'comment;x', 'Comment', 'comment\u0000', '..', 'email ', 'x'.repeat(300)])
    case 'statusfilter':
      return list(['x', 'OK', 'ok;rm', 'ok\u0000', 'running', 'x'.repeat(300)])
    case 'notes':
      return { strings: [], json: ['x'.repeat(1024 * 1024 + 17), 12, [], {}, true] }
    case 'comment':
      return str(hostileComments())
    case 'firstname':
    case 'lastname':
    case 'email':
      return str([...hostileComments(64), 'x'])
    case 'password':
      // Any string is a valid password for a login attempt or the ignored user-update field.
      return p === '/access/ticket' || p === '/access/users/{userid}' ? str([]) : str(hostilePasswords())
    case 'confirmation-password':
    case 'tfa-challenge':
    case 'privs':
    case 'userfilter':
    case 'typefilter':
      return str([]) // free text: only wrong types and repeats are hostile
    case 'digest':
      return str(hostileDigests())
    case 'path':
      return str(hostileAclPaths())
    case 'role':
      return str(hostileRoles())
    case 'node':
      return str(hostileNodes())
    case 'upid':
      return str(hostileUpids())
    default:
      throw new Error(`no hostile values for parameter '${param}' of ${ep.method} ${ep.path}`)
  }
}

/** Unknown keys (each must be refused as an additional property, naming the key). */
const UNKNOWN_KEYS = [
  '../../etc/passwd',
  'ns\u0000',
  'Store',
  'x'.repeat(200),
  '__proto__',
  'constructor',
  'ѕtore',
]

/** Fills the URI parameters into a path (percent-encoded). */
function fillPath(path: string, uri: Record<string, string>): string {
  return path.replace(/\{([a-z-]+)\}/g, (_, k: string) => encodeURIComponent(uri[k] ?? ''))
}

/** All requests to try. */
function cases(): Case[] {
  const out: Case[] = []
  for (const ep of ENDPOINTS) {
    const route = `${ep.method} ${ep.path}`
    const body = ep.method === 'POST' || ep.method === 'PUT'
    // The modes a client may use: GET/DELETE query; POST JSON; PUT both (pbs-client uses the
    // query, JSON clients the body); raw handlers only the query.
    const modes: Mode[] =
      ep.queryOnly || !body ? ['query'] : ep.method === 'PUT' ? ['json', 'query'] : ['json']
    const uri = ep.uri ?? {}
    const path = fillPath(ep.path, uri)
    for (const mode of modes) {
      for (const param of Object.keys(ep.base)) {
        const v = valuesFor(ep, param)
        const list: unknown[] = mode === 'json' ? [...v.strings, ...v.json] : v.strings
        for (const value of list)
          out.push({
            method: ep.method,
            route,
            path,
            mode,
            params: { ...ep.base, [param]: value },
            param,
            inPath: false,
          })
        // A scalar given twice (form) — an array where a scalar is expected.
        if (mode === 'query' && !Array.isArray(ep.base[param]))
          out.push({
            method: ep.method,
            route,
            path,
            mode,
            params: { ...ep.base, [param]: [String(ep.base[param]), String(ep.base[param])] },
            param,
            inPath: false,
          })
      }
      // Namespace cycles: a namespace moved onto itself or into its own subtree (dry run).
      if (ep.path.endsWith('/move-namespace'))
        for (const [ns, target] of [
          ['ok', 'ok'],
          ['ok', 'ok/x'],
          ['ok2', 'ok2'],
          ['ok2', 'ok2/ok'],
          ['', 'x'],
        ] as const) {
          const params = { ...ep.base, ns, 'target-ns': target, 'dry-run': true }
          out.push({
            method: ep.method,
            route,
            path,
            mode,
            params,
            param: ns === '' ? 'ns' : 'target-ns',
            inPath: false,
          })
        }
      // A body over the 512 KiB limit, in the first parameter.
      const first = Object.keys(ep.base)[0]
      if (mode === 'json' && first !== undefined)
        out.push({
          method: ep.method,
          route,
          path,
          mode,
          params: { ...ep.base, [first]: 'x'.repeat(600 * 1024) },
          param: first,
          inPath: false,
        })
      for (const key of UNKNOWN_KEYS)
        out.push({
          method: ep.method,
          route,
          path,
          mode,
          params: { ...ep.base, [key]: '1' },
          param: key,
          inPath: false,
        })
    }
    // Hostile URI parameters. '' and dot segments change the route itself: those only need a
    // clear 4xx (404 names the path).
    for (const param of Object.keys(uri)) {
      const v = valuesFor(ep, param)
      for (const value of v.strings)
        out.push({
          method: ep.method,
          route,
          path: fillPath(ep.path, { ...uri, [param]: value }),
          mode: modes[0]!,
          params: ep.base,
          param,
          // '' and dot segments change or break the route itself (404, or PBS's raw
          // "path contains illegal components" for a component starting with '.').
          inPath: value === '' || value.startsWith('.'),
        })
    }
  }
  return out
}

/** Query string with repeated keys for arrays. */
function queryString(params: Record<string, unknown>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x))
    else q.append(k, String(v))
  }
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

describe('hostile input against the API', () => {
  let fx: ServerFixture
  before(async () => {
    fx = await ServerFixture.create('pbs-store-hostile-api-')
    for (const n of ['ok', 'ok2']) await createNamespace(fx.store, BackupNamespace.parse(n))
    await makeFakeSnapshot(fx.store, BackupNamespace.parse('ok'), 'vm', '100', T0, { owner: 'admin@pbs' })
    await fx.access.createUser('u1@pbs', {}, 'user-password')
    await fx.access.createToken('u1@pbs', 'tk')
  })
  after(async () => {
    await fx.close()
  })

  it('attacks every route and every parameter of its schema', () => {
    const missing: string[] = []
    for (const r of [...accessRoutes, ...datastoreRoutes, ...jobRoutes, ...taskRoutes]) {
      const ep = ENDPOINTS.find((e) => e.method === r.method && e.path === r.path)
      if (!ep) {
        missing.push(`${r.method} ${r.path}`)
        continue
      }
      for (const name of Object.keys(r.params))
        if (!(name in ep.base) && !(name in (ep.uri ?? {}))) missing.push(`${r.method} ${r.path} ${name}`)
    }
    assert.deepEqual(missing, [], 'routes or parameters without hostile values')
  })

  it('refuses every hostile value with a 4xx naming the parameter and changes nothing', async () => {
    const all = cases()
    assert.ok(all.length >= 2000, `only ${all.length} cases`)
    const home = fx.home
    const beforeTree = await tree(home.dir, home.installation.lockDir)
    const failures: string[] = []
    let huge = 0
    let uriTooLong = 0
    let fiveXX = 0
    let router = 0
    const routes = new Set<string>()
    for (const c of all) {
      routes.add(c.route)
      const res = await fx.server.app.inject({
        method: c.method,
        url: `/api2/json${c.path}${c.mode === 'query' ? queryString(c.params) : ''}`,
        headers: {
          ...fx.admin.headers,
          ...(c.mode === 'json' ? { 'content-type': 'application/json' } : {}),
          ...(c.mode === 'query' && c.method === 'PUT'
            ? { 'content-type': 'application/x-www-form-urlencoded' }
            : {}),
        },
        ...(c.mode === 'json' ? { payload: JSON.stringify(c.params) } : {}),
      })
      const text = res.body
      const value = c.inPath ? '(path)' : c.params[c.param]
      const label = `${c.method} ${c.path.slice(0, 90)} [${c.mode}] ${c.param}=${JSON.stringify(value)?.slice(0, 60)}`
      const isHuge = typeof value === 'string' && value.length > 512 * 1024
      if (isHuge) huge++
      if (res.statusCode >= 500) fiveXX++
      if (res.statusCode < 400 || res.statusCode >= 500)
        failures.push(`${res.statusCode}: ${label} → ${text.slice(0, 160)}`)
      else if (res.statusCode === 414)
        uriTooLong++ // PBS-style: an overlong URL is refused before routing
      else if (isHuge) {
        if (!/body too large/i.test(text))
          failures.push(`unclear ${res.statusCode}: ${label} → ${text.slice(0, 160)}`)
      } else if (c.inPath) {
        router++
        if (text.trim() === '') failures.push(`empty ${res.statusCode}: ${label}`)
      } else if (!text.includes(`'${c.param}'`) || text.startsWith('parameter verification failed:\n'))
        // several parameter errors at once would mean the base values are wrong
        failures.push(`unclear ${res.statusCode}: ${label} → ${text.slice(0, 200)}`)
    }
    if (process.env.HOSTILE_DUMP) await writeFile(process.env.HOSTILE_DUMP, failures.join('\n'))
    const ping = await fx.call('GET', '/ping', {})
    assert.equal(ping.status, 200, 'the server still answers')
    assert.deepEqual(
      failures.slice(0, 30),
      [],
      `${failures.length} of ${all.length} requests not refused clearly`,
    )
    const afterTree = await tree(home.dir, home.installation.lockDir)
    const changed = [...new Set([...beforeTree.keys(), ...afterTree.keys()])].filter(
      (p) => beforeTree.get(p) !== afterTree.get(p),
    )
    assert.deepEqual(changed, [], 'no file created or changed')
    assert.equal(routes.size, ENDPOINTS.length)
    console.log(
      `# hostile API inputs: ${all.length} requests over ${routes.size} endpoints (${huge} bodies > 512 KiB), ` +
        `4xx naming the parameter: ${all.length - failures.length - uriTooLong - router - huge}, ` +
        `4xx from the router for a broken path element: ${router}, 400 body too large: ${huge}, 414 URI too long: ${uriTooLong}, ` +
        `5xx: ${fiveXX}, files changed: ${changed.length}`,
    )
  })
})
