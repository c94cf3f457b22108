import { ValidationError } from '../errors.js'

/** C0 control characters and DEL: what PBS's SINGLE_LINE_COMMENT_FORMAT (`[[:^cntrl:]]*`) forbids. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHAR_REGEX = /[\x00-\x1f\x7f]/

/** COMMENT_SCHEMA: a single line of at most 128 characters. */
export const COMMENT_MAX_LENGTH = 128

/** EMAIL_SCHEMA: a single line of 2 to 64 characters. */
export const EMAIL_LENGTH = { minLength: 2, maxLength: 64 } as const

/** True when `value` has no control characters (no line break, tab, escape …). */
export function isSingleLine(value: string): boolean {
  return !CONTROL_CHAR_REGEX.test(value)
}

/**
 * Checks single-line text (comment, e-mail, message) and its length, and returns it.
 * @throws ValidationError naming `input` and the rule.
 */
export function parseSingleLine(
  value: unknown,
  input: string,
  limits: { minLength?: number; maxLength?: number } = { maxLength: COMMENT_MAX_LENGTH },
): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (!isSingleLine(value))
    throw new ValidationError(input, value, 'must be a single line without control characters')
  const { minLength, maxLength } = limits
  if (minLength !== undefined && value.length < minLength)
    throw new ValidationError(input, value, `must be at least ${minLength} characters long`)
  if (maxLength !== undefined && value.length > maxLength)
    throw new ValidationError(input, value, `may only be ${maxLength} characters long`)
  return value
}
