/**
 * `user.cfg` (spec/pbs-api.md §3.6): a section config with `user: <userid>` and
 * `token: <userid>!<name>` sections. Secrets never live here: password hashes are in
 * `shadow.json`, token secret hashes in `token.shadow` (see secret-store.ts).
 */
import { join } from 'node:path'

import { parseAuthid, parseUserid } from '../api-types/index.js'
import { ConfigError } from '../errors.js'
import { readConfigFile, writeConfigFileAtomic, type ConfigLock } from './config-file.js'
import {
  emptySectionConfig,
  parseSectionConfig,
  writeSectionConfig,
  type SectionConfigData,
  type SectionConfigSection,
} from './section-config.js'

/** File name of the user config in `<home>/etc`. */
export const USER_CFG_FILE = 'user.cfg'
/** Lock file serialising user.cfg, shadow.json and token.shadow updates. */
export const USER_CFG_LOCK_FILE = '.user.lck'

/** Fields shared by users and tokens. */
interface AccountFields {
  comment?: string
  /** Absent means enabled. */
  enable?: boolean
  /** Epoch seconds; absent or 0 means never. */
  expire?: number
}

/** A user (`user: <userid>`). */
export interface UserEntry extends AccountFields {
  userid: string
  firstname?: string
  lastname?: string
  email?: string
}

/** An API token (`token: <userid>!<name>`). */
export interface TokenEntry extends AccountFields {
  tokenid: string
}

/** The parsed user.cfg, keeping the raw sections so unknown keys and comments survive. */
export interface UserConfig {
  users: Map<string, UserEntry>
  tokens: Map<string, TokenEntry>
  /** The raw file (for round trips). */
  raw: SectionConfigData
}

const USER_KEYS = ['comment', 'enable', 'expire', 'firstname', 'lastname', 'email'] as const
const TOKEN_KEYS = ['comment', 'enable', 'expire'] as const

/** `<etc>/user.cfg` */
export function userConfigPath(etcDir: string): string {
  return join(etcDir, USER_CFG_FILE)
}

/** `<etc>/.user.lck` */
export function userConfigLockPath(etcDir: string): string {
  return join(etcDir, USER_CFG_LOCK_FILE)
}

/** Parses a PBS boolean spelling (1|on|yes|true, 0|off|no|false). */
export function parseBoolString(value: string): boolean | undefined {
  const v = value.toLowerCase()
  if (['1', 'on', 'yes', 'true'].includes(v)) return true
  if (['0', 'off', 'no', 'false'].includes(v)) return false
  return undefined
}

/**
 * Parses user.cfg text.
 * @throws ConfigError for bad ids or values.
 */
export function parseUserConfig(text: string): UserConfig {
  const raw = parseSectionConfig(text, USER_CFG_FILE)
  const users = new Map<string, UserEntry>()
  const tokens = new Map<string, TokenEntry>()
  for (const s of raw.sections) {
    const fail = (cause: string): never => {
      throw new ConfigError(`parsing '${USER_CFG_FILE}' failed - line ${s.line ?? 0}: ${cause}`, {
        file: USER_CFG_FILE,
        id: s.id,
      })
    }
    try {
      if (s.type === 'user') {
        parseUserid(s.id, 'userid')
        users.set(s.id, { userid: s.id, ...readFields(s, USER_KEYS, fail) })
      } else if (s.type === 'token') {
        const a = parseAuthid(s.id, 'tokenid')
        if (a.tokenName === undefined) fail(`token id '${s.id}' has no token name`)
        tokens.set(s.id, { tokenid: s.id, ...readFields(s, TOKEN_KEYS, fail) })
      }
    } catch (e) {
      if (e instanceof ConfigError) throw e
      fail(e instanceof Error ? e.message : String(e))
    }
  }
  return { users, tokens, raw }
}

function readFields(
  s: SectionConfigSection,
  keys: readonly string[],
  fail: (cause: string) => never,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const key of keys) {
    const v = s.properties.get(key)
    if (v === undefined) continue
    if (key === 'enable') out[key] = parseBoolString(v) ?? fail(`'enable' must be a boolean, got '${v}'`)
    else if (key === 'expire') {
      if (!/^[0-9]+$/.test(v)) fail(`'expire' must be an epoch, got '${v}'`)
      out[key] = Number(v)
    } else out[key] = v
  }
  return out
}

/** Writes user.cfg, users first then tokens, keeping unknown sections and comments. */
export function writeUserConfig(cfg: UserConfig): string {
  const old = new Map(cfg.raw.sections.map((s) => [`${s.type}:${s.id}`, s]))
  const sections: SectionConfigSection[] = []
  const emit = (type: string, id: string, entry: object, keys: readonly string[]): void => {
    const prev = old.get(`${type}:${id}`)
    const properties = new Map<string, string>()
    // Unknown keys of an existing section survive a rewrite.
    for (const [k, v] of prev?.properties ?? []) if (!keys.includes(k)) properties.set(k, v)
    const rec = entry as Record<string, string | number | boolean | undefined>
    for (const key of keys) {
      const v = rec[key]
      if (v === undefined) continue
      properties.set(key, typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v))
    }
    sections.push({ type, id, properties, ...(prev?.preamble ? { preamble: prev.preamble } : {}) })
  }
  for (const u of cfg.users.values()) emit('user', u.userid, u, USER_KEYS)
  for (const t of cfg.tokens.values()) emit('token', t.tokenid, t, TOKEN_KEYS)
  for (const s of cfg.raw.sections) if (s.type !== 'user' && s.type !== 'token') sections.push(s)
  return writeSectionConfig({ ...cfg.raw, sections }, USER_CFG_FILE)
}

/** An empty user config. */
export function emptyUserConfig(): UserConfig {
  return { users: new Map(), tokens: new Map(), raw: emptySectionConfig() }
}

/** True when a user or token is enabled and not expired (`now` in epoch seconds). */
export function isAccountActive(
  entry: AccountFields | undefined,
  now = Math.floor(Date.now() / 1000),
): boolean {
  if (entry === undefined) return false
  if (entry.enable === false) return false
  return entry.expire === undefined || entry.expire === 0 || entry.expire > now
}

/** Loads user.cfg (missing = empty). root@pam always exists, as in PBS. */
export async function loadUserConfig(etcDir: string): Promise<UserConfig> {
  const cfg = parseUserConfig(await readConfigFile(userConfigPath(etcDir)))
  if (!cfg.users.has('root@pam')) cfg.users.set('root@pam', { userid: 'root@pam', comment: 'Superuser' })
  return cfg
}

/** Saves user.cfg atomically (mode 0640). */
export async function saveUserConfig(etcDir: string, cfg: UserConfig): Promise<void> {
  await writeConfigFileAtomic(userConfigPath(etcDir), writeUserConfig(cfg), 0o640)
}

/** Read-modify-write of user.cfg under its lock. */
export async function updateUserConfig<T>(
  etcDir: string,
  lock: ConfigLock,
  fn: (cfg: UserConfig) => T | Promise<T>,
): Promise<T> {
  return lock(async () => {
    const cfg = await loadUserConfig(etcDir)
    const r = await fn(cfg)
    await saveUserConfig(etcDir, cfg)
    return r
  })
}
