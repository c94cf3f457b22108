/**
 * Low-level HTTP client for the PBS-style API under `/api2/json`: envelope unwrapping, ticket
 * login with the CSRF token on every change, API-token auth, typed errors. Uses only `fetch`, so
 * it runs in browsers (the web UI) and in Node (the CLI's remote mode). No node: imports.
 *
 * Parameter encoding follows proxmox-backup-client: GET and DELETE put parameters in the query
 * string; POST and PUT send a JSON body, so booleans travel as real `true`/`false` (an
 * unchecked box must reach the server as `false`, not as a missing key).
 */
import { ApiError, ERROR_HEADER, errorFromBody } from './api-error.js'

/** A parameter value; `undefined` leaves the parameter out, arrays repeat the key. */
export type ParamValue = string | number | boolean | undefined | readonly string[]

/** Request parameters. */
export type Params = Record<string, ParamValue>

/** HTTP methods the API routes. */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

/** How the client authenticates. */
export type ApiCredentials =
  | {
      kind: 'ticket'
      username: string
      /** The ticket; absent when the browser holds it in a cookie it manages. */
      ticket?: string | undefined
      csrf: string
    }
  | { kind: 'token'; tokenid: string; secret: string }

/** The unwrapped success envelope. */
export interface ApiEnvelope<T> {
  data: T
  /** Result attribute `total` (task list, task log). */
  total?: number
  /** Result attribute `active` (task log with `test-status`). */
  active?: boolean
}

/** What a ticket login returns. */
export interface TicketResult {
  username: string
  ticket?: string | undefined
  CSRFPreventionToken: string
}

/** Construction options. */
export interface ApiClientOptions {
  /** Origin (and optional prefix) of the server, e.g. `https://pbs:8007`; '' = same origin. */
  baseUrl?: string
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch
  /**
   * Send the ticket as a `Cookie` header. Needed in Node; browsers refuse to set that header and
   * send the `PBSAuthCookie` cookie themselves.
   */
  cookieHeader?: boolean
  /** Called when an authenticated request answers 401 (session expired or revoked). */
  onUnauthorized?: (error: ApiError) => void
}

/** The API path prefix. */
export const API_PREFIX = '/api2/json'

/** Low-level API client; see the module comment. */
export class ApiClient {
  #baseUrl: string
  #fetch: typeof fetch
  #cookieHeader: boolean
  #onUnauthorized: ((error: ApiError) => void) | undefined
  #credentials: ApiCredentials | undefined

  constructor(options: ApiClientOptions = {}) {
    this.#baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '')
    // Bound, because some fetch implementations throw "Illegal invocation" when called unbound.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.#cookieHeader = options.cookieHeader ?? false
    this.#onUnauthorized = options.onUnauthorized
  }

  /** The current credentials (undefined when logged out). */
  get credentials(): ApiCredentials | undefined {
    return this.#credentials
  }

  /** Replaces the credentials (e.g. restored from a saved session). */
  setCredentials(credentials: ApiCredentials | undefined): void {
    this.#credentials = credentials
  }

