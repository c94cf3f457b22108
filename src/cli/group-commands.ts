import type { Command } from 'commander'

import { parseAuthid, parseGroupPath } from '../api-types/index.js'
import {
  forgetGroup,
  getOwner,
  listGroups,
  readNotes,
  setNotes,
  setOwner,
  assertGroupExists,
  assertNamespaceExists,
} from '../datastore/index.js'
import { cliContext, nsFrom, storeFrom } from './context.js'
import { addGroupMoveCommand } from './move-commands.js'
import { emit, type OutputSink } from './output.js'
import { isRemote, remoteClient } from './remote-context.js'
import {
  remoteChangeOwner,
  remoteGroupForget,
  remoteGroupList,
  remoteGroupNotes,
} from './remote-group-commands.js'
import { groupTable, printGroupForget, printNotes, printNotesUpdated, printOwnerChanged } from './views.js'

/** `pbs-store group …` */
export function registerGroupCommands(program: Command, sink: OutputSink): void {
  const group = program.command('group').description('list, move and manage backup groups')
  addGroupMoveCommand(group, sink)

  group
    .command('list')
    .description('list the groups of a namespace (empty groups included)')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .action(async (opts: { store: string; ns?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteGroupList(ctx, await remoteClient(cmd), opts.store, ns)
      const store = await storeFrom(ctx, opts.store, 'read')
      await assertNamespaceExists(store, ns)
      const groups = await listGroups(store, ns)
      const rows = groups.map((g) => ({
        'backup-type': g.type,
        'backup-id': g.id,
        'last-backup': g.lastBackup ?? 0,
        'backup-count': g.snapshotCount,
        owner: g.owner,
        ...(g.comment === undefined ? {} : { comment: g.comment }),
      }))
      emit(sink, ctx.format, rows, () => groupTable(rows))
    })

  group
    .command('notes')
    .description('show the group notes, or replace them with --set')
    .argument('<group>', "group as TYPE/ID, e.g. 'vm/100'")
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--set <text>', 'new notes text')
    .action(async (spec: string, opts: { store: string; ns?: string; set?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const g = parseGroupPath(spec, 'group')
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteGroupNotes(ctx, await remoteClient(cmd), opts.store, ns, g, opts.set)
      const store = await storeFrom(ctx, opts.store, opts.set === undefined ? 'read' : 'write')
      if (opts.set !== undefined) {
        await setNotes(store, ns, g, opts.set)
        printNotesUpdated(ctx, ns, g)
        return
      }
      await assertGroupExists(store, ns, g)
      printNotes(ctx, (await readNotes(store, ns, g)) ?? '')
    })

  group
    .command('change-owner')
    .description('change the owner of a group')
    .argument('<group>', 'group as TYPE/ID')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .requiredOption('--new-owner <authid>', "new owner, e.g. 'alice@pbs' or 'alice@pbs!token'")
    .action(async (spec: string, opts: { store: string; ns?: string; newOwner: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const g = parseGroupPath(spec, 'group')
      const ns = nsFrom(opts.ns)
      parseAuthid(opts.newOwner, '--new-owner')
      if (isRemote(cmd))
        return remoteChangeOwner(ctx, await remoteClient(cmd), opts.store, ns, g, opts.newOwner)
      const store = await storeFrom(ctx, opts.store, 'write')
      const old = await getOwner(store, ns, g)
      await setOwner(store, ns, g, opts.newOwner)
      printOwnerChanged(ctx, ns, g, old, opts.newOwner)
    })

  group
    .command('forget')
    .description('delete a group with all its snapshots (protected snapshots are kept)')
    .argument('<group>', 'group as TYPE/ID')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .action(async (spec: string, opts: { store: string; ns?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const g = parseGroupPath(spec, 'group')
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteGroupForget(ctx, await remoteClient(cmd), opts.store, ns, g)
      const store = await storeFrom(ctx, opts.store, 'write')
      const r = await forgetGroup(store, ns, g)
      printGroupForget(ctx, ns, g, {
        'removed-groups': r.removedGroup ? 1 : 0,
        'removed-snapshots': r.removedSnapshots,
        'protected-snapshots': r.protectedKept,
      })
    })
}
