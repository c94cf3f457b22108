/**
 * A fault-injecting HTTP proxy between an S3 client and moto (path-style requests).
 *
 * Every request is buffered, classified (get/head/put/list/copy/delete), counted, then either
 * forwarded unchanged (the SigV4 signature covers the Host header the client used, which is kept)
 * or failed as a rule says: an S3 error response (500, 503 SlowDown …), a reset connection
 * before or after the request reached the server, a delay, or any canned response.
 * `randomFaults()` adds a seeded random mix of those for soak-style tests, and every injected
 * fault is counted by what it was (`counts().faults`).
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

import { prng } from './prng.js'

/** Request kinds as S3ObjectStore counts them. */
export type ProxyRequestKind = 'get' | 'head' | 'put' | 'list' | 'copy' | 'delete' | 'other'

/** What a rule sees of a request. */
export interface ProxiedRequest {
  method: string
  kind: ProxyRequestKind
  bucket: string
  /** Decoded object key ('' for bucket-level requests). */
  key: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: Buffer
}

/** How to fail a request. */
export type FaultAction =
  /** An S3 XML error response with this status and code (default code: InternalError). */
  | { type: 'error'; status: number; code?: string; message?: string }
  /** 503 SlowDown, as S3 sends when throttling. */
  | { type: 'slowdown' }
  /** Destroy the client connection without forwarding: the server never sees the request. */
  | { type: 'reset' }
  /** Forward, let the server apply it, then destroy the connection instead of answering. */
  | { type: 'reset-after-forward' }
  /** Wait, then forward normally. */
  | { type: 'delay'; ms: number }
  /** Answer with exactly this (not forwarded). */
  | { type: 'respond'; status: number; body?: string; headers?: Record<string, string> }

/** When to apply an action. All given conditions must hold. */
export interface FaultRule {
  kind?: ProxyRequestKind | readonly ProxyRequestKind[]
  method?: string
  match?: (req: ProxiedRequest) => boolean
  /** Apply from the n-th matching request on (1-based). */
  nth?: number
  /** How many requests to fail (default 1 with nth, else unlimited). */
  times?: number
  /** Apply to each matching request with this probability (seeded PRNG, reproducible). */
  probability?: number
  /** The fault, or a function choosing it per request (called only when the rule fires). */
  action: FaultAction | ((req: ProxiedRequest) => FaultAction)
}

/** A rule as installed: how often it matched and fired. */
export interface InstalledRule {
  readonly rule: FaultRule
  /** Requests that matched the filters (kind, method, match). */
  matched: number
  /** Requests the action was applied to. */
  injected: number
  /** Uninstalls the rule. */
  remove(): void
}

/** The faults of the random mode. */
export type RandomFaultKind = 'error-500' | 'slowdown-503' | 'reset' | 'reset-after-forward' | 'latency'

/** Default weights of the random mode: mostly error answers, some resets, some latency spikes. */
export const DEFAULT_FAULT_MIX: Readonly<Record<RandomFaultKind, number>> = {
  'error-500': 0.3,
  'slowdown-503': 0.3,
  reset: 0.15,
  'reset-after-forward': 0.1,
  latency: 0.15,
}

/** Options of {@link FaultProxy.randomFaults}. */
export interface RandomFaultOptions {
  /** Fraction of the matching requests that get a fault (0..1). */
  rate: number
  /**
   * Seed (default 1). Each decision is drawn from the seed and the request's identity (method,
   * key, list prefix, delete body, and how many times that request was seen), not from the arrival order, so
   * a rerun with the same seed fails the same requests even when parallel requests interleave
   * differently.
   */
  seed?: number
  /** Relative weights of the fault kinds (missing kinds weigh 0; default DEFAULT_FAULT_MIX). */
  mix?: Partial<Record<RandomFaultKind, number>>
  /** Latency spike range in ms, inclusive (default 200..1500). */
  latencyMs?: readonly [number, number]
  /** Only these request kinds (default all). */
  kind?: ProxyRequestKind | readonly ProxyRequestKind[]
  /** Only requests this accepts. */
  match?: (req: ProxiedRequest) => boolean
}

/** A running random mode. */
export interface RandomFaults {
  /** While true no fault is injected (and no random number drawn). */
  paused: boolean
  /** Faults injected so far, by kind. */
  readonly injected: Record<RandomFaultKind, number>
  /** All faults injected so far. */
  total(): number
  /** Uninstalls the mode. */
  remove(): void
}

/** Short name of a fault for the counters: `500 InternalError`, `503 SlowDown`, `reset`, `latency` … */
export function faultLabel(action: FaultAction): string {
  switch (action.type) {
    case 'error':
      return `${action.status} ${action.code ?? 'InternalError'}`
    case 'slowdown':
      return '503 SlowDown'
    case 'delay':
      return 'latency'
    case 'respond':
      return `respond ${action.status}`
    default:
      return action.type
  }
}

