import { formatBackupTime } from '../../api-types/index.js'
import type { KeepRuleName } from './keep-options.js'

/**
 * The id by which a retention rule groups snapshots, as PBS's `strftime_local` renders it in the
 * process's LOCAL time zone (TZ): two snapshots with the same daily id fall on the same local day.
 * keep-last uses the RFC3339 UTC time string, which is unique per snapshot.
 *
 * | rule         | format         | example       |
 * |--------------|----------------|---------------|
 * | keep-last    | RFC3339 (UTC)  | 2026-04-16T17:18:23Z |
 * | keep-hourly  | `%Y/%m/%d/%H`  | 2026/04/16/19 |
 * | keep-daily   | `%Y/%m/%d`     | 2026/04/16    |
 * | keep-weekly  | `%G/%V`        | 2026/16       |
 * | keep-monthly | `%Y/%m`        | 2026/04       |
 * | keep-yearly  | `%Y`           | 2026          |
 */
export function selectorId(rule: KeepRuleName, epoch: number): string {
  if (rule === 'keep-last') return formatBackupTime(epoch)
  const d = new Date(epoch * 1000)
  const year = d.getFullYear()
  const month = pad2(d.getMonth() + 1)
  const day = pad2(d.getDate())
  switch (rule) {
    case 'keep-hourly':
      return `${year}/${month}/${day}/${pad2(d.getHours())}`
    case 'keep-daily':
      return `${year}/${month}/${day}`
    case 'keep-weekly': {
      const w = isoWeek(year, d.getMonth() + 1, d.getDate())
      return `${w.year}/${pad2(w.week)}`
    }
    case 'keep-monthly':
      return `${year}/${month}`
    case 'keep-yearly':
      return `${year}`
  }
}

/**
 * ISO 8601 week of a calendar date (strftime %G/%V): weeks start on Monday and week 1 is the one
 * holding the year's first Thursday, so 2021-01-03 is in week 53 of 2020.
 * @param month 1..12
 */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const DAY_MS = 86_400_000
  // Pure calendar arithmetic in UTC: the local date is already decided, and UTC has no DST gaps.
  const date = Date.UTC(year, month - 1, day)
  const weekday = (new Date(date).getUTCDay() + 6) % 7 // Monday = 0 … Sunday = 6
  // The Thursday of the same ISO week decides the week-year.
  const thursday = new Date(date + (3 - weekday) * DAY_MS)
  const weekYear = thursday.getUTCFullYear()
  const dayOfYear = (thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS
  return { year: weekYear, week: Math.floor(dayOfYear / 7) + 1 }
}

function pad2(n: number): string {
  return String(n).padStart(2, '0')
}
