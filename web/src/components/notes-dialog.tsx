/** "Notes" of a group: loads the whole text, saves it back. */
import { useEffect, useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { useSubmit } from '../use-submit.js'
import { Dialog } from './dialog.js'
import { BusyButton, DialogFooter } from './dialog-footer.js'

/** The dialog. */
export function NotesDialog(props: {
  store: string
  group: GroupNode
  onClose: () => void
  onSaved: () => void
}) {
  const { client } = useApp()
  const { group } = props
  const ref = { type: group.type, id: group.id }
  const [notes, setNotes] = useState<string | undefined>(undefined)
  const { busy, error, setError, run } = useSubmit()
  useEffect(() => {
    client
      .getGroupNotes(props.store, group.ns, ref)
      .then((n) => setNotes(n ?? ''))
      .catch((e: unknown) => {
        setError(e)
        setNotes('')
      })
  }, [])
  const save = (): Promise<void> =>
    run(async () => {
      await client.setGroupNotes(props.store, group.ns, ref, notes ?? '')
      props.onSaved()
    })
  return (
    <Dialog
      title={`Notes of '${group.name}' in ${nsLabel(group.ns)}`}
      onClose={props.onClose}
      testId="notes-dialog"
      footer={
        <DialogFooter error={error} onCancel={props.onClose}>
          <BusyButton
            kind="primary"
            disabled={busy || notes === undefined}
            busy={busy}
            busyLabel="Saving…"
            onClick={save}
          >
            Save
          </BusyButton>
        </DialogFooter>
      }
    >
      <textarea
        name="notes"
        class="notes"
        rows={10}
        value={notes ?? ''}
        disabled={notes === undefined}
        placeholder={notes === undefined ? 'Loading…' : 'No notes yet. The first line is shown in the tree.'}
        onInput={(e) => setNotes(e.currentTarget.value)}
      />
    </Dialog>
  )
}
