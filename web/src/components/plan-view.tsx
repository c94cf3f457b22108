/** The dry-run plan of a move: what goes where, merges, conflicts with their reasons. */
import type { GroupMovePlan, MovePlan } from '../../../src/client/index.js'
import { nsLabel } from '../format.js'

/** A group whose plan could not be made (the API refused it); shown as a conflict. */
export interface PlanFailure {
  ns: string
  group: string
  targetNs: string
  message: string
}

const NOTES_TEXT: Record<string, string> = {
  none: '',
  move: 'notes move along',
  'keep-target': 'notes differ: target notes kept',
  identical: 'notes identical',
}

/** Plan table plus a one-line summary. */
export function PlanView(props: { plan: MovePlan; failures?: PlanFailure[] }) {
  const { plan } = props
  const failures = props.failures ?? []
  const conflicts = plan.conflicts + failures.length
  const creates = plan.groups.filter((g) => g.action === 'create').length
  const merges = plan.groups.filter((g) => g.action === 'merge').length
  return (
    <section class="plan" data-testid="move-plan" aria-label="Move preview">
      <p class={`plan-summary ${conflicts > 0 ? 'has-conflicts' : 'ok'}`}>
        {plan.groups.length + failures.length === 0
          ? 'No groups in scope.'
          : creates + merges === 0
            ? 'Nothing would move.'
            : `${plural(creates + merges, 'group')} with ${plural(plan['total-snapshots'], 'snapshot')} would move` +
              ` (${creates} new, ${merges} merged).`}{' '}
        {conflicts > 0 ? (
          <strong>{`${plural(conflicts, 'conflict')}: these groups would stay where they are.`}</strong>
        ) : (
          'No conflicts.'
        )}
      </p>
      {plan['create-namespaces'].length > 0 && (
        <p class="plan-ns">
          Namespaces to create:{' '}
          {plan['create-namespaces'].map((n) => (
            <code key={n}>{nsLabel(n)}</code>
          ))}
        </p>
      )}
      {plan['remove-namespaces'].length > 0 && (
        <p class="plan-ns">
          Source namespaces removed afterwards:{' '}
          {plan['remove-namespaces'].map((n) => (
            <code key={n}>{nsLabel(n)}</code>
          ))}
        </p>
      )}
      {plan.groups.length + failures.length > 0 && (
        <div class="table-scroll">
          <table class="grid plan-table">
            <thead>
              <tr>
                <th>Group</th>
                <th>From</th>
                <th>To</th>
                <th class="num">Snapshots</th>
                <th>Action</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {plan.groups.map((g) => (
                <PlanRow key={`${g.ns}|${g.group}`} g={g} />
              ))}
              {failures.map((f) => (
                <tr key={`fail|${f.ns}|${f.group}`} class="conflict" data-group={f.group}>
                  <td>{f.group}</td>
                  <td>{nsLabel(f.ns)}</td>
                  <td>{nsLabel(f.targetNs)}</td>
                  <td class="num"></td>
                  <td>
                    <span class="badge bad">refused</span>
                  </td>
                  <td class="reason">{f.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

/** One planned group. */
function PlanRow(props: { g: GroupMovePlan }) {
  const g = props.g
  const action =
    g.action === 'create' ? (
      <span class="badge good">new group</span>
    ) : g.action === 'merge' ? (
      <span class="badge info">merge</span>
    ) : (
      <span class="badge bad">conflict</span>
    )
  const details =
    g.action === 'conflict'
      ? (g.conflict ?? 'would fail')
      : g.action === 'merge'
        ? `into the existing group (${plural(g['target-snapshots'], 'snapshot')})${notesText(g.notes)}`
        : notesText(g.notes).replace(/^; /, '')
  return (
    <tr class={g.action === 'conflict' ? 'conflict' : ''} data-group={g.group}>
      <td>{g.group}</td>
      <td>{nsLabel(g.ns)}</td>
      <td>{nsLabel(g['target-ns'])}</td>
      <td class="num">{g.snapshots}</td>
      <td>{action}</td>
      <td class={g.action === 'conflict' ? 'reason' : ''}>{details}</td>
    </tr>
  )
}

/** Notes outcome, prefixed with '; ' when there is one. */
function notesText(notes: string): string {
  const t = NOTES_TEXT[notes] ?? notes
  return t === '' ? '' : `; ${t}`
}

/** `1 group`, `2 groups`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
