import type { Command } from 'commander'

import { loadDatastoreConfig } from '../config/datastore-config.js'
import { createDatastore } from '../datastore/index.js'
import { ValidationError } from '../errors.js'
import { cliContext } from './context.js'
import { emit, type OutputSink } from './output.js'
import { isRemote, remoteClient } from './remote-context.js'
import { remoteDatastoreList } from './remote-datastore-commands.js'
import { datastoreTable, type DatastoreRow } from './views.js'

/** `pbs-store datastore …` */
export function registerDatastoreCommands(program: Command, sink: OutputSink): void {
  const ds = program.command('datastore').description('create and list datastores')

  ds.command('create')
    .description('create a datastore in an empty (or new) directory (with --backend s3: its local cache)')
    .argument('<name>', 'datastore name (3-32 characters: letters, digits, ".", "_", "-")')
    .argument('<path>', 'directory for the datastore; created if missing, must be empty otherwise')
    .option('--comment <text>', 'one-line comment')
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
      }))
      emit(sink, ctx.format, rows, () => datastoreTable(rows))
    })
}
