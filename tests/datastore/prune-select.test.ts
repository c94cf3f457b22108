// The pure prune selection (spec §10, PBS compute_prune_info) as tables, run in three time zones:
// UTC, America/New_York (UTC-4/-5) and Asia/Kolkata (UTC+5:30, so even hour buckets move).
// Most data sits where the local day/month/year is the same in all three zones (06:00–18:00 UTC),
// so the same expectation holds everywhere; the zone-dependent cases spell out each zone.
// Node re-reads process.env.TZ when it is assigned, so each describe switches the zone in `before`
// (a test below proves the switch is in effect, and a child started with TZ agrees).
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'

import { formatBackupTime, parseRfc3339 } from '../../src/api-types/index.js'
import { ValidationError } from '../../src/errors.js'
import {
  computePruneInfo,
  formatKeepOptions,
  isoWeek,
  keepsSomething,
  parseKeepOptions,
  selectorId,
  type KeepOptions,
  type PruneCandidate,
} from '../../src/datastore/prune/index.js'

type Zone = 'UTC' | 'America/New_York' | 'Asia/Kolkata'
const ZONES: readonly Zone[] = ['UTC', 'America/New_York', 'Asia/Kolkata']
/** Date.getTimezoneOffset() in April (DST in New York). */
const APRIL_OFFSET: Record<Zone, number> = { UTC: 0, 'America/New_York': 240, 'Asia/Kolkata': -330 }

interface Snap extends PruneCandidate {
  name: string
}

/** `'2026-04-16T12:00:00Z'`, optionally followed by ` partial` and/or ` protected`. */
function snaps(...specs: string[]): Snap[] {
  return specs.map((spec) => {
    const [name, ...flags] = spec.split(' ')
    return {
      name: name!,
      time: parseRfc3339(name),
      finished: !flags.includes('partial'),
      protected: flags.includes('protected'),
    }
  })
}

/** The selection as `<time> <mark> [<rule>]` lines, newest first. */
function select(list: Snap[], keep: KeepOptions): string[] {
  return computePruneInfo(list, keep).map((m) => [m.item.name, m.mark, m.rule].filter(Boolean).join(' '))
}

