/**
 * Typed calls of the access endpoints (spec/pbs-api.md §4.16–§4.18): users, API tokens,
 * passwords, ACLs and effective permissions. Reached as `PbsClient.access`.
 */
import { pathOf, type ApiClient, type Params } from './api-client.js'
import type { AclListItem, NewToken, PermissionMap, UserListItem } from './response-types.js'

/** Writable user properties (`undefined` leaves a property unchanged). */
export interface UserFields {
  comment?: string | undefined
  email?: string | undefined
  firstname?: string | undefined
  lastname?: string | undefined
  enable?: boolean | undefined
  /** Epoch; 0 = never. */
  expire?: number | undefined
}

/** One ACL change. */
export interface AclChange {
  path: string
  role: string
  authid: string
  /** Inherit to sub-paths (server default true). */
  propagate?: boolean | undefined
  /** Remove the entry instead of adding it. */
  remove?: boolean | undefined
}

/** Access endpoints on top of an ApiClient; see the module comment. */
export class AccessClient {
  readonly #api: ApiClient

  constructor(api: ApiClient) {
    this.#api = api
  }

  /** Users the caller may see (all with Sys.Audit on /access/users, else itself). */
  listUsers(includeTokens = true): Promise<UserListItem[]> {
    return this.#api.get('/access/users', { include_tokens: includeTokens })
  }

  /** Creates a user; a password only for the `pbs` realm. */
  async createUser(userid: string, fields: UserFields, password?: string): Promise<void> {
    await this.#api.post('/access/users', { userid, ...fieldParams(fields), password })
  }

  /** Changes user properties. */
  async updateUser(userid: string, fields: UserFields): Promise<void> {
    await this.#api.put(userPath(userid), fieldParams(fields))
  }

  /** Deletes a user with its tokens and ACL entries. */
  async deleteUser(userid: string): Promise<void> {
    await this.#api.delete(userPath(userid))
  }

  /**
   * Sets a pbs-realm user's password. Without Permissions.Modify on `/` only one's own, with the
   * current password as `confirmation`.
   */
  async setPassword(userid: string, password: string, confirmation?: string): Promise<void> {
    await this.#api.put('/access/password', { userid, password, 'confirmation-password': confirmation })
  }

  /** Creates an API token; the answer holds the secret, which is never shown again. */
  createToken(
    userid: string,
    name: string,
    fields: { comment?: string | undefined } = {},
  ): Promise<NewToken> {
    return this.#api.post(tokenPath(userid, name), { comment: fields.comment })
  }

  /** Replaces the secret of an API token; returns the new one. */
  async regenerateToken(userid: string, name: string): Promise<string> {
    const r = await this.#api.put<{ secret: string }>(tokenPath(userid, name), { regenerate: true })
    return r.secret
  }

  /** Deletes an API token with its ACL entries. */
  async deleteToken(userid: string, name: string): Promise<void> {
    await this.#api.delete(tokenPath(userid, name))
  }

  /** ACL entries the caller may see (below `path`, or exactly on it). */
  listAcl(options: { path?: string; exact?: boolean } = {}): Promise<AclListItem[]> {
    return this.#api.get('/access/acl', { path: options.path, exact: options.exact })
  }

  /** Adds or removes one ACL entry. */
  async modifyAcl(c: AclChange): Promise<void> {
    await this.#api.put('/access/acl', {
      path: c.path,
      role: c.role,
      'auth-id': c.authid,
      propagate: c.propagate,
      delete: c.remove === true ? true : undefined,
    })
  }

  /** Effective privileges of the caller (or of `authid`), per ACL path. */
  permissions(options: { authid?: string; path?: string } = {}): Promise<PermissionMap> {
    return this.#api.get('/access/permissions', { 'auth-id': options.authid, path: options.path })
  }
}

/** `/access/users/<userid>`. */
function userPath(userid: string): string {
  return pathOf('access', 'users', userid)
}

/** `/access/users/<userid>/token/<name>`. */
function tokenPath(userid: string, name: string): string {
  return `${userPath(userid)}${pathOf('token', name)}`
}

/** The user fields as API parameters (undefined ones left out). */
function fieldParams(f: UserFields): Params {
  return {
    comment: f.comment,
    email: f.email,
    firstname: f.firstname,
    lastname: f.lastname,
    enable: f.enable,
    expire: f.expire,
  }
}
