/**
 * `pbs-store backup`, `restore` and `verify`: the data path on a local datastore.
 * Results go to stdout (text or JSON); progress and problems go to stderr.
 */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'

import type { Command } from 'commander'

import {
  archiveType,
  formatSnapshotPath,
  normalizeArchiveName,
  parseAuthid,
  parseBackupId,
  parseBackupTimeArg,
  parseBackupType,
  parseGroupPath,
  parseMaxDepth,
  parseSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
} from '../api-types/index.js'
import { formatUpid } from '../api-types/upid.js'
import {
  backupSnapshot,
  loadKeyFile,
  restoreArchive,
  verifyDatastore,
  type BackupArchive,
  type EncryptionKey,
  type SnapshotVerifyResult,
} from '../datastore/index.js'
import { CorruptionError, ValidationError } from '../errors.js'
import { cliContext, nsFrom, storeFrom } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'
import { remoteJob, verifyTargetParams } from './remote-commands.js'
import { isRemote, remoteClient } from './remote-context.js'
import { createProgress, formatBytes, formatRate } from './transfer-progress.js'

/** Auth id of local CLI runs (the CLI acts as the superuser, like proxmox-backup-manager). */
const LOCAL_AUTHID = 'root@pam'

/** `pbs-store backup|restore|verify` */
export function registerDataCommands(program: Command, sink: OutputSink): void {
  registerBackup(program, sink)
  registerRestore(program, sink)
  registerVerify(program, sink)
}

/** Parses `ARCHIVE:PATH` (archive names have no ':', so the first one splits). */
function parseArchiveSpec(spec: string): BackupArchive {
  const at = spec.indexOf(':')
  if (at <= 0 || at === spec.length - 1) {
    throw new ValidationError(
      'archive',
      spec,
      "must have the form ARCHIVE:PATH, e.g. 'drive-scsi0.img:/dev/vg/disk' ('-' as PATH reads stdin)",
    )
  }
  const name = spec.slice(0, at)
  const kind = archiveType(normalizeArchiveName(name, 'archive name'))
  if (kind === 'didx') {
    throw new ValidationError(
      'archive name',
      name,
      'directory archives (.pxar, .mpxar, .ppxar, .pcat1) are not supported by this command yet - use .img for files and devices',
    )
  }
  return { name, source: spec.slice(at + 1) }
}

async function keyFrom(path: string | undefined): Promise<EncryptionKey | undefined> {
  return path === undefined ? undefined : loadKeyFile(path)
}

function registerBackup(program: Command, sink: OutputSink): void {
  program
    .command('backup')
    .description(
      'back up files or devices into a new snapshot (.img: fixed 4 MiB chunks; .conf/.json/.log/.key: blobs)',
    )
    .argument(
      '<archives...>',
      "ARCHIVE:PATH, e.g. 'drive-scsi0.img:/dev/vg/vm-100-disk-0' or 'qemu-server.conf:/etc/pve/qemu-server/100.conf'; PATH '-' reads stdin",
    )
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .requiredOption('--backup-type <type>', 'vm, ct or host')
    .requiredOption('--backup-id <id>', 'backup id, e.g. 100')
    .option('--backup-time <time>', 'snapshot time: epoch seconds or RFC3339 (default: now)')
    .option('--owner <authid>', 'auth id the backup runs as (owner of a new group)', LOCAL_AUTHID)
    .option('--keyfile <file>', 'encrypt with this key (raw 32 bytes or a PBS key file without password)')
    .option('--workers <n>', 'hashing/compression threads (default: automatic, 0 = main thread)')
    .action(
      async (
        specs: string[],
        opts: {
          store: string
          ns?: string
          backupType: string
          backupId: string
          backupTime?: string
          owner: string
          keyfile?: string
          workers?: string
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const ns = nsFrom(opts.ns)
        const type = parseBackupType(opts.backupType, '--backup-type')
        const id = parseBackupId(opts.backupId, '--backup-id')
        const time =
          opts.backupTime === undefined ? undefined : parseBackupTimeArg(opts.backupTime, '--backup-time')
        parseAuthid(opts.owner, '--owner')
        const workers = opts.workers === undefined ? undefined : parseWorkers(opts.workers)
        const archives = specs.map(parseArchiveSpec)
        const key = await keyFrom(opts.keyfile)
        const store = await storeFrom(ctx, opts.store, 'write')
        const progress = createProgress(process.stderr, 'bytes', ctx.format === 'text')
        let r
        try {
          r = await backupSnapshot(store, {
            ns,
            type,
            id,
            ...(time === undefined ? {} : { time }),
            owner: opts.owner,
            archives,
            ...(key ? { crypt: key.key } : {}),
            ...(workers === undefined ? {} : { workers }),
            onProgress: (p) => progress.update(p.allBytes, p.allTotal, p.archive),
          })
        } finally {
          progress.stop()
        }
        const data = {
          store: store.name,
          ns: ns.toString(),
          'backup-type': r.snapshot.type,
          'backup-id': r.snapshot.id,
          'backup-time': r.snapshot.time,
          snapshot: formatSnapshotPath(r.snapshot),
          files: r.manifest.files,
          'chunk-upload-stats': r.manifest.unprotected.chunk_upload_stats,
          stats: r.stats,
          'duration-ms': r.durationMs,
        }
        emit(sink, ctx.format, data, () => {
          const s = r.stats
          return (
            `created snapshot ${store.describeSnapshot(ns, r.snapshot)} on store '${store.name}'\n` +
            formatTable(r.manifest.files, [
              { header: 'file', value: (f) => f.filename },
              { header: 'size', value: (f) => formatBytes(f.size) },
              { header: 'crypt-mode', value: (f) => f['crypt-mode'] },
            ]) +
            `chunks: ${s.count} uploaded (${s.duplicates} already in the store), ${s.reused} repeated, ${s.zeroChunks} zero; ` +
            `${formatBytes(s.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s (${formatRate(s.bytes, r.durationMs)})\n`
          )
        })
      },
    )
}

function parseWorkers(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 64)
    throw new ValidationError('--workers', value, 'must be an integer from 0 to 64')
  return Number(value)
}

