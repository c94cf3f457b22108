/** One row of the content tree: a namespace, a group or a snapshot, with its actions. */
import type { GroupNode, NamespaceNode, SnapshotNode } from '../content-model.js'
import { formatBytes, formatTime, nsLabel } from '../format.js'
import type { Row } from '../tree-rows.js'
import { ActionButton } from './action-button.js'

/** Namespace actions. */
export type NamespaceAction = 'create' | 'move' | 'delete'

/** Group actions. */
export type GroupAction = 'move' | 'owner' | 'notes' | 'forget'

/** The buttons of a group row, in order. */
const GROUP_ACTIONS: {
  action: GroupAction
  text: string
  title: (group: string) => string
  danger?: true
}[] = [
  { action: 'move', text: 'Move', title: (g) => `Move group '${g}'` },
  { action: 'owner', text: 'Owner', title: (g) => `Change owner of '${g}'` },
  { action: 'notes', text: 'Notes', title: (g) => `Notes of '${g}'` },
  { action: 'forget', text: 'Forget', title: (g) => `Forget group '${g}'`, danger: true },
]

/** Properties of TreeRow. */
export interface TreeRowProps {
  row: Row
  selected: boolean
  highlighted: boolean
  canCreateChild: boolean
  onToggle: () => void
  onSelect: () => void
  onNamespaceAction: (action: NamespaceAction, ns: NamespaceNode) => void
  onGroupAction: (action: GroupAction, group: GroupNode) => void
}

/** The row. */
export function TreeRow(props: TreeRowProps) {
  const { row } = props
  const n = row.node
  const cls = [n.kind, props.highlighted ? 'highlight' : '', props.selected ? 'selected' : '']
    .filter(Boolean)
    .join(' ')
  const name = (
    <td class="name-cell">
      <div class="name-inner">
        <span class="indent" style={{ width: `${row.level * 18}px` }} />
        {row.expandable ? (
          <button
            type="button"
            class="expander"
            aria-expanded={row.expanded}
            aria-label={`${row.expanded ? 'Collapse' : 'Expand'} ${n.kind === 'snapshot' ? '' : nodeName(n)}`}
            onClick={props.onToggle}
          >
            {row.expanded ? '▾' : '▸'}
          </button>
        ) : (
          <span class="expander-space" />
        )}
        <span class={`kind-icon ${n.kind === 'group' ? n.type : n.kind}`} aria-hidden="true" />
        <span class="label">{nodeName(n)}</span>
        {n.kind === 'namespace' && n.error !== undefined && (
          <span class="row-error" title={n.error}>
            {' '}
            (could not be listed: {n.error})
          </span>
        )}
      </div>
    </td>
  )
  const key = n.key
  if (n.kind === 'namespace') {
    return (
      <tr class={cls} data-key={key} data-ns={n.ns}>
        <td class="select-col" />
        {name}
        <td class="num muted">{n.groups.length === 1 ? '1 group' : `${n.groups.length} groups`}</td>
        <td />
        <td />
        <td />
        <td />
        <td />
        <td class="notes-cell" />
        <td class="actions-col">
          {props.canCreateChild && (
            <ActionButton
              title={`Add a namespace below '${nsLabel(n.ns)}'`}
              label={`Add namespace below '${nsLabel(n.ns)}'`}
              onClick={() => props.onNamespaceAction('create', n)}
            >
              + Namespace
            </ActionButton>
          )}
          {n.ns !== '' && (
            <>
              <ActionButton
                title={`Move namespace '${n.ns}'`}
                onClick={() => props.onNamespaceAction('move', n)}
              >
                Move
              </ActionButton>
              <ActionButton
                title={`Delete namespace '${n.ns}'`}
                danger
                onClick={() => props.onNamespaceAction('delete', n)}
              >
                Delete
              </ActionButton>
            </>
          )}
        </td>
      </tr>
    )
  }
  if (n.kind === 'group') {
    return (
      <tr class={cls} data-key={key} data-ns={n.ns} data-group={n.name}>
        <td class="select-col">
          <input
            type="checkbox"
            checked={props.selected}
            aria-label={`Select group '${n.name}' in ${nsLabel(n.ns)}`}
            onChange={props.onSelect}
          />
        </td>
        {name}
        <td class="num" data-col="count">
          {n.count}
        </td>
        <td>{n.count === 0 ? <span class="muted">empty</span> : formatTime(n.lastBackup)}</td>
        <td class="num">{formatBytes(n.size)}</td>
        <td>{n.owner}</td>
        <td>{groupVerify(n)}</td>
        <td>
          {n.protectedCount > 0 ? <span class="badge info">{`${n.protectedCount} protected`}</span> : ''}
        </td>
        <td class="notes-cell" title={n.notes}>
          {n.notes}
        </td>
        <td class="actions-col">
          {GROUP_ACTIONS.map((a) => (
            <ActionButton
              key={a.action}
              title={a.title(n.name)}
              danger={a.danger === true}
              onClick={() => props.onGroupAction(a.action, n)}
            >
              {a.text}
            </ActionButton>
          ))}
        </td>
      </tr>
    )
  }
  return (
    <tr class={cls} data-key={key}>
      <td class="select-col" />
      {name}
      <td class="num muted">{n.files.length > 0 ? `${n.files.length} files` : ''}</td>
      <td />
      <td class="num">{formatBytes(n.size)}</td>
      <td />
      <td>{snapshotVerify(n)}</td>
      <td>{n.protected ? <span class="badge info">protected</span> : ''}</td>
      <td class="notes-cell" title={n.notes}>
        {n.notes}
      </td>
      <td class="actions-col" />
    </tr>
  )
}

/** Label of a node. */
function nodeName(n: NamespaceNode | GroupNode | SnapshotNode): string {
  if (n.kind === 'namespace') return n.ns === '' ? 'Root' : n.name
  if (n.kind === 'group') return n.name
  return formatTime(n.time)
}

/** Verify summary of a group: nothing for empty groups (move.md §6). */
function groupVerify(g: GroupNode) {
  if (g.count === 0 || g.snapshots.length === 0) return ''
  if (g.verifyFailed > 0) return <span class="status error">{`✗ ${g.verifyFailed} failed`}</span>
  if (g.verifyOk === g.snapshots.length) return <span class="status ok">✓ all ok</span>
  if (g.verifyOk > 0) return <span class="status warning">{`✓ ${g.verifyOk} of ${g.snapshots.length}`}</span>
  return <span class="muted">none</span>
}

/** Verify state of a snapshot. */
function snapshotVerify(s: SnapshotNode) {
  if (s.verify === undefined) return <span class="muted">none</span>
  if (s.verify === 'ok') return <span class="status ok">✓ ok</span>
  return <span class="status error">{`✗ ${s.verify}`}</span>
}
