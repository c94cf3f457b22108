import type { Command } from 'commander'

import {
  formatMaintenanceMode,
  loadDatastoreConfig,
  type MaintenanceMode,
} from '../config/datastore-config.js'
import { createDatastore, setMaintenanceMode } from '../datastore/index.js'
import { ValidationError } from '../errors.js'
import { commentArg, maintenanceModeArg, storeArg } from './cli-args.js'
import { cliContext } from './context.js'
import { emit, type OutputSink } from './output.js'
import { isRemote, remoteClient } from './remote-context.js'
import { remoteDatastoreList } from './remote-datastore-commands.js'
import { datastoreTable, type DatastoreRow } from './views.js'

/** `pbs-store datastore …` */
export function registerDatastoreCommands(program: Command, sink: OutputSink): void {
  const ds = program.command('datastore').description('create, update and list datastores')

  ds.command('create')
    .description('create a datastore in an empty (or new) directory (with --backend s3: its local cache)')
    .argument('<name>', 'datastore name (3-32 characters: letters, digits, ".", "_", "-")')
    .argument('<path>', 'directory for the datastore; created if missing, must be empty otherwise')
    .option('--comment <text>', 'one-line comment (at most 128 characters)', commentArg())
    .option('--backend <type>', "'filesystem' (default) or 's3'", 'filesystem')
    .option('--s3-endpoint <id>', 'S3 endpoint id (s3.cfg), with --backend s3')
    .option('--bucket <bucket>', 'bucket, with --backend s3')
    .option('--max-cache-size <size>', "local chunk cache bound, e.g. '32GiB' (default unbounded)")
    .option('--overwrite-in-use', "take over a bucket whose '<store>/.in-use' names another host")
    .action(
      async (
        name: string,
        path: string,
        opts: {
          comment?: string
          backend: string
          s3Endpoint?: string
          bucket?: string
          maxCacheSize?: string
          overwriteInUse?: boolean
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        if (opts.backend !== 'filesystem' && opts.backend !== 's3')
          throw new ValidationError('--backend', opts.backend, "must be 'filesystem' or 's3'")
        const s3 = opts.backend === 's3'
        if (s3 && opts.s3Endpoint === undefined)
          throw new ValidationError('--s3-endpoint', undefined, 'is required with --backend s3')
        if (s3 && opts.bucket === undefined)
          throw new ValidationError('--bucket', undefined, 'is required with --backend s3')
        if (!s3 && (opts.s3Endpoint ?? opts.bucket ?? opts.maxCacheSize) !== undefined)
          throw new ValidationError(
            '--backend',
            opts.backend,
            'must be s3 for --s3-endpoint, --bucket, --max-cache-size',
          )
        const store = await createDatastore(ctx.installation, name, path, {
          ...(opts.comment === undefined ? {} : { comment: opts.comment }),
          ...(s3
            ? {
                s3: {
                  client: opts.s3Endpoint!,
                  bucket: opts.bucket!,
                  overwriteInUse: opts.overwriteInUse === true,
                  ...(opts.maxCacheSize === undefined ? {} : { maxCacheSize: opts.maxCacheSize }),
                },
              }
            : {}),
        })
        store.close()
        emit(sink, ctx.format, { store: store.name, path: store.base, backend: store.backend.type }, () =>
          s3
            ? `created S3 datastore '${store.name}' in bucket '${opts.bucket}' (cache at ${store.base})\n`
            : `created datastore '${store.name}' at ${store.base}\n`,
        )
      },
    )

  ds.command('update')
    .description(
      "change a datastore's settings; a maintenance mode refuses operations at lookup " +
        '(read-only: writes; offline: reads and writes) - running operations go on',
    )
    .argument('<name>', 'datastore name', storeArg('name'))
    .option(
      '--maintenance-mode <mode>',
      "'read-only' or 'offline', optionally with a message: 'type=read-only,message=disk%20swap' (percent-encoded)",
      maintenanceModeArg(),
    )
    .option('--delete <property>', "remove a setting: 'maintenance-mode'")
    .action(
      async (name: string, opts: { maintenanceMode?: MaintenanceMode; delete?: string }, cmd: Command) => {
        const ctx = cliContext(cmd, sink)
        if (opts.delete !== undefined && opts.delete !== 'maintenance-mode')
          throw new ValidationError('--delete', opts.delete, "must be 'maintenance-mode'")
        const mode = opts.maintenanceMode
        if ((opts.delete === undefined) === (mode === undefined))
          throw new ValidationError(
            '--maintenance-mode',
            mode === undefined ? undefined : formatMaintenanceMode(mode),
            "is required (or '--delete maintenance-mode')",
          )
        await setMaintenanceMode(ctx.installation, name, mode)
        const text = mode === undefined ? undefined : formatMaintenanceMode(mode)
        emit(sink, ctx.format, { store: name, maintenance: text ?? null }, () =>
          text === undefined
            ? `datastore '${name}': maintenance mode cleared\n`
            : `datastore '${name}': maintenance mode ${text}\n`,
        )
      },
    )

  ds.command('list')
    .description('list configured datastores')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      if (isRemote(cmd)) return remoteDatastoreList(ctx, await remoteClient(cmd))
      const cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      const rows: DatastoreRow[] = [...cfg.datastores.values()].map((e) => ({
        store: e.name,
        path: e.path,
        comment: e.comment ?? null,
        'backend-type': e.backend.type,
        ...(e.maintenanceMode === undefined ? {} : { maintenance: formatMaintenanceMode(e.maintenanceMode) }),
      }))
      emit(sink, ctx.format, rows, () => datastoreTable(rows))
    })
}
