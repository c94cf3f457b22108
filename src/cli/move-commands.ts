import type { Command } from 'commander'

import {
  BackupNamespace,
  formatGroupPath,
  parseGroupPath,
  parseMaxDepth,
  type BackupGroupRef,
} from '../api-types/index.js'
import type { OperationLog } from '../datastore/operation-context.js'
import { ProgressTracker } from '../datastore/operation-context.js'
import { listSnapshotRefs } from '../datastore/index.js'
import { moveGroup, moveNamespace, planMoveGroups, planMoveNamespace } from '../datastore/move/index.js'
import { ConflictError, errorMessage } from '../errors.js'
import { cliContext, nsFrom, parseBool, storeFrom, type CliContext } from './context.js'
import { emit, type OutputSink } from './output.js'
import { remoteGroupMove, remoteNamespaceMove } from './remote-commands.js'
import { isRemote, remoteClient } from './remote-context.js'
import { printPlan } from './views.js'
import { progressView } from './progress.js'

/** `pbs-store group move TYPE/ID... --target-ns DST` */
export function addGroupMoveCommand(group: Command, sink: OutputSink): void {
  group
    .command('move')
    .description(
      'move one or more groups to another namespace of the same datastore (merging into existing groups when safe)',
    )
    .argument('<groups...>', "groups as TYPE/ID, e.g. 'vm/100 ct/200'")
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'source namespace (default: root)')
    .option('--target-ns <ns>', 'target namespace; must exist (default: root)')
    .option(
      '--merge-group <bool>',
      'merge into an existing target group with the same owner and older snapshots',
      'true',
    )
    .option('--dry-run', 'print the plan and change nothing')
    .action(
      async (
        specs: string[],
        opts: { store: string; ns?: string; targetNs?: string; mergeGroup: string; dryRun?: boolean },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const groups = specs.map((s) => parseGroupPath(s, 'group'))
        const ns = nsFrom(opts.ns)
        const targetNs = nsFrom(opts.targetNs, '--target-ns')
        const merge = parseBool(opts.mergeGroup, '--merge-group')
        if (isRemote(cmd)) {
          const m = {
            store: opts.store,
            ns,
            groups,
            targetNs,
            mergeGroup: merge,
            dryRun: opts.dryRun === true,
          }
          return remoteGroupMove(ctx, await remoteClient(cmd), m)
        }
        const store = await storeFrom(ctx, opts.store, opts.dryRun === true ? 'read' : 'write')
        if (opts.dryRun) {
          printPlan(ctx, await planMoveGroups(store, ns, groups, targetNs, merge))
          return
        }
        let total = 0
        for (const g of groups) total += (await listSnapshotRefs(store, ns, g).catch(() => [])).length
        const view = progressView(process.stderr, ctx.format === 'text')
        const progress = new ProgressTracker(total, 'snapshots', (p) => view.update(p))
        const failed: { group: BackupGroupRef; error: string }[] = []
        const moved: { group: string; snapshots: number; merged: boolean }[] = []
        try {
          for (const g of groups) {
            try {
              const r = await moveGroup(store, ns, g, targetNs, {
                mergeGroup: merge,
                progress,
                log: cliLog(ctx),
              })
              moved.push({ group: formatGroupPath(g), snapshots: r.movedSnapshots, merged: r.merged })
            } catch (e) {
              if (groups.length === 1) throw e
              failed.push({ group: g, error: errorMessage(e) })
              sink.err(`error: ${errorMessage(e)}\n`)
            }
          }
        } finally {
          view.stop()
        }
        emit(
          sink,
          ctx.format,
          { moved, failed: failed.map((f) => ({ group: formatGroupPath(f.group), error: f.error })) },
          () =>
            moved
              .map(
                (m) =>
                  `moved group '${m.group}' (${m.snapshots} snapshot(s)${m.merged ? ', merged' : ''}) to '${targetNs.display()}'\n`,
              )
              .join(''),
        )
        if (failed.length > 0)
          throw new ConflictError(`${failed.length} of ${groups.length} group(s) could not be moved`, {
            failed: failed.length,
          })
      },
    )
}

/** `pbs-store namespace move SRC --target-ns DST` */
export function addNamespaceMoveCommand(namespace: Command, sink: OutputSink): void {
  namespace
    .command('move')
    .description('move a namespace with everything below it to a new path (merged into an existing target)')
    .argument('<ns>', 'source namespace (not root)')
    .requiredOption('--store <store>', 'datastore name')
    .requiredOption('--target-ns <ns>', "the namespace's new full path; its parent must exist")
    .option('--max-depth <n>', 'levels below the source to move (0-7; default: all)')
    .option('--delete-source <bool>', 'remove the emptied source namespaces', 'true')
    .option('--merge-groups <bool>', 'merge groups into existing same-named target groups when safe', 'true')
    .option('--dry-run', 'print the plan and change nothing')
    .action(
      async (
        src: string,
        opts: {
          store: string
          targetNs: string
          maxDepth?: string
          deleteSource: string
          mergeGroups: string
          dryRun?: boolean
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const source = BackupNamespace.parse(src, 'ns')
        const target = BackupNamespace.parse(opts.targetNs, '--target-ns')
        const options = {
          ...(opts.maxDepth === undefined ? {} : { maxDepth: parseMaxDepth(opts.maxDepth, '--max-depth') }),
          deleteSource: parseBool(opts.deleteSource, '--delete-source'),
          mergeGroups: parseBool(opts.mergeGroups, '--merge-groups'),
        }
        if (isRemote(cmd)) {
          const m = { store: opts.store, source, target, ...options, dryRun: opts.dryRun === true }
          return remoteNamespaceMove(ctx, await remoteClient(cmd), m)
        }
        const store = await storeFrom(ctx, opts.store, opts.dryRun === true ? 'read' : 'write')
        if (opts.dryRun) {
          printPlan(ctx, await planMoveNamespace(store, source, target, options))
          return
        }
        const view = progressView(process.stderr, ctx.format === 'text')
        try {
          const r = await moveNamespace(store, source, target, {
            ...options,
            log: cliLog(ctx),
            onProgress: (p) => view.update(p),
          })
          view.stop()
          emit(
            sink,
            ctx.format,
            {
              'moved-groups': r.movedGroups,
              'moved-snapshots': r.movedSnapshots,
              'created-namespaces': r.createdNamespaces,
              'removed-namespaces': r.removedNamespaces,
              warnings: r.warnings,
            },
            () =>
              `moved namespace '${source.display()}' to '${target.display()}': ${r.movedGroups} group(s), ${r.movedSnapshots} snapshot(s)\n`,
          )
        } finally {
          view.stop()
        }
      },
    )
}

/** Task-log lines of the engine go to stderr, so stdout stays the result. */
function cliLog(ctx: CliContext): OperationLog {
  return {
    info: (m) => {
      if (ctx.format === 'text') ctx.sink.err(`${m}\n`)
    },
    warn: (m) => ctx.sink.err(`warning: ${m}\n`),
  }
}
