/**
 * The browser session: the ticket lives in the `PBSAuthCookie` cookie (as in the PBS web UI, so
 * every request carries it), user and CSRF token in sessionStorage so a reload keeps the login.
 */
import type { ApiCredentials } from '../../src/client/index.js'

const STORAGE_KEY = 'pbs-store-session'
const COOKIE = 'PBSAuthCookie'

/** What survives a page reload. */
export interface SavedSession {
  username: string
  csrf: string
}

/** Stores the session after login or ticket renewal. */
export function saveSession(username: string, csrf: string, ticket: string | undefined): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ username, csrf } satisfies SavedSession))
  if (ticket !== undefined) {
    const secure = location.protocol === 'https:' ? '; Secure' : ''
    document.cookie = `${COOKIE}=${encodeURIComponent(ticket)}; Path=/; SameSite=Strict${secure}`
  }
}

/** The saved session as client credentials, if there is one. */
export function loadSession(): ApiCredentials | undefined {
  const raw = sessionStorage.getItem(STORAGE_KEY)
  const ticket = readTicket()
  if (raw === null || ticket === undefined) return undefined
  try {
    const s = JSON.parse(raw) as Partial<SavedSession>
    if (typeof s.username !== 'string' || typeof s.csrf !== 'string') return undefined
    return { kind: 'ticket', username: s.username, csrf: s.csrf, ticket }
  } catch {
    return undefined
  }
}

/** Forgets the session (logout, expired ticket). */
export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY)
  document.cookie = `${COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Strict`
}

/** The ticket from the cookie. */
function readTicket(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === COOKIE && v.length > 0) return decodeURIComponent(v.join('='))
  }
  return undefined
}
