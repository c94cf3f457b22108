import { ValidationError } from '../errors.js'

/** BACKUP_TIME_RE, anchored: the directory-name form of a snapshot time. */
export const BACKUP_TIME_REGEX = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/

/** Latest representable time: 9999-12-31T23:59:59Z (the format has four year digits). */
export const MAX_BACKUP_TIME = 253402300799

/**
 * Checks an epoch backup time (integer ≥ 1, year ≤ 9999) and returns it.
 * @throws ValidationError naming the input and the rule.
 */
export function checkBackupTime(value: unknown, input = 'backup-time'): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new ValidationError(input, value, 'must be an integer epoch (seconds)')
  if (value < 1) throw new ValidationError(input, value, 'must be at least 1 (1970-01-01T00:00:01Z)')
  if (value > MAX_BACKUP_TIME)
    throw new ValidationError(input, value, 'must not be after 9999-12-31T23:59:59Z')
  return value
}

/** Formats an epoch as PBS does (`%010FT%TZ` on gmtime): `2026-04-16T17:18:23Z`. */
export function formatBackupTime(epoch: number): string {
  checkBackupTime(epoch)
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Parses an RFC3339 time as PBS's parse_rfc3339 does: `YYYY-MM-DDTHH:MM:SSZ` or with a `±hh:mm`
 * offset; returns the UTC epoch. Impossible dates (Feb 30) are refused rather than normalised.
 * @throws ValidationError naming the input and the rule.
 */
export function parseRfc3339(value: unknown, input = 'backup-time'): number {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|([+-])(\d{2}):(\d{2}))$/.exec(value)
  if (!m) throw new ValidationError(input, value, "must be an RFC3339 time like '2026-04-16T17:18:23Z'")
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || month > 12) throw new ValidationError(input, value, 'month must be 01..12')
  if (day < 1 || day > 31) throw new ValidationError(input, value, 'day must be 01..31')
  if (hour > 23) throw new ValidationError(input, value, 'hour must be 00..23')
  if (minute > 59) throw new ValidationError(input, value, 'minute must be 00..59')
  if (second > 60) throw new ValidationError(input, value, 'second must be 00..60')
  const local = Date.UTC(year, month - 1, day, hour, minute, second) / 1000
  // Date.UTC folds 2026-02-30 into March; refuse instead of silently changing the time.
  const check = new Date(Date.UTC(year, month - 1, day))
  if (check.getUTCDate() !== day) throw new ValidationError(input, value, 'day does not exist in that month')
  let epoch = local
  if (m[7] !== 'Z') {
    const offset = (Number(m[9]) * 60 + Number(m[10])) * 60
    if (Number(m[9]) > 23 || Number(m[10]) > 59)
      throw new ValidationError(input, value, 'offset must be ±hh:mm')
    epoch = m[8] === '+' ? local - offset : local + offset
  }
  return checkBackupTime(epoch, input)
}

/**
 * Parses a user-given backup time: epoch seconds (as the PBS client takes) or RFC3339.
 * @throws ValidationError naming the input and the rule.
 */
export function parseBackupTimeArg(value: unknown, input = 'backup-time'): number {
  if (typeof value === 'number') return checkBackupTime(value, input)
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return checkBackupTime(Number(value), input)
  return parseRfc3339(value, input)
}

/**
 * Parses a snapshot directory name (the `Z` form only, as the PBS regex requires).
 * @throws ValidationError when the name is not a canonical snapshot time.
 */
export function parseBackupTimeString(value: unknown, input = 'backup-time'): number {
  if (typeof value !== 'string' || !BACKUP_TIME_REGEX.test(value))
    throw new ValidationError(input, value, "must be a UTC time like '2026-04-16T17:18:23Z'")
  return parseRfc3339(value, input)
}
