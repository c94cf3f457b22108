/**
 * The one place that decides local or remote: `--server URL` (or env PBS_STORE_SERVER) makes a
 * datastore command call the API. Credentials come from an API token (PBS_STORE_TOKEN =
 * `user@realm!name`, PBS_STORE_TOKEN_SECRET) or from the ticket `pbs-store login` saved in
 * `<home>/.remote-ticket`.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import type { Command } from 'commander'

import { resolveInstallation } from '../config/installation.js'
import { ValidationError } from '../errors.js'
import { parseServerUrl } from './cli-args.js'
import { ApiClient, PbsClient, type ApiCredentials } from '../client/index.js'
import { remoteFetch, type TlsTrust } from './remote-transport.js'

/** Global options of remote mode. */
interface RemoteOptions {
  home?: string
  server?: string
  fingerprint?: string
  insecureTls?: boolean
}

/** A saved ticket login (`<home>/.remote-ticket`, mode 0600). */
export interface SavedTicket {
  server: string
  username: string
  ticket: string
  csrf: string
}

/**
 * The server URL (origin) of this invocation, or undefined for local mode. `--server` was checked
 * while parsing; an empty PBS_STORE_SERVER means local mode.
 */
export function serverUrl(cmd: Command): string | undefined {
  const opts = cmd.optsWithGlobals<RemoteOptions>()
  if (opts.server !== undefined) return opts.server
  const env = process.env.PBS_STORE_SERVER
  return env === undefined || env === '' ? undefined : parseServerUrl(env, 'PBS_STORE_SERVER')
}

/** True when the command runs against a server. */
export function isRemote(cmd: Command): boolean {
  return serverUrl(cmd) !== undefined
}

/** A client for `server` with the TLS trust of the options but no credentials. */
export function anonymousClient(cmd: Command, server: string): PbsClient {
  const opts = cmd.optsWithGlobals<RemoteOptions>()
  const trust: TlsTrust = {
    fingerprint: opts.fingerprint ?? process.env.PBS_STORE_FINGERPRINT,
    insecure: opts.insecureTls === true,
  }
  return new PbsClient(new ApiClient({ baseUrl: server, fetch: remoteFetch(trust), cookieHeader: true }))
}

/**
 * The authenticated client of a remote command.
 * @throws ValidationError without --server or without credentials
 */
export async function remoteClient(cmd: Command): Promise<PbsClient> {
  const server = serverUrl(cmd)
  if (server === undefined) throw new ValidationError('--server', undefined, 'is required')
  const client = anonymousClient(cmd, server)
  client.api.setCredentials(await credentialsFor(cmd, server))
  return client
}

/** Path of the saved ticket. */
export function ticketFile(cmd: Command): string {
  return join(resolveInstallation(cmd.optsWithGlobals<RemoteOptions>().home).home, '.remote-ticket')
}

/** Saves a ticket for later commands (owner-only permissions). */
export async function saveTicket(cmd: Command, saved: SavedTicket): Promise<string> {
  const file = ticketFile(cmd)
  await writeFile(file, `${JSON.stringify(saved)}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  return file
}

async function credentialsFor(cmd: Command, server: string): Promise<ApiCredentials> {
  const tokenid = process.env.PBS_STORE_TOKEN
  if (tokenid !== undefined && tokenid !== '') {
    const secret = process.env.PBS_STORE_TOKEN_SECRET
    if (secret === undefined || secret === '')
      throw new ValidationError('PBS_STORE_TOKEN_SECRET', undefined, 'is required with PBS_STORE_TOKEN')
    if (!tokenid.includes('!'))
      throw new ValidationError('PBS_STORE_TOKEN', tokenid, "must be a token id 'user@realm!name'")
    return { kind: 'token', tokenid, secret }
  }
  let saved: SavedTicket | undefined
  try {
    saved = JSON.parse(await readFile(ticketFile(cmd), 'utf8')) as SavedTicket
  } catch {
    saved = undefined
  }
  if (saved === undefined || saved.server !== server)
    throw new ValidationError(
      'PBS_STORE_TOKEN',
      undefined,
      `no credentials for ${server} - set PBS_STORE_TOKEN and PBS_STORE_TOKEN_SECRET, or run 'pbs-store login --server ${server} --user USER'`,
    )
  return { kind: 'ticket', username: saved.username, ticket: saved.ticket, csrf: saved.csrf }
}

/** Commands (paths below the program) that work against a server. */
const REMOTE_COMMANDS = new Set([
  'datastore list',
  'namespace move',
  'namespace list',
  'namespace create',
  'namespace delete',
  'group move',
  'group list',
  'group notes',
  'group change-owner',
  'group forget',
  'snapshot list',
  'snapshot forget',
  'snapshot protected',
  'snapshot files',
  'verify',
  'gc',
  'prune',
  'prune-datastore',
  'user list',
  'user create',
  'user update',
  'user passwd',
  'user delete',
  'token create',
  'token regenerate',
  'token delete',
  'acl list',
  'acl set',
  'acl remove',
  'task list',
  'task log',
  'task status',
  'task abort',
  'login',
])

/** Why a command works on the local installation only (by command path, or its first word). */
const LOCAL_ONLY_REASONS: Record<string, string> = {
  init: 'it sets up this installation',
  'datastore create': 'the server has no endpoint to create datastores; run it on the server host',
  backup: 'the server has no backup protocol endpoint',
  restore: 'the server has no backup protocol endpoint',
  serve: 'it runs the server itself',
  s3: 'S3 endpoints and caches are administered on the server host',
}

/** Commands that only make sense against a server. */
const SERVER_ONLY = new Set(['task', 'login'])

/**
 * Refuses to run a local-only command when --server is given (it would silently work on the
 * local home instead), saying why, and a server-only command without it.
 * @throws ValidationError
 */
export function assertRunnable(action: Command): void {
  const names: string[] = []
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name())
  const path = names.join(' ')
  const server = serverUrl(action)
  if (server !== undefined && !REMOTE_COMMANDS.has(path)) {
    const why = LOCAL_ONLY_REASONS[path] ?? LOCAL_ONLY_REASONS[names[0] ?? ''] ?? 'it has no server endpoint'
    throw new ValidationError('--server', server, `'${path}' works on the local datastore only (${why})`)
  }
  if (server === undefined && SERVER_ONLY.has(names[0] ?? ''))
    throw new ValidationError('--server', undefined, `is required for '${path}' (or set PBS_STORE_SERVER)`)
}