const KINDS: readonly ProxyRequestKind[] = ['get', 'head', 'put', 'list', 'copy', 'delete', 'other']
const zero = (): Record<ProxyRequestKind, number> =>
  Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<ProxyRequestKind, number>

/** Classifies a path-style S3 request. */
export function classifyS3Request(
  method: string,
  url: string,
  headers: IncomingMessage['headers'],
): Pick<ProxiedRequest, 'kind' | 'bucket' | 'key' | 'query'> {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const segments = path.split('/').slice(1)
  const bucket = decodeURIComponent(segments[0] ?? '')
  const key = segments.slice(1).map(decodeURIComponent).join('/')
  let kind: ProxyRequestKind = 'other'
  if (method === 'GET') kind = key === '' && (query.has('list-type') || query.has('prefix')) ? 'list' : 'get'
  else if (method === 'HEAD') kind = 'head'
  else if (method === 'PUT') kind = headers['x-amz-copy-source'] !== undefined ? 'copy' : 'put'
  else if (method === 'DELETE' || (method === 'POST' && query.has('delete'))) kind = 'delete'
  return { kind, bucket, key, query }
}

/** FNV-1a hash of a string (32 bits): a PRNG seed per request identity. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** S3's XML error body. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`
}

/** A seeded PRNG, so probabilistic faults repeat exactly. */
export const seededRandom = prng

/** The running proxy. */
export class FaultProxy {
  /** `http://127.0.0.1:<port>`: give this to the S3 client as its endpoint. */
  readonly endpoint: string
  readonly #server: Server
  readonly #target: URL
  readonly #random: () => number
  #rules: InstalledRule[] = []
  #requests = zero()
  #injected = zero()
  #faults = new Map<string, number>()

  private constructor(server: Server, target: URL, seed: number) {
    this.#server = server
    this.#target = target
    this.#random = seededRandom(seed)
    const addr = server.address() as AddressInfo
    this.endpoint = `http://127.0.0.1:${addr.port}`
  }

