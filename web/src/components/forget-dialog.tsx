/** "Forget Group": deletes a group with its snapshots after a confirmation. */
import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { ConfirmDeleteDialog } from './confirm-delete-dialog.js'

/** The dialog. */
export function ForgetDialog(props: {
  store: string
  group: GroupNode
  onClose: () => void
  onForgotten: (upid: string | undefined) => void
}) {
  const { client } = useApp()
  const { group } = props
  return (
    <ConfirmDeleteDialog
      title={`Forget Group '${group.name}'`}
      testId="forget-dialog"
      confirmLabel="Forget group"
      onClose={props.onClose}
      remove={() => client.forgetGroup(props.store, group.ns, { type: group.type, id: group.id })}
      onDeleted={props.onForgotten}
    >
      <p>
        Delete the group <code>{group.name}</code> in <code>{nsLabel(group.ns)}</code> with its{' '}
        {group.count === 1 ? '1 snapshot' : `${group.count} snapshots`}? Protected snapshots are kept. This
        cannot be undone.
      </p>
    </ConfirmDeleteDialog>
  )
}
