/** A confirmation before a delete: the question as children, Cancel and the danger button. */
import type { ComponentChildren } from 'preact'

import type { DeleteResult } from '../../../src/client/index.js'
import { useSubmit } from '../use-submit.js'
import { Dialog } from './dialog.js'
import { BusyButton, DialogFooter } from './dialog-footer.js'

/** Properties of ConfirmDeleteDialog. */
export interface ConfirmDeleteDialogProps {
  title: string
  testId: string
  /** Text of the danger button. */
  confirmLabel: string
  onClose: () => void
  /** The delete call; a UPID answer means it runs as a task. */
  remove: () => Promise<DeleteResult | string | null>
  /** Called after the delete with the task UPID, if any. */
  onDeleted: (upid: string | undefined) => void
  children: ComponentChildren
}

/** The dialog. */
export function ConfirmDeleteDialog(props: ConfirmDeleteDialogProps) {
  const { busy, error, run } = useSubmit()
  const submit = (): Promise<void> =>
    run(async () => {
      const r = await props.remove()
      props.onDeleted(typeof r === 'string' && r.startsWith('UPID:') ? r : undefined)
    })
  return (
    <Dialog
      title={props.title}
      onClose={props.onClose}
      testId={props.testId}
      footer={
        <DialogFooter error={error} errorPrefix="Not deleted:" onCancel={props.onClose}>
          <BusyButton kind="danger" disabled={busy} busy={busy} busyLabel="Deleting…" onClick={submit}>
            {props.confirmLabel}
          </BusyButton>
        </DialogFooter>
      }
    >
      {props.children}
    </Dialog>
  )
}
