/**
 * What the access commands (`user|token|acl …`) do, as one interface with two implementations:
 * local (editing the installation's user.cfg, shadow files and acl.cfg through AccessConfig) and
 * remote (remote-access-ops.ts, the access endpoints). The commands are written once against it.
 */
import { AccessConfig } from '../config/access-config.js'
import { ValidationError } from '../errors.js'
import { aclRow, type AclRow, type UserRow } from './access-views.js'

/** User properties the commands set (undefined = leave unchanged). */
export interface UserChanges {
  comment?: string
  email?: string
  enable?: boolean
  expire?: number
}

/** One ACL change. */
export interface AclChangeRequest {
  path: string
  authid: string
  role: string
  propagate?: boolean
  remove?: boolean
}

/** The operations behind `user|token|acl …`. */
export interface AccessOps {
  listUsers(): Promise<UserRow[]>
  createUser(userid: string, fields: UserChanges, password: string | undefined): Promise<void>
  updateUser(userid: string, fields: UserChanges): Promise<void>
  /** `confirmation`: the caller's current password (the API wants it for one's own password). */
  setPassword(userid: string, password: string, confirmation: string | undefined): Promise<void>
  deleteUser(userid: string): Promise<void>
  /** Returns the secret. */
  createToken(userid: string, name: string, comment: string | undefined): Promise<string>
  /** Returns the new secret. */
  regenerateToken(userid: string, name: string): Promise<string>
  deleteToken(userid: string, name: string): Promise<void>
  listAcl(): Promise<AclRow[]>
  modifyAcl(change: AclChangeRequest): Promise<void>
}

/** The access operations on the local installation (the CLI acts as the superuser). */
export function localAccessOps(etcDir: string): AccessOps {
  const access = new AccessConfig(etcDir)
  return {
    async listUsers() {
      const { config } = await access.users()
      return [...config.users.values()].map((u) => ({
        ...u,
        tokens: [...config.tokens.keys()].filter((t) => t.startsWith(`${u.userid}!`)),
      }))
    },
    createUser: (userid, fields, password) => access.createUser(userid, fields, password),
    updateUser: (userid, fields) => access.updateUser(userid, fields),
    setPassword: (userid, password) => access.setPassword(userid, password),
    deleteUser: (userid) => access.deleteUser(userid),
    createToken: (userid, name, comment) =>
      access.createToken(userid, name, comment === undefined ? {} : { comment }),
    async regenerateToken(userid, name) {
      const secret = await access.updateToken(userid, name, {}, { regenerate: true })
      if (secret === undefined)
        throw new ValidationError('tokenid', `${userid}!${name}`, 'no new secret was generated')
      return secret
    },
    deleteToken: (userid, name) => access.deleteToken(userid, name),
    listAcl: async () => (await access.acl()).config.entries.map(aclRow),
    modifyAcl: (c) => access.modifyAcl(c),
  }
}
