import { ValidationError } from '../errors.js'
import { SAFE_ID_REGEX, SAFE_ID_RULE } from './safe-id.js'

/**
 * Checks a datastore name (SAFE_ID, 3..32 characters) and returns it.
 * @throws ValidationError naming the input and the rule.
 */
export function parseDatastoreName(value: unknown, input = 'store'): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (value.length < 3 || value.length > 32)
    throw new ValidationError(input, value, 'must be 3 to 32 characters')
  if (!SAFE_ID_REGEX.test(value)) throw new ValidationError(input, value, SAFE_ID_RULE)
  return value
}
