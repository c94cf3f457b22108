/**
 * The access operations of `user|token|acl …` through the server's access endpoints (remote
 * mode). The server decides with the caller's privileges; the rows match local mode's.
 */
import type { AccessClient } from '../client/index.js'
import type { AccessOps } from './access-ops.js'
import { aclRow } from './access-views.js'

/** AccessOps on top of the access endpoints. */
export function remoteAccessOps(access: AccessClient): AccessOps {
  return {
    async listUsers() {
      return (await access.listUsers(true)).map(({ tokens, ...u }) => ({
        ...u,
        tokens: (tokens ?? []).map((t) => t.tokenid),
      }))
    },
    createUser: (userid, fields, password) => access.createUser(userid, fields, password),
    updateUser: (userid, fields) => access.updateUser(userid, fields),
    setPassword: (userid, password, confirmation) => access.setPassword(userid, password, confirmation),
    deleteUser: (userid) => access.deleteUser(userid),
    createToken: async (userid, name, comment) => (await access.createToken(userid, name, { comment })).value,
    regenerateToken: (userid, name) => access.regenerateToken(userid, name),
    deleteToken: (userid, name) => access.deleteToken(userid, name),
    listAcl: async () => (await access.listAcl()).map(aclRow),
    modifyAcl: (c) => access.modifyAcl(c),
  }
}
