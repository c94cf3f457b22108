/**
 * The PBS privilege rules, written from spec/pbs-api.md (§3.2 roles, §3.4 evaluation, §3.7
 * namespace helper and ownership, §4 per endpoint) and spec/move.md §4, independently of the
 * server's route table: privileges.test.ts compares every answer of the server with these.
 */

/** A privilege name (spec §3.1). */
export type Priv =
  | 'Sys.Audit'
  | 'Sys.Modify'
  | 'Sys.PowerManagement'
  | 'Datastore.Audit'
  | 'Datastore.Allocate'
  | 'Datastore.Modify'
  | 'Datastore.Read'
  | 'Datastore.Verify'
  | 'Datastore.Backup'
  | 'Datastore.Prune'
  | 'Permissions.Modify'
  | 'Remote.Audit'
  | 'Remote.Modify'
  | 'Remote.Read'
  | 'Remote.DatastoreBackup'
  | 'Remote.DatastoreModify'
  | 'Remote.DatastorePrune'
  | 'Sys.Console'
  | 'Tape.Audit'
  | 'Tape.Modify'
  | 'Tape.Write'
  | 'Tape.Read'
  | 'Realm.Allocate'

const ALL: Priv[] = [
  'Sys.Audit',
  'Sys.Modify',
  'Sys.PowerManagement',
  'Datastore.Audit',
  'Datastore.Allocate',
  'Datastore.Modify',
  'Datastore.Read',
  'Datastore.Verify',
  'Datastore.Backup',
  'Datastore.Prune',
  'Permissions.Modify',
  'Remote.Audit',
  'Remote.Modify',
  'Remote.Read',
  'Remote.DatastoreBackup',
  'Remote.DatastoreModify',
  'Remote.DatastorePrune',
  'Sys.Console',
  'Tape.Audit',
  'Tape.Modify',
  'Tape.Write',
  'Tape.Read',
  'Realm.Allocate',
]

/** The built-in roles used by the test (spec §3.2). */
export const ROLE_PRIVS: Readonly<Record<string, readonly Priv[]>> = {
  Admin: ALL,
  Audit: ['Sys.Audit', 'Datastore.Audit'],
  NoAccess: [],
  DatastoreAdmin: [
    'Datastore.Audit',
    'Datastore.Modify',
    'Datastore.Read',
    'Datastore.Verify',
    'Datastore.Backup',
    'Datastore.Prune',
  ],
  DatastoreReader: ['Datastore.Audit', 'Datastore.Verify', 'Datastore.Read'],
  DatastoreBackup: ['Datastore.Backup'],
  DatastorePowerUser: ['Datastore.Prune', 'Datastore.Backup'],
  DatastoreAudit: ['Datastore.Audit'],
}

/** One ACL entry. */
export interface AclEntry {
  path: string
  ugid: string
  role: string
  propagate: boolean
}

function components(path: string): string[] {
  return path.split('/').filter(Boolean)
}

/**
 * The roles of exactly `ugid` on `path`, each with whether it propagates (spec §3.4: walk from `/`;
 * intermediate nodes count propagating entries only; a node with entries replaces the set).
 */
function rolesOf(
  acl: readonly AclEntry[],
  ugid: string,
  path: string,
): { role: string; propagate: boolean }[] {
  const target = components(path)
  let roles: { role: string; propagate: boolean }[] = []
  for (let depth = 0; depth <= target.length; depth++) {
    const node = target.slice(0, depth).join('/')
    const final = depth === target.length
    const here = acl.filter(
      (e) => e.ugid === ugid && components(e.path).join('/') === node && (final || e.propagate),
    )
    if (here.length === 0) continue
    // NoAccess at a node wipes the other roles there and contributes nothing.
    roles = here.some((e) => e.role === 'NoAccess')
      ? []
      : here.map((e) => ({ role: e.role, propagate: e.propagate }))
  }
  return roles
}

function privsOfDetail(
  acl: readonly AclEntry[],
  authid: string,
  path: string,
  propagatedOnly: boolean,
): Set<Priv> {
  const roles = rolesOf(acl, authid, path).filter((r) => r.propagate || !propagatedOnly)
  const own = new Set(roles.flatMap((r) => ROLE_PRIVS[r.role] ?? []))
  const bang = authid.indexOf('!')
  if (bang < 0) return own
  const user = privsOfDetail(acl, authid.slice(0, bang), path, propagatedOnly)
  return new Set([...own].filter((p) => user.has(p)))
}