/** Runs the zone-independent tables; `zone` only labels the failure. */
function zoneIndependentCases(zone: Zone): void {
  it(`TZ=${zone} is in effect`, () => {
    assert.equal(new Date(Date.UTC(2026, 3, 16, 12)).getTimezoneOffset(), APRIL_OFFSET[zone])
  })

  it('keep-last keeps the N newest and removes the rest', () => {
    const list = snaps(
      '2026-04-12T12:00:00Z',
      '2026-04-16T12:00:00Z',
      '2026-04-14T12:00:00Z',
      '2026-04-15T12:00:00Z',
      '2026-04-13T12:00:00Z',
    )
    assert.deepEqual(select(list, { keepLast: 2 }), [
      '2026-04-16T12:00:00Z keep keep-last',
      '2026-04-15T12:00:00Z keep keep-last',
      '2026-04-14T12:00:00Z remove',
      '2026-04-13T12:00:00Z remove',
      '2026-04-12T12:00:00Z remove',
    ])
  })

  it('keep-hourly keeps the newest snapshot of each of the last N hours', () => {
    // Minutes :05–:25 stay in one hour bucket in all three zones (+5:30 shifts them to :35–:55).
    const list = snaps(
      '2026-04-16T10:25:00Z',
      '2026-04-16T10:05:00Z',
      '2026-04-16T09:20:00Z',
      '2026-04-16T08:25:00Z',
      '2026-04-16T08:10:00Z',
    )
    assert.deepEqual(select(list, { keepHourly: 2 }), [
      '2026-04-16T10:25:00Z keep keep-hourly',
      '2026-04-16T10:05:00Z remove',
      '2026-04-16T09:20:00Z keep keep-hourly',
      '2026-04-16T08:25:00Z remove',
      '2026-04-16T08:10:00Z remove',
    ])
  })

  it('keep-daily keeps the newest of each day; days without a backup use no slot', () => {
    const list = snaps(
      '2026-04-16T15:00:00Z',
      '2026-04-16T09:00:00Z',
      '2026-04-14T12:00:00Z',
      '2026-04-11T17:00:00Z',
      '2026-04-11T07:00:00Z',
      '2026-04-10T12:00:00Z',
    )
    assert.deepEqual(select(list, { keepDaily: 3 }), [
      '2026-04-16T15:00:00Z keep keep-daily',
      '2026-04-16T09:00:00Z remove',
      '2026-04-14T12:00:00Z keep keep-daily',
      '2026-04-11T17:00:00Z keep keep-daily',
      '2026-04-11T07:00:00Z remove',
      '2026-04-10T12:00:00Z remove',
    ])
  })

  it('keep-weekly uses ISO weeks: 2020-12-28 … 2021-01-03 is week 2020/53', () => {
    const list = snaps(
      '2021-01-11T12:00:00Z', // Mon, 2021/02
      '2021-01-10T12:00:00Z', // Sun, 2021/01
      '2021-01-04T12:00:00Z', // Mon, 2021/01
      '2021-01-03T12:00:00Z', // Sun, 2020/53
      '2020-12-31T12:00:00Z', // Thu, 2020/53
      '2020-12-28T12:00:00Z', // Mon, 2020/53
      '2020-12-27T12:00:00Z', // Sun, 2020/52
    )
    assert.deepEqual(select(list, { keepWeekly: 3 }), [
      '2021-01-11T12:00:00Z keep keep-weekly',
      '2021-01-10T12:00:00Z keep keep-weekly',
      '2021-01-04T12:00:00Z remove',
      '2021-01-03T12:00:00Z keep keep-weekly',
      '2020-12-31T12:00:00Z remove',
      '2020-12-28T12:00:00Z remove',
      '2020-12-27T12:00:00Z remove',
    ])
    const marks = computePruneInfo(list, { keepWeekly: 3 })
    assert.deepEqual(
      marks.filter((m) => m.keep).map((m) => m.selector),
      ['2021/02', '2021/01', '2020/53'],
    )
  })

  it('keep-monthly and keep-yearly keep the newest of each month / year', () => {
    const list = snaps(
      '2026-04-16T12:00:00Z',
      '2026-04-02T12:00:00Z',
      '2026-03-20T12:00:00Z',
      '2026-01-15T12:00:00Z',
      '2025-12-15T12:00:00Z',
      '2025-06-15T12:00:00Z',
      '2024-12-15T12:00:00Z',
      '2023-07-01T12:00:00Z',
    )
    assert.deepEqual(select(list, { keepMonthly: 3 }), [
      '2026-04-16T12:00:00Z keep keep-monthly',
      '2026-04-02T12:00:00Z remove',
      '2026-03-20T12:00:00Z keep keep-monthly',
      '2026-01-15T12:00:00Z keep keep-monthly',
      '2025-12-15T12:00:00Z remove',
      '2025-06-15T12:00:00Z remove',
      '2024-12-15T12:00:00Z remove',
      '2023-07-01T12:00:00Z remove',
    ])
    assert.deepEqual(select(list, { keepYearly: 3 }), [
      '2026-04-16T12:00:00Z keep keep-yearly',
      '2026-04-02T12:00:00Z remove',
      '2026-03-20T12:00:00Z remove',
      '2026-01-15T12:00:00Z remove',
      '2025-12-15T12:00:00Z keep keep-yearly',
      '2025-06-15T12:00:00Z remove',
      '2024-12-15T12:00:00Z keep keep-yearly',
      '2023-07-01T12:00:00Z remove',
    ])
  })

  it("an earlier rule's ids are already included: keep-last 1 + keep-daily 2 covers three days", () => {
    const list = snaps(
      '2026-04-16T10:00:00Z',
      '2026-04-16T08:00:00Z',
      '2026-04-15T12:00:00Z',
      '2026-04-15T09:00:00Z',
      '2026-04-14T12:00:00Z',
      '2026-04-13T12:00:00Z',
    )
    // keep-last took 04-16; keep-daily must not spend a slot on 04-16 again (its older snapshot
    // stays unmarked and is removed), so its two slots go to 04-15 and 04-14.
    assert.deepEqual(select(list, { keepLast: 1, keepDaily: 2 }), [
      '2026-04-16T10:00:00Z keep keep-last',
      '2026-04-16T08:00:00Z remove',
      '2026-04-15T12:00:00Z keep keep-daily',
      '2026-04-15T09:00:00Z remove',
      '2026-04-14T12:00:00Z keep keep-daily',
      '2026-04-13T12:00:00Z remove',
    ])
  })

  it('rules chain in order last, hourly, daily, weekly, monthly, yearly', () => {
    const list = snaps(
      '2026-04-16T12:20:00Z',
      '2026-04-16T12:10:00Z',
      '2026-04-16T09:10:00Z',
      '2026-04-15T12:00:00Z',
      '2026-04-14T12:00:00Z', // Tue, week 16 — already included via the daily picks
      '2026-04-08T12:00:00Z', // Wed, week 15
      '2026-04-01T12:00:00Z', // Wed, week 14
      '2026-03-15T12:00:00Z', // month 03, week 11
      '2026-02-15T12:00:00Z', // month 02
      '2025-07-01T12:00:00Z', // year 2025
      '2024-07-01T12:00:00Z', // year 2024
    )
    assert.deepEqual(
      select(list, {
        keepLast: 1,
        keepHourly: 1,
        keepDaily: 1,
        keepWeekly: 2,
        keepMonthly: 2,
        keepYearly: 5,
      }),
      [
        '2026-04-16T12:20:00Z keep keep-last',
        '2026-04-16T12:10:00Z remove', // hour 12 already included; hourly walk removes nothing yet
        '2026-04-16T09:10:00Z keep keep-hourly',
        '2026-04-15T12:00:00Z keep keep-daily',
        '2026-04-14T12:00:00Z remove',
        '2026-04-08T12:00:00Z keep keep-weekly',
        '2026-04-01T12:00:00Z keep keep-weekly',
        '2026-03-15T12:00:00Z keep keep-monthly',
        '2026-02-15T12:00:00Z keep keep-monthly',
        '2025-07-01T12:00:00Z keep keep-yearly',
        '2024-07-01T12:00:00Z keep keep-yearly',
      ],
    )
  })

  it('a protected snapshot never uses a slot and stays protected wherever it is', () => {
    const list = snaps(
      '2026-04-16T12:00:00Z',
      '2026-04-15T12:00:00Z protected',
      '2026-04-14T12:00:00Z',
      '2026-04-13T12:00:00Z',
      '2026-04-12T12:00:00Z protected',
    )
    assert.deepEqual(select(list, { keepLast: 2 }), [
      '2026-04-16T12:00:00Z keep keep-last',
      '2026-04-15T12:00:00Z protected protected',
      '2026-04-14T12:00:00Z keep keep-last',
      '2026-04-13T12:00:00Z remove',
      '2026-04-12T12:00:00Z protected protected',
    ])
    // Nor does it take its day: the next snapshot of the same day still gets the daily slot.
    const sameDay = snaps('2026-04-16T15:00:00Z protected', '2026-04-16T09:00:00Z', '2026-04-15T12:00:00Z')
    assert.deepEqual(select(sameDay, { keepDaily: 1 }), [
      '2026-04-16T15:00:00Z protected protected',
      '2026-04-16T09:00:00Z keep keep-daily',
      '2026-04-15T12:00:00Z remove',
    ])
  })

  it('partial: the newest unfinished snapshot is kept only when nothing finished is newer', () => {
    const newestPartial = snaps(
      '2026-04-16T12:00:00Z partial',
      '2026-04-15T12:00:00Z',
      '2026-04-14T12:00:00Z',
    )
    assert.deepEqual(select(newestPartial, { keepLast: 1 }), [
      '2026-04-16T12:00:00Z keep-partial keep-partial', // uses no keep-last slot
      '2026-04-15T12:00:00Z keep keep-last',
      '2026-04-14T12:00:00Z remove',
    ])
    const twoPartials = snaps(
      '2026-04-16T12:00:00Z partial',
      '2026-04-15T12:00:00Z partial',
      '2026-04-14T12:00:00Z',
    )
    assert.deepEqual(select(twoPartials, { keepLast: 5 }), [
      '2026-04-16T12:00:00Z keep-partial keep-partial',
      '2026-04-15T12:00:00Z remove',
      '2026-04-14T12:00:00Z keep keep-last',
    ])
    // An unfinished snapshot older than a finished one is removed even with free keep-last slots.
    const olderPartial = snaps('2026-04-16T12:00:00Z', '2026-04-15T12:00:00Z partial', '2026-04-14T12:00:00Z')
    assert.deepEqual(select(olderPartial, { keepLast: 5 }), [
      '2026-04-16T12:00:00Z keep keep-last',
      '2026-04-15T12:00:00Z remove',
      '2026-04-14T12:00:00Z keep keep-last',
    ])
    // …unless it is protected.
    const protectedPartial = snaps('2026-04-16T12:00:00Z', '2026-04-15T12:00:00Z partial protected')
    assert.deepEqual(select(protectedPartial, { keepLast: 1 }), [
      '2026-04-16T12:00:00Z keep keep-last',
      '2026-04-15T12:00:00Z protected protected',
    ])
  })

  it('nothing set (or only zeros) keeps everything, partials included', () => {
    const list = snaps(
      '2026-04-16T12:00:00Z',
      '2026-04-15T12:00:00Z partial',
      '2026-04-14T12:00:00Z protected',
      '2026-04-13T12:00:00Z',
    )
    const expected = [
      '2026-04-16T12:00:00Z keep keep-all',
      '2026-04-15T12:00:00Z keep keep-all',
      '2026-04-14T12:00:00Z protected protected',
      '2026-04-13T12:00:00Z keep keep-all',
    ]
    assert.deepEqual(select(list, {}), expected)
    assert.deepEqual(select(list, parseKeepOptions({ 'keep-last': 0, keepDaily: '0' })), expected)
    assert.ok(computePruneInfo(list, {}).every((m) => m.keep))
  })

  it('returns every input item exactly once, newest first, whatever the input order', () => {
    const list = snaps(
      '2026-04-13T12:00:00Z',
      '2026-04-16T12:00:00Z',
      '2026-04-14T12:00:00Z',
      '2026-04-15T12:00:00Z',
    )
    const marks = computePruneInfo(list, { keepDaily: 1 })
    assert.deepEqual(
      marks.map((m) => m.item.name),
      ['2026-04-16T12:00:00Z', '2026-04-15T12:00:00Z', '2026-04-14T12:00:00Z', '2026-04-13T12:00:00Z'],
    )
    assert.ok(
      marks.every((m) => list.includes(m.item)),
      'marks carry the caller’s items',
    )
  })
}