  /**
   * Logs in with user and password and keeps the ticket and CSRF token.
   * @throws ApiError (401 "permission check failed." for wrong credentials)
   */
  async login(username: string, password: string): Promise<TicketResult> {
    const env = await this.#send<TicketResult>('POST', '/access/ticket', { username, password }, false)
    const t = env.data
    this.#credentials = {
      kind: 'ticket',
      username: t.username,
      ticket: t.ticket,
      csrf: t.CSRFPreventionToken,
    }
    return t
  }

  /**
   * Renews the ticket (PBS: the current ticket works as the password) before it expires.
   * @throws ApiError
   */
  async renewTicket(): Promise<TicketResult> {
    const c = this.#credentials
    if (c?.kind !== 'ticket' || c.ticket === undefined)
      throw new ApiError('renewing the ticket failed - not logged in with a ticket', {
        status: 401,
        request: 'POST /access/ticket',
      })
    return this.login(c.username, c.ticket)
  }

  /** Logs out (best effort: the server expires its cookie) and forgets the credentials. */
  async logout(): Promise<void> {
    try {
      // With the credentials, but a 401 here must not report an "expired session".
      await this.#send('DELETE', '/access/ticket', {}, true, false)
    } catch {
      // Logging out locally is what matters; a dead server must not keep the user logged in.
    } finally {
      this.#credentials = undefined
    }
  }

  /** GET, returning `data`. @throws ApiError */
  async get<T>(path: string, params: Params = {}): Promise<T> {
    return (await this.request<T>('GET', path, params)).data
  }

  /** POST, returning `data`. @throws ApiError */
  async post<T>(path: string, params: Params = {}): Promise<T> {
    return (await this.request<T>('POST', path, params)).data
  }

  /** PUT, returning `data`. @throws ApiError */
  async put<T>(path: string, params: Params = {}): Promise<T> {
    return (await this.request<T>('PUT', path, params)).data
  }

  /** DELETE, returning `data`. @throws ApiError */
  async delete<T>(path: string, params: Params = {}): Promise<T> {
    return (await this.request<T>('DELETE', path, params)).data
  }

  /**
   * One request with the whole envelope (for `total` and `active`).
   * @param path API path below `/api2/json`, components already percent-encoded (see `pathOf`).
   * @throws ApiError
   */
  async request<T>(method: ApiMethod, path: string, params: Params = {}): Promise<ApiEnvelope<T>> {
    return this.#send<T>(method, path, params, true)
  }

  async #send<T>(
    method: ApiMethod,
    path: string,
    params: Params,
    authenticated: boolean,
    report = authenticated,
  ): Promise<ApiEnvelope<T>> {
    const label = `${method} ${path}`
    const headers: Record<string, string> = { Accept: 'application/json' }
    let url = `${this.#baseUrl}${API_PREFIX}${path}`
    let body: string | undefined
    if (method === 'GET' || method === 'DELETE') {
      const query = encodeQuery(params)
      if (query !== '') url += `?${query}`
    } else {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(jsonParams(params))
    }
    const c = this.#credentials
    if (authenticated && c !== undefined) {
      if (c.kind === 'token') {
        headers.Authorization = `PBSAPIToken=${c.tokenid}:${c.secret}`
      } else {
        if (this.#cookieHeader && c.ticket !== undefined)
          headers.Cookie = `PBSAuthCookie=${encodeURIComponent(c.ticket)}`
        if (method !== 'GET') headers.CSRFPreventionToken = c.csrf
      }
    }
    let res: Response
    try {
      const init: RequestInit = { method, headers, credentials: 'same-origin' }
      if (body !== undefined) init.body = body
      res = await this.#fetch(url, init)
    } catch (e) {
      throw new ApiError(
        `cannot reach the server (${label}) - ${e instanceof Error ? e.message : String(e)}`,
        {
          status: 0,
          request: label,
        },
      )
    }
    const text = await res.text()
    if (!res.ok) {
      const err = errorFromBody(res.status, res.statusText, text, label, res.headers.get(ERROR_HEADER))
      if (report && err.status === 401) this.#onUnauthorized?.(err)
      throw err
    }
    let parsed: unknown
    try {
      parsed = text === '' ? { data: null } : JSON.parse(text)
    } catch {
      throw new ApiError(`invalid answer from the server (${label}) - not JSON`, {
        status: res.status,
        request: label,
      })
    }
    if (parsed === null || typeof parsed !== 'object')
      throw new ApiError(`invalid answer from the server (${label}) - not an object`, {
        status: res.status,
        request: label,
      })
    const env = parsed as Record<string, unknown>
    // ExtJS-style failures come with HTTP 200.
    if (env.success === false) {
      const err = errorFromBody(200, '', text, label)
      if (report && err.status === 401) this.#onUnauthorized?.(err)
      throw err
    }
    const out: ApiEnvelope<T> = { data: env.data as T }
    if (typeof env.total === 'number') out.total = env.total
    if (typeof env.active === 'boolean') out.active = env.active
    return out
  }
}

/** Builds an API path from components, percent-encoding each (`pathOf('admin', 'datastore', s)`). */
export function pathOf(...components: string[]): string {
  return components.map((c) => `/${encodeURIComponent(c)}`).join('')
}

/** Query string: undefined dropped, booleans as true/false, arrays as repeated keys. */
export function encodeQuery(params: Params): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue
    if (typeof v === 'object') for (const item of v) q.append(k, item)
    else q.append(k, String(v))
  }
  return q.toString()
}

/** JSON body: undefined dropped, everything else kept with its JSON type. */
function jsonParams(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v
  return out
}
