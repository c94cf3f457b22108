/** "Notes" of a group: loads the whole text, saves it back. */
import { useEffect, useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { Dialog } from './dialog.js'
import { ErrorBox } from './error-box.js'

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
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  useEffect(() => {
    client
      .getGroupNotes(props.store, group.ns, ref)
      .then((n) => setNotes(n ?? ''))
      .catch((e: unknown) => {
        setError(e)
        setNotes('')
      })
  }, [])
  const save = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      await client.setGroupNotes(props.store, group.ns, ref, notes ?? '')
      props.onSaved()
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }
  return (
    <Dialog
      title={`Notes of '${group.name}' in ${nsLabel(group.ns)}`}
      onClose={props.onClose}
      testId="notes-dialog"
      footer={
        <>
          <ErrorBox error={error} />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button
              type="button"
              class="primary"
              disabled={busy || notes === undefined}
              onClick={() => void save()}
            >
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </>
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
