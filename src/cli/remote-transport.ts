/**
 * The fetch the CLI's remote mode hands to ApiClient. Plain URLs use the global fetch (system CA
 * validation). With `--fingerprint` or `--insecure-tls` it speaks HTTPS through node:https on a
 * socket whose certificate was checked *before* any byte of the request (and so no credential)
 * was written — undici's Agent is not importable here without installing the package.
 */
import { request } from 'node:https'
import { connect, type TLSSocket } from 'node:tls'

import { parseCertFingerprint } from '../api-types/index.js'

/** How to trust the server's certificate. */
export interface TlsTrust {
  /** Expected SHA-256 fingerprint of the server certificate (64 hex digits, or 32 `xx:` pairs). */
  fingerprint?: string | undefined
  /** Accept any certificate (self-signed development servers). */
  insecure?: boolean | undefined
}

/** Normalises a SHA-256 fingerprint to 64 lowercase hex digits. @throws ValidationError */
export function normalizeFingerprint(value: string, input = '--fingerprint'): string {
  return parseCertFingerprint(value, input)
}

/** A fetch for ApiClient that applies `trust` to https URLs. */
export function remoteFetch(trust: TlsTrust): typeof fetch {
  const expected = trust.fingerprint === undefined ? undefined : normalizeFingerprint(trust.fingerprint)
  if (expected === undefined && trust.insecure !== true) return globalThis.fetch.bind(globalThis)
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.protocol !== 'https:') return globalThis.fetch(input, init)
    const socket = await checkedSocket(url, expected)
    return sendOn(socket, url, init ?? {})
  }
}

/** Connects and verifies the certificate fingerprint (when one is expected) before returning. */
function checkedSocket(url: URL, expected: string | undefined): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }),
      // Trust is decided below by fingerprint, or waived by --insecure-tls.
      rejectUnauthorized: false,
    })
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      socket.off('error', reject)
      if (expected !== undefined) {
        const got = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '', 'certificate')
        if (got !== expected) {
          socket.destroy()
          reject(new Error(`server certificate fingerprint ${got} does not match the expected ${expected}`))
          return
        }
      }
      resolve(socket)
    })
  })
}

/** One HTTP request on an established socket, answered as a fetch Response. */
function sendOn(socket: TLSSocket, url: URL, init: RequestInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = new Headers(init.headers)
    headers.set('connection', 'close')
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers.entries()),
        createConnection: () => socket,
      },
      (res) => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('error', reject)
        res.on('end', () => {
          const out = new Headers()
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v)
          const status = res.statusCode ?? 500
          const noBody = status === 204 || status === 304
          resolve(
            new Response(noBody ? null : Buffer.concat(parts), {
              status,
              statusText: res.statusMessage ?? '',
              headers: out,
            }),
          )
        })
      },
    )
    req.on('error', reject)
    req.end(typeof init.body === 'string' ? init.body : undefined)
  })
}
