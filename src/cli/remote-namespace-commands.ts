/**
 * Remote mode of `namespace list|create|delete` (moves: remote-commands.ts): the same arguments
 * and output as local mode, the work done by the server.
 */
import { BackupNamespace } from '../api-types/index.js'
import type { PbsClient } from '../client/index.js'
import type { CliContext } from './context.js'
import { emit, formatTable } from './output.js'
import { reportTask } from './remote-commands.js'

/** `namespace list` through the server. */
export async function remoteNamespaceList(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  parent: BackupNamespace,
  maxDepth: number | undefined,
): Promise<void> {
  const list = await client.listNamespaces(store, {
    parent: parent.toString(),
    ...(maxDepth === undefined ? {} : { maxDepth }),
  })
  const rows = list.map((n) => ({ ns: n.ns }))
  emit(ctx.sink, ctx.format, rows, () =>
    formatTable(rows, [{ header: 'namespace', value: (n) => BackupNamespace.parse(n.ns).display() }]),
  )
}

/** `namespace create` through the server. */
export async function remoteNamespaceCreate(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  target: BackupNamespace,
): Promise<void> {
  await client.createNamespace(store, target.name, target.parent()?.toString() ?? '')
  emit(ctx.sink, ctx.format, target.toString(), () => `created namespace '${target.toString()}'\n`)
}

/** `namespace delete` through the server (follows the task when the server starts one). */
export async function remoteNamespaceDelete(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  target: BackupNamespace,
  deleteGroups: boolean,
): Promise<void> {
  const r = await client.deleteNamespace(store, target.toString(), deleteGroups)
  if (typeof r === 'string') {
    await reportTask(
      ctx,
      client,
      r,
      (status) => `deleted namespace '${target.toString()}' (task ${status})\n`,
    )
    return
  }
  emit(ctx.sink, ctx.format, r, () => `deleted namespace '${target.toString()}'\n`)
}