/** Effective privileges of an auth id on a path; a token's are ANDed with its user's (spec §3.4). */
export function privsOf(acl: readonly AclEntry[], authid: string, path: string): Set<Priv> {
  return privsOfDetail(acl, authid, path, false)
}

/** The propagated part of privsOf (what `/access/permissions` marks `true`). */
export function propagatedPrivsOf(acl: readonly AclEntry[], authid: string, path: string): Set<Priv> {
  return privsOfDetail(acl, authid, path, true)
}

/** The privileges that make a namespace or datastore visible (spec §3.7 NS_PRIVS_OK). */
export const NS_PRIVS_OK: readonly Priv[] = [
  'Datastore.Modify',
  'Datastore.Read',
  'Datastore.Backup',
  'Datastore.Audit',
]

/**
 * spec §3.4 any_privs_below: the propagated privileges on `path`, or those on any deeper ACL node
 * where the auth id (or its user) has entries, intersect `privs`.
 */
export function anyPrivsBelow(
  acl: readonly AclEntry[],
  authid: string,
  path: string,
  privs: readonly Priv[],
): boolean {
  const has = (p: string): boolean => privs.some((x) => privsOf(acl, authid, p).has(x))
  if (privs.some((x) => propagatedPrivsOf(acl, authid, path).has(x))) return true
  const user = authid.split('!')[0]!
  return acl.some(
    (e) => (e.ugid === authid || e.ugid === user) && e.path.startsWith(`${path}/`) && has(e.path),
  )
}

/** The caller as the rules see it. */
export interface Caller {
  authid: string
  userid: string
  isToken: boolean
  /** Effective privileges on an ACL path. */
  privs(path: string): Set<Priv>
  /** any_privs_below(path, NS_PRIVS_OK) (spec §3.4). */
  nsPrivsBelow(path: string): boolean
}

/** spec §3.7 check_backup_owner: the owner is the caller, or a token of the calling user. */
export function ownsGroup(owner: string, c: Caller): boolean {
  return owner === c.authid || (!c.isToken && owner.startsWith(`${c.userid}!`))
}

/** ACL path of a namespace (spec §3.7). */
export function nsPath(store: string, ns: string): string {
  return ns === '' ? `/datastore/${store}` : `/datastore/${store}/${ns}`
}

/** Parent of a namespace ('' for a top-level one). */
export function nsParent(ns: string): string {
  return ns.includes('/') ? ns.slice(0, ns.lastIndexOf('/')) : ''
}

const any = (have: Set<Priv>, want: readonly Priv[]): boolean => want.some((p) => have.has(p))

/** spec §3.7 check_ns_privs_full: FULL bit → full, else PARTIAL bit → limited, else denied. */
export function nsAccess(
  c: Caller,
  store: string,
  ns: string,
  full: readonly Priv[],
  partial: readonly Priv[] = [],
): 'full' | 'limited' | 'deny' {
  const have = c.privs(nsPath(store, ns))
  if (any(have, full)) return 'full'
  if (any(have, partial)) return 'limited'
  return 'deny'
}

/** The facts of one case the rules need. */
export interface Facts {
  store: string
  /** Namespace of the group / snapshot / listing, or the namespace to create or delete. */
  ns?: string
  targetNs?: string
  /** Owner of the group the call names. */
  owner?: string
  newOwner?: string
  /** `{userid}` of the user and token endpoints, `userid` of PUT /access/password. */
  userid?: string
  /** `auth-id` of PUT /access/acl and GET /access/permissions ('' = none given). */
  authid?: string
  /** The task a task endpoint names. */
  task?: { authid: string; type: string; workerId: string }
}

/** The verdict for one call: allowed, or refused for lack of privileges / ownership. */
export type Verdict = 'allow' | 'deny'

/** FULL / PARTIAL+own (spec §3.7) for a group the call names. */
function groupRule(full: Priv[], partial: Priv[]): (c: Caller, f: Facts) => Verdict {
  return (c, f) => {
    const a = nsAccess(c, f.store, f.ns ?? '', full, partial)
    return a === 'full' || (a === 'limited' && ownsGroup(f.owner!, c)) ? 'allow' : 'deny'
  }
}

/** FULL / PARTIAL for a listing (limited callers see only their own groups: allow). */
function listRule(full: Priv[], partial: Priv[]): (c: Caller, f: Facts) => Verdict {
  return (c, f) => (nsAccess(c, f.store, f.ns ?? '', full, partial) === 'deny' ? 'deny' : 'allow')
}