function registerRestore(program: Command, sink: OutputSink): void {
  program
    .command('restore')
    .description("restore an archive of a snapshot to a file (which must not exist) or to stdout ('-')")
    .argument('<snapshot>', 'TYPE/ID/TIME, e.g. vm/100/2026-04-16T17:18:23Z')
    .argument(
      '<archive>',
      "archive name, e.g. drive-scsi0.img or qemu-server.conf ('index.json' prints the manifest)",
    )
    .argument('<target>', "target file, or '-' for stdout")
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--keyfile <file>', 'key for encrypted archives')
    .action(
      async (
        snapshot: string,
        archive: string,
        target: string,
        opts: { store: string; ns?: string; keyfile?: string },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const dir = parseSnapshotPath(snapshot, 'snapshot')
        const ns = nsFrom(opts.ns)
        const key = await keyFrom(opts.keyfile)
        const store = await storeFrom(ctx, opts.store, 'read')
        const toStdout = target === '-'
        const progress = createProgress(process.stderr, 'bytes', ctx.format === 'text' && !toStdout)
        const started = Date.now()
        let r
        try {
          r = await restoreArchive(store, dir, archive, toStdout ? process.stdout : target, {
            ns,
            crypt: key?.crypt,
            onProgress: (p) => progress.update(p.bytes, p.total, p.archive),
          })
        } finally {
          progress.stop()
        }
        if (toStdout) return // stdout carries the data
        const ms = Date.now() - started
        const data = {
          archive: r.archive,
          target,
          size: r.size,
          'chunks-read': r.chunksRead,
          'sparse-bytes': r.sparseBytes,
          'duration-ms': ms,
        }
        emit(
          sink,
          ctx.format,
          data,
          () =>
            `restored ${r.archive} to '${target}': ${formatBytes(r.size)} (${formatBytes(r.sparseBytes)} sparse) in ${(ms / 1000).toFixed(1)} s (${formatRate(r.size, ms)})\n`,
        )
      },
    )
}

/** PBS verify worker id: `store[:ns][:type/id[/HEXTIME]]`. */
function verifyWorkerId(store: string, ns: string, group?: BackupGroupRef, snapshot?: BackupDirRef): string {
  let id = ns === '' ? store : `${store}:${ns}`
  if (snapshot)
    id += `:${snapshot.type}/${snapshot.id}/${snapshot.time.toString(16).toUpperCase().padStart(8, '0')}`
  else if (group) id += `:${group.type}/${group.id}`
  return id
}

/** Start time of this process in clock ticks since boot (/proc/self/stat field 22), 0 if unknown. */
function processStartTicks(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const v = Number(fields[19])
    return Number.isSafeInteger(v) ? v : 0
  } catch {
    return 0
  }
}

/** The node name as PBS uses it: the first label of the host name. */
function nodeName(): string {
  const name = (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '')
  return name === '' ? 'localhost' : name
}