  /** Starts a proxy on a free loopback port in front of `target` (e.g. moto's endpoint). */
  static async start(target: string, options: { seed?: number } = {}): Promise<FaultProxy> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const proxy = new FaultProxy(server, new URL(target), options.seed ?? 1)
    server.on('request', (req, res) => {
      proxy.#handle(req, res).catch(() => {
        req.socket.destroy()
      })
    })
    return proxy
  }

  /** Installs a rule; rules are checked in the order they were added, the first that fires wins. */
  addRule(rule: FaultRule): InstalledRule {
    const installed: InstalledRule = {
      rule,
      matched: 0,
      injected: 0,
      remove: () => {
        this.#rules = this.#rules.filter((r) => r !== installed)
      },
    }
    this.#rules.push(installed)
    return installed
  }

  /**
   * Installs the random mode: each matching request gets a fault with probability `rate`, drawn
   * from `mix` (500 InternalError, 503 SlowDown, reset before forwarding, reset after the server
   * applied the request, or a latency spike). Reproducible for a given seed (see `seed`).
   */
  randomFaults(options: RandomFaultOptions): RandomFaults {
    const { rate } = options
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate ${rate} is not within 0..1`)
    const seed = options.seed ?? 1
    const seen = new Map<string, number>()
    /** The PRNG of this request: seed + identity + occurrence (a retry is a new occurrence). */
    const drawsFor = (req: ProxiedRequest): (() => number) => {
      // DeleteObjects names its keys in the body
      const body = req.method === 'POST' ? fnv1a(req.body.toString('latin1')) : ''
      const id = `${req.method} ${req.key} ${req.query.get('prefix') ?? ''} ${req.query.get('continuation-token') ?? ''} ${body}`
      const n = (seen.get(id) ?? 0) + 1
      seen.set(id, n)
      return seededRandom(fnv1a(`${seed}|${id}|${n}`))
    }
    let random: () => number = () => 0
    const weights = Object.entries(options.mix ?? DEFAULT_FAULT_MIX).filter(([, w]) => w > 0) as [
      RandomFaultKind,
      number,
    ][]
    const sum = weights.reduce((a, [, w]) => a + w, 0)
    if (sum <= 0) throw new RangeError('the fault mix has no kind with a positive weight')
    const [lo, hi] = options.latencyMs ?? [200, 1500]
    const injected: Record<RandomFaultKind, number> = {
      'error-500': 0,
      'slowdown-503': 0,
      reset: 0,
      'reset-after-forward': 0,
      latency: 0,
    }
    const choose = (): FaultAction => {
      let x = random() * sum
      let kind = weights[weights.length - 1]![0]
      for (const [k, w] of weights) {
        if (x < w) {
          kind = k
          break
        }
        x -= w
      }
      injected[kind] += 1
      switch (kind) {
        case 'error-500':
          return { type: 'error', status: 500 }
        case 'slowdown-503':
          return { type: 'slowdown' }
        case 'reset':
          return { type: 'reset' }
        case 'reset-after-forward':
          return { type: 'reset-after-forward' }
        case 'latency':
          return { type: 'delay', ms: lo + Math.floor(random() * (hi - lo + 1)) }
      }
    }
    const handle: RandomFaults = {
      paused: false,
      injected,
      total: () => Object.values(injected).reduce((a, b) => a + b, 0),
      remove: () => installed.remove(),
    }
    const installed = this.addRule({
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      match: (req) => {
        if (handle.paused || !(options.match?.(req) ?? true)) return false
        random = drawsFor(req) // choose() below continues with the same draws
        return random() < rate
      },
      action: choose,
    })
    return handle
  }

  /** Removes every rule. */
  clearRules(): void {
    this.#rules = []
  }

  /**
   * Requests received per kind (failed ones included), how many of them were failed, and the
   * injected faults by {@link faultLabel}.
   */
  counts(): {
    requests: Record<ProxyRequestKind, number>
    injected: Record<ProxyRequestKind, number>
    faults: Record<string, number>
  } {
    return {
      requests: { ...this.#requests },
      injected: { ...this.#injected },
      faults: Object.fromEntries(this.#faults),
    }
  }

  /** Sets the counters back to 0. */
  resetCounts(): void {
    this.#requests = zero()
    this.#injected = zero()
    this.#faults.clear()
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const method = req.method ?? 'GET'
    const info = classifyS3Request(method, req.url ?? '/', req.headers)
    const proxied: ProxiedRequest = { method, headers: req.headers, body: Buffer.concat(chunks), ...info }
    this.#requests[info.kind] += 1
    const action = this.#pick(proxied)
    if (action !== undefined) {
      this.#injected[info.kind] += 1
      const label = faultLabel(action)
      this.#faults.set(label, (this.#faults.get(label) ?? 0) + 1)
    }
    switch (action?.type) {
      case undefined:
        return this.#forward(proxied, req, res)
      case 'delay':
        await new Promise((r) => setTimeout(r, action.ms))
        if (req.socket.destroyed) return
        return this.#forward(proxied, req, res)
      case 'reset':
        req.socket.destroy()
        return
      case 'reset-after-forward':
        await this.#forward(proxied, req, undefined)
        req.socket.destroy()
        return
      case 'slowdown':
        return sendError(res, method, 503, 'SlowDown', 'Please reduce your request rate.')
      case 'error':
        return sendError(
          res,
          method,
          action.status,
          action.code ?? 'InternalError',
          action.message ?? 'injected failure',
        )
      case 'respond': {
        const body = Buffer.from(action.body ?? '')
        res.writeHead(action.status, { 'content-length': String(body.length), ...action.headers })
        res.end(method === 'HEAD' ? undefined : body)
        return
      }
    }
  }

  #pick(req: ProxiedRequest): FaultAction | undefined {
    for (const r of this.#rules) {
      const { rule } = r
      if (rule.kind !== undefined) {
        const kinds: readonly ProxyRequestKind[] = typeof rule.kind === 'string' ? [rule.kind] : rule.kind
        if (!kinds.includes(req.kind)) continue
      }
      if (rule.method !== undefined && rule.method.toUpperCase() !== req.method) continue
      if (rule.match !== undefined && !rule.match(req)) continue
      r.matched += 1
      if (rule.nth !== undefined && r.matched < rule.nth) continue
      const times = rule.times ?? (rule.nth !== undefined ? 1 : Infinity)
      if (r.injected >= times) continue
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue
      r.injected += 1
      return typeof rule.action === 'function' ? rule.action(req) : rule.action
    }
    return undefined
  }

  /** Sends the buffered request upstream; relays the answer to `res` (or just drains it). */
  #forward(req: ProxiedRequest, incoming: IncomingMessage, res: ServerResponse | undefined): Promise<void> {
    const headers = { ...incoming.headers }
    delete headers.expect // the body is already complete
    headers['content-length'] = String(req.body.length)
    delete headers['transfer-encoding']
    return new Promise((resolve) => {
      const up = httpRequest(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: req.method,
          path: incoming.url,
          headers,
        },
        (upRes) => {
          if (res === undefined) {
            upRes.resume()
            upRes.on('end', resolve)
            return
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
          upRes.on('end', resolve)
        },
      )
      up.on('error', () => {
        incoming.socket.destroy()
        resolve()
      })
      up.end(req.body)
    })
  }
}

function sendError(res: ServerResponse, method: string, status: number, code: string, message: string): void {
  const body = Buffer.from(s3ErrorXml(code, message))
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(body.length) })
  res.end(method === 'HEAD' ? undefined : body)
}
