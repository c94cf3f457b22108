/**
 * The content of one datastore as a tree: namespaces → groups → snapshots. The groups list
 * (which includes empty groups) is the source of groups; snapshots are attached to them, so a
 * group with no snapshots still shows up (count 0), as move.md §6 asks.
 */
import type { BackupType } from '../../src/api-types/index.js'
import type { GroupListItem, PbsClient, SnapshotListItem } from '../../src/client/index.js'
import { firstLine, nsDepth, nsName, nsParent } from './format.js'

/** A snapshot row. */
export interface SnapshotNode {
  kind: 'snapshot'
  key: string
  ns: string
  type: BackupType
  id: string
  time: number
  size: number | undefined
  verify: string | undefined
  protected: boolean
  notes: string
  files: string[]
}

/** A group row. */
export interface GroupNode {
  kind: 'group'
  key: string
  ns: string
  type: BackupType
  id: string
  /** `type/id`. */
  name: string
  owner: string
  count: number
  lastBackup: number
  /** Sum of the listed snapshot sizes (undefined when none is known). */
  size: number | undefined
  verifyOk: number
  verifyFailed: number
  protectedCount: number
  notes: string
  snapshots: SnapshotNode[]
}

/** A namespace row with its children. */
export interface NamespaceNode {
  kind: 'namespace'
  key: string
  /** Full path ('' = root). */
  ns: string
  name: string
  depth: number
  children: NamespaceNode[]
  groups: GroupNode[]
  /** Why this namespace's groups could not be listed (e.g. removed meanwhile). */
  error?: string
}

/** A loaded datastore content. */
export interface ContentTree {
  store: string
  root: NamespaceNode
  /** Every namespace path, depth-first ('' first). */
  namespaces: string[]
  loadedAt: number
}

/** Row key of a namespace. */
export function nsKey(ns: string): string {
  return `ns:${ns}`
}

/** Row key of a group. */
export function groupKey(ns: string, type: string, id: string): string {
  return `g:${ns}|${type}/${id}`
}

/** Reads namespaces, groups and snapshots of a datastore (a few requests in parallel). */
export async function loadContent(client: PbsClient, store: string): Promise<ContentTree> {
  const list = await client.listNamespaces(store, { maxDepth: 7 })
  const paths = list.map((n) => n.ns)
  if (!paths.includes('')) paths.unshift('')
  const nodes = new Map<string, NamespaceNode>()
  for (const ns of paths)
    nodes.set(ns, {
      kind: 'namespace',
      key: nsKey(ns),
      ns,
      name: nsName(ns),
      depth: nsDepth(ns),
      children: [],
      groups: [],
    })
  for (const ns of paths) {
    if (ns === '') continue
    const node = nodes.get(ns)
    const parent = nodes.get(nsParent(ns))
    if (node && parent) parent.children.push(node)
  }
  await mapLimit(paths, 6, async (ns) => {
    const node = nodes.get(ns)
    if (!node) return
    try {
      const [groups, snapshots] = await Promise.all([
        client.listGroups(store, ns),
        client.listSnapshots(store, ns),
      ])
      node.groups = buildGroups(ns, groups, snapshots)
    } catch (e) {
      node.error = e instanceof Error ? e.message : String(e)
    }
  })
  const root = nodes.get('')
  if (!root) throw new Error('the root namespace is missing from the namespace list')
  return { store, root, namespaces: paths, loadedAt: Date.now() }
}

/** Joins the groups list with the snapshots list of one namespace. */
export function buildGroups(ns: string, groups: GroupListItem[], snapshots: SnapshotListItem[]): GroupNode[] {
  const byKey = new Map<string, GroupNode>()
  for (const g of groups) {
    const type = g['backup-type']
    const id = g['backup-id']
    byKey.set(`${type}/${id}`, {
      kind: 'group',
      key: groupKey(ns, type, id),
      ns,
      type,
      id,
      name: `${type}/${id}`,
      owner: g.owner ?? '',
      count: g['backup-count'],
      lastBackup: g['last-backup'],
      size: undefined,
      verifyOk: 0,
      verifyFailed: 0,
      protectedCount: 0,
      notes: firstLine(g.comment),
      snapshots: [],
    })
  }
  for (const s of snapshots) {
    const group = byKey.get(`${s['backup-type']}/${s['backup-id']}`)
    // A snapshot of a group created after the groups list was read: shown on the next reload.
    if (!group) continue
    const node: SnapshotNode = {
      kind: 'snapshot',
      key: `s:${ns}|${group.name}/${s['backup-time']}`,
      ns,
      type: group.type,
      id: group.id,
      time: s['backup-time'],
      size: s.size,
      verify: s.verification?.state,
      protected: s.protected === true,
      notes: firstLine(s.comment),
      files: (s.files ?? []).map((f) => (typeof f === 'string' ? f : f.filename)),
    }
    group.snapshots.push(node)
    if (node.size !== undefined) group.size = (group.size ?? 0) + node.size
    if (node.verify === 'ok') group.verifyOk++
    else if (node.verify !== undefined) group.verifyFailed++
    if (node.protected) group.protectedCount++
  }
  for (const g of byKey.values()) g.snapshots.sort((a, b) => b.time - a.time)
  return [...byKey.values()]
}

/** Deepest level below `ns` that exists in the tree (0 = no child namespaces). */
export function subtreeDepth(tree: ContentTree, ns: string): number {
  const base = nsDepth(ns)
  let deepest = base
  for (const p of tree.namespaces)
    if (p === ns || p.startsWith(`${ns}/`)) deepest = Math.max(deepest, nsDepth(p))
  return deepest - base
}

/** Finds a namespace node by path. */
export function findNamespace(tree: ContentTree, ns: string): NamespaceNode | undefined {
  const walk = (n: NamespaceNode): NamespaceNode | undefined => {
    if (n.ns === ns) return n
    for (const c of n.children) {
      const hit = walk(c)
      if (hit) return hit
    }
    return undefined
  }
  return walk(tree.root)
}

/** Runs `fn` over items with at most `limit` at a time. */
async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T
      await fn(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
