import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'

import { BACKUP_TYPES, BackupNamespace, MAX_NAMESPACE_DEPTH, SAFE_ID_REGEX } from '../api-types/index.js'
import { ConflictError, NotFoundError, ValidationError } from '../errors.js'
import type { Datastore } from './datastore.js'
import { isDirectory, isErrno, listSubdirs, removeEmptyDir } from './fs-util.js'
import { forgetGroup, listGroupRefs } from './groups.js'
import { removeInterruptedGroupWork } from './interrupted-group-work.js'

/** True when the namespace directory exists (the root always does). */
export async function namespaceExists(store: Datastore, ns: BackupNamespace): Promise<boolean> {
  return ns.isRoot || (await isDirectory(store.namespaceDir(ns)))
}

/**
 * @throws NotFoundError when the namespace does not exist.
 */
export async function assertNamespaceExists(
  store: Datastore,
  ns: BackupNamespace,
  what = 'namespace',
): Promise<void> {
  if (!(await namespaceExists(store, ns)))
    throw new NotFoundError(`${what} '${ns.display()}' does not exist on store '${store.name}'`, {
      store: store.name,
      ns: ns.toString(),
    })
}

/**
 * Creates a namespace whose parent exists (PBS never creates parents implicitly). An existing
 * namespace is not an error (as PBS); the result says whether it was created now.
 * @throws ValidationError for the root, NotFoundError for a missing parent.
 */
export async function createNamespace(store: Datastore, ns: BackupNamespace): Promise<{ created: boolean }> {
  if (ns.isRoot) throw new ValidationError('namespace', '', 'cannot create the root namespace')
  const parent = ns.parent() ?? BackupNamespace.ROOT
  await assertNamespaceExists(store, parent, 'parent namespace')
  if (await isDirectory(store.namespaceDir(ns))) return { created: false }
  // S3 marker first (conditional put), then the directory (spec §8.4).
  await store.backend.createNamespaceMarker(ns)
  await mkdir(join(store.namespaceDir(parent), 'ns'), { recursive: true })
  try {
    await mkdir(store.namespaceDir(ns))
    return { created: true }
  } catch (e) {
    if (isErrno(e, 'EEXIST') && (await isDirectory(store.namespaceDir(ns)))) return { created: false }
    throw e
  }
}

/** Direct child namespaces of `ns` (directory names that are valid components), sorted. */
export async function listChildNamespaces(store: Datastore, ns: BackupNamespace): Promise<BackupNamespace[]> {
  if (ns.depth >= MAX_NAMESPACE_DEPTH) return []
  const names = await listSubdirs(join(store.namespaceDir(ns), 'ns'))
  return names.filter((n) => SAFE_ID_REGEX.test(n)).map((n) => ns.push(n))
}

/**
 * The namespace and everything below it, anchor first, depth first (PBS ListNamespacesRecursive);
 * `maxDepth` counts levels below the anchor (undefined = all).
 * @throws NotFoundError when the anchor does not exist.
 */
export async function listNamespaces(
  store: Datastore,
  anchor: BackupNamespace,
  maxDepth?: number,
): Promise<BackupNamespace[]> {
  await assertNamespaceExists(store, anchor)
  const out: BackupNamespace[] = []
  const walk = async (ns: BackupNamespace, level: number): Promise<void> => {
    out.push(ns)
    if (maxDepth !== undefined && level >= maxDepth) return
    for (const child of await listChildNamespaces(store, ns)) await walk(child, level + 1)
  }
  await walk(anchor, 0)
  return out
}

/** What deleteNamespace did (the PBS API shape, camel-cased). */
export interface DeleteNamespaceResult {
  removedGroups: number
  removedSnapshots: number
  protectedSnapshots: number
  /** Namespaces removed, deepest first. */
  removedNamespaces: BackupNamespace[]
}

/**
 * Deletes a namespace and its sub-namespaces, deepest first. Without `deleteGroups` every
 * namespace in the subtree must be free of groups; with it, all groups are forgotten first —
 * protected snapshots are never deleted, and the groups and namespaces holding them stay.
 * @throws ValidationError for the root, NotFoundError, ConflictError when something remains and
 *   `errorOnProtected` is true (the default).
 */
export async function deleteNamespace(
  store: Datastore,
  ns: BackupNamespace,
  options: { deleteGroups?: boolean; errorOnProtected?: boolean } = {},
): Promise<DeleteNamespaceResult> {
  if (ns.isRoot) throw new ValidationError('namespace', '', 'cannot delete the root namespace')
  store.assertNewStyleLocking(`deleting namespace '${ns.toString()}'`)
  const subtree = await listNamespaces(store, ns)
  if (!options.deleteGroups) {
    for (const child of subtree) {
      const groups = await listGroupRefs(store, child)
      if (groups.length > 0)
        throw new ConflictError(
          `cannot delete namespace '${ns.toString()}' - namespace '${child.display()}' still contains ${groups.length} group(s); use delete-groups to remove them`,
          { store: store.name, ns: ns.toString(), nonEmpty: child.toString() },
        )
    }
  }
  const result: DeleteNamespaceResult = {
    removedGroups: 0,
    removedSnapshots: 0,
    protectedSnapshots: 0,
    removedNamespaces: [],
  }
  for (const child of [...subtree].reverse()) {
    if (options.deleteGroups) {
      for (const g of await listGroupRefs(store, child)) {
        const r = await forgetGroup(store, child, g)
        result.removedSnapshots += r.removedSnapshots
        result.protectedSnapshots += r.protectedKept
        if (r.removedGroup) result.removedGroups++
      }
    }
    const dir = store.namespaceDir(child)
    for (const t of BACKUP_TYPES) {
      await removeInterruptedGroupWork(store, child, t) // crash leftovers would keep the dir
      await removeEmptyDir(join(dir, t))
    }
    await removeEmptyDir(join(dir, 'ns'))
    if (await removeEmptyDir(dir)) {
      // rmdir first, then the marker (spec §8.4)
      await store.backend.removeNamespaceMarker(child)
      result.removedNamespaces.push(child)
    }
  }
  if (result.removedNamespaces.length !== subtree.length && options.errorOnProtected !== false) {
    const left = subtree
      .filter((n) => !result.removedNamespaces.some((r) => r.equals(n)))
      .map((n) => n.display())
    throw new ConflictError(
      `namespace '${ns.toString()}' only partially deleted - ${result.protectedSnapshots} protected snapshot(s) kept; still present: ${left.join(', ')}`,
      {
        store: store.name,
        ns: ns.toString(),
        left,
        ...result,
        removedNamespaces: result.removedNamespaces.map(String),
      },
    )
  }
  return result
}
