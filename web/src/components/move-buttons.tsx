/** Preview (dry-run plan) and Move, the action pair of both move dialogs (move.md §6). */
import { BusyButton } from './dialog-footer.js'

/** Which of the two runs, if any. */
export type MoveBusy = '' | 'preview' | 'move'

/** Properties of MoveButtons. */
export interface MoveButtonsProps {
  busy: MoveBusy
  /** True when the input cannot be moved (both buttons are also off while either runs). */
  blocked: boolean
  /** Text of Move while it runs. */
  movingLabel: string
  onPreview: () => Promise<void>
  onMove: () => Promise<void>
  /** Text of Move (default `Move`). */
  moveLabel?: string
}

/** The two buttons. */
export function MoveButtons(props: MoveButtonsProps) {
  const disabled = props.blocked || props.busy !== ''
  return (
    <>
      <BusyButton
        disabled={disabled}
        busy={props.busy === 'preview'}
        busyLabel="Previewing…"
        onClick={props.onPreview}
      >
        Preview
      </BusyButton>
      <BusyButton
        kind="primary"
        disabled={disabled}
        busy={props.busy === 'move'}
        busyLabel={props.movingLabel}
        onClick={props.onMove}
      >
        {props.moveLabel ?? 'Move'}
      </BusyButton>
    </>
  )
}