/** The per-zone expectations: same data, different local days/hours. */
const DAY_BOUNDARY: Record<Zone, string[]> = {
  // 20:00Z on the 15th, 02:00Z and 22:00Z on the 16th.
  UTC: [
    '2026-04-16T22:00:00Z keep keep-daily',
    '2026-04-16T02:00:00Z remove',
    '2026-04-15T20:00:00Z keep keep-daily',
  ],
  // EDT: 18:00 on the 16th, 22:00 and 16:00 on the 15th.
  'America/New_York': [
    '2026-04-16T22:00:00Z keep keep-daily',
    '2026-04-16T02:00:00Z keep keep-daily',
    '2026-04-15T20:00:00Z remove',
  ],
  // IST: 03:30 on the 17th, 07:30 and 01:30 on the 16th.
  'Asia/Kolkata': [
    '2026-04-16T22:00:00Z keep keep-daily',
    '2026-04-16T02:00:00Z keep keep-daily',
    '2026-04-15T20:00:00Z remove',
  ],
}
const DAY_BOUNDARY_IDS: Record<Zone, (string | undefined)[]> = {
  UTC: ['2026/04/16', undefined, '2026/04/15'],
  'America/New_York': ['2026/04/16', '2026/04/15', undefined],
  'Asia/Kolkata': ['2026/04/17', '2026/04/16', undefined],
}
/** Hour buckets: +5:30 splits 10:10Z and 10:50Z into different local hours. */
const HALF_HOUR: Record<Zone, string[]> = {
  UTC: [
    '2026-04-16T10:50:00Z keep keep-hourly',
    '2026-04-16T10:10:00Z remove',
    '2026-04-16T09:50:00Z keep keep-hourly',
  ],
  'America/New_York': [
    '2026-04-16T10:50:00Z keep keep-hourly',
    '2026-04-16T10:10:00Z remove',
    '2026-04-16T09:50:00Z keep keep-hourly',
  ],
  'Asia/Kolkata': [
    '2026-04-16T10:50:00Z keep keep-hourly',
    '2026-04-16T10:10:00Z keep keep-hourly',
    '2026-04-16T09:50:00Z remove',
  ],
}
/** New Year: 2025-12-31T23:30Z is already 2026 in Kolkata, 03:00Z on Jan 1st is still 2025 in New York. */
const NEW_YEAR: Record<Zone, string[]> = {
  UTC: [
    '2026-01-01T03:00:00Z keep keep-yearly',
    '2025-12-31T23:30:00Z keep keep-yearly',
    '2025-06-01T12:00:00Z remove',
  ],
  'America/New_York': [
    '2026-01-01T03:00:00Z keep keep-yearly',
    '2025-12-31T23:30:00Z remove',
    '2025-06-01T12:00:00Z remove',
  ],
  'Asia/Kolkata': [
    '2026-01-01T03:00:00Z keep keep-yearly',
    '2025-12-31T23:30:00Z remove',
    '2025-06-01T12:00:00Z keep keep-yearly',
  ],
}

