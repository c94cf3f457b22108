import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Command } from 'commander'

import { BackupNamespace } from '../api-types/index.js'
import { AccessConfig } from '../config/access-config.js'
import { loadDatastoreConfig } from '../config/datastore-config.js'
import type { Installation } from '../config/installation.js'
import { createDatastore, listGroups, listNamespaces, openDatastore } from '../datastore/index.js'
import { cliContext } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** Name of the datastore `init` creates on a fresh home. */
export const DEFAULT_STORE = 'store1'

/** The admin user created on first start. */
export const DEFAULT_ADMIN = 'admin@pbs'

/**
 * First-start setup, idempotent: creates the default datastore when none is configured, and the
 * user `admin@pbs` with the Admin role on `/` when no `pbs`-realm user exists yet. The password
 * comes from `PBS_STORE_ADMIN_PASSWORD`, otherwise it is generated and passed to `print` once
 * (it is never stored in clear).
 */
export async function ensureFirstStart(
  installation: Installation,
  print: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const cfg = await loadDatastoreConfig(installation.etcDir)
  if (cfg.datastores.size === 0) {
    const path = join(installation.home, 'datastore', DEFAULT_STORE)
    await createDatastore(installation, DEFAULT_STORE, path, { comment: 'default datastore' })
    print(`created default datastore '${DEFAULT_STORE}' at ${path}`)
  }
  const access = new AccessConfig(installation.etcDir)
  const { config } = await access.users()
  if (![...config.users.keys()].some((u) => u.endsWith('@pbs'))) {
    const given = env.PBS_STORE_ADMIN_PASSWORD
    const password = given && given !== '' ? given : randomBytes(12).toString('base64url')
    await access.createUser(DEFAULT_ADMIN, { comment: 'pbs-store administrator' }, password)
    await access.modifyAcl({ path: '/', role: 'Admin', authid: DEFAULT_ADMIN })
    print(
      given
        ? `created user '${DEFAULT_ADMIN}' (password from PBS_STORE_ADMIN_PASSWORD)`
        : `created user '${DEFAULT_ADMIN}' with password: ${password}  (shown only once)`,
    )
  }
}

/** `pbs-store init`: first-start setup (default datastore) and a status overview. */
export function registerInitCommand(program: Command, sink: OutputSink): void {
  program
    .command('init')
    .description(
      `create the default datastore '${DEFAULT_STORE}' under <home>/datastore and the user '${DEFAULT_ADMIN}' on first use, then show the status of every datastore`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      await ensureFirstStart(ctx.installation, (line) =>
        ctx.format === 'text' ? sink.out(`${line}\n`) : sink.err(`${line}\n`),
      )
      const cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      const rows: { store: string; path: string; namespaces: number; groups: number; snapshots: number }[] =
        []
      for (const entry of cfg.datastores.values()) {
        const store = await openDatastore(ctx.installation, entry.name, { operation: 'lookup' })
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
