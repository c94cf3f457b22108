/**
 * Remote mode of `datastore list`: the datastores the caller can see on the server, in the rows
 * and table of local mode (without `path`, which the API does not tell).
 */
import type { PbsClient } from '../client/index.js'
import type { CliContext } from './context.js'
import { emit } from './output.js'
import { datastoreTable, type DatastoreRow } from './views.js'

/** `datastore list` through the server. */
export async function remoteDatastoreList(ctx: CliContext, client: PbsClient): Promise<void> {
  const rows: DatastoreRow[] = (await client.listDatastores()).map((d) => ({
    store: d.store,
    comment: d.comment ?? null,
    'backend-type': d['backend-type'] ?? 'filesystem',
    ...(d.maintenance === undefined ? {} : { maintenance: d.maintenance }),
  }))
  emit(ctx.sink, ctx.format, rows, () => datastoreTable(rows))
}
