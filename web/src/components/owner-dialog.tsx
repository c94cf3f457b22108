/** "Change Owner" of a group; suggests the known users and tokens. */
import { useEffect, useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { ownerProblem } from '../validation.js'
import { Dialog } from './dialog.js'
import { ErrorBox } from './error-box.js'

/** The dialog. */
export function OwnerDialog(props: {
  store: string
  group: GroupNode
  onClose: () => void
  onChanged: () => void
}) {
  const { client } = useApp()
  const { group } = props
  const [owner, setOwner] = useState(group.owner)
  const [known, setKnown] = useState<string[]>([])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  useEffect(() => {
    // Suggestions only: a caller without Sys.Audit still types the auth id.
    client
      .listUsers()
      .then((users) => setKnown(users.flatMap((u) => [u.userid, ...(u.tokens ?? []).map((t) => t.tokenid)])))
      .catch(() => undefined)
  }, [client])
  const problem = owner === group.owner ? 'Enter a different owner.' : ownerProblem(owner)
  const submit = async (e?: Event): Promise<void> => {
    e?.preventDefault()
    if (problem !== undefined) return
    setBusy(true)
    setError(undefined)
    try {
      await client.changeOwner(props.store, group.ns, { type: group.type, id: group.id }, owner)
      props.onChanged()
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }
  return (
    <Dialog
      title={`Change Owner of '${group.name}'`}
      onClose={props.onClose}
      testId="owner-dialog"
      footer={
        <>
          <ErrorBox error={error} prefix="Owner not changed:" />
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button
              type="button"
              class="primary"
              disabled={busy || problem !== undefined}
              onClick={() => void submit()}
            >
              {busy ? 'Saving…' : 'Change owner'}
            </button>
          </div>
        </>
      }
    >
      <form class="form" onSubmit={(e) => void submit(e)}>
        <label>
          <span>Group</span>
          <input type="text" value={`${group.name} in ${nsLabel(group.ns)}`} readOnly />
        </label>
        <label>
          <span>Current owner</span>
          <input type="text" value={group.owner} readOnly />
        </label>
        <label>
          <span>New owner</span>
          <input
            type="text"
            name="new-owner"
            list="known-owners"
            value={owner}
            onInput={(e) => setOwner(e.currentTarget.value)}
          />
          <datalist id="known-owners">
            {known.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
        </label>
        {owner !== group.owner && problem !== undefined && <p class="field-error">{problem}</p>}
      </form>
    </Dialog>
  )
}
