/** "Change Owner" of a group; suggests the known users and tokens. */
import { useEffect, useState } from 'preact/hooks'

import { useApp } from '../app-context.js'
import type { GroupNode } from '../content-model.js'
import { nsLabel } from '../format.js'
import { useSubmit } from '../use-submit.js'
import { ownerProblem } from '../validation.js'
import { Dialog } from './dialog.js'
import { BusyButton, DialogFooter } from './dialog-footer.js'
import { FieldError, TextField } from './form-field.js'

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
  const { busy, error, run } = useSubmit()
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
    await run(async () => {
      await client.changeOwner(props.store, group.ns, { type: group.type, id: group.id }, owner)
      props.onChanged()
    })
  }
  return (
    <Dialog
      title={`Change Owner of '${group.name}'`}
      onClose={props.onClose}
      testId="owner-dialog"
      footer={
        <DialogFooter error={error} errorPrefix="Owner not changed:" onCancel={props.onClose}>
          <BusyButton
            kind="primary"
            disabled={busy || problem !== undefined}
            busy={busy}
            busyLabel="Saving…"
            onClick={submit}
          >
            Change owner
          </BusyButton>
        </DialogFooter>
      }
    >
      <form class="form" onSubmit={(e) => void submit(e)}>
        <TextField label="Group" value={`${group.name} in ${nsLabel(group.ns)}`} readOnly />
        <TextField label="Current owner" value={group.owner} readOnly />
        <TextField label="New owner" name="new-owner" list="known-owners" value={owner} onValue={setOwner}>
          <datalist id="known-owners">
            {known.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
        </TextField>
        {owner !== group.owner && problem !== undefined && <FieldError quiet>{problem}</FieldError>}
      </form>
    </Dialog>
  )
}
