/**
 * "Move Namespace" (move.md §6): new parent (never the namespace itself or below it), new name
 * (SAFE_ID, ≤ 31 characters), advanced max depth (bounded by the depth left at the target),
 * merge groups and delete source (both checked; unchecked really sends false). Preview shows the
 * dry-run plan; Move starts the task and hands its UPID to the caller.
 */
import { useMemo, useState } from 'preact/hooks'

import type { MovePlan, MoveNamespaceOptions } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { subtreeDepth, type ContentTree } from '../content-model.js'
import { nsContains, nsDepth, nsJoin, nsLabel, nsName, nsParent } from '../format.js'
import { MAX_NAMESPACE_DEPTH, MOVE_NAME_MAX, namespaceNameProblem } from '../validation.js'
import { Dialog } from './dialog.js'
import { DialogFooter } from './dialog-footer.js'
import { CheckField, FieldError, SelectField, TextField } from './form-field.js'
import { MoveButtons, type MoveBusy } from './move-buttons.js'
import { PlanView } from './plan-view.js'

/** Properties of NamespaceMoveDialog. */
export interface NamespaceMoveDialogProps {
  tree: ContentTree
  ns: string
  onClose: () => void
  /** Called with the task UPID and the target path once the move has started. */
  onStarted: (upid: string, targetNs: string) => void
}

/** The dialog. */
export function NamespaceMoveDialog(props: NamespaceMoveDialogProps) {
  const { client } = useApp()
  const { tree, ns } = props
  const depthBelow = subtreeDepth(tree, ns)
  const [parent, setParent] = useState(nsParent(ns))
  const [name, setName] = useState(nsName(ns))
  const [maxDepth, setMaxDepth] = useState<string>('')
  const [merge, setMerge] = useState(true)
  const [deleteSource, setDeleteSource] = useState(true)
  const [plan, setPlan] = useState<MovePlan | undefined>(undefined)
  const [busy, setBusy] = useState<MoveBusy>('')
  const [error, setError] = useState<unknown>(undefined)

  const parents = useMemo(
    () =>
      // The namespace itself and its descendants would make a cycle.
      tree.namespaces.filter((p) => !nsContains(ns, p)).sort(),
    [tree, ns],
  )
  const targetDepth = nsDepth(parent) + 1
  const remaining = MAX_NAMESPACE_DEPTH - targetDepth
  const target = nsJoin(parent, name)
  const nameProblem = namespaceNameProblem(name, MOVE_NAME_MAX)
  const chosenDepth = maxDepth === '' ? undefined : Number(maxDepth)
  const effectiveDepth = chosenDepth === undefined ? depthBelow : Math.min(chosenDepth, depthBelow)
  let problem: string | undefined = nameProblem
  if (problem === undefined && target === ns)
    problem = 'This is where the namespace already is: choose another parent or name.'
  if (problem === undefined && remaining < 0)
    problem = `'${nsLabel(parent)}' is at the maximum depth; it cannot hold another namespace.`
  if (problem === undefined && effectiveDepth > remaining)
    problem =
      `The subtree of '${ns}' is ${effectiveDepth} level(s) deep; below '${target}' it would exceed the maximum depth of ` +
      `${MAX_NAMESPACE_DEPTH}. Choose a parent higher up, or set Max depth to ${remaining} or less.`

  const options = (): MoveNamespaceOptions => ({
    ns,
    targetNs: target,
    maxDepth: chosenDepth,
    mergeGroups: merge,
    deleteSource,
  })
  // Any change makes an old preview misleading.
  const changed =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v)
      setPlan(undefined)
      setError(undefined)
    }

  const preview = async (): Promise<void> => {
    setBusy('preview')
    setError(undefined)
    try {
      setPlan(await client.planMoveNamespace(tree.store, options()))
    } catch (e) {
      setPlan(undefined)
      setError(e)
    } finally {
      setBusy('')
    }
  }
  const move = async (): Promise<void> => {
    setBusy('move')
    setError(undefined)
    try {
      const upid = await client.moveNamespace(tree.store, options())
      props.onStarted(upid, target)
    } catch (e) {
      setError(e)
      setBusy('')
    }
  }

  const depthOptions = Array.from({ length: Math.max(remaining, -1) + 1 }, (_, i) => i)
  return (
    <Dialog
      title={`Move Namespace '${ns}'`}
      onClose={props.onClose}
      wide
      testId="namespace-move-dialog"
      footer={
        <DialogFooter error={error} errorPrefix="Not moved:" onCancel={props.onClose}>
          <MoveButtons
            busy={busy}
            blocked={problem !== undefined}
            movingLabel="Starting…"
            onPreview={preview}
            onMove={move}
          />
        </DialogFooter>
      }
    >
      <div class="form">
        <TextField label="Namespace" value={ns} readOnly />
        <SelectField label="New parent" name="new-parent" value={parent} onValue={changed(setParent)}>
          {parents.map((p) => (
            <option key={p} value={p} disabled={nsDepth(p) >= MAX_NAMESPACE_DEPTH}>
              {p === '' ? '/ (root)' : p}
            </option>
          ))}
        </SelectField>
        <TextField
          label="New name"
          name="new-name"
          value={name}
          maxLength={64}
          invalid={nameProblem !== undefined}
          onValue={changed(setName)}
        />
        <p class="hint">
          New path: <code data-testid="target-path">{nameProblem === undefined ? target : '—'}</code>. If it
          exists, the contents are merged into it.
        </p>
        {problem !== undefined && <FieldError>{problem}</FieldError>}
        <details class="advanced">
          <summary>Advanced</summary>
          <SelectField label="Max depth" name="max-depth" value={maxDepth} onValue={changed(setMaxDepth)}>
            <option value="">Unlimited (whole subtree)</option>
            {depthOptions.map((d) => (
              <option key={d} value={String(d)}>
                {d === 0 ? '0 (only the groups directly in it)' : String(d)}
              </option>
            ))}
          </SelectField>
          <CheckField name="merge-groups" checked={merge} onValue={changed(setMerge)}>
            Merge groups into same-named groups at the target (same owner, older snapshots only)
          </CheckField>
          <CheckField name="delete-source" checked={deleteSource} onValue={changed(setDeleteSource)}>
            Delete the emptied source namespaces
          </CheckField>
        </details>
      </div>
      {plan !== undefined && <PlanView plan={plan} />}
    </Dialog>
  )
}
