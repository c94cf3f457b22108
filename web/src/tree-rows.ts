/**
 * Turns the content tree into the visible table rows: filter, column sort and expand/collapse.
 * Namespaces always come before the groups of their parent and are sorted by name; groups and
 * snapshots follow the chosen column.
 */
import type { ContentTree, GroupNode, NamespaceNode, SnapshotNode } from './content-model.js'

/** Sortable columns. */
export type SortKey = 'name' | 'count' | 'last' | 'size' | 'owner'

/** Column and direction (1 ascending, -1 descending). */
export interface SortState {
  key: SortKey
  dir: 1 | -1
}

/** One visible row. */
export interface Row {
  node: NamespaceNode | GroupNode | SnapshotNode
  /** Indentation level. */
  level: number
  expandable: boolean
  expanded: boolean
}

/** What decides the visible rows. */
export interface RowOptions {
  filter: string
  sort: SortState
  /** Namespaces the user collapsed (ignored while filtering, so matches are never hidden). */
  collapsedNs: ReadonlySet<string>
  /** Groups whose snapshots are shown. */
  expandedGroups: ReadonlySet<string>
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

/** The rows to render, in order. */
export function visibleRows(tree: ContentTree, o: RowOptions): Row[] {
  const q = o.filter.trim().toLowerCase()
  const rows: Row[] = []
  const walk = (ns: NamespaceNode, level: number, whole: boolean): void => {
    const matchNs = whole || (q !== '' && ns.ns.toLowerCase().includes(q))
    const groups = q === '' || matchNs ? ns.groups : ns.groups.filter((g) => groupMatches(g, q))
    const children = q === '' || matchNs ? ns.children : ns.children.filter((c) => subtreeMatches(c, q))
    const expandable = ns.children.length > 0 || ns.groups.length > 0
    const expanded = q !== '' || !o.collapsedNs.has(ns.ns)
    rows.push({ node: ns, level, expandable, expanded })
    if (!expanded) return
    for (const c of [...children].sort((a, b) => nameOrder(a.name, b.name, o.sort)))
      walk(c, level + 1, matchNs)
    for (const g of [...groups].sort((a, b) => compareGroups(a, b, o.sort))) {
      const open = o.expandedGroups.has(g.key)
      rows.push({ node: g, level: level + 1, expandable: g.snapshots.length > 0, expanded: open })
      if (!open) continue
      for (const s of [...g.snapshots].sort((a, b) => compareSnapshots(a, b, o.sort)))
        rows.push({ node: s, level: level + 2, expandable: false, expanded: false })
    }
  }
  walk(tree.root, 0, false)
  return rows
}

/** Does the group match the filter text (name, owner, notes or full path)? */
export function groupMatches(g: GroupNode, q: string): boolean {
  if (q === '') return true
  const full = g.ns === '' ? g.name : `${g.ns}/${g.name}`
  return [full, g.owner, g.notes].some((s) => s.toLowerCase().includes(q))
}

/** Does anything in this namespace subtree match? */
function subtreeMatches(ns: NamespaceNode, q: string): boolean {
  return (
    ns.ns.toLowerCase().includes(q) ||
    ns.groups.some((g) => groupMatches(g, q)) ||
    ns.children.some((c) => subtreeMatches(c, q))
  )
}

/** Namespace order: by name, reversed only when sorting by name descending. */
function nameOrder(a: string, b: string, sort: SortState): number {
  return collator.compare(a, b) * (sort.key === 'name' ? sort.dir : 1)
}

/** Group order by the chosen column, ties by name. */
function compareGroups(a: GroupNode, b: GroupNode, sort: SortState): number {
  let c = 0
  switch (sort.key) {
    case 'count':
      c = a.count - b.count
      break
    case 'last':
      c = a.lastBackup - b.lastBackup
      break
    case 'size':
      c = (a.size ?? -1) - (b.size ?? -1)
      break
    case 'owner':
      c = collator.compare(a.owner, b.owner)
      break
    case 'name':
      break
  }
  if (c === 0) c = collator.compare(a.type, b.type) || collator.compare(a.id, b.id)
  return c * sort.dir
}

/** Snapshots: newest first, unless sorting by time or size. */
function compareSnapshots(a: SnapshotNode, b: SnapshotNode, sort: SortState): number {
  if (sort.key === 'size') return ((a.size ?? -1) - (b.size ?? -1) || a.time - b.time) * sort.dir
  if (sort.key === 'last') return (a.time - b.time) * sort.dir
  return b.time - a.time
}
