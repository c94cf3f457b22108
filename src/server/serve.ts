/**
 * Running the server: HTTPS on 127.0.0.1:8007 by default (exposing it is an explicit choice),
 * plain HTTP only with `insecureHttp`. Closing aborts the running tasks and waits for their
 * cleanup before the listener goes away.
 */
import { parseListenAddress } from '../api-types/listen-address.js'
import type { Installation } from '../config/installation.js'
import { buildServer, type BuildServerOptions, type PbsServer } from './build-server.js'
import { ensureTlsCertificate } from './tls-certificate.js'

/** Default listen address (PBS listens on [::]:8007; we stay local unless told otherwise). */
export const DEFAULT_LISTEN = '127.0.0.1:8007'

/** Options of serve. */
export interface ServeOptions extends Omit<BuildServerOptions, 'https' | 'installation'> {
  installation: Installation
  /** `ADDR:PORT` or `[v6]:PORT` (port 0 = any free port). */
  listen?: string
  /** Plain HTTP instead of HTTPS. */
  insecureHttp?: boolean
}

/** A listening server. */
export interface RunningServer extends PbsServer {
  /** Base URL, e.g. `https://127.0.0.1:8007`. */
  url: string
  /** The certificate used (PEM), absent with insecureHttp. */
  cert?: string
}

/**
 * Parses `ADDR:PORT` (the rule lives in api-types, where the CLI checks `--listen` too).
 * @throws ValidationError naming `--listen`.
 */
export function parseListen(value: string): { host: string; port: number } {
  return parseListenAddress(value, '--listen')
}

/** Builds the app and starts listening. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN)
  const tls = options.insecureHttp ? undefined : await ensureTlsCertificate(options.installation.etcDir)
  const server = await buildServer({
    ...options,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
  })
  await server.app.listen({ host, port })
  const addr = server.app.server.address()
  const actualPort = typeof addr === 'object' && addr !== null ? addr.port : port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    ...server,
    url: `${tls ? 'https' : 'http'}://${shownHost}:${actualPort}`,
    ...(tls ? { cert: tls.cert } : {}),
  }
}
