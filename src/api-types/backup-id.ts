import { ValidationError } from '../errors.js'

/** PBS BACKUP_ID_RE, anchored. */
export const BACKUP_ID_REGEX = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

/** A backup id is one directory name; the filesystem limits names to 255 bytes. */
export const MAX_BACKUP_ID_LENGTH = 255

/**
 * Checks a backup id and returns it.
 * @throws ValidationError naming the input and the rule.
 */
export function parseBackupId(value: unknown, input = 'backup-id'): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (value.length === 0) throw new ValidationError(input, value, 'must not be empty')
  if (value.length > MAX_BACKUP_ID_LENGTH)
    throw new ValidationError(input, value, `must be at most ${MAX_BACKUP_ID_LENGTH} characters`)
  if (!BACKUP_ID_REGEX.test(value))
    throw new ValidationError(
      input,
      value,
      "must start with a letter, digit or '_' and contain only letters, digits, '.', '_' and '-'",
    )
  return value
}

const U64_MAX = 18446744073709551615n

/** Numeric value of an id that parses as u64 (PBS sorts those numerically), else undefined. */
function asU64(id: string): bigint | undefined {
  if (!/^[0-9]+$/.test(id)) return undefined
  const n = BigInt(id)
  return n <= U64_MAX ? n : undefined
}

/** PBS id ordering: u64 ids numerically and before the others; the others as strings. */
export function compareBackupId(a: string, b: string): number {
  const na = asU64(a)
  const nb = asU64(b)
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0
  if (na !== undefined) return -1
  if (nb !== undefined) return 1
  return a < b ? -1 : a > b ? 1 : 0
}
