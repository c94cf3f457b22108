import type { Command } from 'commander'

import { formatSnapshotPath, parseGroupPath, parseMaxDepth } from '../api-types/index.js'
import {
  parseKeepOptions,
  pruneDatastore,
  pruneGroup,
  toPbsPruneJson,
  type KeepOptions,
  type PruneEntry,
} from '../datastore/prune/index.js'
import { cliContext, nsFrom, storeFrom } from './context.js'
import { emit, formatTable, type Column, type OutputSink } from './output.js'
import { remotePrune, remotePruneDatastore } from './remote-commands.js'
import { isRemote, remoteClient } from './remote-context.js'

/** Options both prune commands share (commander camel-cases the flags). */
interface PruneCliOptions {
  store: string
  ns?: string
  keepLast?: string
  keepHourly?: string
  keepDaily?: string
  keepWeekly?: string
  keepMonthly?: string
  keepYearly?: string
  dryRun?: boolean
}

/** `pbs-store prune TYPE/ID …` and `pbs-store prune-datastore …` */
export function registerPruneCommands(program: Command, sink: OutputSink): void {
  withPruneOptions(
    program
      .command('prune')
      .description('remove the snapshots of one group that the retention options do not keep (oldest first)')
      .argument('<group>', "group as TYPE/ID, e.g. 'vm/100'"),
  ).action(async (spec: string, opts: PruneCliOptions, cmd: Command) => {
    const ctx = cliContext(cmd, sink)
    const group = parseGroupPath(spec, 'group')
    const ns = nsFrom(opts.ns)
    const keep = keepFrom(opts)
    if (isRemote(cmd)) {
      const client = await remoteClient(cmd)
      return remotePrune(ctx, client, opts.store, ns, group, keepParams(keep), opts.dryRun === true)
    }
    const store = await storeFrom(ctx, opts.store, opts.dryRun === true ? 'read' : 'write')
    const result = await pruneGroup(store, ns, group, keep, { dryRun: opts.dryRun === true })
    report(sink, ctx.format, result.entries, result.warnings, opts.dryRun === true, false)
  })

  withPruneOptions(
    program
      .command('prune-datastore')
      .description('prune every group of a namespace and the namespaces below it')
      .option('--max-depth <n>', 'levels below --ns to include (0-7, default 7: all)'),
  ).action(async (opts: PruneCliOptions & { maxDepth?: string }, cmd: Command) => {
    const ctx = cliContext(cmd, sink)
    const ns = nsFrom(opts.ns)
    const keep = keepFrom(opts)
    const depth = opts.maxDepth === undefined ? undefined : parseMaxDepth(opts.maxDepth, '--max-depth')
    if (isRemote(cmd))
      return remotePruneDatastore(ctx, await remoteClient(cmd), {
        store: opts.store,
        ns,
        maxDepth: depth,
        keep: keepParams(keep),
        dryRun: opts.dryRun === true,
      })
    const store = await storeFrom(ctx, opts.store, opts.dryRun === true ? 'read' : 'write')
    const result = await pruneDatastore(store, ns, depth, keep, { dryRun: opts.dryRun === true })
    report(sink, ctx.format, result.entries, result.warnings, opts.dryRun === true, true)
  })
}

function withPruneOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--keep-last <n>', 'keep the last N snapshots')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last N hours')
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last N days')
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last N ISO weeks')
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last N months')
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last N years')
    .option('--dry-run', 'only show what would be removed')
}

/** Checked at the edge so a typo fails before the store is opened. */
function keepFrom(opts: PruneCliOptions): KeepOptions {
  return parseKeepOptions(
    {
      keepLast: opts.keepLast,
      keepHourly: opts.keepHourly,
      keepDaily: opts.keepDaily,
      keepWeekly: opts.keepWeekly,
      keepMonthly: opts.keepMonthly,
      keepYearly: opts.keepYearly,
    },
    '--',
  )
}

/** The retention options under their API names. */
function keepParams(keep: KeepOptions): Record<string, number | undefined> {
  return {
    'keep-last': keep.keepLast,
    'keep-hourly': keep.keepHourly,
    'keep-daily': keep.keepDaily,
    'keep-weekly': keep.keepWeekly,
    'keep-monthly': keep.keepMonthly,
    'keep-yearly': keep.keepYearly,
  }
}

function report(
  sink: OutputSink,
  format: Parameters<typeof emit>[1],
  entries: readonly PruneEntry[],
  warnings: readonly string[],
  dryRun: boolean,
  withNs: boolean,
): void {
  // Warnings never fail the command: PBS treats a busy or protected snapshot as "try next time".
  for (const w of warnings) sink.err(`warning: ${w}\n`)
  emit(sink, format, toPbsPruneJson(entries), () => {
    const columns: Column<PruneEntry>[] = [
      ...(withNs ? [{ header: 'namespace', value: (e: PruneEntry) => e.ns.display() }] : []),
      { header: 'snapshot', value: (e) => formatSnapshotPath(e.dir) },
      { header: 'action', value: (e) => (e.keep ? e.mark : dryRun ? 'would remove' : 'remove') },
      { header: 'rule', value: ruleText },
      {
        header: 'result',
        value: (e) =>
          e.removed === true ? 'removed' : e.removed === false ? 'NOT removed (see warning)' : '',
      },
    ]
    return formatTable(entries, columns, '(no snapshots)') + summary(entries, dryRun)
  })
}

function ruleText(e: PruneEntry): string {
  if (e.rule === undefined) return e.finished ? '' : 'older partial'
  if (e.rule === e.mark) return '' // protected, keep-partial: the action says it all
  // keep-last's selector is the snapshot time itself: shown already.
  return e.selector === undefined || e.rule === 'keep-last' ? e.rule : `${e.rule} ${e.selector}`
}

function summary(entries: readonly PruneEntry[], dryRun: boolean): string {
  const kept = entries.filter((e) => e.keep).length
  const toRemove = entries.filter((e) => !e.keep).length
  if (dryRun) return `dry run: would keep ${kept} and remove ${toRemove} snapshot(s)\n`
  const failed = entries.filter((e) => e.removed === false).length
  return `kept ${kept}, removed ${toRemove - failed} snapshot(s)${failed ? `, ${failed} could not be removed` : ''}\n`
}
