/**
 * The content of one datastore: a tree table of namespaces → groups → snapshots with filter,
 * column sort, multi-select of groups, and the namespace and group actions. After a move the
 * tree reloads and the moved namespace or groups are highlighted at their new place (also
 * after a partial failure).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'

import { taskSucceeded, type TaskStatus } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import {
  findNamespace,
  groupKey,
  loadContent,
  nsKey,
  type ContentTree,
  type GroupNode,
  type NamespaceNode,
} from '../content-model.js'
import { nsContains, nsLabel } from '../format.js'
import { visibleRows, type SortKey, type SortState } from '../tree-rows.js'
import { canHaveChildren } from '../validation.js'
import { ErrorBox } from './error-box.js'
import { ForgetDialog } from './forget-dialog.js'
import { GroupMoveDialog } from './group-move-dialog.js'
import { NamespaceCreateDialog } from './namespace-create-dialog.js'
import { NamespaceDeleteDialog } from './namespace-delete-dialog.js'
import { NamespaceMoveDialog } from './namespace-move-dialog.js'
import { NotesDialog } from './notes-dialog.js'
import { OwnerDialog } from './owner-dialog.js'
import { TreeRow } from './tree-row.js'

/** Which dialog is open. */
type DialogState =
  | { kind: 'ns-create'; parent: string }
  | { kind: 'ns-delete'; ns: string }
  | { kind: 'ns-move'; ns: string }
  | { kind: 'group-move'; groups: GroupNode[] }
  | { kind: 'owner'; group: GroupNode }
  | { kind: 'notes'; group: GroupNode }
  | { kind: 'forget'; group: GroupNode }

/** A message shown above the tree after an action. */
interface Notice {
  kind: 'success' | 'error'
  text: string
}

/** What to show after a reload. */
interface Focus {
  keys: string[]
  /** Namespaces to expand so the keys are visible. */
  expand: string[]
}

const COLUMNS: { key: SortKey | undefined; label: string; cls?: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'count', label: 'Count', cls: 'num' },
  { key: 'last', label: 'Last backup' },
  { key: 'size', label: 'Size', cls: 'num' },
  { key: 'owner', label: 'Owner' },
  { key: undefined, label: 'Verify' },
  { key: undefined, label: 'Protected' },
  { key: undefined, label: 'Notes' },
]

