/**
 * Access endpoints (spec/pbs-api.md §2.2, §4.1, §4.16–§4.18): version, ticket login/logout,
 * users, tokens, passwords, ACLs, roles, realms, permissions.
 */
import { normalizeAclPath, aclPathComponents, lookupPrivs, SUPERUSER } from '../../config/acl-config.js'
import { PRIV, PRIVILEGE_NAMES, ROLES } from '../../config/privileges.js'
import type { TokenEntry, UserEntry } from '../../config/user-config.js'
import { AuthenticationError, NotFoundError, PermissionError, ValidationError } from '../../errors.js'
import type { AuthInfo } from '../authenticate.js'
import { ticketFromCookies } from '../authenticate.js'
import {
  DIGEST,
  aclPathParam,
  authidParam,
  boolParam,
  commentParam,
  passwordParam,
  safeIdParam,
  useridParam,
  type ParamSchema,
  type StringParam,
} from '../params.js'
import { checkPrivs, hasAnyPriv } from '../permissions.js'
import { RAW_REPLY, type ApiCall, type Endpoint } from '../router.js'
import type { ServerContext } from '../server-context.js'
import { createCsrfToken, createTicket, verifyTicket } from '../ticket.js'

const user = { kind: 'user' } as const
const world = { kind: 'world' } as const

/** Server version reported to clients (PBS API level we follow) and our own package version. */
export const API_VERSION = { version: '4.2', release: '3', repoid: 'pbs-store-0.1.0' }

const FIELD: StringParam = { ...commentParam('Free text (2–64 characters).'), minLength: 2, maxLength: 64 }
const EXPIRE = {
  type: 'integer',
  minimum: 0,
  optional: true,
  description: 'Expiry (epoch; 0 = never).',
} as const
const USER_FIELDS: ParamSchema = {
  comment: commentParam(),
  enable: boolParam('Enable the account.'),
  expire: EXPIRE,
  firstname: FIELD,
  lastname: FIELD,
  email: FIELD,
}
const TOKEN_FIELDS: ParamSchema = {
  comment: commentParam(),
  enable: boolParam('Enable the token.'),
  expire: EXPIRE,
}
/** Permission texts of the checkUserAccess endpoints (writing, reading). */
const SELF_OR_MODIFY = 'Permissions.Modify on /access/users, or the user itself.'
const SELF_OR_AUDIT = 'Sys.Audit on /access/users, or the user itself.'
const USERID_URI = useridParam('User id (`name@realm`).')
const TOKEN_NAME: StringParam = { ...safeIdParam('Token name.'), maxLength: 64 }

/** The given fields of `schema` present in the parameters. */
function pick<T extends object>(p: Record<string, unknown>, schema: ParamSchema): T {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(schema)) if (p[k] !== undefined) out[k] = p[k]
  return out as T
}

/**
 * Users may manage themselves (not as a token); others need Permissions.Modify (or Sys.Audit for
 * reading) on /access/users.
 * @throws PermissionError
 */
async function checkUserAccess(
  ctx: ServerContext,
  auth: AuthInfo,
  userid: string,
  read: boolean,
): Promise<void> {
  if (auth.authid === userid) return
  // PBS: Sys.Audit for reading, Permissions.Modify for writing (not either for both).
  await checkPrivs(ctx, auth, '/access/users', read ? PRIV.SysAudit : PRIV.PermissionsModify)
}

/** The `userid` parameter, after checkUserAccess for the caller. */
async function accessibleUserid(call: ApiCall, read: boolean): Promise<string> {
  const userid = call.params.userid as string
  await checkUserAccess(call.ctx, call.auth, userid, read)
  return userid
}

function tokenItem(t: TokenEntry): Record<string, unknown> {
  return {
    tokenid: t.tokenid,
    ...(t.comment !== undefined ? { comment: t.comment } : {}),
    ...(t.enable !== undefined ? { enable: t.enable } : {}),
    ...(t.expire !== undefined ? { expire: t.expire } : {}),
  }
}

function userItem(u: UserEntry): Record<string, unknown> {
  const { userid, ...rest } = u
  return { userid, ...rest }
}

/** Sends the ticket endpoint's own body shape. */
function sendTicketBody(call: ApiCall, data: Record<string, unknown>, cookie?: string): symbol {
  if (cookie !== undefined) void call.reply.header('set-cookie', cookie)
  void call.reply
    .code(200)
    .type('application/json')
    .send(JSON.stringify({ data, status: 200, success: true }))
  return RAW_REPLY
}

