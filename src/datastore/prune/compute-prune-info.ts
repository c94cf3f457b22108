import { KEEP_RULES, keepsSomething, type KeepOptions, type KeepRuleName } from './keep-options.js'
import { selectorId } from './selector-id.js'

/** What prune needs to know about a snapshot. */
export interface PruneCandidate {
  /** Backup time, epoch seconds. */
  readonly time: number
  /** Has a manifest; an unfinished (partial) snapshot has none. */
  readonly finished: boolean
  /** Carries the `.protected` marker. */
  readonly protected: boolean
}

/** PBS PruneMark names. Every mark except `remove` keeps the snapshot. */
export type PruneMarkKind = 'keep' | 'keep-partial' | 'protected' | 'remove'

/** What decided a mark: a retention rule, the partial rule, protection, or "nothing set". */
export type PruneReason = KeepRuleName | 'keep-partial' | 'protected' | 'keep-all'

/** The decision for one snapshot. */
export interface PruneMark<T extends PruneCandidate = PruneCandidate> {
  readonly item: T
  readonly mark: PruneMarkKind
  /** False only for `remove`. */
  readonly keep: boolean
  /** The rule that kept it; undefined for `remove`. */
  readonly rule: PruneReason | undefined
  /** The rule's selector id (e.g. `2026/04/16` for keep-daily) when a retention rule decided. */
  readonly selector?: string
}

interface Decision {
  mark: PruneMarkKind
  rule: PruneReason | undefined
  selector?: string
}

/**
 * Decides which snapshots of ONE group prune keeps (PBS compute_prune_info, spec §10). Pure: only
 * the process time zone enters, through the local-time selector ids.
 *
 * 1. Newest first. The newest unfinished snapshot is `keep-partial` when no finished one is newer;
 *    every other unfinished snapshot is removed.
 * 2. Rules in the order last, hourly, daily, weekly, monthly, yearly. Each rule walks newest first
 *    over the unmarked snapshots: protected ones are marked `protected` without using a slot; an id
 *    an earlier rule already kept is skipped; a new id is kept until N ids are taken, then the rule
 *    stops; a repeated id is removed.
 * 3. Unmarked snapshots are removed; protected ones always end as `protected`.
 *
 * With no rule set everything is kept (PBS keep_all).
 * @returns one mark per input item, newest first.
 * @example computePruneInfo(snapshots, { keepDaily: 7 }).filter((m) => !m.keep)
 */
export function computePruneInfo<T extends PruneCandidate>(
  list: readonly T[],
  keep: KeepOptions,
): PruneMark<T>[] {
  const sorted = [...list].sort((a, b) => b.time - a.time)
  if (!keepsSomething(keep)) {
    return sorted.map((item) =>
      item.protected
        ? { item, mark: 'protected', keep: true, rule: 'protected' }
        : { item, mark: 'keep', keep: true, rule: 'keep-all' },
    )
  }
  const decided: (Decision | undefined)[] = markPartials(sorted)
  for (const { key, name } of KEEP_RULES) {
    const count = keep[key] ?? 0
    if (count > 0) markSelections(sorted, decided, count, name)
  }
  return sorted.map((item, i) => {
    if (item.protected) return { item, mark: 'protected', keep: true, rule: 'protected' }
    const d = decided[i] ?? { mark: 'remove', rule: undefined }
    return {
      item,
      mark: d.mark,
      keep: d.mark !== 'remove',
      rule: d.rule,
      ...(d.selector === undefined ? {} : { selector: d.selector }),
    }
  })
}

/** Step 1: an unfinished snapshot only survives while it is the newest thing in the group. */
function markPartials(sorted: readonly PruneCandidate[]): (Decision | undefined)[] {
  const decided: (Decision | undefined)[] = new Array<Decision | undefined>(sorted.length).fill(undefined)
  let keepUnfinished = true
  sorted.forEach((s, i) => {
    if (!s.finished)
      decided[i] = keepUnfinished
        ? { mark: 'keep-partial', rule: 'keep-partial' }
        : { mark: 'remove', rule: undefined }
    // A finished backup, or the kept partial itself, makes every older partial useless.
    keepUnfinished = false
  })
  return decided
}

/** Step 2 for one rule (PBS mark_selections). */
function markSelections(
  sorted: readonly PruneCandidate[],
  decided: (Decision | undefined)[],
  count: number,
  rule: KeepRuleName,
): void {
  // Periods an earlier rule already covers: this rule must not spend a slot on them again.
  const alreadyIncluded = new Set<string>()
  sorted.forEach((s, i) => {
    if (decided[i]?.mark === 'keep') alreadyIncluded.add(selectorId(rule, s.time))
  })
  const taken = new Set<string>()
  for (const [i, s] of sorted.entries()) {
    if (decided[i] !== undefined) continue
    if (s.protected) {
      decided[i] = { mark: 'protected', rule: 'protected' }
      continue
    }
    const id = selectorId(rule, s.time)
    if (alreadyIncluded.has(id)) continue
    if (taken.has(id)) {
      decided[i] = { mark: 'remove', rule: undefined }
      continue
    }
    if (taken.size >= count) break
    taken.add(id)
    decided[i] = { mark: 'keep', rule, selector: id }
  }
}