function registerVerify(program: Command, sink: OutputSink): void {
  program
    .command('verify')
    .description(
      'verify snapshots: index checksums, every chunk (CRC, digest, size, crypt mode); corrupt chunks are renamed .N.bad',
    )
    .argument(
      '[target]',
      'TYPE/ID (one group) or TYPE/ID/TIME (one snapshot); default: every group of the namespace and below',
    )
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--max-depth <n>', 'namespace levels below --ns to include (default: all)')
    .option('--ignore-verified', 'skip snapshots that were verified before (see --outdated-after)')
    .option(
      '--outdated-after <days>',
      'with --ignore-verified: re-verify when the last verification is older than this',
    )
    .option('--verbose', 'print the verify log (one line per snapshot and file)')
    .action(
      async (
        spec: string | undefined,
        opts: {
          store: string
          ns?: string
          maxDepth?: string
          ignoreVerified?: boolean
          outdatedAfter?: string
          verbose?: boolean
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const ns = nsFrom(opts.ns)
        let group: BackupGroupRef | undefined
        let snapshot: BackupDirRef | undefined
        if (spec !== undefined) {
          if (spec.split('/').length === 3) snapshot = parseSnapshotPath(spec, 'snapshot')
          else group = parseGroupPath(spec, 'group')
        }
        const maxDepth = opts.maxDepth === undefined ? undefined : parseMaxDepth(opts.maxDepth, '--max-depth')
        let outdatedAfter: number | undefined
        if (opts.outdatedAfter !== undefined) {
          if (!/^[0-9]+$/.test(opts.outdatedAfter))
            throw new ValidationError('--outdated-after', opts.outdatedAfter, 'must be a number of days')
          outdatedAfter = Number(opts.outdatedAfter)
        }
        if (isRemote(cmd))
          return remoteJob(ctx, await remoteClient(cmd), opts.store, 'verify', {
            ns: ns.isRoot ? undefined : ns.toString(),
            ...verifyTargetParams(snapshot ?? group),
            'max-depth': maxDepth,
            'ignore-verified': opts.ignoreVerified === true,
            'outdated-after': outdatedAfter,
          })
        const store = await storeFrom(ctx, opts.store, 'read')
        const upid = formatUpid({
          node: nodeName(),
          pid: process.pid,
          pstart: processStartTicks(),
          taskId: 0,
          starttime: Math.floor(Date.now() / 1000),
          workerType: 'verify',
          workerId: verifyWorkerId(store.name, ns.toString(), group, snapshot),
          authid: LOCAL_AUTHID,
        })
        const progress = createProgress(process.stderr, 'items', ctx.format === 'text')
        let r
        try {
          r = await verifyDatastore(store, {
            ns,
            upid,
            ...(group ? { group } : {}),
            ...(snapshot ? { snapshot } : {}),
            ...(maxDepth === undefined ? {} : { maxDepth }),
            ignoreVerified: opts.ignoreVerified === true,
            outdatedAfter,
            log: {
              info: (m) => (opts.verbose ? sink.err(`${m}\n`) : undefined),
              warn: (m) => sink.err(`${m}\n`),
            },
            onProgress: (p) => progress.update(p.snapshotsDone, p.snapshotsTotal, p.current ?? 'snapshots'),
          })
        } finally {
          progress.stop()
        }
        const row = (s: SnapshotVerifyResult) => ({
          ns: s.ns.toString(),
          'backup-type': s.snapshot.type,
          'backup-id': s.snapshot.id,
          'backup-time': s.snapshot.time,
          snapshot: formatSnapshotPath(s.snapshot),
          outcome: s.outcome,
          ...(s.reason === undefined ? {} : { reason: s.reason }),
          errors: s.errors,
        })
        const data = {
          upid,
          ok: r.ok,
          failed: r.failed,
          skipped: r.skipped,
          'verified-chunks': r.verifiedChunks,
          'corrupt-chunks': r.corruptChunks,
          'renamed-chunks': r.renamedChunks,
          'read-bytes': r.readBytes,
          snapshots: r.snapshots.map(row),
        }
        emit(sink, ctx.format, data, () => {
          const table = formatTable(
            r.snapshots,
            [
              {
                header: 'snapshot',
                value: (s) => (s.ns.isRoot ? '' : `${s.ns.toString()}:`) + formatSnapshotPath(s.snapshot),
              },
              { header: 'result', value: (s) => s.outcome },
              {
                header: 'details',
                value: (s) => s.reason ?? (s.errors.length > 0 ? `${s.errors.length} problem(s)` : ''),
              },
            ],
            '(no snapshots)',
          )
          const corrupt =
            r.corruptChunks.length > 0 ? `, ${r.corruptChunks.length} corrupt chunk(s) renamed to .bad` : ''
          return `${table}${r.ok} ok, ${r.failed} failed, ${r.skipped} skipped; ${r.verifiedChunks} chunks verified${corrupt}\n`
        })
        if (r.failed > 0) {
          throw new CorruptionError(`verification failed - ${r.failed} snapshot(s) with errors`, {
            failed: r.failed,
            upid,
          })
        }
      },
    )
}
