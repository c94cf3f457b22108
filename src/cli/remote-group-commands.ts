/**
 * Remote mode of `group list|notes|change-owner|forget`: the same arguments and output as local
 * mode (src/cli/views.ts), the work done by the server.
 */
import type { BackupGroupRef, BackupNamespace } from '../api-types/index.js'
import type { PbsClient } from '../client/index.js'
import { NotFoundError } from '../errors.js'
import type { CliContext } from './context.js'
import { emit } from './output.js'
import { reportTask } from './remote-commands.js'
import {
  describeGroup,
  groupTable,
  printGroupForget,
  printNotes,
  printNotesUpdated,
  printOwnerChanged,
  type GroupRow,
} from './views.js'

/** `group list` through the server (same rows as local mode). */
export async function remoteGroupList(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
): Promise<void> {
  const rows: GroupRow[] = (await client.listGroups(store, ns.toString())).map((g) => ({
    'backup-type': g['backup-type'],
    'backup-id': g['backup-id'],
    'last-backup': g['last-backup'],
    'backup-count': g['backup-count'],
    owner: g.owner,
    ...(g.comment === undefined ? {} : { comment: g.comment }),
  }))
  emit(ctx.sink, ctx.format, rows, () => groupTable(rows))
}

/** `group notes [--set TEXT]` through the server. */
export async function remoteGroupNotes(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef,
  set: string | undefined,
): Promise<void> {
  if (set !== undefined) {
    await client.setGroupNotes(store, ns.toString(), group, set)
    printNotesUpdated(ctx, ns, group)
    return
  }
  const notes = await client.getGroupNotes(store, ns.toString(), group)
  // The API answers '' for a group that does not exist (as PBS does); locally that is an error.
  if (notes === '' && (await ownerOf(client, store, ns, group)) === undefined)
    throw new NotFoundError(`group ${describeGroup(ns, group)} does not exist on store '${store}'`, {
      store,
      ns: ns.toString(),
      group: `${group.type}/${group.id}`,
    })
  printNotes(ctx, notes)
}

/** `group change-owner` through the server. */
export async function remoteChangeOwner(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef,
  newOwner: string,
): Promise<void> {
  // Only for the message: the API does not answer with the previous owner.
  const old = await ownerOf(client, store, ns, group).catch(() => undefined)
  await client.changeOwner(store, ns.toString(), group, newOwner)
  printOwnerChanged(ctx, ns, group, old, newOwner)
}

/** `group forget` through the server (a group keeping protected snapshots is a result, as locally). */
export async function remoteGroupForget(
  ctx: CliContext,
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<void> {
  const r = await client.forgetGroup(store, ns.toString(), group, { errorOnProtected: false })
  if (typeof r === 'string') {
    await reportTask(
      ctx,
      client,
      r,
      (status) => `removed group ${describeGroup(ns, group)} (task ${status})\n`,
    )
    return
  }
  printGroupForget(ctx, ns, group, {
    'removed-groups': r?.['removed-groups'] ?? 0,
    'removed-snapshots': r?.['removed-snapshots'] ?? 0,
    'protected-snapshots': r?.['protected-snapshots'] ?? 0,
  })
}

/**
 * The owner of a group as the group list shows it; undefined when the group is not listed.
 * @throws ApiError
 */
async function ownerOf(
  client: PbsClient,
  store: string,
  ns: BackupNamespace,
  group: BackupGroupRef,
): Promise<string | undefined> {
  const groups = await client.listGroups(store, ns.toString())
  const g = groups.find((x) => x['backup-type'] === group.type && x['backup-id'] === group.id)
  return g === undefined ? undefined : (g.owner ?? '')
}
