import type { Command } from 'commander'

import { parseAuthid, parsePassword } from '../api-types/index.js'
import { ValidationError } from '../errors.js'
import { localAccessOps, type AccessOps } from './access-ops.js'
import { aclPathArg, commentArg, emailArg, integerArg, passwordArg, useridArg } from './cli-args.js'
import { printAcl, printDone, printNewToken, printRegeneratedToken, printUsers } from './access-views.js'
import { cliContext, parseBool, type CliContext } from './context.js'
import type { OutputSink } from './output.js'
import { remoteAccessOps } from './remote-access-ops.js'
import { isRemote, remoteClient } from './remote-context.js'

/**
 * The password from `--password` (checked while parsing) or the environment variable
 * PBS_STORE_PASSWORD (checked here; empty = unset).
 */
function passwordFrom(opt: string | undefined, required: boolean): string | undefined {
  if (opt !== undefined) return opt
  const env = process.env.PBS_STORE_PASSWORD
  if (env !== undefined && env !== '') return parsePassword(env, 'PBS_STORE_PASSWORD')
  if (required) throw new ValidationError('--password', undefined, 'is required (or set PBS_STORE_PASSWORD)')
  return undefined
}

/** The context and the access operations of this invocation: local, or the server's with --server. */
async function accessOf(cmd: Command, sink: OutputSink): Promise<{ ops: AccessOps; ctx: CliContext }> {
  const ctx = cliContext(cmd, sink)
  const ops = isRemote(cmd)
    ? remoteAccessOps((await remoteClient(cmd)).access)
    : localAccessOps(ctx.installation.etcDir)
  return { ops, ctx }
}

/** `user@realm!name` split, or a ValidationError naming the argument. */
function tokenArg(tokenid: string): { userid: string; name: string } {
  const a = parseAuthid(tokenid, 'tokenid')
  if (a.tokenName === undefined)
    throw new ValidationError('tokenid', tokenid, "must have the form 'user@realm!name'")
  return { userid: a.userid, name: a.tokenName }
}

/**
 * `pbs-store user|token|acl …`: management of users, API tokens and ACLs. Locally it edits
 * user.cfg, shadow.json, token.shadow and acl.cfg under their locks (a running server sees the
 * changes); with --server it calls the access endpoints with the caller's privileges.
 */
