/** A modal dialog: title, body, footer buttons; Escape and the close button cancel. */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'

let dialogCounter = 0

/** Properties of Dialog. */
export interface DialogProps {
  title: string
  onClose: () => void
  children: ComponentChildren
  footer?: ComponentChildren
  /** Wider layout for plans and logs. */
  wide?: boolean
  /** `data-testid` of the dialog element. */
  testId?: string
}

/** The modal dialog. */
export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDivElement>(null)
  const titleId = useRef(`dialog-title-${++dialogCounter}`)
  const onClose = useRef(props.onClose)
  onClose.current = props.onClose
  useEffect(() => {
    const el = ref.current
    const first = el?.querySelector<HTMLElement>('input:not([readonly]):not([disabled]), select, textarea')
    first?.focus()
    const onKey = (e: KeyboardEvent): void => {
      // Only the topmost dialog reacts, so Escape in the task viewer leaves the move dialog open.
      const all = document.querySelectorAll('.dialog')
      if (e.key === 'Escape' && all[all.length - 1] === el) {
        e.stopPropagation()
        onClose.current()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])
  return (
    <div class="overlay">
      <div
        ref={ref}
        class={`dialog${props.wide === true ? ' wide' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId.current}
        data-testid={props.testId}
      >
        <div class="dialog-head">
          <h2 id={titleId.current}>{props.title}</h2>
          <button type="button" class="icon-button" aria-label="Close" title="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        <div class="dialog-body">{props.children}</div>
        {props.footer !== undefined && <div class="dialog-foot">{props.footer}</div>}
      </div>
    </div>
  )
}
