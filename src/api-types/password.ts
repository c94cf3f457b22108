import { ValidationError } from '../errors.js'
import { isSingleLine } from './single-line.js'

/** PBS_PASSWORD_SCHEMA: 8 to 64 characters. */
export const PASSWORD_LENGTH = { minLength: 8, maxLength: 64 } as const

/** What errors show instead of a password. */
export const HIDDEN_VALUE = '(hidden)'

/** True when a password has no control characters (PBS_PASSWORD_SCHEMA's format). */
export function isPasswordText(value: string): boolean {
  return isSingleLine(value)
}

/**
 * Checks a pbs-realm password (8–64 characters, no control characters) and returns it. The
 * error never carries the value.
 * @throws ValidationError naming `input` and the rule.
 */
export function parsePassword(value: unknown, input = 'password'): string {
  if (typeof value !== 'string') throw new ValidationError(input, HIDDEN_VALUE, 'must be a string')
  const { minLength, maxLength } = PASSWORD_LENGTH
  if (value.length < minLength || value.length > maxLength)
    throw new ValidationError(input, HIDDEN_VALUE, `must be ${minLength} to ${maxLength} characters`)
  if (!isPasswordText(value))
    throw new ValidationError(input, HIDDEN_VALUE, 'must not contain control characters')
  return value
}
