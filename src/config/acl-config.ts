/**
 * `acl.cfg` in the PBS format (spec/pbs-api.md §3.3–§3.5) and ACL evaluation.
 *
 * One line per entry group: `acl:<0|1>:<path>:<ugid>[,<ugid>…]:<role>[,<role>…]`. Evaluation walks
 * from `/` down the path; at each node the auth id's entries (only propagating ones above the
 * final node) REPLACE the set found above — PBS never merges levels. `NoAccess` yields an empty
 * set and so blocks inheritance. Token privileges are ANDed with their user's (a token never
 * exceeds its user); `root@pam` (not its tokens) has every privilege everywhere.
 */
import { join } from 'node:path'

import { SAFE_ID_REGEX } from '../api-types/index.js'
import { ConfigError, ValidationError } from '../errors.js'
import { readConfigFile, writeConfigFileAtomic, type ConfigLock } from './config-file.js'
import { ALL_PRIVS, ROLES, isRoleName } from './privileges.js'

/** File name of the ACL config in `<home>/etc`. */
export const ACL_CFG_FILE = 'acl.cfg'
/** Lock file serialising acl.cfg updates. */
export const ACL_CFG_LOCK_FILE = '.acl.lck'
/** The superuser. */
export const SUPERUSER = 'root@pam'

/** One ACL entry: a role for a user/token (or `@group`) on a path. */
export interface AclEntry {
  /** Normalised path: `/` or `/a/b`. */
  path: string
  /** User id, token id or `@group`. */
  ugid: string
  roleid: string
  propagate: boolean
}

/** The parsed acl.cfg: entries in file order. */
export interface AclConfig {
  entries: AclEntry[]
}

/** `<etc>/acl.cfg` */
export function aclConfigPath(etcDir: string): string {
  return join(etcDir, ACL_CFG_FILE)
}

/** Normalises an ACL path (`/datastore//s/` → `/datastore/s`); '' is `/`. */
export function normalizeAclPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '')
  return parts.length === 0 ? '/' : `/${parts.join('/')}`
}

/** Path components ('/' → []). */
export function aclPathComponents(path: string): string[] {
  return path.split('/').filter((p) => p !== '')
}

/**
 * Parses acl.cfg text.
 * @throws ConfigError naming the line for a malformed line or an unknown role.
 */
export function parseAclConfig(text: string): AclConfig {
  const entries: AclEntry[] = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '') return
    const fail = (cause: string): never => {
      throw new ConfigError(`parsing '${ACL_CFG_FILE}' failed - line ${index + 1}: ${cause}`, {
        file: ACL_CFG_FILE,
        line: index + 1,
      })
    }
    const fields = line.split(':')
    if (fields.length !== 5 || fields[0] !== 'acl') fail('expected acl:<propagate>:<path>:<ugids>:<roles>')
    const [, prop, path, ugids, roles] = fields as [string, string, string, string, string]
    if (prop !== '0' && prop !== '1') fail(`propagate must be 0 or 1, got '${prop}'`)
    for (const role of roles.split(',')) {
      if (!isRoleName(role)) fail(`unknown role '${role}'`)
      for (const ugid of ugids.split(','))
        if (ugid !== '')
          entries.push({ path: normalizeAclPath(path), ugid, roleid: role, propagate: prop === '1' })
    }
  })
  return { entries }
}

/**
 * Writes acl.cfg as PBS does: depth-first by path, children sorted; per node the propagate=0
 * lines first; ugids with identical role sets share a line; `NoAccess` stands alone;
 * `root@pam` entries are never written.
 */
