/**
 * Endpoint table and the request pipeline, in PBS order (spec/pbs-api.md §1.5): route lookup →
 * authentication (401, also for unknown paths) → 404 for a missing method → route permission
 * (403) → parameters (400) → handler. Every endpoint is served under `/api2/json` and
 * `/api2/extjs` with the respective envelope.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import { AuthenticationError, PermissionError } from '../errors.js'
import type { AuthInfo } from './authenticate.js'
import { ERROR_HEADER, errorHeaderValue, extjsErrorBody, mapError } from './error-mapper.js'
import { readParams, type ParamSchema } from './params.js'
import { privsOn } from './permissions.js'
import type { ServerContext } from './server-context.js'

/** Who may call an endpoint (checked before the parameters are read). */
export type Access =
  | { kind: 'world' }
  | { kind: 'user' }
  | { kind: 'privs'; path: (uri: Record<string, string>) => string; privs: number; partial?: boolean }

/** One call of an endpoint. */
export interface ApiCall {
  ctx: ServerContext
  /** The caller; for `world` endpoints a placeholder with an empty authid. */
  auth: AuthInfo
  params: Record<string, unknown>
  request: FastifyRequest
  reply: FastifyReply
  format: 'json' | 'extjs'
  /** Result attributes merged into the envelope (`total`, `digest`). */
  attributes: Record<string, unknown>
}

/** Returned by handlers that sent their own response. */
export const RAW_REPLY = Symbol('raw reply')

/** One API endpoint. */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path below `/api2/<format>`, PBS names for URI parameters in braces: `/admin/datastore/{store}/groups`. */
  path: string
  description: string
  /** Privileges, in words, for docs/api.md. */
  permission: string
  access: Access
  params: ParamSchema
  /** True when the handler reads the raw query instead of the PBS rules (task log). */
  queryOnly?: boolean
  handler: (call: ApiCall) => Promise<unknown>
}

const NOBODY: AuthInfo = { authid: '', userid: '', via: 'ticket' }

/** `{token-name}` → `:tokenname` (fastify param names cannot hold '-'). */
function fastifyPath(path: string): { url: string; names: Map<string, string> } {
  const names = new Map<string, string>()
  const url = path.replace(/\{([a-z-]+)\}/g, (_, name: string) => {
    const key = name.replace(/-/g, '')
    names.set(key, name)
    return `:${key}`
  })
  return { url, names }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve()
}

/** The output format of an `/api2/<fmt>/…` URL. */
export function formatOf(url: string): 'json' | 'extjs' {
  return url.startsWith('/api2/extjs/') ? 'extjs' : 'json'
}

/** Sends a successful answer in the PBS envelope. */
export function sendData(
  reply: FastifyReply,
  format: 'json' | 'extjs',
  data: unknown,
  attributes: Record<string, unknown> = {},
): void {
  const body =
    format === 'extjs'
      ? { data: data ?? null, success: true, status: 200, ...attributes }
      : { data: data ?? null, ...attributes }
  void reply.code(200).type('application/json;charset=UTF-8').send(JSON.stringify(body))
}

/** Sends the PBS 401: no content type, `authentication failed`, cookie expired, after a delay. */
export async function sendAuthFailure(
  ctx: ServerContext,
  reply: FastifyReply,
  text = 'authentication failed',
): Promise<void> {
  await sleep(ctx.authFailureDelayMs)
  // Raw response, as PBS: fastify would otherwise add a content type.
  reply.hijack()
  const body = Buffer.from(text)
  reply.raw.writeHead(401, {
    'set-cookie':
      '__Host-PBSAuthCookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax; HttpOnly; Path=/;',
    [ERROR_HEADER]: JSON.stringify({ code: 'AuthenticationError', data: {} }),
    'content-length': body.length,
  })
  reply.raw.end(body)
}

/** Sends any error through the mapper. */
export async function sendError(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  e: unknown,
): Promise<void> {
  if (e instanceof AuthenticationError) return sendAuthFailure(ctx, reply)
  const m = mapError(e)
  if (m.internal) ctx.log.error({ err: e, url: request.url.split('?')[0] }, 'request failed')
  if (e instanceof PermissionError) await sleep(ctx.permissionDeniedDelayMs)
  if (formatOf(request.url) === 'extjs') {
    void reply
      .code(200)
      .type('application/json;charset=UTF-8')
      .send(JSON.stringify(extjsErrorBody(m)))
    return
  }
  void reply
    .code(m.status)
    .type('application/json;charset=UTF-8')
    .header(ERROR_HEADER, errorHeaderValue(m))
    .send(m.message)
}

/** Registers every endpoint under `/api2/json` and `/api2/extjs`. */
export function registerEndpoints(
  app: FastifyInstance,
  ctx: ServerContext,
  endpoints: readonly Endpoint[],
): void {
  for (const ep of endpoints) {
    const { url, names } = fastifyPath(ep.path)
    for (const format of ['json', 'extjs'] as const) {
      app.route({
        method: ep.method,
        url: `/api2/${format}${url}`,
        handler: async (request, reply) => {
          try {
            const uri: Record<string, string> = {}
            for (const [k, v] of Object.entries((request.params ?? {}) as Record<string, string>))
              uri[names.get(k) ?? k] = v
            let auth = NOBODY
            if (ep.access.kind !== 'world') {
              try {
                auth = await ctx.auth.authenticate(request)
              } catch (e) {
                if (!(e instanceof AuthenticationError)) throw e
                return sendAuthFailure(ctx, reply)
              }
            }
            if (ep.access.kind === 'privs') {
              const path = ep.access.path(uri)
              const have = await privsOn(ctx, auth, path)
              const ok = ep.access.partial
                ? (have & ep.access.privs) !== 0
                : (have & ep.access.privs) === ep.access.privs
              if (!ok) throw new PermissionError('permission check failed', { path })
            }
            const contentType = String(request.headers['content-type'] ?? '')
              .split(';')[0]!
              .trim()
            const json = contentType === 'application/json'
            const query = (request.query ?? {}) as Record<string, string | string[] | undefined>
            const params = readParams(ep.params, {
              mode: json && !ep.queryOnly ? 'json' : 'form',
              body: ep.queryOnly ? undefined : request.body,
              query: json && !ep.queryOnly ? {} : query,
              uri,
            })
            const call: ApiCall = { ctx, auth, params, request, reply, format, attributes: {} }
            const data = await ep.handler(call)
            if (data === RAW_REPLY) return reply
            sendData(reply, format, data, call.attributes)
            return reply
          } catch (e) {
            await sendError(ctx, request, reply, e)
            return reply
          }
        },
      })
    }
  }
}