async function loginFailure(call: ApiCall): Promise<symbol> {
  await new Promise((r) => setTimeout(r, call.ctx.authFailureDelayMs))
  void call.reply.code(401).type('application/json;charset=UTF-8').send('permission check failed.')
  return RAW_REPLY
}

export const accessRoutes: Endpoint[] = [
  {
    method: 'GET',
    path: '/version',
    description: 'API version information.',
    permission: 'Any authenticated user.',
    access: user,
    params: {},
    handler: () => Promise.resolve(API_VERSION),
  },
  {
    method: 'GET',
    path: '/ping',
    description: 'Liveness check.',
    permission: 'Anybody.',
    access: world,
    params: {},
    handler: () => Promise.resolve({ pong: true }),
  },
  {
    method: 'POST',
    path: '/access/ticket',
    description:
      'Log in (or renew a ticket): returns `ticket` and `CSRFPreventionToken`; with http-only the ticket is set as the `__Host-PBSAuthCookie` cookie.',
    permission: 'Anybody.',
    access: world,
    params: {
      username: useridParam('User id (`name@realm`).'),
      password: {
        type: 'string',
        optional: true,
        secret: true,
        description: 'Password, or a valid ticket to renew.',
      },
      'tfa-challenge': {
        type: 'string',
        optional: true,
        description: 'Second-factor challenge (not supported).',
      },
      path: aclPathParam('Terminal ticket path (not supported).', true),
      privs: { type: 'string', optional: true, description: 'Terminal ticket privileges (not supported).' },
      port: {
        type: 'integer',
        optional: true,
        minimum: 0,
        maximum: 65535,
        description: 'Terminal port (not supported).',
      },
      'http-only': boolParam('Return the ticket as an HttpOnly cookie.', false),
    },
    handler: async (call) => {
      const { ctx } = call
      const username = call.params.username as string
      const password = call.params.password as string | undefined
      const httpOnly = call.params['http-only'] as boolean
      if (password === undefined) throw new ValidationError('password', undefined, 'no password provided')
      try {
        if (!(await ctx.access.isActive(username)))
          throw new AuthenticationError('user account disabled or expired.')
        const candidates = [...(httpOnly ? [ticketFromCookies(call.request.headers.cookie)] : []), password]
        let ok = false
        for (const c of candidates) {
          if (c === undefined || !c.startsWith('PBS:')) continue
          try {
            if (verifyTicket(ctx.keys, c) === username) ok = true
          } catch {
            // not a valid ticket: fall through to the password check
          }
          if (ok) break
        }
        if (!ok) {
          const realm = username.slice(username.lastIndexOf('@') + 1)
          if (realm !== 'pbs' && realm !== 'pam') throw new AuthenticationError(`unknown realm '${realm}'`)
          ok = await ctx.access.verifyPassword(username, password)
        }
        if (!ok) throw new AuthenticationError('invalid credentials')
      } catch (e) {
        if (e instanceof AuthenticationError) return loginFailure(call)
        throw e
      }
      const ticket = createTicket(ctx.keys, username)
      const csrf = createCsrfToken(ctx.keys, username)
      if (httpOnly)
        return sendTicketBody(
          call,
          {
            username,
            CSRFPreventionToken: csrf,
            'ticket-info': `${ticket.slice(0, ticket.lastIndexOf('::'))}::ticketinfo`,
          },
          `__Host-PBSAuthCookie=${encodeURIComponent(ticket)}; Secure; SameSite=Lax; HttpOnly; Path=/;`,
        )
      return sendTicketBody(call, { username, ticket, CSRFPreventionToken: csrf })
    },
  },
  {
    method: 'DELETE',
    path: '/access/ticket',
    description: 'Log out: expires the HttpOnly cookie.',
    permission: 'Anybody.',
    access: world,
    params: {},
    handler: (call) =>
      Promise.resolve(
        sendTicketBody(
          call,
          {},
          '__Host-PBSAuthCookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax; HttpOnly; Path=/;',
        ),
      ),
  },
  {
    method: 'GET',
    path: '/access/domains',
    description: 'Authentication realms.',
    permission: 'Anybody.',
    access: world,
    params: {},
    handler: () =>
      Promise.resolve([
        {
          realm: 'pam',
          type: 'pam',
          comment: 'Linux PAM standard authentication (no password login in pbs-store)',
        },
        { realm: 'pbs', type: 'pbs', comment: 'Proxmox Backup authentication server', default: true },
      ]),
  },
  {
    method: 'GET',
    path: '/access/users',
    description: 'List users (and with include_tokens their tokens).',
    permission: 'Everyone sees their own user; Sys.Audit on /access/users shows all.',
    access: user,
    params: { include_tokens: boolParam('Include the API tokens.', false) },
    handler: async (call) => {
      const { config, digest } = await call.ctx.access.users()
      const all = await hasAnyPriv(call.ctx, call.auth, '/access/users', PRIV.SysAudit)
      const out: Record<string, unknown>[] = []
      for (const u of config.users.values()) {
        if (!all && u.userid !== call.auth.userid) continue
        const item = userItem(u)
        if (call.params.include_tokens) {
          const tokens = [...config.tokens.values()]
            .filter((t) => t.tokenid.startsWith(`${u.userid}!`))
            .map(tokenItem)
          if (tokens.length > 0) item.tokens = tokens
        }
        out.push(item)
      }
      call.attributes.digest = digest
      return out
    },
  },
  {
    method: 'POST',
    path: '/access/users',
    description: 'Create a user (a password only for the `pbs` realm).',
    permission: 'Permissions.Modify on /access/users.',
    access: { kind: 'privs', path: () => '/access/users', privs: PRIV.PermissionsModify },
    params: {
      userid: useridParam('User id (`name@realm`).'),
      ...USER_FIELDS,
      password: passwordParam('Password (8–64 characters).', true),
    },
    handler: async (call) => {
      const p = call.params
      await call.ctx.access.createUser(
        p.userid as string,
        pick(p, USER_FIELDS),
        p.password as string | undefined,
      )
      return null
    },
  },
  {
    method: 'GET',
    path: '/access/users/{userid}',
    description: 'Read one user.',
    permission: SELF_OR_AUDIT,
    access: user,
    params: { userid: USERID_URI },
    handler: async (call) => {
      const userid = await accessibleUserid(call, true)
      const { config, digest } = await call.ctx.access.users()
      const u = config.users.get(userid)
      if (!u) throw new NotFoundError(`user '${userid}' does not exist.`)
      call.attributes.digest = digest
      return userItem(u)
    },
  },
  {
    method: 'PUT',
    path: '/access/users/{userid}',
    description: 'Update a user (`delete` removes fields).',
    permission: SELF_OR_MODIFY,
    access: user,
    params: {
      userid: USERID_URI,
      ...USER_FIELDS,
      delete: {
        type: 'array',
        optional: true,
        items: ['comment', 'firstname', 'lastname', 'email'],
        description: 'Fields to remove.',
      },
      digest: DIGEST,
      password: { type: 'string', optional: true, description: 'Ignored (use PUT /access/password).' },
    },
    handler: async (call) => {
      const p = call.params
      const userid = await accessibleUserid(call, false)
      await call.ctx.access.updateUser(
        userid,
        pick(p, USER_FIELDS),
        (p.delete as string[] | undefined) ?? [],
        p.digest as string | undefined,
      )
      return null
    },
  },
  {
    method: 'DELETE',
    path: '/access/users/{userid}',
    description: 'Delete a user with its tokens, secrets and ACL entries.',
    permission: SELF_OR_MODIFY,
    access: user,
    params: { userid: USERID_URI, digest: DIGEST },
    handler: async (call) => {
      const userid = await accessibleUserid(call, false)
      if (userid === SUPERUSER)
        throw new ValidationError('userid', SUPERUSER, 'the superuser cannot be deleted')
      await call.ctx.access.deleteUser(userid, call.params.digest as string | undefined)
      return null
    },
  },
  {
    method: 'PUT',
    path: '/access/password',
    description: "Change a pbs-realm user's password.",
    permission:
      'The user itself (with its current password as confirmation-password), or Permissions.Modify on /.',
    access: user,
    params: {
      userid: useridParam('User id.'),
      password: passwordParam('New password.'),
      'confirmation-password': {
        type: 'string',
        optional: true,
        description: 'Current password of the caller.',
      },
    },
    handler: async (call) => {
      if (call.auth.tokenName !== undefined)
        throw new PermissionError('API tokens cannot access this API endpoint')
      const userid = call.params.userid as string
      const admin = await hasAnyPriv(call.ctx, call.auth, '/', PRIV.PermissionsModify)
      if (!admin) {
        if (userid !== call.auth.userid)
          throw new PermissionError(`missing permissions 'Permissions.Modify' on '/'`)
        const current = call.params['confirmation-password'] as string | undefined
        if (current === undefined || !(await call.ctx.access.verifyPassword(userid, current)))
          throw new PermissionError('permission check failed - wrong confirmation password')
      }
      await call.ctx.access.setPassword(userid, call.params.password as string)
      return null
    },
  },
  {
    method: 'GET',
    path: '/access/users/{userid}/token',
    description: "List a user's API tokens.",
    permission: SELF_OR_AUDIT,
    access: user,
    params: { userid: USERID_URI },
    handler: async (call) => {
      const userid = await accessibleUserid(call, true)
      const { config, digest } = await call.ctx.access.users()
      if (!config.users.has(userid)) throw new NotFoundError(`user '${userid}' does not exist.`)
      call.attributes.digest = digest
      return [...config.tokens.values()]
        .filter((t) => t.tokenid.startsWith(`${userid}!`))
        .map((t) => ({ 'token-name': t.tokenid.slice(userid.length + 1), ...tokenItem(t) }))
    },
  },
  {
    method: 'GET',
    path: '/access/users/{userid}/token/{token-name}',
    description: 'Read one API token.',
    permission: SELF_OR_AUDIT,
    access: user,
    params: { userid: USERID_URI, 'token-name': TOKEN_NAME },
    handler: async (call) => {
      const userid = await accessibleUserid(call, true)
      const { config, digest } = await call.ctx.access.users()
      const t = config.tokens.get(`${userid}!${String(call.params['token-name'])}`)
      if (!t)
        throw new NotFoundError(
          `token '${String(call.params['token-name'])}' of user '${userid}' does not exist.`,
        )
      call.attributes.digest = digest
      return tokenItem(t)
    },
  },
  {
    method: 'POST',
    path: '/access/users/{userid}/token/{token-name}',
    description: 'Create an API token; returns `{tokenid, value}` — the secret is shown only here.',
    permission: SELF_OR_MODIFY,
    access: user,
    params: { userid: USERID_URI, 'token-name': TOKEN_NAME, ...TOKEN_FIELDS, digest: DIGEST },
    handler: async (call) => {
      const userid = await accessibleUserid(call, false)
      const name = call.params['token-name'] as string
      const value = await call.ctx.access.createToken(
        userid,
        name,
        pick(call.params, TOKEN_FIELDS),
        call.params.digest as string | undefined,
      )
      return { tokenid: `${userid}!${name}`, value }
    },
  },
  {
    method: 'PUT',
    path: '/access/users/{userid}/token/{token-name}',
    description: 'Update an API token; with regenerate returns `{secret}`.',
    permission: SELF_OR_MODIFY,
    access: user,
    params: {
      userid: USERID_URI,
      'token-name': TOKEN_NAME,
      ...TOKEN_FIELDS,
      regenerate: boolParam('Generate a new secret.', false),
      delete: { type: 'array', optional: true, items: ['comment'], description: 'Fields to remove.' },
      digest: DIGEST,
    },
    handler: async (call) => {
      const userid = await accessibleUserid(call, false)
      const secret = await call.ctx.access.updateToken(
        userid,
        call.params['token-name'] as string,
        pick(call.params, TOKEN_FIELDS),
        {
          regenerate: call.params.regenerate as boolean,
          remove: (call.params.delete as string[] | undefined) ?? [],
          ...(call.params.digest === undefined ? {} : { digest: call.params.digest as string }),
        },
      )
      return secret === undefined ? null : { secret }
    },
  },
  {
    method: 'DELETE',
    path: '/access/users/{userid}/token/{token-name}',
    description: 'Delete an API token with its secret and ACL entries.',
    permission: SELF_OR_MODIFY,
    access: user,
    params: { userid: USERID_URI, 'token-name': TOKEN_NAME, digest: DIGEST },
    handler: async (call) => {
      const userid = await accessibleUserid(call, false)
      await call.ctx.access.deleteToken(
        userid,
        call.params['token-name'] as string,
        call.params.digest as string | undefined,
      )
      return null
    },
  },
  {
    method: 'GET',
    path: '/access/acl',
    description: 'Read ACL entries (`exact` = only that path, otherwise the subtree).',
    permission: "Sys.Audit on /access/acl shows all entries; others see only their own tokens' entries.",
    access: user,
    params: {
      path: aclPathParam('ACL path.', true),
      exact: boolParam('Only the given path.', false),
    },
    handler: async (call) => {
      const { config, digest } = await call.ctx.access.acl()
      const audit = await hasAnyPriv(call.ctx, call.auth, '/access/acl', PRIV.SysAudit)
      const path = call.params.path === undefined ? undefined : normalizeAclPath(call.params.path as string)
      call.attributes.digest = digest
      return config.entries
        .filter((e) => {
          if (path !== undefined) {
            if (
              call.params.exact
                ? e.path !== path
                : !(e.path === path || e.path.startsWith(path === '/' ? '/' : `${path}/`))
            )
              return false
          }
          if (audit) return true
          return call.auth.tokenName === undefined && e.ugid.startsWith(`${call.auth.userid}!`)
        })
        .map((e) => ({
          path: e.path,
          ugid: e.ugid,
          ugid_type: e.ugid.startsWith('@') ? 'group' : 'user',
          propagate: e.propagate,
          roleid: e.roleid,
        }))
    },
  },
  {
    method: 'PUT',
    path: '/access/acl',
    description: 'Add (or with delete=1 remove) an ACL entry.',
    permission:
      'Permissions.Modify on /access/acl; without it a user may only change entries of its own tokens.',
    access: user,
    params: {
      path: aclPathParam('ACL path, e.g. /datastore/store1/ns1.'),
      role: {
        type: 'string',
        description: 'Role name.',
        parse: (v, n) => {
          if (!Object.hasOwn(ROLES, v))
            throw new ValidationError(n, v, `value '${v}' is not defined in the enumeration.`)
          return v
        },
      },
      propagate: boolParam('Inherit to sub-paths.', true),
      'auth-id': authidParam('User or token the entry is for.', true),
      group: { type: 'string', optional: true, description: 'Group (not supported).' },
      delete: boolParam('Remove the entry instead.', false),
      digest: DIGEST,
    },
    handler: async (call) => {
      const p = call.params
      if (p.group !== undefined)
        throw new ValidationError('group', p.group, 'groups are currently not supported.')
      const authid = p['auth-id'] as string | undefined
      if (authid === undefined)
        throw new ValidationError('auth-id', undefined, "missing 'userid' or 'group' parameter.")
      const admin = await hasAnyPriv(call.ctx, call.auth, '/access/acl', PRIV.PermissionsModify)
      if (!admin) {
        if (call.auth.tokenName !== undefined)
          throw new PermissionError("Unprivileged API tokens can't set ACL items.")
        if (!authid.includes('!'))
          throw new PermissionError('Unprivileged users can only set ACL items for API tokens.')
        if (!authid.startsWith(`${call.auth.userid}!`))
          throw new PermissionError('Unprivileged users can only set ACL items for their own API tokens.')
      }
      await call.ctx.access.modifyAcl({
        path: p.path as string,
        role: p.role as string,
        authid,
        propagate: p.propagate as boolean,
        remove: p.delete as boolean,
        ...(p.digest === undefined ? {} : { digest: p.digest as string }),
      })
      return null
    },
  },
  {
    method: 'GET',
    path: '/access/roles',
    description: 'The built-in roles and their privileges.',
    permission: 'Any authenticated user.',
    access: user,
    params: {},
    handler: () =>
      Promise.resolve(
        Object.entries(ROLES).map(([roleid, r]) => ({
          roleid,
          privs: PRIVILEGE_NAMES.filter((_, i) => (r.privs & (1 << i)) !== 0),
          comment: r.comment,
        })),
      ),
  },
  {
    method: 'GET',
    path: '/access/permissions',
    description: 'Effective privileges per ACL path: `{path: {privilege: propagate}}`.',
    permission: "Own permissions; another auth id's with Sys.Audit on /access, or a user for its own tokens.",
    access: user,
    params: {
      'auth-id': authidParam('Whose permissions (default: the caller).', true),
      path: aclPathParam('Only this path.', true),
    },
    handler: async (call) => {
      const target = (call.params['auth-id'] as string | undefined) ?? call.auth.authid
      if (target !== call.auth.authid) {
        const own = call.auth.tokenName === undefined && target.startsWith(`${call.auth.userid}!`)
        if (!own && !(await hasAnyPriv(call.ctx, call.auth, '/access', PRIV.SysAudit)))
          throw new PermissionError(`not allowed to list permissions of ${target}`)
      }
      const acl = (await call.ctx.access.acl()).config
      const paths = new Set<string>()
      if (call.params.path !== undefined) paths.add(normalizeAclPath(call.params.path as string))
      else {
        for (const p of ['/', '/access', '/datastore', '/remote', '/system']) paths.add(p)
        for (const e of acl.entries) paths.add(e.path)
      }
      const out: Record<string, Record<string, boolean>> = {}
      for (const path of [...paths].sort(
        (a, b) => aclPathComponents(a).length - aclPathComponents(b).length || (a < b ? -1 : 1),
      )) {
        const [privs, propagated] = lookupPrivs(acl, target, path)
        if (privs === 0) continue
        const item: Record<string, boolean> = {}
        PRIVILEGE_NAMES.forEach((name, i) => {
          if ((privs & (1 << i)) !== 0) item[name] = (propagated & (1 << i)) !== 0
        })
        out[path] = item
      }
      return out
    },
  },
]