export function writeAclConfig(cfg: AclConfig): string {
  const byPath = new Map<string, AclEntry[]>()
  for (const e of cfg.entries) {
    if (e.ugid === SUPERUSER) continue
    const list = byPath.get(e.path) ?? []
    list.push(e)
    byPath.set(e.path, list)
  }
  const paths = [...byPath.keys()].sort((a, b) => comparePaths(a, b))
  const out: string[] = []
  for (const path of paths) {
    const entries = byPath.get(path) ?? []
    for (const propagate of [false, true]) {
      const rolesByUgid = new Map<string, Set<string>>()
      for (const e of entries.filter((x) => x.propagate === propagate)) {
        const set = rolesByUgid.get(e.ugid) ?? new Set<string>()
        set.add(e.roleid)
        rolesByUgid.set(e.ugid, set)
      }
      const ugidsByRoles = new Map<string, string[]>()
      for (const [ugid, roles] of rolesByUgid) {
        const list = roles.has('NoAccess') ? ['NoAccess'] : [...roles].sort()
        const key = list.join(',')
        ugidsByRoles.set(key, [...(ugidsByRoles.get(key) ?? []), ugid])
      }
      for (const [roles, ugids] of [...ugidsByRoles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        out.push(`acl:${propagate ? 1 : 0}:${path}:${ugids.sort().join(',')}:${roles}`)
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`
}

/** Depth-first order: a path's children come right after it, siblings sorted by name. */
function comparePaths(a: string, b: string): number {
  const pa = aclPathComponents(a)
  const pb = aclPathComponents(b)
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1
  }
  return pa.length - pb.length
}

/**
 * Adds a role (PBS insert semantics: NoAccess wipes the auth id's other roles at that node,
 * any other role removes NoAccess there). Re-adding updates `propagate`.
 */
export function addAclEntry(cfg: AclConfig, entry: AclEntry): void {
  const path = normalizeAclPath(entry.path)
  const same = (e: AclEntry): boolean => e.path === path && e.ugid === entry.ugid
  if (entry.roleid === 'NoAccess') cfg.entries = cfg.entries.filter((e) => !same(e))
  else
    cfg.entries = cfg.entries.filter(
      (e) => !(same(e) && (e.roleid === 'NoAccess' || e.roleid === entry.roleid)),
    )
  cfg.entries.push({ ...entry, path })
}

/** Removes one role of an auth id on a path; returns whether something was removed. */
export function removeAclEntry(cfg: AclConfig, path: string, ugid: string, roleid: string): boolean {
  const p = normalizeAclPath(path)
  const before = cfg.entries.length
  cfg.entries = cfg.entries.filter((e) => !(e.path === p && e.ugid === ugid && e.roleid === roleid))
  return cfg.entries.length !== before
}

/** Removes every entry of an auth id (and, for a user, of its tokens when `withTokens`). */
export function removeAclEntriesOf(cfg: AclConfig, authid: string, withTokens = false): number {
  const before = cfg.entries.length
  cfg.entries = cfg.entries.filter(
    (e) => !(e.ugid === authid || (withTokens && e.ugid.startsWith(`${authid}!`))),
  )
  return before - cfg.entries.length
}

/**
 * Re-points every entry on `from` and below it (only `from` itself with `exactOnly`) to the same
 * place below `to` (namespace move).
 * Returns the moved entries with their old paths.
 */
export function repointAclPaths(
  cfg: AclConfig,
  from: string,
  to: string,
  exactOnly = false,
): { from: string; to: string; entry: AclEntry }[] {
  const src = normalizeAclPath(from)
  const dst = normalizeAclPath(to)
  const moved: { from: string; to: string; entry: AclEntry }[] = []
  const kept: AclEntry[] = []
  const added: AclEntry[] = []
  for (const e of cfg.entries) {
    if (e.path === src || (!exactOnly && e.path.startsWith(`${src}/`))) {
      const newPath = normalizeAclPath(dst + e.path.slice(src.length))
      const next = { ...e, path: newPath }
      added.push(next)
      moved.push({ from: e.path, to: newPath, entry: next })
    } else kept.push(e)
  }
  cfg.entries = kept
  for (const e of added) {
    // An entry the target path already has (same auth id and role) stays as it is.
    if (!cfg.entries.some((x) => x.path === e.path && x.ugid === e.ugid && x.roleid === e.roleid))
      addAclEntry(cfg, e)
  }
  return moved
}

/**
 * Checks a path for a new ACL entry (PBS check_acl_path).
 * @throws ValidationError `invalid acl path '<path>'.`
 */
export function checkAclPath(path: string): string {
  const p = normalizeAclPath(path)
  const c = aclPathComponents(p)
  const bad = (): never => {
    throw new ValidationError('path', path, `invalid acl path '${path}'.`)
  }
  if (path.length < 1 || path.length > 128) bad()
  if (c.some((x) => !SAFE_ID_REGEX.test(x))) bad()
  if (c.length === 0) return p
  const [top, second, third] = c
  const n = c.length
  switch (top) {
    case 'access':
      if (n === 1) return p
      if (n === 2 && ['acl', 'users', 'domains', 'openid'].includes(second!)) return p
      if (n === 3 && second === 'openid') return p
      return bad()
    case 'datastore':
      if (n <= 2 + 7) return p
      return bad()
    case 'remote':
      if (n <= 3 + 7) return p
      return bad()
    case 'system':
      if (n === 1) return p
      if (
        n === 2 &&
        [
          'certificates',
          'disks',
          'log',
          'notifications',
          'status',
          'tasks',
          'time',
          'services',
          'network',
          's3-endpoint',
          'encryption-keys',
        ].includes(second!)
      )
        return p
      if (n === 3 && ['services', 's3-endpoint', 'encryption-keys'].includes(second!)) return p
      if (n === 3 && second === 'network' && (third === 'dns' || third === 'interfaces')) return p
      if (n === 4 && second === 'network' && third === 'interfaces') return p
      return bad()
    case 'tape':
      if (n === 1) return p
      if (n <= 3 && ['device', 'pool', 'job'].includes(second!)) return p
      return bad()
    default:
      return bad()
  }
}

/** Roles of one ugid on a path (PBS AclTree::roles): role → propagate flag. */
export function rolesOn(cfg: AclConfig, ugid: string, path: string): Map<string, boolean> {
  const comps = aclPathComponents(normalizeAclPath(path))
  let current = new Map<string, boolean>()
  for (let depth = 0; depth <= comps.length; depth++) {
    const nodePath = depth === 0 ? '/' : `/${comps.slice(0, depth).join('/')}`
    const final = depth === comps.length
    const here = cfg.entries.filter((e) => e.path === nodePath && e.ugid === ugid && (final || e.propagate))
    if (here.length === 0) continue
    const next = new Map<string, boolean>()
    if (!here.some((e) => e.roleid === 'NoAccess')) for (const e of here) next.set(e.roleid, e.propagate)
    current = next
  }
  return current
}

/** Privileges of one ugid from its own entries: [all privs, propagated privs]. */
function privsOfUgid(cfg: AclConfig, ugid: string, path: string): [number, number] {
  let privs = 0
  let propagated = 0
  for (const [role, propagate] of rolesOn(cfg, ugid, path)) {
    const r = ROLES[role]?.privs ?? 0
    privs |= r
    if (propagate) propagated |= r
  }
  return [privs, propagated]
}

/**
 * Effective privileges of an auth id on a path: [privs, propagated privs]. A token's are ANDed
 * with its user's; root@pam has everything. Activity (enable/expire) is the caller's concern.
 */
export function lookupPrivs(cfg: AclConfig, authid: string, path: string): [number, number] {
  if (authid === SUPERUSER) return [ALL_PRIVS, ALL_PRIVS]
  const bang = authid.indexOf('!')
  const [privs, propagated] = privsOfUgid(cfg, authid, path)
  if (bang === -1) return [privs, propagated]
  const [userPrivs, userPropagated] = lookupPrivs(cfg, authid.slice(0, bang), path)
  return [privs & userPrivs, propagated & userPropagated]
}

/**
 * PBS any_privs_below: the propagated privileges on `path` intersect `mask`, or some deeper ACL
 * node where the auth id (or, for a token, the token) has entries grants such a privilege.
 */
export function anyPrivsBelow(cfg: AclConfig, authid: string, path: string, mask: number): boolean {
  const [, propagated] = lookupPrivs(cfg, authid, path)
  if ((propagated & mask) !== 0) return true
  const p = normalizeAclPath(path)
  const prefix = p === '/' ? '/' : `${p}/`
  const ugids = new Set([authid, authid.includes('!') ? authid.slice(0, authid.indexOf('!')) : authid])
  for (const e of cfg.entries) {
    if (!ugids.has(e.ugid) || !e.path.startsWith(prefix)) continue
    if ((lookupPrivs(cfg, authid, e.path)[0] & mask) !== 0) return true
  }
  return false
}

/** Loads acl.cfg (missing = empty). @throws ConfigError, StorageError */
export async function loadAclConfig(etcDir: string): Promise<AclConfig> {
  return parseAclConfig(await readConfigFile(aclConfigPath(etcDir)))
}

/** Saves acl.cfg atomically (mode 0640). */
export async function saveAclConfig(etcDir: string, cfg: AclConfig): Promise<void> {
  await writeConfigFileAtomic(aclConfigPath(etcDir), writeAclConfig(cfg), 0o640)
}

/** Read-modify-write of acl.cfg under its lock. */
export async function updateAclConfig<T>(
  etcDir: string,
  lock: ConfigLock,
  fn: (cfg: AclConfig) => T | Promise<T>,
): Promise<T> {
  return lock(async () => {
    const cfg = await loadAclConfig(etcDir)
    const r = await fn(cfg)
    await saveAclConfig(etcDir, cfg)
    return r
  })
}
