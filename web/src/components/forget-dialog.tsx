/** "Forget Group": deletes a group with its snapshots after a confirmation. */
import { useState } from 'preact/hooks'

import type { DeleteResult } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { Dialog } from './dialog.js'
import { ErrorBox } from './error-box.js'

/** The dialog. */
export function ForgetDialog(props: {
  store: string
  group: GroupNode
  onClose: () => void
  onForgotten: (upid: string | undefined) => void
}) {
  const { client } = useApp()
  const { group } = props
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const submit = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      const r: DeleteResult | string | null = await client.forgetGroup(props.store, group.ns, {
        type: group.type,
        id: group.id,
      })
      props.onForgotten(typeof r === 'string' && r.startsWith('UPID:') ? r : undefined)
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }
  return (
    <Dialog
      title={`Forget Group '${group.name}'`}
      onClose={props.onClose}
      testId="forget-dialog"
      footer={
        <>
          <ErrorBox error={error} prefix="Not deleted:" />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void submit()}>
              {busy ? 'Deleting…' : 'Forget group'}
            </button>
          </div>
        </>
      }
    >
      <p>
        Delete the group <code>{group.name}</code> in <code>{nsLabel(group.ns)}</code> with its{' '}
        {group.count === 1 ? '1 snapshot' : `${group.count} snapshots`}? Protected snapshots are kept. This
        cannot be undone.
      </p>
    </Dialog>
  )
}
