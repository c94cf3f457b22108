/** A small row action button (tree rows): its text, a tooltip that names the object, and a label. */
import type { ComponentChildren } from 'preact'

/** Properties of ActionButton. */
export interface ActionButtonProps {
  /** Tooltip; also the accessible name unless `label` is given. */
  title: string
  label?: string
  danger?: boolean
  onClick: () => void
  children: ComponentChildren
}

/** The button. */
export function ActionButton(props: ActionButtonProps) {
  return (
    <button
      type="button"
      class={props.danger === true ? 'action danger' : 'action'}
      title={props.title}
      aria-label={props.label ?? props.title}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  )
}
