/**
 * Text renderings shared by local and remote mode, so both print the same thing for the same
 * (API-shaped) data.
 */
import {
  formatBackupTime,
  formatGroupPath,
  formatSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../api-types/index.js'
import type { MovePlan } from '../client/index.js'
import type { CliContext } from './context.js'
import { emit, formatTable } from './output.js'

/** A group in messages: `'vm/100'`, or `'vm/100' in namespace 'prod'` (the engine's wording). */
export function describeGroup(ns: BackupNamespace, group: BackupGroupRef): string {
  return ns.isRoot
    ? `'${formatGroupPath(group)}'`
    : `'${formatGroupPath(group)}' in namespace '${ns.toString()}'`
}

/** A snapshot in messages, worded like describeGroup. */
export function describeSnapshot(ns: BackupNamespace, dir: BackupDirRef): string {
  return ns.isRoot
    ? `'${formatSnapshotPath(dir)}'`
    : `'${formatSnapshotPath(dir)}' in namespace '${ns.toString()}'`
}

/** One row of `datastore list`; `path` only locally (the API does not tell it). */
export interface DatastoreRow {
  store: string
  path?: string
  comment: string | null
  'backend-type': string
  /** The `maintenance-mode` property string, when one is set (PBS `maintenance`). */
  maintenance?: string
}

/** The `datastore list` table (path and maintenance columns only when some row has them). */
export function datastoreTable(rows: readonly DatastoreRow[]): string {
  const withPath = rows.some((r) => r.path !== undefined)
  const withMaintenance = rows.some((r) => r.maintenance !== undefined)
  return formatTable(
    rows,
    [
      { header: 'store', value: (r: DatastoreRow) => r.store },
      ...(withPath ? [{ header: 'path', value: (r: DatastoreRow) => r.path }] : []),
      { header: 'backend', value: (r) => r['backend-type'] },
      ...(withMaintenance
        ? [{ header: 'maintenance', value: (r: DatastoreRow) => r.maintenance ?? '' }]
        : []),
      { header: 'comment', value: (r) => r.comment },
    ],
    'no datastores configured',
  )
}

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

/** The PBS answer of a group delete, in the key order `group forget` prints. */
export interface GroupForgetResult {
  'removed-groups': number
  'removed-snapshots': number
  'protected-snapshots': number
}

/** Prints the result of `group forget`. */
export function printGroupForget(
  ctx: CliContext,
  ns: BackupNamespace,
  group: BackupGroupRef,
  r: GroupForgetResult,
): void {
  emit(ctx.sink, ctx.format, r, () =>
    r['removed-groups'] > 0
      ? `removed group ${describeGroup(ns, group)} (${r['removed-snapshots']} snapshot(s))\n`
      : `group ${describeGroup(ns, group)} only partially removed - ${r['protected-snapshots']} protected snapshot(s) kept\n`,
  )
}

/** Prints group notes (JSON: the string; text: as is, ending in a newline). */
export function printNotes(ctx: CliContext, notes: string): void {
  emit(ctx.sink, ctx.format, notes, () => (notes.endsWith('\n') || notes === '' ? notes : `${notes}\n`))
}

/** Prints that the notes of a group were replaced. */
export function printNotesUpdated(ctx: CliContext, ns: BackupNamespace, group: BackupGroupRef): void {
  emit(ctx.sink, ctx.format, null, () => `notes of ${describeGroup(ns, group)} updated\n`)
}

/** Prints an owner change (`old` unknown when the caller may not read it). */
export function printOwnerChanged(
  ctx: CliContext,
  ns: BackupNamespace,
  group: BackupGroupRef,
  old: string | undefined,
  newOwner: string,
): void {
  emit(
    ctx.sink,
    ctx.format,
    null,
    () =>
      `owner of ${describeGroup(ns, group)} changed ${old === undefined ? '' : `from ${old} `}to ${newOwner}\n`,
  )
}

/** Prints that a snapshot was removed. */
export function printSnapshotForgotten(ctx: CliContext, ns: BackupNamespace, dir: BackupDirRef): void {
  emit(ctx.sink, ctx.format, null, () => `removed snapshot ${describeSnapshot(ns, dir)}\n`)
}

/** Prints the protection flag of a snapshot. */
export function printProtected(
  ctx: CliContext,
  ns: BackupNamespace,
  dir: BackupDirRef,
  value: boolean,
): void {
  emit(ctx.sink, ctx.format, value, () => `${describeSnapshot(ns, dir)} is ${value ? '' : 'not '}protected\n`)
}

/** One file of `snapshot files` (the PBS `files` answer: manifest files, the manifest, the rest). */
export interface SnapshotFileRow {
  filename: string
  'crypt-mode'?: string | undefined
  /** From the manifest; absent for files the manifest does not list. */
  size?: number | undefined
}

/** Prints the files of a snapshot. */
export function printSnapshotFiles(ctx: CliContext, files: readonly SnapshotFileRow[]): void {
  emit(ctx.sink, ctx.format, files, () =>
    formatTable(files, [
      { header: 'file', value: (f) => f.filename },
      { header: 'size', value: (f) => f.size },
      { header: 'crypt-mode', value: (f) => f['crypt-mode'] },
    ]),
  )
}
