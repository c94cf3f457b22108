/** "Add Namespace" below a parent; the name follows the API rule (SAFE_ID, ≤ 32 characters). */
import { useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import { nsJoin, nsLabel } from '../format.js'
import { CREATE_NAME_MAX, namespaceNameProblem } from '../validation.js'
import { Dialog } from './dialog.js'
import { ErrorBox } from './error-box.js'

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
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const problem = namespaceNameProblem(name, CREATE_NAME_MAX)
  const submit = async (e?: Event): Promise<void> => {
    e?.preventDefault()
    setTouched(true)
    if (problem !== undefined) return
    setBusy(true)
    setError(undefined)
    try {
      const created = await client.createNamespace(props.store, name, props.parent)
      props.onCreated(typeof created === 'string' && created !== '' ? created : nsJoin(props.parent, name))
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }
  return (
    <Dialog
      title="Add Namespace"
      onClose={props.onClose}
      testId="namespace-create-dialog"
      footer={
        <>
          <ErrorBox error={error} prefix="Not created:" />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="button" class="primary" disabled={busy} onClick={() => void submit()}>
              {busy ? 'Creating…' : 'Create'}
            </button>
          </div>
        </>
      }
    >
      <form class="form" onSubmit={(e) => void submit(e)}>
        <label>
          <span>Parent</span>
          <input type="text" value={nsLabel(props.parent)} readOnly />
        </label>
        <label>
          <span>Name</span>
          <input
            type="text"
            name="name"
            value={name}
            aria-invalid={touched && problem !== undefined}
            onInput={(e) => {
              setName(e.currentTarget.value)
              setTouched(true)
            }}
          />
        </label>
        {touched && problem !== undefined && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </form>
    </Dialog>
  )
}
