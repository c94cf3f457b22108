/**
 * Remote mode of `snapshot list|forget|protected|files`: the same arguments and output as local
 * mode (src/cli/views.ts), the work done by the server.
 */
import type { BackupDirRef, BackupGroupRef, BackupNamespace } from '../api-types/index.js'
import type { PbsClient } from '../client/index.js'
import type { CliContext } from './context.js'
import { emit } from './output.js'
import { printProtected, printSnapshotFiles, printSnapshotForgotten, snapshotTable } from './views.js'

/** `snapshot list` through the server (the API's SnapshotListItem rows). */
export async function remoteSnapshotList(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef | undefined,
): Promise<void> {
  const rows = await client.listSnapshots(store, ns.toString(), group)
  emit(ctx.sink, ctx.format, rows, () => snapshotTable(rows))
}

/** `snapshot forget` through the server. */
export async function remoteSnapshotForget(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<void> {
  await client.forgetSnapshot(store, ns.toString(), dir)
  printSnapshotForgotten(ctx, ns, dir)
}

/** `snapshot protected [--set BOOL]` through the server (prints the flag read back, as locally). */
export async function remoteSnapshotProtected(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  dir: BackupDirRef,
  value: boolean | undefined,
): Promise<void> {
  if (value !== undefined) await client.setProtected(store, ns.toString(), dir, value)
  printProtected(ctx, ns, dir, await client.isProtected(store, ns.toString(), dir))
}

/** `snapshot files` through the server. */
export async function remoteSnapshotFiles(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<void> {
  const files = await client.snapshotFiles(store, ns.toString(), dir)
  printSnapshotFiles(
    ctx,
    files.map((f) => ({
      filename: f.filename,
      ...(f['crypt-mode'] === undefined ? {} : { 'crypt-mode': f['crypt-mode'] }),
      ...(f.size === undefined ? {} : { size: f.size }),
    })),
  )
}
