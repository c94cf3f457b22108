/**
 * Request authentication (spec/pbs-api.md §2.4–§2.6): a ticket cookie (`__Host-PBSAuthCookie`
 * wins, else the last `PBSAuthCookie`), which for any method but GET also needs the
 * `CSRFPreventionToken` header; otherwise `Authorization: PBSAPIToken=<tokenid>:<secret>` (a
 * space may replace '='). With a cookie present the Authorization header is ignored, and a bad
 * cookie does not fall back to a token. Verified token secrets are cached (by a SHA-256 of the
 * secret) until token.shadow changes or 60 s pass, since scrypt costs tens of milliseconds.
 */
import { createHash } from 'node:crypto'

import { parseAuthid } from '../api-types/index.js'
import type { AccessConfig } from '../config/access-config.js'
import { AuthenticationError } from '../errors.js'
import type { AuthKeys } from './auth-keys.js'
import { verifyCsrfToken, verifyTicket } from './ticket.js'

/** Who is calling. */
export interface AuthInfo {
  /** `user@realm` or `user@realm!token`. */
  authid: string
  /** `user@realm`. */
  userid: string
  /** Token name when authenticated by API token. */
  tokenName?: string
  /** How: a ticket cookie or an API token. */
  via: 'ticket' | 'token'
}

/** The request parts authentication looks at. */
export interface AuthRequest {
  method: string
  headers: Record<string, string | string[] | undefined>
}

const TOKEN_CACHE_MS = 60_000

/** Authenticates requests against one installation's access config and keys. */
export class Authenticator {
  readonly #access: AccessConfig
  readonly #keys: AuthKeys
  readonly #tokenCache = new Map<string, { digest: string; stamp: string; until: number }>()

  constructor(access: AccessConfig, keys: AuthKeys) {
    this.#access = access
    this.#keys = keys
  }

  /**
   * Authenticates a request.
   * @throws AuthenticationError (the API answers `401 authentication failed`).
   */
  async authenticate(req: AuthRequest): Promise<AuthInfo> {
    const ticket = ticketFromCookies(req.headers.cookie)
    if (ticket !== undefined) {
      const userid = verifyTicket(this.#keys, ticket)
      if (!(await this.#access.isActive(userid)))
        throw new AuthenticationError('user account disabled or expired.')
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const csrf = headerValue(req.headers.csrfpreventiontoken)
        if (csrf === undefined) throw new AuthenticationError('missing CSRF prevention token')
        verifyCsrfToken(this.#keys, userid, csrf)
      }
      return { authid: userid, userid, via: 'ticket' }
    }
    const header = headerValue(req.headers.authorization)
    if (header !== undefined) {
      const m = /^PBSAPIToken[= ](.*)$/s.exec(header)
      if (!m) throw new AuthenticationError('invalid authorization header')
      const rest = m[1]!
      const colon = rest.indexOf(':')
      if (colon < 0) throw new AuthenticationError('invalid API token')
      const tokenid = rest.slice(0, colon)
      const secret = safeDecode(rest.slice(colon + 1))
      let a
      try {
        a = parseAuthid(tokenid)
      } catch {
        throw new AuthenticationError('invalid API token id')
      }
      if (a.tokenName === undefined) throw new AuthenticationError('invalid API token id - not a token')
      if (!(await this.#access.isActive(tokenid)))
        throw new AuthenticationError('user account or token disabled or expired.')
      await this.#checkTokenSecret(tokenid, secret)
      return { authid: tokenid, userid: a.userid, tokenName: a.tokenName, via: 'token' }
    }
    throw new AuthenticationError('no authentication credentials provided.')
  }

  async #checkTokenSecret(tokenid: string, secret: string): Promise<void> {
    const digest = createHash('sha256').update(secret).digest('hex')
    const stamp = await this.#access.tokenShadowStamp()
    const hit = this.#tokenCache.get(tokenid)
    if (hit && hit.digest === digest && hit.stamp === stamp && hit.until > Date.now()) return
    if (!(await this.#access.verifyTokenSecret(tokenid, secret)))
      throw new AuthenticationError('invalid API token')
    this.#tokenCache.set(tokenid, { digest, stamp, until: Date.now() + TOKEN_CACHE_MS })
  }
}

/** The ticket from the Cookie header(s), PBS precedence. */
export function ticketFromCookies(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  let plain: string | undefined
  for (const h of Array.isArray(header) ? header : [header]) {
    for (const part of h.split(';')) {
      const eq = part.indexOf('=')
      if (eq < 0) continue
      const name = part.slice(0, eq).trim()
      const value = safeDecode(part.slice(eq + 1).trim())
      if (name === '__Host-PBSAuthCookie') return value
      if (name === 'PBSAuthCookie') plain = value
    }
  }
  return plain
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
