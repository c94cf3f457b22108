import type { Command } from 'commander'

import { loadDatastoreConfig } from '../config/datastore-config.js'
import { createDatastore } from '../datastore/index.js'
import { cliContext } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** `pbs-store datastore …` */
export function registerDatastoreCommands(program: Command, sink: OutputSink): void {
  const ds = program.command('datastore').description('create and list datastores')

  ds.command('create')
    .description('create a filesystem datastore in an empty (or new) directory')
    .argument('<name>', 'datastore name (3-32 characters: letters, digits, ".", "_", "-")')
    .argument('<path>', 'directory for the datastore; created if missing, must be empty otherwise')
    .option('--comment <text>', 'one-line comment')
    .action(async (name: string, path: string, opts: { comment?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const store = await createDatastore(
        ctx.installation,
        name,
        path,
        opts.comment === undefined ? {} : { comment: opts.comment },
      )
      emit(
        sink,
        ctx.format,
        { store: store.name, path: store.base },
        () => `created datastore '${store.name}' at ${store.base}\n`,
      )
    })

  ds.command('list')
    .description('list configured datastores')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      const rows = [...cfg.datastores.values()].map((e) => ({
        store: e.name,
        path: e.path,
        comment: e.comment ?? null,
        'backend-type': e.backend.type,
      }))
      emit(sink, ctx.format, rows, () =>
        formatTable(
          rows,
          [
            { header: 'store', value: (r) => r.store },
            { header: 'path', value: (r) => r.path },
            { header: 'backend', value: (r) => r['backend-type'] },
            { header: 'comment', value: (r) => r.comment },
          ],
          'no datastores configured',
        ),
      )
    })
}
