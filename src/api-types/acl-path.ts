import { ValidationError } from '../errors.js'
import { SAFE_ID_REGEX } from './safe-id.js'

/** ACL_PATH_SCHEMA: at most 128 characters. */
export const ACL_PATH_MAX_LENGTH = 128

/** True for ACL_PATH_SCHEMA's form: `/`, or `/`-separated SAFE_IDs (length not checked). */
export function isAclPathSyntax(value: string): boolean {
  return (
    value === '/' ||
    (value.startsWith('/') &&
      value
        .slice(1)
        .split('/')
        .every((c) => SAFE_ID_REGEX.test(c)))
  )
}

/**
 * Checks an ACL path's syntax (spec §3.3: `/` or `/`-separated SAFE_IDs, 1–128 characters) and
 * returns it as given. Which paths may carry entries is the ACL config's check.
 * @throws ValidationError naming `input` and the rule.
 */
export function parseAclPath(value: unknown, input = 'path'): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (value.length < 1 || value.length > ACL_PATH_MAX_LENGTH)
    throw new ValidationError(input, value, `must be 1 to ${ACL_PATH_MAX_LENGTH} characters`)
  if (!isAclPathSyntax(value))
    throw new ValidationError(
      input,
      value,
      "must be '/' or start with '/' followed by '/'-separated safe ids (letters, digits, '.', '_', '-'; no empty, '.' or '..' components)",
    )
  return value
}
