/** "Delete Namespace" with the subtree; optionally with the groups in it. */
import { useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import { ConfirmDeleteDialog } from './confirm-delete-dialog.js'
import { CheckField } from './form-field.js'

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
  return (
    <ConfirmDeleteDialog
      title={`Delete Namespace '${props.ns}'`}
      testId="namespace-delete-dialog"
      confirmLabel="Delete"
      onClose={props.onClose}
      remove={() => client.deleteNamespace(props.store, props.ns, deleteGroups)}
      onDeleted={props.onDeleted}
    >
      <p>
        Deletes <code>{props.ns}</code> and every namespace below it.
        {props.groupCount > 0 && ` It holds ${props.groupCount} group(s) (including sub-namespaces).`}
      </p>
      <CheckField name="delete-groups" checked={deleteGroups} onValue={setDeleteGroups}>
        Also delete the backup groups and their snapshots (protected snapshots are kept)
      </CheckField>
      {!deleteGroups && props.groupCount > 0 && (
        <p class="hint">Without this, namespaces that still hold groups are kept.</p>
      )}
    </ConfirmDeleteDialog>
  )
}
