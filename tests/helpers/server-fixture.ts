import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import type { AccessConfig } from '../../src/config/access-config.js'
import { addDatastore, updateDatastoreConfig } from '../../src/config/datastore-config.js'
import type { Installation } from '../../src/config/installation.js'
import { configLock } from '../../src/datastore/config-lock.js'
import { Datastore } from '../../src/datastore/index.js'
import { buildServer, type PbsServer } from '../../src/server/build-server.js'
import { makeTempHome, type TempHome } from './temp-home.js'

/** A parsed inject answer. */
export interface ApiAnswer {
  status: number
  /** Parsed JSON body (undefined when the body is not JSON). */
  json: Record<string, unknown> | undefined
  /** `json.data`. */
  data: unknown
  text: string
  headers: Record<string, unknown>
}

/** Credentials of a test identity: the header to send. */
export interface Identity {
  authid: string
  /** Authentication headers (token Authorization, or ticket cookie plus CSRF token). */
  headers: Record<string, string>
}

/**
 * A temp installation with one datastore (`store1`), the user `admin@pbs` (Admin on /) and its
 * token `admin@pbs!t` (Admin on /), and a server app for inject(). Delays are off.
 */
export class ServerFixture {
  readonly home: TempHome
  readonly server: PbsServer
  readonly store: Datastore
  readonly admin: Identity
  readonly access: AccessConfig

  private constructor(home: TempHome, server: PbsServer, store: Datastore, admin: Identity) {
    this.home = home
    this.server = server
    this.store = store
    this.admin = admin
    this.access = server.ctx.access
  }

  /** Creates the fixture. */
  static async create(prefix = 'pbs-store-server-'): Promise<ServerFixture> {
    const home = await makeTempHome(prefix)
    const store = await createLightDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    const server = await buildServer({
      installation: home.installation,
      webRoot: join(home.dir, 'no-web-ui'),
      authFailureDelayMs: 0,
      permissionDeniedDelayMs: 0,
    })
    const access = server.ctx.access
    await access.createUser('admin@pbs', {}, 'admin-password')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs' })
    const secret = await access.createToken('admin@pbs', 't')
    await access.modifyAcl({ path: '/', role: 'Admin', authid: 'admin@pbs!t' })
    return new ServerFixture(home, server, store, {
      authid: 'admin@pbs!t',
      headers: { authorization: `PBSAPIToken=admin@pbs!t:${secret}` },
    })
  }

  /**
   * Creates a user with one token; `acl` entries go to the user, `tokenAcl` to the token
   * (default: the same as the user's).
   */
  async identity(
    userid: string,
    acl: [string, string][],
    tokenAcl: [string, string][] = acl,
    password = 'user-password',
  ): Promise<{ user: Identity; token: Identity }> {
    const { config } = await this.access.users()
    if (!config.users.has(userid)) await this.access.createUser(userid, {}, password)
    const name = `t${Math.random().toString(36).slice(2, 8)}`
    const secret = await this.access.createToken(userid, name)
    for (const [path, role] of acl) await this.access.modifyAcl({ path, role, authid: userid })
    for (const [path, role] of tokenAcl)
      await this.access.modifyAcl({ path, role, authid: `${userid}!${name}` })
    const login = await this.call('POST', '/access/ticket', { username: userid, password }, null)
    const d = login.data as { ticket: string; CSRFPreventionToken: string }
    return {
      user: {
        authid: userid,
        headers: {
          cookie: `PBSAuthCookie=${encodeURIComponent(d.ticket)}`,
          csrfpreventiontoken: d.CSRFPreventionToken,
        },
      },
      token: {
        authid: `${userid}!${name}`,
        headers: { authorization: `PBSAPIToken=${userid}!${name}:${secret}` },
      },
    }
  }

  /** Calls the API in-process. `params` go to the query for GET/DELETE and to a JSON body otherwise. */
  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    params: Record<string, unknown> = {},
    who: Identity | null = this.admin,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const url = path.startsWith('/api2/') ? path : `/api2/json${path}`
    const useQuery = method === 'GET' || method === 'DELETE'
    const query = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]))
    const res = await this.server.app.inject({
      method,
      url,
      ...(useQuery
        ? { query }
        : { payload: JSON.stringify(params), headers: { 'content-type': 'application/json' } }),
      headers: {
        ...(useQuery ? {} : { 'content-type': 'application/json' }),
        ...(who ? who.headers : {}),
        ...headers,
      },
    })
    let json: Record<string, unknown> | undefined
    try {
      json = JSON.parse(res.body) as Record<string, unknown>
    } catch {
      json = undefined
    }
    return { status: res.statusCode, json, data: json?.data, text: res.body, headers: res.headers }
  }

  /** Polls a task until it stops; returns its final status. */
  async waitTask(
    upid: string,
    who: Identity = this.admin,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = await this.call('GET', `/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`, {}, who)
      const s = r.data as Record<string, unknown>
      if (r.status !== 200) throw new Error(`task status failed: ${r.status} ${r.text}`)
      if (s.status === 'stopped') return s
      if (Date.now() > deadline) throw new Error(`task ${upid} did not finish`)
      await new Promise((res) => setTimeout(res, 20))
    }
  }

  /** Closes the server and removes the temp home. */
  async close(): Promise<void> {
    await this.server.close()
    await this.home.cleanup()
  }
}

/**
 * Registers a datastore with an empty `.chunks` directory (no 65,536 prefix directories): enough
 * for every API path that does not store chunks (GC and verify tolerate the missing prefixes),
 * and seconds faster to create and remove than createDatastore on a busy machine.
 */
export async function createLightDatastore(
  installation: Installation,
  name: string,
  base: string,
): Promise<Datastore> {
  // GC inserts the 4 MiB zero chunk (digest bb9f…): its prefix directory must exist.
  await mkdir(join(base, '.chunks', 'bb9f'), { recursive: true })
  await writeFile(join(base, '.lock'), '')
  const entry = { name, path: base, backend: { type: 'filesystem' as const }, tuning: {} }
  await updateDatastoreConfig(installation.etcDir, configLock(installation), (cfg) =>
    addDatastore(cfg, entry),
  )
  return new Datastore(installation, entry)
}
