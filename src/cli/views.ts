/**
 * Text renderings shared by local and remote mode, so both print the same thing for the same
 * (API-shaped) data.
 */
import { formatBackupTime } from '../api-types/index.js'
import type { MovePlan } from '../client/index.js'
import type { CliContext } from './context.js'
import { emit, formatTable } from './output.js'

/** One row of `group list` (the PBS GroupListItem shape). */
export interface GroupRow {
  'backup-type': string
  'backup-id': string
  'last-backup': number
  'backup-count': number
  owner?: string | undefined
  comment?: string
}

/** One row of `snapshot list`, as far as the text table needs it. */
export interface SnapshotTableRow {
  'backup-type': string
  'backup-id': string
  'backup-time': number
  size?: number | undefined
  files?: readonly unknown[] | undefined
  protected?: boolean | undefined
  /** Absent from API answers, which list finished snapshots only. */
  finished?: boolean | undefined
}

/** The `group list` table. */
export function groupTable(rows: readonly GroupRow[]): string {
  return formatTable(rows, [
    { header: 'group', value: (g) => `${g['backup-type']}/${g['backup-id']}` },
    { header: 'snapshots', value: (g) => g['backup-count'] },
    {
      header: 'last backup',
      value: (g) => (g['last-backup'] > 0 ? formatBackupTime(g['last-backup']) : ''),
    },
    { header: 'owner', value: (g) => g.owner },
    { header: 'comment', value: (g) => g.comment },
  ])
}

/** The `snapshot list` table. */
export function snapshotTable(rows: readonly SnapshotTableRow[]): string {
  return formatTable(rows, [
    {
      header: 'snapshot',
      value: (r) =>
        `${r['backup-type']}/${r['backup-id']}/${new Date(r['backup-time'] * 1000).toISOString().replace('.000', '')}`,
    },
    { header: 'size', value: (r) => r.size },
    { header: 'files', value: (r) => r.files?.length },
    { header: 'protected', value: (r) => (r.protected === true ? 'yes' : '') },
    { header: 'state', value: (r) => (r.finished === false ? 'unfinished' : 'finished') },
  ])
}

/** Prints a dry-run move plan (JSON as is; text as a table with the totals). */
export function printPlan(ctx: CliContext, plan: MovePlan): void {
  emit(ctx.sink, ctx.format, plan, () => {
    let out = 'dry run - nothing changed\n'
    if (plan['create-namespaces'].length)
      out += `namespaces to create: ${plan['create-namespaces'].join(', ')}\n`
    out += formatTable(plan.groups, [
      { header: 'group', value: (g) => g.group },
      { header: 'from', value: (g) => g.ns || 'root' },
      { header: 'to', value: (g) => g['target-ns'] || 'root' },
      { header: 'snapshots', value: (g) => g.snapshots },
      { header: 'action', value: (g) => g.action },
      {
        header: 'reason',
        value: (g) => g.conflict ?? (g.notes === 'keep-target' ? 'notes differ: target notes kept' : ''),
      },
    ])
    if (plan['remove-namespaces'].length)
      out += `namespaces to remove afterwards: ${plan['remove-namespaces'].map((n) => n || 'root').join(', ')}\n`
    out += `${plan['total-snapshots']} snapshot(s) would move; ${plan.conflicts} conflict(s)\n`
    const r = plan['s3-requests']
    if (r !== undefined)
      out += `S3 requests: ${r.list} list, ${r.copy} copy, ${r.delete} delete, ${r.put} put (${r.list + r.copy + r.delete + r.put} total)\n`
    return out
  })
}
