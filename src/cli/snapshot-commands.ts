import type { Command } from 'commander'

import { parseGroupPath, parseSnapshotPath, type BackupGroupRef } from '../api-types/index.js'
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
  snapshotFiles,
} from '../datastore/index.js'
import { cliContext, nsFrom, parseBool, storeFrom } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'
import { remoteSnapshotList } from './remote-commands.js'
import { isRemote, remoteClient } from './remote-context.js'
import { snapshotTable } from './views.js'

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
      const store = await storeFrom(ctx, opts.store)
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
      const store = await storeFrom(ctx, opts.store)
      await forgetSnapshot(store, ns, dir)
      emit(sink, ctx.format, null, () => `removed snapshot ${store.describeSnapshot(ns, dir)}\n`)
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
      const store = await storeFrom(ctx, opts.store)
      if (value !== undefined) await setProtected(store, ns, dir, value)
      else await assertSnapshotExists(store, ns, dir)
      const now = await isProtected(store, ns, dir)
      emit(
        sink,
        ctx.format,
        now,
        () => `${store.describeSnapshot(ns, dir)} is ${now ? '' : 'not '}protected\n`,
      )
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
      const store = await storeFrom(ctx, opts.store)
      const files = await snapshotFiles(store, ns, dir)
      emit(sink, ctx.format, files, () =>
        formatTable(files, [
          { header: 'file', value: (f) => f.filename },
          { header: 'size', value: (f) => f.size },
        ]),
      )
    })
}
