import { ValidationError } from '../../errors.js'

/**
 * Retention options of prune (PBS KeepOptions). Each count is an integer ≥ 1; an absent count
 * means the rule is not used. With no count at all, prune keeps everything.
 */
export interface KeepOptions {
  keepLast?: number
  keepHourly?: number
  keepDaily?: number
  keepWeekly?: number
  keepMonthly?: number
  keepYearly?: number
}

/** The retention rules in the order prune applies them, with their PBS (kebab-case) names. */
export const KEEP_RULES = [
  { key: 'keepLast', name: 'keep-last' },
  { key: 'keepHourly', name: 'keep-hourly' },
  { key: 'keepDaily', name: 'keep-daily' },
  { key: 'keepWeekly', name: 'keep-weekly' },
  { key: 'keepMonthly', name: 'keep-monthly' },
  { key: 'keepYearly', name: 'keep-yearly' },
] as const satisfies readonly { key: keyof KeepOptions; name: string }[]

/** PBS name of a retention rule, e.g. `keep-daily`. */
export type KeepRuleName = (typeof KEEP_RULES)[number]['name']

/**
 * Parses retention counts from an API body (`keep-daily`) or CLI options (`keepDaily`); values
 * may be numbers or decimal strings. 0 counts as unset (PBS treats it so in keeps_something);
 * other keys are ignored.
 * @param inputPrefix put before the option name in errors, e.g. `--` for the CLI.
 * @throws ValidationError naming the option when a value is negative, fractional or not a number.
 * @example parseKeepOptions({ 'keep-daily': '7', keepLast: 3 }) // { keepLast: 3, keepDaily: 7 }
 */
export function parseKeepOptions(raw: Readonly<Record<string, unknown>>, inputPrefix = ''): KeepOptions {
  const out: KeepOptions = {}
  for (const { key, name } of KEEP_RULES) {
    const value = raw[key] ?? raw[name]
    if (value === undefined || value === null) continue
    const n = parseCount(value, `${inputPrefix}${name}`)
    if (n > 0) out[key] = n
  }
  return out
}

function parseCount(value: unknown, input: string): number {
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new ValidationError(input, value, 'must be an integer of at least 1 (0 or unset: rule not used)')
  return n
}

/** False when no rule has a count: prune then keeps every snapshot (PBS keeps_something). */
export function keepsSomething(opts: KeepOptions): boolean {
  return KEEP_RULES.some(({ key }) => (opts[key] ?? 0) > 0)
}

/** The options as CLI flags for logs, PBS cli_keep_options style: `--keep-last 3 --keep-daily 7`. */
export function formatKeepOptions(opts: KeepOptions): string {
  return KEEP_RULES.filter(({ key }) => (opts[key] ?? 0) > 0)
    .map(({ key, name }) => `--${name} ${opts[key]}`)
    .join(' ')
}
