/** "Delete Namespace" with the subtree; optionally with the groups in it. */
import { useState } from 'preact/hooks'

import type { DeleteResult } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { Dialog } from './dialog.js'
import { ErrorBox } from './error-box.js'

/** The dialog. */
export function NamespaceDeleteDialog(props: {
  store: string
  ns: string
  groupCount: number
  onClose: () => void
  onDeleted: (upid: string | undefined) => void
}) {
  const { client } = useApp()
  const [deleteGroups, setDeleteGroups] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const submit = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      const r: DeleteResult | string | null = await client.deleteNamespace(
        props.store,
        props.ns,
        deleteGroups,
      )
      props.onDeleted(typeof r === 'string' && r.startsWith('UPID:') ? r : undefined)
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }
  return (
    <Dialog
      title={`Delete Namespace '${props.ns}'`}
      onClose={props.onClose}
      testId="namespace-delete-dialog"
      footer={
        <>
          <ErrorBox error={error} prefix="Not deleted:" />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void submit()}>
              {busy ? 'Deleting…' : 'Delete'}
            </button>
          </div>
        </>
      }
    >
      <p>
        Deletes <code>{props.ns}</code> and every namespace below it.
        {props.groupCount > 0 && ` It holds ${props.groupCount} group(s) (including sub-namespaces).`}
      </p>
      <label class="check">
        <input
          type="checkbox"
          name="delete-groups"
          checked={deleteGroups}
          onChange={(e) => setDeleteGroups(e.currentTarget.checked)}
        />
        <span>Also delete the backup groups and their snapshots (protected snapshots are kept)</span>
      </label>
      {!deleteGroups && props.groupCount > 0 && (
        <p class="hint">Without this, namespaces that still hold groups are kept.</p>
      )}
    </Dialog>
  )
}
