import type { Command } from 'commander'

import { BackupNamespace, parseMaxDepth } from '../api-types/index.js'
import { createNamespace, deleteNamespace, listNamespaces } from '../datastore/index.js'
import { cliContext, nsFrom, storeFrom } from './context.js'
import { addNamespaceMoveCommand } from './move-commands.js'
import {
  remoteNamespaceCreate,
  remoteNamespaceDelete,
  remoteNamespaceList,
} from './remote-namespace-commands.js'
import { isRemote, remoteClient } from './remote-context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** `pbs-store namespace …` */
export function registerNamespaceCommands(program: Command, sink: OutputSink): void {
  const ns = program.command('namespace').description('create, list, move and delete backup namespaces')
  addNamespaceMoveCommand(ns, sink)

  ns.command('create')
    .description('create a namespace (its parent must exist)')
    .argument('<ns>', "namespace path, e.g. 'prod/web'")
    .requiredOption('--store <store>', 'datastore name')
    .action(async (name: string, opts: { store: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const target = BackupNamespace.parse(name, 'namespace')
      if (isRemote(cmd)) return remoteNamespaceCreate(ctx, await remoteClient(cmd), opts.store, target)
      const store = await storeFrom(ctx, opts.store, 'write')
      const { created } = await createNamespace(store, target)
      emit(sink, ctx.format, target.toString(), () =>
        created
          ? `created namespace '${target.toString()}'\n`
          : `namespace '${target.toString()}' already exists\n`,
      )
    })

  ns.command('list')
    .description('list a namespace and the namespaces below it')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <parent>', 'start below this namespace (default: root)')
    .option('--max-depth <n>', 'levels below the start to include (0-7)')
    .action(async (opts: { store: string; ns?: string; maxDepth?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const parent = nsFrom(opts.ns)
      const depth =
        opts.maxDepth === undefined
          ? undefined
          : Math.min(parseMaxDepth(opts.maxDepth, '--max-depth'), 7 - parent.depth)
      if (isRemote(cmd)) return remoteNamespaceList(ctx, await remoteClient(cmd), opts.store, parent, depth)
      const store = await storeFrom(ctx, opts.store, 'read')
      const list = await listNamespaces(store, parent, depth)
      const rows = list.map((n) => ({ ns: n.toString() }))
      emit(sink, ctx.format, rows, () =>
        formatTable(list, [{ header: 'namespace', value: (n) => n.display() }]),
      )
    })

  ns.command('delete')
    .description('delete a namespace and its sub-namespaces (refused while they hold groups)')
    .argument('<ns>', 'namespace path')
    .requiredOption('--store <store>', 'datastore name')
    .option('--delete-groups', 'also delete every group in the subtree (protected snapshots are kept)')
    .action(async (name: string, opts: { store: string; deleteGroups?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const target = BackupNamespace.parse(name, 'namespace')
      if (isRemote(cmd))
        return remoteNamespaceDelete(
          ctx,
          await remoteClient(cmd),
          opts.store,
          target,
          opts.deleteGroups === true,
        )
      const store = await storeFrom(ctx, opts.store, 'write')
      const r = await deleteNamespace(store, target, { deleteGroups: opts.deleteGroups === true })
      const data = {
        'removed-groups': r.removedGroups,
        'removed-snapshots': r.removedSnapshots,
        'protected-snapshots': r.protectedSnapshots,
      }
      emit(
        sink,
        ctx.format,
        data,
        () =>
          `deleted namespace '${target.toString()}' (${r.removedNamespaces.length} namespace(s), ${r.removedGroups} group(s), ${r.removedSnapshots} snapshot(s))\n`,
      )
    })
}
