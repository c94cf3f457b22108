/** An API or input error in plain words, next to the action that caused it. */
import { ApiError } from '../../../src/client/index.js'

/** Text of any thrown value for people. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return `The server cannot be reached. ${error.message}`
    return error.fullMessage
  }
  if (error instanceof Error) return error.message
  return String(error)
}

/** Red box with the message (nothing when there is no error). */
export function ErrorBox(props: { error: unknown; prefix?: string | undefined }) {
  if (props.error === undefined || props.error === null) return null
  return (
    <div class="error-box" role="alert">
      {props.prefix !== undefined && <strong>{props.prefix} </strong>}
      <span class="error-text">{errorText(props.error)}</span>
    </div>
  )
}
