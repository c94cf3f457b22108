/**
 * The fastify app: PBS-compatible API under `/api2/json` and `/api2/extjs`, and the web UI at `/`.
 * Usable in-process with `app.inject()` (tests) or listening (see serve.ts).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseQuery } from 'node:querystring'
import fastifyFormbody from '@fastify/formbody'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'

import { AccessConfig } from '../config/access-config.js'
import type { Installation } from '../config/installation.js'
import { ValidationError } from '../errors.js'
import { TaskManager } from '../tasks/task-manager.js'
import { AuthKeys } from './auth-keys.js'
import { Authenticator } from './authenticate.js'
import { accessRoutes } from './routes/access-routes.js'
import { datastoreRoutes } from './routes/datastore-routes.js'
import { jobRoutes } from './routes/job-routes.js'
import { taskRoutes } from './routes/task-routes.js'
import { formatOf, registerEndpoints, sendAuthFailure, sendError, type Endpoint } from './router.js'
import type { ServerContext } from './server-context.js'

/** Every API endpoint (docs/api.md lists the same table). */
export const ENDPOINTS: readonly Endpoint[] = [
  ...accessRoutes,
  ...datastoreRoutes,
  ...jobRoutes,
  ...taskRoutes,
]

/** PBS request body limit. */
const BODY_LIMIT = 512 * 1024
/** PBS limit for path plus query. */
const MAX_URL_LENGTH = 3072

/** Options of buildServer. */
export interface BuildServerOptions {
  installation: Installation
  /** Delay of 401 answers (PBS 3000 ms). */
  authFailureDelayMs?: number
  /** Delay of route-level 403 answers (PBS 500 ms). */
  permissionDeniedDelayMs?: number
  /** Static web UI directory (default `<repo>/web/dist`, if it exists). */
  webRoot?: string
  /** TLS key and certificate (serve.ts passes them). */
  https?: { key: string; cert: string }
  /** fastify logger option (default off). */
  logger?: FastifyServerOptions['logger']
  /** An existing task manager (default: one on `<home>/log`). */
  tasks?: TaskManager
}

/** The app plus its context (tasks, access config) for shutdown and tests. */
export interface PbsServer {
  app: FastifyInstance
  ctx: ServerContext
  /** Aborts running tasks, waits for their cleanup, closes the app. */
  close(): Promise<void>
}

/** Default web UI directory: `web/dist` at the package root. */
export function defaultWebRoot(): string {
  // PBS_STORE_WEB_ROOT serves a UI built elsewhere; otherwise dist/src/server/build-server.js →
  // the package root is three levels up.
  return process.env.PBS_STORE_WEB_ROOT ?? fileURLToPath(new URL('../../../web/dist', import.meta.url))
}

/**
 * Builds the server app (not listening).
 * @example const { app } = await buildServer({ installation }); await app.inject({ url: '/api2/json/version' })
 */
export async function buildServer(options: BuildServerOptions): Promise<PbsServer> {
  const { installation } = options
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    ...(options.https ? { https: options.https } : {}),
    routerOptions: { maxParamLength: 1024, ignoreDuplicateSlashes: true },
  } as FastifyServerOptions)
  const access = new AccessConfig(installation.etcDir)
  const keys = await AuthKeys.load(installation.etcDir)
  const tasks = options.tasks ?? (await TaskManager.open(installation.logDir))
  const ctx: ServerContext = {
    installation,
    access,
    tasks,
    keys,
    auth: new Authenticator(access, keys),
    authFailureDelayMs: options.authFailureDelayMs ?? 3000,
    permissionDeniedDelayMs: options.permissionDeniedDelayMs ?? 500,
    log: app.log,
  }

  // PBS rules for bodies: JSON (empty = {}), form-encoded, nothing else.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body)
    if (text.trim() === '') return done(null, {})
    try {
      done(null, JSON.parse(text))
    } catch (e) {
      done(new ValidationError('body', undefined, `invalid JSON body - ${(e as Error).message}`), undefined)
    }
  })
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT })
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    const ct = req.headers['content-type']
    if (ct === undefined || ct === '') return done(null, parseQuery(String(body)))
    done(new ValidationError('content-type', ct, `unsupported content type Ok("${ct}")`), undefined)
  })

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.length > MAX_URL_LENGTH) {
      await reply.code(414).send()
      return reply
    }
    const path = request.url.split('?')[0]!
    if (path.split('/').some((c) => c.startsWith('.') && c !== '')) {
      await reply.code(400).send('path contains illegal components')
      return reply
    }
    const m = /^\/api2\/([^/]+)/.exec(path)
    if (m && m[1] !== 'json' && m[1] !== 'extjs') {
      await reply.code(400).send(`Unsupported output format '${m[1]}'.`)
      return reply
    }
    return undefined
  })

  registerEndpoints(app, ctx, ENDPOINTS)

  app.setErrorHandler(async (error, request, reply) => {
    await sendError(ctx, request, reply, error)
  })

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!
    if (path.startsWith('/api2/')) {
      // PBS authenticates before it looks for the method: unknown paths give 401 to strangers.
      try {
        await ctx.auth.authenticate(request)
      } catch {
        return sendAuthFailure(ctx, reply)
      }
      const m = { status: 404 }
      if (formatOf(path) === 'extjs')
        return reply
          .code(200)
          .type('application/json;charset=UTF-8')
          .send(
            JSON.stringify({
              success: false,
              status: m.status,
              message: `Path '${path}' not found.`,
              errors: {},
            }),
          )
      return reply.code(404).type('application/json;charset=UTF-8').send(`Path '${path}' not found.`)
    }
    if (path === '/api2') return reply.code(404).send(`invalid api path '/api2'`)
    return reply.code(404).type('text/plain').send('not found')
  })

  const webRoot = options.webRoot ?? defaultWebRoot()
  if (existsSync(join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', wildcard: false })
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><html><head><meta charset="utf-8"><title>pbs-store</title></head><body>' +
            '<h1>pbs-store</h1><p>The web UI is not built (no <code>web/dist</code>). The API is available under ' +
            '<code>/api2/json</code>; see docs/api.md.</p></body></html>',
        ),
    )
  }

  return {
    app,
    ctx,
    close: async () => {
      await tasks.shutdown()
      await app.close()
    },
  }
}
