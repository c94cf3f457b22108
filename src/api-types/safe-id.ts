import { ValidationError } from '../errors.js'

/** PBS SAFE_ID: a letter, digit or underscore, then letters, digits, '.', '_' or '-'. */
export const SAFE_ID_REGEX = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

/** The rule text shared by every SAFE_ID error message. */
export const SAFE_ID_RULE =
  "must start with a letter, digit or '_' and contain only letters, digits, '.', '_' and '-'"

/**
 * Checks a SAFE_ID and returns it.
 * @throws ValidationError naming `input` and the rule.
 */
export function parseSafeId(value: unknown, input: string): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (value.length === 0) throw new ValidationError(input, value, 'must not be empty')
  if (!SAFE_ID_REGEX.test(value)) throw new ValidationError(input, value, SAFE_ID_RULE)
  return value
}
