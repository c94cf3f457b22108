/** The footer of a dialog: the error of its action, then Cancel and the action buttons. */
import type { ComponentChildren } from 'preact'

import { ErrorBox } from './error-box.js'

/** Properties of DialogFooter. */
export interface DialogFooterProps {
  error: unknown
  /** Words before the error, e.g. `Not moved:`. */
  errorPrefix?: string | undefined
  /** Shows a Cancel button calling this. */
  onCancel?: (() => void) | undefined
  cancelDisabled?: boolean
  children: ComponentChildren
}

/** The footer. */
export function DialogFooter(props: DialogFooterProps) {
  return (
    <>
      <ErrorBox error={props.error} prefix={props.errorPrefix} />
      <div class="buttons">
        {props.onCancel !== undefined && (
          <button type="button" onClick={props.onCancel} disabled={props.cancelDisabled}>
            Cancel
          </button>
        )}
        {props.children}
      </div>
    </>
  )
}

/** Properties of BusyButton. */
export interface BusyButtonProps {
  kind?: 'primary' | 'danger'
  disabled: boolean
  /** While true the button shows busyLabel instead of its children. */
  busy: boolean
  busyLabel: string
  onClick: () => Promise<void>
  children: ComponentChildren
}

/** An action button that says what it is doing while its action runs. */
export function BusyButton(props: BusyButtonProps) {
  return (
    <button type="button" class={props.kind} disabled={props.disabled} onClick={() => void props.onClick()}>
      {props.busy ? props.busyLabel : props.children}
    </button>
  )
}
