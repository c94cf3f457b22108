/**
 * Text and JSON renderings of the access commands (`user|token|acl …`), shared by local and
 * remote mode so both print the same for the same data.
 */
import type { CliContext } from './context.js'
import { emit, formatTable } from './output.js'

/** One row of `user list`: the user's properties and the ids of its tokens. */
export interface UserRow {
  userid: string
  comment?: string | undefined
  enable?: boolean | undefined
  expire?: number | undefined
  firstname?: string | undefined
  lastname?: string | undefined
  email?: string | undefined
  tokens: string[]
}

/** One row of `acl list` (the API's AclListItem shape). */
export interface AclRow {
  path: string
  ugid: string
  ugid_type: 'user' | 'group'
  propagate: boolean
  roleid: string
}

/** An ACL entry in the row shape (the type follows from the `@` of group ids). */
export function aclRow(e: { path: string; ugid: string; propagate: boolean; roleid: string }): AclRow {
  return {
    path: e.path,
    ugid: e.ugid,
    ugid_type: e.ugid.startsWith('@') ? 'group' : 'user',
    propagate: e.propagate,
    roleid: e.roleid,
  }
}

/** Prints `user list`. */
export function printUsers(ctx: CliContext, rows: readonly UserRow[]): void {
  emit(ctx.sink, ctx.format, rows, () =>
    formatTable(rows, [
      { header: 'userid', value: (r) => r.userid },
      { header: 'enable', value: (r) => r.enable ?? true },
      { header: 'expire', value: (r) => r.expire ?? 0 },
      { header: 'tokens', value: (r) => r.tokens.join(', ') },
      { header: 'comment', value: (r) => r.comment },
    ]),
  )
}

/** Prints `acl list`. */
export function printAcl(ctx: CliContext, rows: readonly AclRow[]): void {
  emit(ctx.sink, ctx.format, rows, () =>
    formatTable(rows, [
      { header: 'path', value: (r) => r.path },
      { header: 'auth-id', value: (r) => r.ugid },
      { header: 'role', value: (r) => r.roleid },
      { header: 'propagate', value: (r) => r.propagate },
    ]),
  )
}

/** Prints a new token secret (shown only once). */
export function printNewToken(ctx: CliContext, tokenid: string, value: string): void {
  emit(
    ctx.sink,
    ctx.format,
    { tokenid, value },
    () => `tokenid: ${tokenid}\nsecret:  ${value}\n(the secret is shown only once)\n`,
  )
}

/** Prints the regenerated secret of a token. */
export function printRegeneratedToken(ctx: CliContext, tokenid: string, secret: string): void {
  emit(ctx.sink, ctx.format, { tokenid, secret }, () => `tokenid: ${tokenid}\nsecret:  ${secret}\n`)
}

/** Prints a one-line confirmation with its JSON data. */
export function printDone(ctx: CliContext, data: Record<string, string>, text: string): void {
  emit(ctx.sink, ctx.format, data, () => `${text}\n`)
}
