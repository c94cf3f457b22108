/**
 * Privilege checks (spec/pbs-api.md §3.4, §3.7; spec/move.md §4). Every denial is a
 * PermissionError (403) with PBS's wording: route-level `permission check failed`, the namespace
 * helper `permission check failed - missing <A>|<B> on /datastore/<store>[/<ns…>]`, the in-handler
 * check `missing permissions '<A>&<B>' on '<path>'`, the owner check
 * `backup owner check failed (<caller> != <owner>)`.
 */
import { ownerMatches, type BackupGroupRef, type BackupNamespace } from '../api-types/index.js'
import { privNames } from '../config/privileges.js'
import { getOwner, type Datastore } from '../datastore/index.js'
import { PermissionError } from '../errors.js'
import type { AuthInfo } from './authenticate.js'
import type { ServerContext } from './server-context.js'

/** ACL path of a namespace: `/datastore/<store>` for the root, `/datastore/<store>/a/b` below. */
export function nsAclPath(store: string, ns: BackupNamespace): string {
  return ns.isRoot ? `/datastore/${store}` : `/datastore/${store}/${ns.components.join('/')}`
}

/** Privileges of the caller on a path. */
export async function privsOn(ctx: ServerContext, auth: AuthInfo, path: string): Promise<number> {
  return (await ctx.access.privs(auth.authid, path))[0]
}

/**
 * In-handler check (PBS CachedUserInfo::check_privs): all bits, or any one with `partial`.
 * @throws PermissionError `missing permissions '<A>&<B>' on '<path>'`
 */
export async function checkPrivs(
  ctx: ServerContext,
  auth: AuthInfo,
  path: string,
  mask: number,
  partial = false,
): Promise<number> {
  const have = await privsOn(ctx, auth, path)
  const ok = partial ? (have & mask) !== 0 : (have & mask) === mask
  if (!ok)
    throw new PermissionError(
      `missing permissions '${privNames(mask).join(partial ? '|' : '&')}' on '${path}'`,
      {
        path,
        privs: privNames(mask),
      },
    )
  return have
}

/**
 * Namespace helper (PBS check_ns_privs_full): a FULL bit means full access; else a PARTIAL bit
 * means limited access (the caller must own the group); else PermissionError.
 * @returns true when access is limited to owned groups.
 */
export async function checkNsPrivs(
  ctx: ServerContext,
  auth: AuthInfo,
  store: string,
  ns: BackupNamespace,
  full: number,
  partial = 0,
): Promise<boolean> {
  const path = nsAclPath(store, ns)
  const have = await privsOn(ctx, auth, path)
  if ((have & full) !== 0) return false
  if (partial !== 0 && (have & partial) !== 0) return true
  throw new PermissionError(
    `permission check failed - missing ${privNames(full | partial).join('|')} on ${path}`,
    {
      path,
      privs: privNames(full | partial),
    },
  )
}

/** True when `authid` owns a group with owner `owner` (itself, or its user owns... see ownerMatches). */
export function ownsGroup(owner: string, authid: string): boolean {
  try {
    return ownerMatches(owner, authid)
  } catch {
    return false
  }
}

/**
 * PBS check_backup_owner against the group's owner file.
 * @throws PermissionError `backup owner check failed (<caller> != <owner>)`, NotFoundError
 */
export async function checkGroupOwner(
  store: Datastore,
  ns: BackupNamespace,
  group: BackupGroupRef,
  auth: AuthInfo,
): Promise<string> {
  const owner = await getOwner(store, ns, group)
  if (!ownsGroup(owner, auth.authid))
    throw new PermissionError(`backup owner check failed (${auth.authid} != ${owner})`, {
      owner,
      authid: auth.authid,
    })
  return owner
}

/** True when the caller holds any privilege of `mask` on a path. */
export async function hasAnyPriv(
  ctx: ServerContext,
  auth: AuthInfo,
  path: string,
  mask: number,
): Promise<boolean> {
  return ((await privsOn(ctx, auth, path)) & mask) !== 0
}