/** Datastore.Modify on the parent namespace; the root itself is refused otherwise (spec §3.7). */
function nsModification(c: Caller, store: string, ns: string): Verdict {
  return c.privs(nsPath(store, nsParent(ns))).has('Datastore.Modify') ? 'allow' : 'deny'
}

const allow = (): Verdict => 'allow'
const priv =
  (path: string, p: Priv) =>
  (c: Caller): Verdict =>
    c.privs(path).has(p) ? 'allow' : 'deny'

/** spec §4.16: Permissions.Modify (Sys.Audit to read) on /access/users, or the id itself. */
function selfOr(p: Priv): (c: Caller, f: Facts) => Verdict {
  return (c, f) => (c.authid === f.userid || c.privs('/access/users').has(p) ? 'allow' : 'deny')
}

/** spec §4.15 check_task_access. */
export function taskAccess(c: Caller, t: NonNullable<Facts['task']>): boolean {
  if (t.authid === c.authid) return true
  if (!c.isToken && t.authid.startsWith(`${c.userid}!`)) return true
  if (c.privs('/system/tasks').has('Sys.Audit')) return true
  const [store, nsPart] = t.workerId.split(':')
  if (t.type === 'garbage_collection') return c.privs(`/datastore/${t.workerId}`).has('Datastore.Modify')
  if (t.type === 'prune' || t.type === 'prunejob')
    return c.privs(nsPath(store!, nsPart ?? '')).has('Datastore.Modify')
  if (t.type === 'verificationjob') return c.privs(`/datastore/${store}`).has('Datastore.Verify')
  return false
}

/**
 * spec §4.9 change-owner: Modify sets any owner; Backup only moves ownership between the calling
 * user and its own tokens (token → token of the same user, token → its user, user → own token).
 */
function changeOwner(c: Caller, f: Facts): Verdict {
  const a = nsAccess(c, f.store, f.ns ?? '', ['Datastore.Modify'], ['Datastore.Backup'])
  if (a === 'full') return 'allow'
  if (a === 'deny' || c.isToken) return 'deny'
  const owner = f.owner!
  const next = f.newOwner!
  const userOf = (id: string): string => id.split('!')[0]!
  const ownerTok = owner.includes('!')
  const nextTok = next.includes('!')
  const ok =
    ownerTok && nextTok
      ? userOf(owner) === c.userid && userOf(next) === c.userid
      : ownerTok
        ? userOf(owner) === c.userid && next === c.userid
        : nextTok
          ? owner === c.userid && userOf(next) === c.userid
          : false
  return ok ? 'allow' : 'deny'
}

/** spec/move.md §4.1: source Modify | Prune(+own), target Modify | Backup(+own). */
function moveGroup(c: Caller, f: Facts): Verdict {
  const src = nsAccess(c, f.store, f.ns ?? '', ['Datastore.Modify'], ['Datastore.Prune'])
  const dst = nsAccess(c, f.store, f.targetNs ?? '', ['Datastore.Modify'], ['Datastore.Backup'])
  if (src === 'deny' || dst === 'deny') return 'deny'
  if (src === 'limited' || dst === 'limited') return ownsGroup(f.owner!, c) ? 'allow' : 'deny'
  return 'allow'
}

