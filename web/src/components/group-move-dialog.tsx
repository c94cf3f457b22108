/**
 * "Move Backup Group" for one or several selected groups: target namespace, merge checkbox,
 * Preview (one dry-run per group, shown as one plan) and Move (one task per group, run one after
 * the other, each outcome shown with its log).
 */
import { useMemo, useState } from 'preact/hooks'

import { followTask, taskSucceeded, type MovePlan } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import type { ContentTree, GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { Dialog } from './dialog.js'
import { DialogFooter } from './dialog-footer.js'
import { errorText } from './error-box.js'
import { CheckField, SelectField } from './form-field.js'
import { MoveButtons, type MoveBusy } from './move-buttons.js'
import { plural, PlanView, type PlanFailure } from './plan-view.js'

/** Outcome of one group's move. */
interface Outcome {
  state: 'waiting' | 'running' | 'ok' | 'failed'
  message: string
  upid?: string
}

/** Properties of GroupMoveDialog. */
export interface GroupMoveDialogProps {
  tree: ContentTree
  groups: GroupNode[]
  onClose: () => void
  /** Called once every move has ended (some may have failed) with the target namespace. */
  onFinished: (targetNs: string, moved: GroupNode[]) => void
}

/** The dialog. */
export function GroupMoveDialog(props: GroupMoveDialogProps) {
  const { client, openTask, refreshTasks } = useApp()
  const { tree, groups } = props
  const sources = new Set(groups.map((g) => g.ns))
  const targets = useMemo(
    // With a single source namespace, moving into it is pointless; with several, the API says no per group.
    () => tree.namespaces.filter((n) => sources.size !== 1 || !sources.has(n)).sort(),
    [tree, groups],
  )
  const [target, setTarget] = useState(targets[0] ?? '')
  const [merge, setMerge] = useState(true)
  const [plan, setPlan] = useState<{ plan: MovePlan; failures: PlanFailure[] } | undefined>(undefined)
  const [outcomes, setOutcomes] = useState<Map<string, Outcome> | undefined>(undefined)
  const [busy, setBusy] = useState<MoveBusy>('')
  const [error, setError] = useState<unknown>(undefined)
  const done = outcomes !== undefined && busy === ''

  const title =
    groups.length === 1
      ? `Move Backup Group '${groups[0]?.name ?? ''}'`
      : `Move ${groups.length} Backup Groups`
  const options = (g: GroupNode) => ({
    ns: g.ns,
    group: { type: g.type, id: g.id },
    targetNs: target,
    mergeGroup: merge,
  })

  const preview = async (): Promise<void> => {
    setBusy('preview')
    setError(undefined)
    const merged: MovePlan = {
      store: tree.store,
      groups: [],
      'create-namespaces': [],
      'remove-namespaces': [],
      'total-snapshots': 0,
      conflicts: 0,
    }
    const failures: PlanFailure[] = []
    for (const g of groups) {
      try {
        const p = await client.planMoveGroup(tree.store, options(g))
        merged.groups.push(...p.groups)
        merged['total-snapshots'] += p['total-snapshots']
        merged.conflicts += p.conflicts
      } catch (e) {
        failures.push({ ns: g.ns, group: g.name, targetNs: target, message: errorText(e) })
      }
    }
    setPlan({ plan: merged, failures })
    setBusy('')
  }

  const move = async (): Promise<void> => {
    setBusy('move')
    setError(undefined)
    const results = new Map<string, Outcome>(groups.map((g) => [g.key, { state: 'waiting', message: '' }]))
    const update = (key: string, o: Outcome): void => {
      results.set(key, o)
      setOutcomes(new Map(results))
    }
    setOutcomes(new Map(results))
    const moved: GroupNode[] = []
    // One after the other: parallel moves into one namespace would race for the same target groups.
    for (const g of groups) {
      update(g.key, { state: 'running', message: 'moving…' })
      try {
        const upid = await client.moveGroup(tree.store, options(g))
        update(g.key, { state: 'running', message: 'moving…', upid })
        refreshTasks()
        const status = await followTask(client, upid, { intervalMs: 300 })
        if (taskSucceeded(status.exitstatus)) {
          moved.push(g)
          update(g.key, { state: 'ok', message: `moved to ${nsLabel(target)}`, upid })
        } else update(g.key, { state: 'failed', message: status.exitstatus ?? 'failed', upid })
      } catch (e) {
        update(g.key, { state: 'failed', message: errorText(e) })
      }
    }
    setBusy('')
    refreshTasks()
    props.onFinished(target, moved)
  }

  const failed =
    outcomes === undefined ? 0 : [...outcomes.values()].filter((o) => o.state === 'failed').length
  return (
    <Dialog
      title={title}
      onClose={props.onClose}
      wide
      testId="group-move-dialog"
      footer={
        <DialogFooter
          error={error}
          onCancel={done ? undefined : props.onClose}
          cancelDisabled={busy === 'move'}
        >
          {done ? (
            <button type="button" class="primary" onClick={props.onClose}>
              Close
            </button>
          ) : (
            <MoveButtons
              busy={busy}
              blocked={targets.length === 0}
              movingLabel="Moving…"
              onPreview={preview}
              onMove={move}
              moveLabel={groups.length === 1 ? 'Move' : `Move ${groups.length} groups`}
            />
          )}
        </DialogFooter>
      }
    >
      <div class="form">
        <div class="field">
          <span>{groups.length === 1 ? 'Group' : 'Groups'}</span>
          <ul class="group-list">
            {groups.map((g) => {
              const o = outcomes?.get(g.key)
              return (
                <li key={g.key} data-group={g.name} data-state={o?.state ?? ''}>
                  <code>{g.name}</code> <span class="muted">in {nsLabel(g.ns)}</span>
                  {o !== undefined && (
                    <span class={`outcome ${o.state}`}>
                      {o.state === 'ok' ? '✓ ' : o.state === 'failed' ? '✗ ' : ''}
                      {o.message}
                    </span>
                  )}
                  {o?.upid !== undefined && (
                    <button type="button" class="link" onClick={() => openTask(o.upid ?? '')}>
                      Show log
                    </button>
                  )}
                </li>
              )
            })}
          </ul>
        </div>
        <SelectField
          label="Target namespace"
          name="target-ns"
          value={target}
          disabled={outcomes !== undefined}
          onValue={(v) => {
            setTarget(v)
            setPlan(undefined)
          }}
        >
          {targets.map((n) => (
            <option key={n} value={n}>
              {n === '' ? '/ (root)' : n}
            </option>
          ))}
        </SelectField>
        <CheckField
          name="merge-group"
          checked={merge}
          disabled={outcomes !== undefined}
          onValue={(v) => {
            setMerge(v)
            setPlan(undefined)
          }}
        >
          Merge into a same-named group at the target (same owner, older snapshots only)
        </CheckField>
      </div>
      {done && (
        <p class={failed > 0 ? 'field-error' : 'success'} role="status" data-testid="move-result">
          {failed === 0
            ? `${plural(groups.length, 'group')} moved to ${nsLabel(target)}.`
            : `${failed} of ${plural(groups.length, 'group')} could not be moved; they stay where they were.`}
        </p>
      )}
      {plan !== undefined && outcomes === undefined && <PlanView plan={plan.plan} failures={plan.failures} />}
    </Dialog>
  )
}
