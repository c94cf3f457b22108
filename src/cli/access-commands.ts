import type { Command } from 'commander'

import { parseAuthid, parseUserid } from '../api-types/index.js'
import { AccessConfig } from '../config/access-config.js'
import { ValidationError } from '../errors.js'
import { cliContext, parseBool } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** Reads a password from `--password` or the environment variable PBS_STORE_PASSWORD. */
function passwordFrom(opt: string | undefined, required: boolean): string | undefined {
  const p = opt ?? process.env.PBS_STORE_PASSWORD
  if (required && (p === undefined || p === ''))
    throw new ValidationError('--password', undefined, 'is required (or set PBS_STORE_PASSWORD)')
  return p === '' ? undefined : p
}

function accessOf(
  cmd: Command,
  sink: OutputSink,
): { access: AccessConfig; ctx: ReturnType<typeof cliContext> } {
  const ctx = cliContext(cmd, sink)
  return { access: new AccessConfig(ctx.installation.etcDir), ctx }
}

/**
 * `pbs-store user|token|acl …`: local management of users, API tokens and ACLs (editing user.cfg,
 * shadow.json, token.shadow and acl.cfg under their locks; a running server sees the changes).
 */
export function registerAccessCommands(program: Command, sink: OutputSink): void {
  const user = program.command('user').description('manage users (pbs realm)')
  user
    .command('list')
    .description('list users and their tokens')
    .action(async (_o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      const { config } = await access.users()
      const rows = [...config.users.values()].map((u) => ({
        ...u,
        tokens: [...config.tokens.keys()].filter((t) => t.startsWith(`${u.userid}!`)),
      }))
      emit(sink, ctx.format, rows, () =>
        formatTable(rows, [
          { header: 'userid', value: (r) => r.userid },
          { header: 'enable', value: (r) => r.enable ?? true },
          { header: 'expire', value: (r) => r.expire ?? 0 },
          { header: 'tokens', value: (r) => r.tokens.join(', ') },
          { header: 'comment', value: (r) => r.comment },
        ]),
      )
    })
  user
    .command('create <userid>')
    .description('create a user; the password comes from --password or PBS_STORE_PASSWORD')
    .option('--password <password>', 'password (8-64 characters)')
    .option('--comment <text>', 'comment')
    .option('--email <address>', 'e-mail address')
    .action(
      async (userid: string, o: { password?: string; comment?: string; email?: string }, cmd: Command) => {
        const { access, ctx } = accessOf(cmd, sink)
        parseUserid(userid, 'userid')
        await access.createUser(
          userid,
          { ...(o.comment ? { comment: o.comment } : {}), ...(o.email ? { email: o.email } : {}) },
          passwordFrom(o.password, false),
        )
        emit(sink, ctx.format, { userid }, () => `created user '${userid}'\n`)
      },
    )
  user
    .command('update <userid>')
    .description('change user properties')
    .option('--comment <text>', 'comment')
    .option('--email <address>', 'e-mail address')
    .option('--enable <bool>', 'enable or disable the account')
    .option('--expire <epoch>', 'expiry (epoch seconds, 0 = never)')
    .action(
      async (
        userid: string,
        o: { comment?: string; email?: string; enable?: string; expire?: string },
        cmd: Command,
      ) => {
        const { access, ctx } = accessOf(cmd, sink)
        const expire = o.expire === undefined ? undefined : Number(o.expire)
        if (expire !== undefined && (!Number.isSafeInteger(expire) || expire < 0))
          throw new ValidationError('--expire', o.expire, 'must be an epoch (seconds), 0 = never')
        await access.updateUser(userid, {
          ...(o.comment !== undefined ? { comment: o.comment } : {}),
          ...(o.email !== undefined ? { email: o.email } : {}),
          ...(o.enable !== undefined ? { enable: parseBool(o.enable, '--enable') } : {}),
          ...(expire !== undefined ? { expire } : {}),
        })
        emit(sink, ctx.format, { userid }, () => `updated user '${userid}'\n`)
      },
    )
  user
    .command('passwd <userid>')
    .description('set the password of a pbs-realm user (--password or PBS_STORE_PASSWORD)')
    .option('--password <password>', 'new password')
    .action(async (userid: string, o: { password?: string }, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      await access.setPassword(userid, passwordFrom(o.password, true)!)
      emit(sink, ctx.format, { userid }, () => `password of '${userid}' changed\n`)
    })
  user
    .command('delete <userid>')
    .description('delete a user with its tokens and ACL entries')
    .action(async (userid: string, _o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      await access.deleteUser(userid)
      emit(sink, ctx.format, { userid }, () => `deleted user '${userid}'\n`)
    })

  const token = program.command('token').description('manage API tokens')
  token
    .command('create <tokenid>')
    .description('create an API token `user@realm!name`; prints the secret once')
    .option('--comment <text>', 'comment')
    .action(async (tokenid: string, o: { comment?: string }, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      const a = parseAuthid(tokenid, 'tokenid')
      if (a.tokenName === undefined)
        throw new ValidationError('tokenid', tokenid, "must have the form 'user@realm!name'")
      const value = await access.createToken(a.userid, a.tokenName, o.comment ? { comment: o.comment } : {})
      emit(
        sink,
        ctx.format,
        { tokenid, value },
        () => `tokenid: ${tokenid}\nsecret:  ${value}\n(the secret is shown only once)\n`,
      )
    })
  token
    .command('regenerate <tokenid>')
    .description('replace the secret of an API token; prints the new secret once')
    .action(async (tokenid: string, _o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      const a = parseAuthid(tokenid, 'tokenid')
      if (a.tokenName === undefined)
        throw new ValidationError('tokenid', tokenid, "must have the form 'user@realm!name'")
      const secret = await access.updateToken(a.userid, a.tokenName, {}, { regenerate: true })
      emit(sink, ctx.format, { tokenid, secret }, () => `tokenid: ${tokenid}\nsecret:  ${secret}\n`)
    })
  token
    .command('delete <tokenid>')
    .description('delete an API token with its ACL entries')
    .action(async (tokenid: string, _o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      const a = parseAuthid(tokenid, 'tokenid')
      if (a.tokenName === undefined)
        throw new ValidationError('tokenid', tokenid, "must have the form 'user@realm!name'")
      await access.deleteToken(a.userid, a.tokenName)
      emit(sink, ctx.format, { tokenid }, () => `deleted token '${tokenid}'\n`)
    })

  const acl = program.command('acl').description('manage access control lists')
  acl
    .command('list')
    .description('list ACL entries')
    .action(async (_o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      const rows = (await access.acl()).config.entries
      emit(sink, ctx.format, rows, () =>
        formatTable(rows, [
          { header: 'path', value: (r) => r.path },
          { header: 'auth-id', value: (r) => r.ugid },
          { header: 'role', value: (r) => r.roleid },
          { header: 'propagate', value: (r) => r.propagate },
        ]),
      )
    })
  acl
    .command('set <path> <auth-id> <role>')
    .description('grant a role on a path (e.g. /datastore/store1/ns1 alice@pbs DatastoreAdmin)')
    .option('--propagate <bool>', 'inherit to sub-paths', 'true')
    .action(async (path: string, authid: string, role: string, o: { propagate: string }, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      await access.modifyAcl({ path, authid, role, propagate: parseBool(o.propagate, '--propagate') })
      emit(
        sink,
        ctx.format,
        { path, 'auth-id': authid, role },
        () => `granted ${role} on ${path} to ${authid}\n`,
      )
    })
  acl
    .command('remove <path> <auth-id> <role>')
    .description('remove a role from a path')
    .action(async (path: string, authid: string, role: string, _o: unknown, cmd: Command) => {
      const { access, ctx } = accessOf(cmd, sink)
      await access.modifyAcl({ path, authid, role, remove: true })
      emit(
        sink,
        ctx.format,
        { path, 'auth-id': authid, role },
        () => `removed ${role} on ${path} from ${authid}\n`,
      )
    })
}