function zoneDependentCases(zone: Zone): void {
  it('a day boundary depends on the zone (keep-daily 2)', () => {
    const list = snaps('2026-04-15T20:00:00Z', '2026-04-16T02:00:00Z', '2026-04-16T22:00:00Z')
    assert.deepEqual(select(list, { keepDaily: 2 }), DAY_BOUNDARY[zone])
    assert.deepEqual(
      computePruneInfo(list, { keepDaily: 2 }).map((m) => m.selector),
      DAY_BOUNDARY_IDS[zone],
    )
  })

  it('hour buckets follow the zone, half-hour offsets included (keep-hourly 2)', () => {
    const list = snaps('2026-04-16T09:50:00Z', '2026-04-16T10:10:00Z', '2026-04-16T10:50:00Z')
    assert.deepEqual(select(list, { keepHourly: 2 }), HALF_HOUR[zone])
  })

  it('the year boundary follows the zone (keep-yearly 2)', () => {
    const list = snaps('2025-06-01T12:00:00Z', '2025-12-31T23:30:00Z', '2026-01-01T03:00:00Z')
    assert.deepEqual(select(list, { keepYearly: 2 }), NEW_YEAR[zone])
  })
}

/** Runs `date` (GNU coreutils, i.e. glibc strftime as PBS uses) for a list of epochs in `zone`. */
function strftimeOracle(zone: Zone, epochs: readonly number[]): string[] | undefined {
  const r = spawnSync('date', ['-f', '-', '+%Y/%m/%d/%H|%Y/%m/%d|%G/%V|%Y/%m|%Y'], {
    input: epochs.map((e) => `@${e}`).join('\n') + '\n',
    env: { ...process.env, TZ: zone },
    encoding: 'utf8',
  })
  if (r.status !== 0) return undefined
  return r.stdout.trimEnd().split('\n')
}

