import { join } from 'node:path'
import type { Command } from 'commander'

import { BackupNamespace } from '../api-types/index.js'
import { loadDatastoreConfig } from '../config/datastore-config.js'
import { createDatastore, listGroups, listNamespaces, openDatastore } from '../datastore/index.js'
import { cliContext } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** Name of the datastore `init` creates on a fresh home. */
export const DEFAULT_STORE = 'store1'

/** `pbs-store init`: first-start setup (default datastore) and a status overview. */
export function registerInitCommand(program: Command, sink: OutputSink): void {
  program
    .command('init')
    .description(
      `create the default datastore '${DEFAULT_STORE}' under <home>/datastore on first use, then show the status of every datastore`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      let cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      if (cfg.datastores.size === 0) {
        const path = join(ctx.installation.home, 'datastore', DEFAULT_STORE)
        await createDatastore(ctx.installation, DEFAULT_STORE, path, { comment: 'default datastore' })
        if (ctx.format === 'text') sink.out(`created default datastore '${DEFAULT_STORE}' at ${path}\n`)
        cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      }
      const rows: { store: string; path: string; namespaces: number; groups: number; snapshots: number }[] =
        []
      for (const entry of cfg.datastores.values()) {
        const store = await openDatastore(ctx.installation, entry.name)
        const namespaces = await listNamespaces(store, BackupNamespace.ROOT)
        let groups = 0
        let snapshots = 0
        for (const ns of namespaces) {
          for (const g of await listGroups(store, ns)) {
            groups++
            snapshots += g.snapshotCount
          }
        }
        rows.push({
          store: entry.name,
          path: entry.path,
          namespaces: namespaces.length - 1,
          groups,
          snapshots,
        })
      }
      emit(
        sink,
        ctx.format,
        rows,
        () =>
          `home: ${ctx.installation.home}\n` +
          formatTable(rows, [
            { header: 'store', value: (r) => r.store },
            { header: 'path', value: (r) => r.path },
            { header: 'namespaces', value: (r) => r.namespaces },
            { header: 'groups', value: (r) => r.groups },
            { header: 'snapshots', value: (r) => r.snapshots },
          ]),
      )
    })
}