export function registerAccessCommands(program: Command, sink: OutputSink): void {
  const user = program.command('user').description('manage users (pbs realm)')
  user
    .command('list')
    .description('list users and their tokens')
    .action(async (_o: unknown, cmd: Command) => {
      const { ops, ctx } = await accessOf(cmd, sink)
      printUsers(ctx, await ops.listUsers())
    })
  user
    .command('create')
    .description('create a user; the password comes from --password or PBS_STORE_PASSWORD')
    .argument('<userid>', "user id, e.g. 'alice@pbs'", useridArg())
    .option('--password <password>', 'password (8-64 characters)', passwordArg())
    .option('--comment <text>', 'one-line comment (at most 128 characters)', commentArg())
    .option('--email <address>', 'e-mail address (2-64 characters)', emailArg())
    .action(
      async (userid: string, o: { password?: string; comment?: string; email?: string }, cmd: Command) => {
        const password = passwordFrom(o.password, false)
        const { ops, ctx } = await accessOf(cmd, sink)
        await ops.createUser(
          userid,
          { ...(o.comment ? { comment: o.comment } : {}), ...(o.email ? { email: o.email } : {}) },
          password,
        )
        printDone(ctx, { userid }, `created user '${userid}'`)
      },
    )
  user
    .command('update')
    .description('change user properties')
    .argument('<userid>', "user id, e.g. 'alice@pbs'", useridArg())
    .option('--comment <text>', 'one-line comment (at most 128 characters)', commentArg())
    .option('--email <address>', 'e-mail address (2-64 characters)', emailArg())
    .option('--enable <bool>', 'enable or disable the account', (v: string) => parseBool(v, '--enable'))
    .option('--expire <epoch>', 'expiry (epoch seconds, 0 = never)', integerArg('--expire', 0))
    .action(
      async (
        userid: string,
        o: { comment?: string; email?: string; enable?: boolean; expire?: number },
        cmd: Command,
      ) => {
        const { enable, expire } = o
        const { ops, ctx } = await accessOf(cmd, sink)
        await ops.updateUser(userid, {
          ...(o.comment !== undefined ? { comment: o.comment } : {}),
          ...(o.email !== undefined ? { email: o.email } : {}),
          ...(enable !== undefined ? { enable } : {}),
          ...(expire !== undefined ? { expire } : {}),
        })
        printDone(ctx, { userid }, `updated user '${userid}'`)
      },
    )
  user
    .command('passwd')
    .description('set the password of a pbs-realm user (--password or PBS_STORE_PASSWORD)')
    .argument('<userid>', "user id, e.g. 'alice@pbs'", useridArg())
    .option('--password <password>', 'new password (8-64 characters)', passwordArg())
    .option(
      '--confirmation-password <password>',
      'with --server: your current password (needed to change your own without Permissions.Modify on /)',
    )
    .action(async (userid: string, o: { password?: string; confirmationPassword?: string }, cmd: Command) => {
      const password = passwordFrom(o.password, true)!
      const { ops, ctx } = await accessOf(cmd, sink)
      await ops.setPassword(userid, password, o.confirmationPassword)
      printDone(ctx, { userid }, `password of '${userid}' changed`)
    })
  user
    .command('delete')
    .description('delete a user with its tokens and ACL entries')
    .argument('<userid>', "user id, e.g. 'alice@pbs'", useridArg())
    .action(async (userid: string, _o: unknown, cmd: Command) => {
      const { ops, ctx } = await accessOf(cmd, sink)
      await ops.deleteUser(userid)
      printDone(ctx, { userid }, `deleted user '${userid}'`)
    })

  const token = program.command('token').description('manage API tokens')
  token
    .command('create <tokenid>')
    .description('create an API token `user@realm!name`; prints the secret once')
    .option('--comment <text>', 'one-line comment (at most 128 characters)', commentArg())
    .action(async (tokenid: string, o: { comment?: string }, cmd: Command) => {
      const { userid, name } = tokenArg(tokenid)
      const { ops, ctx } = await accessOf(cmd, sink)
      printNewToken(ctx, tokenid, await ops.createToken(userid, name, o.comment || undefined))
    })
  token
    .command('regenerate <tokenid>')
    .description('replace the secret of an API token; prints the new secret once')
    .action(async (tokenid: string, _o: unknown, cmd: Command) => {
      const { userid, name } = tokenArg(tokenid)
      const { ops, ctx } = await accessOf(cmd, sink)
      printRegeneratedToken(ctx, tokenid, await ops.regenerateToken(userid, name))
    })
  token
    .command('delete <tokenid>')
    .description('delete an API token with its ACL entries')
    .action(async (tokenid: string, _o: unknown, cmd: Command) => {
      const { userid, name } = tokenArg(tokenid)
      const { ops, ctx } = await accessOf(cmd, sink)
      await ops.deleteToken(userid, name)
      printDone(ctx, { tokenid }, `deleted token '${tokenid}'`)
    })

  const acl = program.command('acl').description('manage access control lists')
  acl
    .command('list')
    .description('list ACL entries')
    .action(async (_o: unknown, cmd: Command) => {
      const { ops, ctx } = await accessOf(cmd, sink)
      printAcl(ctx, await ops.listAcl())
    })
  acl
    .command('set')
    .description('grant a role on a path (e.g. /datastore/store1/ns1 alice@pbs DatastoreAdmin)')
    .argument('<path>', "ACL path, e.g. '/datastore/store1'", aclPathArg())
    .argument('<auth-id>', 'user or API token')
    .argument('<role>', 'role name')
    .option('--propagate <bool>', 'inherit to sub-paths', (v: string) => parseBool(v, '--propagate'), true)
    .action(async (path: string, authid: string, role: string, o: { propagate: boolean }, cmd: Command) => {
      const { propagate } = o
      const { ops, ctx } = await accessOf(cmd, sink)
      await ops.modifyAcl({ path, authid, role, propagate })
      printDone(ctx, { path, 'auth-id': authid, role }, `granted ${role} on ${path} to ${authid}`)
    })
  acl
    .command('remove')
    .description('remove a role from a path')
    .argument('<path>', "ACL path, e.g. '/datastore/store1'", aclPathArg())
    .argument('<auth-id>', 'user or API token')
    .argument('<role>', 'role name')
    .action(async (path: string, authid: string, role: string, _o: unknown, cmd: Command) => {
      const { ops, ctx } = await accessOf(cmd, sink)
      await ops.modifyAcl({ path, authid, role, remove: true })
      printDone(ctx, { path, 'auth-id': authid, role }, `removed ${role} on ${path} from ${authid}`)
    })
}
