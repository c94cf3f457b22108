/** "Add Namespace" below a parent; the name follows the API rule (SAFE_ID, ≤ 32 characters). */
import { useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import { nsJoin, nsLabel } from '../format.js'
import { useSubmit } from '../use-submit.js'
import { CREATE_NAME_MAX, namespaceNameProblem } from '../validation.js'
import { Dialog } from './dialog.js'
import { BusyButton, DialogFooter } from './dialog-footer.js'
import { FieldError, TextField } from './form-field.js'

/** The dialog. */
export function NamespaceCreateDialog(props: {
  store: string
  parent: string
  onClose: () => void
  onCreated: (ns: string) => void
}) {
  const { client } = useApp()
  const [name, setName] = useState('')
  const [touched, setTouched] = useState(false)
  const { busy, error, run } = useSubmit()
  const problem = namespaceNameProblem(name, CREATE_NAME_MAX)
  const submit = async (e?: Event): Promise<void> => {
    e?.preventDefault()
    setTouched(true)
    if (problem !== undefined) return
    await run(async () => {
      const created = await client.createNamespace(props.store, name, props.parent)
      props.onCreated(typeof created === 'string' && created !== '' ? created : nsJoin(props.parent, name))
    })
  }
  return (
    <Dialog
      title="Add Namespace"
      onClose={props.onClose}
      testId="namespace-create-dialog"
      footer={
        <DialogFooter error={error} errorPrefix="Not created:" onCancel={props.onClose}>
          <BusyButton kind="primary" disabled={busy} busy={busy} busyLabel="Creating…" onClick={submit}>
            Create
          </BusyButton>
        </DialogFooter>
      }
    >
      <form class="form" onSubmit={(e) => void submit(e)}>
        <TextField label="Parent" value={nsLabel(props.parent)} readOnly />
        <TextField
          label="Name"
          name="name"
          value={name}
          invalid={touched && problem !== undefined}
          onValue={(v) => {
            setName(v)
            setTouched(true)
          }}
        />
        {touched && problem !== undefined && <FieldError>{problem}</FieldError>}
      </form>
    </Dialog>
  )
}
