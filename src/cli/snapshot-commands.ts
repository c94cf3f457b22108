import type { Command } from 'commander'

import {
  formatSnapshotPath,
  parseGroupPath,
  parseSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
  type BackupNamespace,
} from '../api-types/index.js'
import {
  assertNamespaceExists,
  assertSnapshotExists,
  forgetSnapshot,
  isProtected,
  listGroupRefs,
  listSnapshots,
  readManifestSummary,
  readOwner,
  setProtected,
  snapshotFileList,
  type Datastore,
} from '../datastore/index.js'
import { NotFoundError } from '../errors.js'
import { cliContext, nsFrom, parseBool, storeFrom } from './context.js'
import { emit, type OutputSink } from './output.js'
import { isRemote, remoteClient } from './remote-context.js'
import {
  remoteSnapshotFiles,
  remoteSnapshotForget,
  remoteSnapshotList,
  remoteSnapshotProtected,
} from './remote-snapshot-commands.js'
import {
  printProtected,
  printSnapshotFiles,
  printSnapshotForgotten,
  snapshotTable,
  type SnapshotFileRow,
} from './views.js'

/** One row of `snapshot list --output-format json` (the PBS SnapshotListItem shape). */
interface SnapshotRow {
  'backup-type': string
  'backup-id': string
  'backup-time': number
  files: { filename: string; size: number; 'crypt-mode'?: string }[]
  size: number
  owner: string | undefined
  protected: boolean
  finished: boolean
  /** From the manifest of finished snapshots: last verification, notes' first line, key. */
  verification?: { upid: string; state: string }
  comment?: string
  fingerprint?: string
}

/** `pbs-store snapshot …` */
export function registerSnapshotCommands(program: Command, sink: OutputSink): void {
  const snap = program.command('snapshot').description('list and manage snapshots')

  snap
    .command('list')
    .description('list snapshots of a namespace, or of one group')
    .argument('[group]', 'only this group (TYPE/ID)')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .action(async (spec: string | undefined, opts: { store: string; ns?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const only = spec === undefined ? undefined : parseGroupPath(spec, 'group')
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteSnapshotList(ctx, await remoteClient(cmd), opts.store, ns, only)
      const store = await storeFrom(ctx, opts.store, 'read')
      await assertNamespaceExists(store, ns)
      const groups: BackupGroupRef[] = only ? [only] : await listGroupRefs(store, ns)
      const rows: SnapshotRow[] = []
      for (const g of groups) {
        const owner = await readOwner(store, ns, g)
        for (const s of await listSnapshots(store, ns, g)) {
          const m = s.finished ? await readManifestSummary(store, ns, s.dir) : undefined
          rows.push({
            'backup-type': s.dir.type,
            'backup-id': s.dir.id,
            'backup-time': s.dir.time,
            files: s.files.map((f) => {
              const mode = m?.cryptModes.get(f.filename)
              return {
                filename: f.filename,
                size: f.size,
                ...(mode === undefined ? {} : { 'crypt-mode': mode }),
              }
            }),
            size: s.files.reduce((n, f) => n + f.size, 0),
            owner,
            protected: s.protected,
            finished: s.finished,
            ...(m?.verification ? { verification: m.verification } : {}),
            ...(m?.comment === undefined ? {} : { comment: m.comment }),
            ...(m?.fingerprint === undefined ? {} : { fingerprint: m.fingerprint }),
          })
        }
      }
      emit(sink, ctx.format, rows, () => snapshotTable(rows))
    })

  snap
    .command('forget')
    .description('delete one snapshot (refused when protected)')
    .argument('<snapshot>', 'TYPE/ID/TIME, e.g. vm/100/2026-04-16T17:18:23Z')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .action(async (spec: string, opts: { store: string; ns?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const dir = parseSnapshotPath(spec, 'snapshot')
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteSnapshotForget(ctx, await remoteClient(cmd), opts.store, ns, dir)
      const store = await storeFrom(ctx, opts.store, 'write')
      await forgetSnapshot(store, ns, dir)
      printSnapshotForgotten(ctx, ns, dir)
    })

  snap
    .command('protected')
    .description('show protection, or set it with --set true|false')
    .argument('<snapshot>', 'TYPE/ID/TIME')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--set <bool>', 'true to protect, false to unprotect')
    .action(async (spec: string, opts: { store: string; ns?: string; set?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const dir = parseSnapshotPath(spec, 'snapshot')
      const ns = nsFrom(opts.ns)
      const value = opts.set === undefined ? undefined : parseBool(opts.set, '--set')
      if (isRemote(cmd))
        return remoteSnapshotProtected(ctx, await remoteClient(cmd), opts.store, ns, dir, value)
      const store = await storeFrom(ctx, opts.store, value === undefined ? 'read' : 'write')
      if (value !== undefined) await setProtected(store, ns, dir, value)
      else await assertSnapshotExists(store, ns, dir)
      printProtected(ctx, ns, dir, await isProtected(store, ns, dir))
    })

  snap
    .command('files')
    .description('list the files of a snapshot')
    .argument('<snapshot>', 'TYPE/ID/TIME')
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .action(async (spec: string, opts: { store: string; ns?: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const dir = parseSnapshotPath(spec, 'snapshot')
      const ns = nsFrom(opts.ns)
      if (isRemote(cmd)) return remoteSnapshotFiles(ctx, await remoteClient(cmd), opts.store, ns, dir)
      const store = await storeFrom(ctx, opts.store, 'read')
      printSnapshotFiles(ctx, await fileList(store, ns, dir))
    })
}

/**
 * The files of a local snapshot in the shape of the API's `files` answer (so both modes print
 * the same): the manifest's files with crypt mode and size, the manifest itself, then any other
 * file of the directory. Like the API, a snapshot without a readable manifest is not found.
 * @throws NotFoundError
 */
async function fileList(
  store: Datastore,
  ns: BackupNamespace,
  dir: BackupDirRef,
): Promise<SnapshotFileRow[]> {
  const { files, manifest } = await snapshotFileList(store, ns, dir)
  if (manifest === undefined)
    throw new NotFoundError(`manifest not found for snapshot '${formatSnapshotPath(dir)}'`, {
      store: store.name,
      ns: ns.toString(),
      snapshot: formatSnapshotPath(dir),
    })
  return files
}