/** One endpoint's rule, keyed `METHOD /path` as the API documents it. */
export const RULES: Readonly<Record<string, (c: Caller, f: Facts) => Verdict>> = {
  // §4.1, §2.2, §4.17: World or any authenticated user.
  'GET /version': allow,
  'GET /ping': allow,
  'POST /access/ticket': allow,
  'DELETE /access/ticket': allow,
  'GET /access/domains': allow,
  'GET /access/roles': allow,
  // §4.16: everyone lists (at least) their own user.
  'GET /access/users': allow,
  'POST /access/users': priv('/access/users', 'Permissions.Modify'),
  'GET /access/users/{userid}': selfOr('Sys.Audit'),
  'PUT /access/users/{userid}': selfOr('Permissions.Modify'),
  'DELETE /access/users/{userid}': selfOr('Permissions.Modify'),
  'GET /access/users/{userid}/token': selfOr('Sys.Audit'),
  'GET /access/users/{userid}/token/{token-name}': selfOr('Sys.Audit'),
  'POST /access/users/{userid}/token/{token-name}': selfOr('Permissions.Modify'),
  'PUT /access/users/{userid}/token/{token-name}': selfOr('Permissions.Modify'),
  'DELETE /access/users/{userid}/token/{token-name}': selfOr('Permissions.Modify'),
  // §4.16: tokens never; a user itself; Permissions.Modify on / for any (non-pam) user.
  'PUT /access/password': (c, f) =>
    !c.isToken && (f.userid === c.userid || c.privs('/').has('Permissions.Modify')) ? 'allow' : 'deny',
  // §4.17: listing filtered; writes: Permissions.Modify on /access/acl, else a user for its own tokens.
  'GET /access/acl': allow,
  'PUT /access/acl': (c, f) =>
    c.privs('/access/acl').has('Permissions.Modify') || (!c.isToken && f.authid!.startsWith(`${c.userid}!`))
      ? 'allow'
      : 'deny',
  // §4.18: own; another id with Sys.Audit on /access, or a user for its own token.
  'GET /access/permissions': (c, f) =>
    !f.authid ||
    f.authid === c.authid ||
    c.privs('/access').has('Sys.Audit') ||
    (!c.isToken && f.authid.startsWith(`${c.userid}!`))
      ? 'allow'
      : 'deny',
  // §4.2: listing filtered.
  'GET /admin/datastore': allow,
  // §1.2: directory index.
  'GET /admin/datastore/{store}': allow,
  // §4.3: listing (the 403 for an empty result without privileges on the parent is in
  // visibleNamespaces); create / delete need Modify on the parent.
  'GET /admin/datastore/{store}/namespace': allow,
  'POST /admin/datastore/{store}/namespace': (c, f) => nsModification(c, f.store, f.ns!),
  'DELETE /admin/datastore/{store}/namespace': (c, f) => nsModification(c, f.store, f.ns!),
  // §4.4–§4.8
  'GET /admin/datastore/{store}/groups': listRule(['Datastore.Audit'], ['Datastore.Backup']),
  'DELETE /admin/datastore/{store}/groups': groupRule(['Datastore.Modify'], ['Datastore.Prune']),
  'GET /admin/datastore/{store}/snapshots': listRule(['Datastore.Audit'], ['Datastore.Backup']),
  'DELETE /admin/datastore/{store}/snapshots': groupRule(['Datastore.Modify'], ['Datastore.Prune']),
  'GET /admin/datastore/{store}/files': groupRule(
    ['Datastore.Audit', 'Datastore.Read'],
    ['Datastore.Backup'],
  ),
  'GET /admin/datastore/{store}/notes': groupRule(['Datastore.Audit'], ['Datastore.Backup']),
  'PUT /admin/datastore/{store}/notes': groupRule(['Datastore.Modify'], ['Datastore.Backup']),
  'GET /admin/datastore/{store}/group-notes': groupRule(['Datastore.Audit'], ['Datastore.Backup']),
  'PUT /admin/datastore/{store}/group-notes': groupRule(['Datastore.Modify'], ['Datastore.Backup']),
  'GET /admin/datastore/{store}/protected': groupRule(['Datastore.Audit'], ['Datastore.Backup']),
  'PUT /admin/datastore/{store}/protected': groupRule(['Datastore.Modify'], ['Datastore.Backup']),
  'POST /admin/datastore/{store}/change-owner': changeOwner,
  // §4.14: Audit|Backup (full numbers), Read (zeros), or any namespace privilege below.
  'GET /admin/datastore/{store}/status': (c, f) => (statusMode(c, f.store) === 'deny' ? 'deny' : 'allow'),
  // §4.12: route-level checks on the store itself.
  'GET /admin/datastore/{store}/gc': (c, f) =>
    c.privs(`/datastore/${f.store}`).has('Datastore.Audit') ? 'allow' : 'deny',
  'POST /admin/datastore/{store}/gc': (c, f) =>
    c.privs(`/datastore/${f.store}`).has('Datastore.Modify') ? 'allow' : 'deny',
  // spec/move.md §4
  'POST /admin/datastore/{store}/move-group': moveGroup,
  'POST /admin/datastore/{store}/move-namespace': (c, f) =>
    nsModification(c, f.store, f.ns!) === 'allow' && nsModification(c, f.store, f.targetNs!) === 'allow'
      ? 'allow'
      : 'deny',
  // §4.11: Verify, or Backup (+own for a group; a namespace run covers only owned groups).
  'POST /admin/datastore/{store}/verify': (c, f) => {
    const a = nsAccess(c, f.store, f.ns ?? '', ['Datastore.Verify'], ['Datastore.Backup'])
    if (a === 'deny') return 'deny'
    return a === 'full' || f.owner === undefined || ownsGroup(f.owner, c) ? 'allow' : 'deny'
  },
  // §4.13
  'POST /admin/datastore/{store}/prune': groupRule(['Datastore.Modify'], ['Datastore.Prune']),
  'POST /admin/datastore/{store}/prune-datastore': (c, f) =>
    nsAccess(c, f.store, f.ns ?? '', ['Datastore.Modify', 'Datastore.Prune']) === 'deny' ? 'deny' : 'allow',
  // §4.15
  'GET /nodes/{node}/tasks': allow,
  'GET /nodes/{node}/tasks/{upid}': allow,
  'GET /nodes/{node}/tasks/{upid}/status': (c, f) => (taskAccess(c, f.task!) ? 'allow' : 'deny'),
  'GET /nodes/{node}/tasks/{upid}/log': (c, f) => (taskAccess(c, f.task!) ? 'allow' : 'deny'),
  'DELETE /nodes/{node}/tasks/{upid}': (c, f) =>
    f.task!.authid === c.authid || c.privs('/system/tasks').has('Sys.Modify') ? 'allow' : 'deny',
}