/** The content view of `store`. */
export function ContentView(props: { store: string }) {
  const { client, openTask, watchTask, refreshTasks } = useApp()
  const { store } = props
  const [tree, setTree] = useState<ContentTree | undefined>(undefined)
  const [loading, setLoading] = useState(false)
  const [loadError, setLoadError] = useState<unknown>(undefined)
  const [filter, setFilter] = useState('')
  const [sort, setSort] = useState<SortState>({ key: 'name', dir: 1 })
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set())
  const [expandedGroups, setExpandedGroups] = useState<ReadonlySet<string>>(new Set())
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const [dialog, setDialog] = useState<DialogState | undefined>(undefined)
  const [highlight, setHighlight] = useState<ReadonlySet<string>>(new Set())
  const [notice, setNotice] = useState<Notice | undefined>(undefined)
  const pendingFocus = useRef<Focus | undefined>(undefined)
  const generation = useRef(0)

  const reload = useCallback(
    async (focus?: Focus): Promise<void> => {
      const gen = ++generation.current
      setLoading(true)
      try {
        const t = await loadContent(client, store)
        if (gen !== generation.current) return
        setTree(t)
        setLoadError(undefined)
        // Selected groups that are gone (moved, forgotten) must not be acted on again.
        const keys = new Set<string>()
        const collect = (n: NamespaceNode): void => {
          for (const g of n.groups) keys.add(g.key)
          n.children.forEach(collect)
        }
        collect(t.root)
        setSelected((old) => new Set([...old].filter((k) => keys.has(k))))
        if (focus) {
          pendingFocus.current = focus
          setCollapsed(
            (old) => new Set([...old].filter((ns) => !focus.expand.some((e) => nsContains(ns, e)))),
          )
          setHighlight(new Set(focus.keys))
        }
      } catch (e) {
        if (gen === generation.current) setLoadError(e)
      } finally {
        if (gen === generation.current) setLoading(false)
      }
    },
    [client, store],
  )

  useEffect(() => {
    setTree(undefined)
    setSelected(new Set())
    setHighlight(new Set())
    setNotice(undefined)
    void reload()
  }, [store])

  const rows = useMemo(
    () => (tree ? visibleRows(tree, { filter, sort, collapsedNs: collapsed, expandedGroups }) : []),
    [tree, filter, sort, collapsed, expandedGroups],
  )

  useEffect(() => {
    const focus = pendingFocus.current
    if (!focus || !tree) return
    pendingFocus.current = undefined
    const first = focus.keys
      .map((k) => document.querySelector(`tr[data-key="${CSS.escape(k)}"]`))
      .find((e) => e)
    first?.scrollIntoView({ block: 'center' })
  }, [rows])

  const groupsByKey = useMemo(() => {
    const m = new Map<string, GroupNode>()
    const walk = (n: NamespaceNode): void => {
      for (const g of n.groups) m.set(g.key, g)
      n.children.forEach(walk)
    }
    if (tree) walk(tree.root)
    return m
  }, [tree])

  const toggle = (set: ReadonlySet<string>, key: string): Set<string> => {
    const next = new Set(set)
    if (next.has(key)) next.delete(key)
    else next.add(key)
    return next
  }

  const onNamespaceMoveStarted = (upid: string, target: string): void => {
    setDialog(undefined)
    openTask(upid)
    refreshTasks()
    setNotice({ kind: 'success', text: `Moving the namespace to '${target}'…` })
    watchTask(upid, (status: TaskStatus) => {
      const ok = taskSucceeded(status.exitstatus)
      setNotice(
        ok
          ? { kind: 'success', text: `Namespace moved to '${target}'.` }
          : {
              kind: 'error',
              text: `The namespace move ended with an error: ${status.exitstatus ?? 'unknown'}. The tree shows where everything is now.`,
            },
      )
      void reload({ keys: [nsKey(target)], expand: [target] })
    })
  }

  const onGroupsMoved = (target: string, moved: GroupNode[]): void => {
    const failed = dialog?.kind === 'group-move' ? dialog.groups.length - moved.length : 0
    setNotice(
      failed === 0
        ? {
            kind: 'success',
            text: `${moved.length === 1 ? 'Group' : `${moved.length} groups`} moved to ${nsLabel(target)}.`,
          }
        : {
            kind: 'error',
            text: `${failed} group(s) could not be moved (see the move dialog); ${moved.length} moved to ${nsLabel(target)}.`,
          },
    )
    void reload({ keys: moved.map((g) => groupKey(target, g.type, g.id)), expand: [target] })
  }

  const afterTask = (upid: string | undefined, what: string): void => {
    setDialog(undefined)
    if (upid === undefined) {
      setNotice({ kind: 'success', text: what })
      void reload()
      return
    }
    openTask(upid)
    refreshTasks()
    watchTask(upid, (status) => {
      setNotice(
        taskSucceeded(status.exitstatus)
          ? { kind: 'success', text: what }
          : { kind: 'error', text: `Failed: ${status.exitstatus ?? 'unknown'}` },
      )
      void reload()
    })
  }

  const selectedGroups = [...selected]
    .map((k) => groupsByKey.get(k))
    .filter((g): g is GroupNode => g !== undefined)
  const subtreeGroupCount = (ns: string): number => {
    let n = 0
    for (const g of groupsByKey.values()) if (nsContains(ns, g.ns)) n++
    return n
  }

  const sortBy = (key: SortKey): void =>
    setSort((s) => ({ key, dir: s.key === key ? (s.dir === 1 ? -1 : 1) : 1 }))

  return (
    <div class="content-view">
      <div class="toolbar">
        <h1>
          Datastore <span class="store-name">{store}</span>
        </h1>
        <input
          type="search"
          class="filter"
          placeholder="Filter namespaces, groups, owners, notes…"
          aria-label="Filter"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <button type="button" onClick={() => void reload()} disabled={loading}>
          {loading ? 'Loading…' : 'Reload'}
        </button>
        <button
          type="button"
          class="primary"
          disabled={selectedGroups.length === 0}
          onClick={() => setDialog({ kind: 'group-move', groups: selectedGroups })}
        >
          Move selected{selectedGroups.length > 0 ? ` (${selectedGroups.length})` : ''}
        </button>
        {selectedGroups.length > 0 && (
          <button type="button" class="link" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        )}
      </div>
      {notice && (
        <div class={`notice ${notice.kind}`} role="status" data-testid="notice">
          <span>{notice.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => setNotice(undefined)}>
            ×
          </button>
        </div>
      )}
      <ErrorBox error={loadError} prefix="Could not load the datastore content:" />
      <div class="table-scroll tree-scroll">
        <table class="grid tree" data-testid="content-tree" aria-busy={loading}>
          <thead>
            <tr>
              <th class="select-col" />
              {COLUMNS.map((c) => (
                <th
                  key={c.label}
                  class={`${c.cls ?? ''}${c.key ? ' sortable' : ''}`}
                  aria-sort={
                    c.key && sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined
                  }
                  onClick={c.key ? () => sortBy(c.key as SortKey) : undefined}
                >
                  {c.label}
                  {c.key && sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                </th>
              ))}
              <th class="actions-col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <TreeRow
                key={row.node.key}
                row={row}
                selected={selected.has(row.node.key)}
                highlighted={highlight.has(row.node.key)}
                onToggle={() => {
                  const n = row.node
                  if (n.kind === 'namespace') setCollapsed((c) => toggle(c, n.ns))
                  else if (n.kind === 'group') setExpandedGroups((g) => toggle(g, n.key))
                }}
                onSelect={() => setSelected((s) => toggle(s, row.node.key))}
                onNamespaceAction={(action, ns) => {
                  setNotice(undefined)
                  if (action === 'create') setDialog({ kind: 'ns-create', parent: ns.ns })
                  else if (action === 'move') setDialog({ kind: 'ns-move', ns: ns.ns })
                  else setDialog({ kind: 'ns-delete', ns: ns.ns })
                }}
                canCreateChild={row.node.kind === 'namespace' && canHaveChildren(row.node.ns)}
                onGroupAction={(action, g) => {
                  setNotice(undefined)
                  if (action === 'move') setDialog({ kind: 'group-move', groups: [g] })
                  else if (action === 'owner') setDialog({ kind: 'owner', group: g })
                  else if (action === 'notes') setDialog({ kind: 'notes', group: g })
                  else setDialog({ kind: 'forget', group: g })
                }}
              />
            ))}
            {tree && rows.length <= 1 && filter !== '' && (
              <tr>
                <td colSpan={COLUMNS.length + 2} class="muted">
                  Nothing matches '{filter}'.
                </td>
              </tr>
            )}
            {tree && tree.root.children.length === 0 && tree.root.groups.length === 0 && filter === '' && (
              <tr>
                <td colSpan={COLUMNS.length + 2} class="muted">
                  This datastore is empty. Add a namespace, or back up into it.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {tree && dialog?.kind === 'ns-create' && (
        <NamespaceCreateDialog
          store={store}
          parent={dialog.parent}
          onClose={() => setDialog(undefined)}
          onCreated={(ns) => {
            setDialog(undefined)
            setNotice({ kind: 'success', text: `Namespace '${ns}' created.` })
            void reload({ keys: [nsKey(ns)], expand: [ns] })
          }}
        />
      )}
      {tree && dialog?.kind === 'ns-delete' && (
        <NamespaceDeleteDialog
          store={store}
          ns={dialog.ns}
          groupCount={subtreeGroupCount(dialog.ns)}
          onClose={() => setDialog(undefined)}
          onDeleted={(upid) => afterTask(upid, `Namespace '${dialog.ns}' deleted.`)}
        />
      )}
      {tree && dialog?.kind === 'ns-move' && findNamespace(tree, dialog.ns) && (
        <NamespaceMoveDialog
          tree={tree}
          ns={dialog.ns}
          onClose={() => setDialog(undefined)}
          onStarted={onNamespaceMoveStarted}
        />
      )}
      {tree && dialog?.kind === 'group-move' && (
        <GroupMoveDialog
          tree={tree}
          groups={dialog.groups}
          onClose={() => setDialog(undefined)}
          onFinished={onGroupsMoved}
        />
      )}
      {dialog?.kind === 'owner' && (
        <OwnerDialog
          store={store}
          group={dialog.group}
          onClose={() => setDialog(undefined)}
          onChanged={() => {
            setDialog(undefined)
            setNotice({ kind: 'success', text: `Owner of '${dialog.group.name}' changed.` })
            void reload({ keys: [dialog.group.key], expand: [dialog.group.ns] })
          }}
        />
      )}
      {dialog?.kind === 'notes' && (
        <NotesDialog
          store={store}
          group={dialog.group}
          onClose={() => setDialog(undefined)}
          onSaved={() => {
            setDialog(undefined)
            void reload({ keys: [dialog.group.key], expand: [dialog.group.ns] })
          }}
        />
      )}
      {dialog?.kind === 'forget' && (
        <ForgetDialog
          store={store}
          group={dialog.group}
          onClose={() => setDialog(undefined)}
          onForgotten={(upid) => afterTask(upid, `Group '${dialog.group.name}' deleted.`)}
        />
      )}
    </div>
  )
}
