/** Labelled form fields of the dialogs and the login form, and the message under a bad value. */
import type { ComponentChildren } from 'preact'

/** Properties of TextField. */
export interface TextFieldProps {
  label: string
  value: string
  name?: string
  type?: 'text' | 'password'
  autocomplete?: string
  /** Id of a datalist with suggestions (given as children); text fields only. */
  list?: string
  maxLength?: number
  invalid?: boolean
  readOnly?: boolean
  onValue?: (value: string) => void
  /** Placed after the input, inside the label. */
  children?: ComponentChildren
}

/** A labelled text input. */
export function TextField(props: TextFieldProps) {
  const { onValue } = props
  // Only text-like inputs take a datalist.
  const kind =
    props.type === 'password' ? { type: 'password' as const } : { type: 'text' as const, list: props.list }
  return (
    <label>
      <span>{props.label}</span>
      <input
        {...kind}
        name={props.name}
        autocomplete={props.autocomplete}
        value={props.value}
        maxLength={props.maxLength}
        aria-invalid={props.invalid}
        readOnly={props.readOnly}
        onInput={onValue === undefined ? undefined : (e) => onValue(e.currentTarget.value)}
      />
      {props.children}
    </label>
  )
}

/** Properties of SelectField. */
export interface SelectFieldProps {
  label: string
  name: string
  value: string
  disabled?: boolean
  onValue: (value: string) => void
  /** The options. */
  children: ComponentChildren
}

/** A labelled select. */
export function SelectField(props: SelectFieldProps) {
  return (
    <label>
      <span>{props.label}</span>
      <select
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        onChange={(e) => props.onValue(e.currentTarget.value)}
      >
        {props.children}
      </select>
    </label>
  )
}

/** Properties of CheckField. */
export interface CheckFieldProps {
  name: string
  checked: boolean
  disabled?: boolean
  onValue: (checked: boolean) => void
  /** The text next to the box. */
  children: ComponentChildren
}

/** A checkbox with its text. */
export function CheckField(props: CheckFieldProps) {
  return (
    <label class="check">
      <input
        type="checkbox"
        name={props.name}
        checked={props.checked}
        disabled={props.disabled}
        onChange={(e) => props.onValue(e.currentTarget.checked)}
      />
      <span>{props.children}</span>
    </label>
  )
}

/** Why a value cannot be used; announced unless `quiet` (shown while typing). */
export function FieldError(props: { quiet?: boolean; children: ComponentChildren }) {
  return (
    <p class="field-error" role={props.quiet === true ? undefined : 'alert'}>
      {props.children}
    </p>
  )
}