/** spec §4.14 status: 'full' numbers, 'zeros', or 'deny'. */
export function statusMode(c: Caller, store: string): 'full' | 'zeros' | 'deny' {
  const p = c.privs(`/datastore/${store}`)
  if (p.has('Datastore.Audit') || p.has('Datastore.Backup')) return 'full'
  if (p.has('Datastore.Read')) return 'zeros'
  return c.nsPrivsBelow(`/datastore/${store}`) ? 'zeros' : 'deny'
}

/** spec §4.2: a store is listed with Audit|Backup on it or any namespace privilege below it. */
export function datastoreListed(c: Caller, store: string): 'direct' | 'below' | 'hidden' {
  if (any(c.privs(`/datastore/${store}`), ['Datastore.Audit', 'Datastore.Backup'])) return 'direct'
  return c.nsPrivsBelow(`/datastore/${store}`) ? 'below' : 'hidden'
}

/**
 * spec §4.3 namespace listing: the namespaces (of `all`, below and including `parent`) with any
 * NS_PRIVS_OK bit; 'deny' when none is and the caller has no such bit on the parent.
 */
export function visibleNamespaces(
  c: Caller,
  store: string,
  parent: string,
  all: string[],
): string[] | 'deny' {
  const inTree = all.filter((ns) => parent === '' || ns === parent || ns.startsWith(`${parent}/`))
  const out = inTree.filter((ns) => any(c.privs(nsPath(store, ns)), NS_PRIVS_OK))
  if (out.length === 0 && !any(c.privs(nsPath(store, parent)), NS_PRIVS_OK)) return 'deny'
  return out
}

/** spec §4.4/§4.5: which groups of a namespace a listing shows. */
export function groupVisible(c: Caller, store: string, ns: string, owner: string): boolean {
  const a = nsAccess(c, store, ns, ['Datastore.Audit'], ['Datastore.Backup'])
  return a === 'full' || (a === 'limited' && ownsGroup(owner, c))
}

/**
 * spec §4.14 verbose counts: namespaces without NS_PRIVS_OK are skipped; all groups with Audit on
 * the store or Audit|Read on the namespace, else only owned ones.
 */
export function groupCounted(c: Caller, store: string, ns: string, owner: string): boolean {
  const p = c.privs(nsPath(store, ns))
  if (!any(p, NS_PRIVS_OK)) return false
  if (c.privs(`/datastore/${store}`).has('Datastore.Audit')) return true
  return any(p, ['Datastore.Audit', 'Datastore.Read']) || ownsGroup(owner, c)
}

/** spec §4.16: all users with Sys.Audit on /access/users, else the caller's own user. */
export function usersVisible(c: Caller, all: string[]): string[] {
  return c.privs('/access/users').has('Sys.Audit') ? all : all.filter((u) => u === c.userid)
}

/** spec §4.17: all entries with Sys.Audit on /access/acl, else (users only) their tokens' entries. */
export function aclVisible(c: Caller, ugid: string): boolean {
  if (c.privs('/access/acl').has('Sys.Audit')) return true
  return !c.isToken && ugid.startsWith(`${c.userid}!`)
}