const HAS_GNU_DATE = spawnSync('date', ['-d', '@0', '+%G'], { encoding: 'utf8' }).stdout?.trim() === '1970'

function selectorIdCases(zone: Zone): void {
  it('selector ids equal strftime_local (GNU date as the oracle) over year and DST edges', () => {
    // Fails loudly rather than skipping: coreutils date is part of every supported machine.
    assert.ok(HAS_GNU_DATE, 'GNU date(1) is needed as the strftime oracle for this test')
    const epochs: number[] = []
    // Every 7h37m across two year ends and the US/EU DST switches: hits every hour and weekday.
    for (
      let t = parseRfc3339('2020-12-20T00:00:00Z');
      t < parseRfc3339('2021-01-20T00:00:00Z');
      t += 7 * 3600 + 37 * 60
    )
      epochs.push(t)
    for (
      let t = parseRfc3339('2026-03-01T00:00:00Z');
      t < parseRfc3339('2026-04-05T00:00:00Z');
      t += 5 * 3600 + 11 * 60
    )
      epochs.push(t)
    for (
      let t = parseRfc3339('2026-12-25T00:00:00Z');
      t < parseRfc3339('2027-01-10T00:00:00Z');
      t += 3 * 3600 + 7 * 60
    )
      epochs.push(t)
    const oracle = strftimeOracle(zone, epochs)
    assert.ok(oracle, 'date(1) ran')
    const ours = epochs.map((e) =>
      (['keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'] as const)
        .map((r) => selectorId(r, e))
        .join('|'),
    )
    assert.deepEqual(ours, oracle)
  })
}

