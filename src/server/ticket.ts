/**
 * PBS tickets and CSRF tokens (spec/pbs-api.md §2.3–§2.4).
 *
 * Ticket: `PBS:<userid>:<TIME uppercase hex>::<base64 no-pad signature of "PBS:<userid>:<TIME>">`;
 * valid from 300 s before TIME to 2 h after. The userid is percent-encoded only for control
 * characters and ':'. CSRF token: `<TIME %08X>:<HMAC-SHA3-256(csrf key, "<TIME>:<userid>:")>`.
 */
import { timingSafeEqual } from 'node:crypto'

import { AuthenticationError } from '../errors.js'
import { CLOCK_SKEW_SECONDS, TICKET_LIFETIME_SECONDS, type AuthKeys } from './auth-keys.js'

const PREFIX = 'PBS'

function hexTime(t: number): string {
  return t.toString(16).toUpperCase().padStart(8, '0')
}

function encodeUserid(userid: string): string {
  return userid.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f:%]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}

/** Issues a ticket for `userid` at `now` (epoch seconds). */
export function createTicket(keys: AuthKeys, userid: string, now = Math.floor(Date.now() / 1000)): string {
  const data = `${PREFIX}:${encodeUserid(userid)}:${hexTime(now)}`
  return `${data}::${keys.sign(data)}`
}

/**
 * Verifies a ticket and returns its userid.
 * @throws AuthenticationError `invalid ticket - …`
 */
export function verifyTicket(keys: AuthKeys, ticket: string, now = Math.floor(Date.now() / 1000)): string {
  const cut = ticket.lastIndexOf('::')
  if (cut < 0) throw new AuthenticationError('invalid ticket - no signature')
  const data = ticket.slice(0, cut)
  const sig = ticket.slice(cut + 2)
  const m = /^PBS:([^:]+):([0-9A-F]{8,})$/.exec(data)
  if (!m) throw new AuthenticationError('invalid ticket - bad format')
  if (!keys.verify(data, sig)) throw new AuthenticationError('invalid ticket - signature verification failed')
  const time = parseInt(m[2]!, 16)
  const age = now - time
  if (age < -CLOCK_SKEW_SECONDS)
    throw new AuthenticationError('invalid ticket - timestamp newer than expected')
  if (age > TICKET_LIFETIME_SECONDS) throw new AuthenticationError('invalid ticket - expired')
  return decodeURIComponent(m[1]!)
}

/** Makes the CSRF token of `userid` at `now`. */
export function createCsrfToken(keys: AuthKeys, userid: string, now = Math.floor(Date.now() / 1000)): string {
  const t = hexTime(now)
  return `${t}:${keys.csrfMac(`${t}:${userid}:`)}`
}

/**
 * Checks a CSRF token for `userid`.
 * @throws AuthenticationError `invalid csrf token - …`
 */
export function verifyCsrfToken(
  keys: AuthKeys,
  userid: string,
  token: string,
  now = Math.floor(Date.now() / 1000),
): void {
  const m = /^([0-9A-F]{8}):(.+)$/.exec(token)
  if (!m) throw new AuthenticationError('invalid csrf token - format error')
  const time = parseInt(m[1]!, 16)
  const expected = Buffer.from(keys.csrfMac(`${m[1]}:${userid}:`))
  const got = Buffer.from(m[2]!)
  if (expected.length !== got.length || !timingSafeEqual(expected, got))
    throw new AuthenticationError('invalid csrf token - invalid signature')
  const age = now - time
  if (age < -CLOCK_SKEW_SECONDS || age > TICKET_LIFETIME_SECONDS)
    throw new AuthenticationError('invalid csrf token - timestamp out of range')
}