for (const zone of ZONES) {
  describe(`prune selection, TZ=${zone}`, () => {
    let saved: string | undefined
    before(() => {
      saved = process.env.TZ
      process.env.TZ = zone
    })
    after(() => {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    })
    zoneIndependentCases(zone)
    zoneDependentCases(zone)
    selectorIdCases(zone)
  })
}

describe('prune selection, zone-free parts', () => {
  it('ISO week-year and week (strftime %G/%V)', () => {
    const cases: [number, number, number, string][] = [
      [2020, 12, 31, '2020/53'],
      [2021, 1, 3, '2020/53'],
      [2021, 1, 4, '2021/01'],
      [2019, 12, 30, '2020/01'], // a Monday in December already belongs to the next week-year
      [2024, 12, 30, '2025/01'],
      [2026, 1, 1, '2026/01'], // a Thursday: week 1
      [2027, 1, 1, '2026/53'], // a Friday: the old year's last week
      [2015, 12, 31, '2015/53'],
      [2016, 1, 3, '2015/53'],
      [2026, 4, 16, '2026/16'],
      [2026, 12, 31, '2026/53'],
    ]
    for (const [y, m, d, expected] of cases) {
      const w = isoWeek(y, m, d)
      assert.equal(`${w.year}/${String(w.week).padStart(2, '0')}`, expected, `${y}-${m}-${d}`)
    }
  })

  it('keep-last ids are the RFC3339 UTC time, in every zone', () => {
    const t = parseRfc3339('2026-04-16T22:00:00Z')
    assert.equal(selectorId('keep-last', t), '2026-04-16T22:00:00Z')
    assert.equal(selectorId('keep-last', t), formatBackupTime(t))
  })

  it('a child started with TZ in its environment selects like the in-process zone switch', () => {
    const mod = fileURLToPath(new URL('../../src/datastore/prune/index.js', import.meta.url))
    const script = [
      `const { computePruneInfo } = await import(${JSON.stringify(mod)})`,
      `const list = [${['2026-04-15T20:00:00Z', '2026-04-16T02:00:00Z', '2026-04-16T22:00:00Z'].map((s) => `{ time: ${parseRfc3339(s)}, finished: true, protected: false }`).join(', ')}]`,
      'console.log(JSON.stringify(computePruneInfo(list, { keepDaily: 2 }).map((m) => [m.mark, m.selector ?? null])))',
    ].join('\n')
    const run = (tz: Zone): unknown =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, TZ: tz },
          encoding: 'utf8',
        }),
      )
    assert.deepEqual(run('Asia/Kolkata'), [
      ['keep', '2026/04/17'],
      ['keep', '2026/04/16'],
      ['remove', null],
    ])
    assert.deepEqual(run('UTC'), [
      ['keep', '2026/04/16'],
      ['remove', null],
      ['keep', '2026/04/15'],
    ])
  })

  it('parseKeepOptions accepts counts ≥ 1 from CLI or API names and treats 0 as unset', () => {
    assert.deepEqual(
      parseKeepOptions({
        keepLast: '3',
        'keep-daily': 7,
        keepWeekly: undefined,
        'keep-yearly': 0,
        store: 'x',
      }),
      {
        keepLast: 3,
        keepDaily: 7,
      },
    )
    assert.equal(keepsSomething({}), false)
    assert.equal(keepsSomething({ keepMonthly: 1 }), true)
    assert.equal(formatKeepOptions({ keepYearly: 2, keepLast: 1 }), '--keep-last 1 --keep-yearly 2')
  })

  it('parseKeepOptions rejects negatives, fractions and words, naming the option', () => {
    for (const [raw, name] of [
      [{ 'keep-daily': -1 }, 'keep-daily'],
      [{ keepHourly: '1.5' }, 'keep-hourly'],
      [{ keepLast: 'three' }, 'keep-last'],
      [{ keepMonthly: 2.5 }, 'keep-monthly'],
      [{ keepWeekly: '-2' }, 'keep-weekly'],
      [{ keepYearly: '' }, 'keep-yearly'],
    ] as const) {
      assert.throws(
        () => parseKeepOptions(raw),
        (e: unknown) =>
          e instanceof ValidationError && e.input === name && e.message.startsWith(`invalid ${name} `),
        JSON.stringify(raw),
      )
    }
    assert.throws(
      () => parseKeepOptions({ keepDaily: '-1' }, '--'),
      /invalid --keep-daily '-1' - must be an integer of at least 1/,
    )
  })
})
