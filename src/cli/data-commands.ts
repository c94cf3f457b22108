/**
 * `pbs-store backup`, `restore` and `verify`: the data path on a local datastore.
 * Results go to stdout (text or JSON); progress and problems go to stderr.
 */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'

import type { Command } from 'commander'

import {
  BackupNamespace,
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
  type BackupType,
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
import { integerArg, parseWhole, restoreArchiveArg, restoreTargetArg } from './cli-args.js'
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

/**
 * Parses `ARCHIVE:PATH` (archive names have no ':', so the first one splits); errors name the
 * `archive` argument and quote the whole spec.
 */
function parseArchiveSpec(spec: string): BackupArchive {
  const at = spec.indexOf(':')
  if (at <= 0 || at === spec.length - 1 || spec.includes('\u0000')) {
    throw new ValidationError(
      'archive',
      spec,
      "must have the form ARCHIVE:PATH, e.g. 'drive-scsi0.img:/dev/vg/disk' ('-' as PATH reads stdin)",
    )
  }
  const name = spec.slice(0, at)
  const kind = parseWhole('archive', spec, (input) =>
    archiveType(normalizeArchiveName(name, `${input} name`)),
  )
  if (kind === 'didx') {
    throw new ValidationError(
      'archive',
      spec,
      'directory archives (.pxar, .mpxar, .ppxar, .pcat1) are not supported by this command yet - use .img for files and devices',
    )
  }
  return { name, source: spec.slice(at + 1) }
}

/** A commander parser for the variadic `<archives...>`: each spec checked, collected in order. */
function archiveSpecs(spec: string, previous: BackupArchive[] | undefined): BackupArchive[] {
  return [...(previous ?? []), parseArchiveSpec(spec)]
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
      archiveSpecs,
    )
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)', (v: string) => nsFrom(v))
    .requiredOption('--backup-type <type>', 'vm, ct or host', (v: string) =>
      parseBackupType(v, '--backup-type'),
    )
    .requiredOption('--backup-id <id>', 'backup id, e.g. 100', (v: string) => parseBackupId(v, '--backup-id'))
    .option('--backup-time <time>', 'snapshot time: epoch seconds or RFC3339 (default: now)', (v: string) =>
      parseBackupTimeArg(v, '--backup-time'),
    )
    .option(
      '--owner <authid>',
      'auth id the backup runs as (owner of a new group)',
      (v: string) => (parseAuthid(v, '--owner'), v),
      LOCAL_AUTHID,
    )
    .option('--keyfile <file>', 'encrypt with this key (raw 32 bytes or a PBS key file without password)')
    .option(
      '--workers <n>',
      'hashing/compression threads, 0 to 64 (default: automatic, 0 = main thread)',
      integerArg('--workers', 0, 64),
    )
    .action(
      async (
        archives: BackupArchive[],
        opts: {
          store: string
          ns?: BackupNamespace
          backupType: BackupType
          backupId: string
          backupTime?: number
          owner: string
          keyfile?: string
          workers?: number
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const ns = opts.ns ?? BackupNamespace.ROOT
        const { backupType: type, backupId: id, backupTime: time, workers } = opts
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

function registerRestore(program: Command, sink: OutputSink): void {
  program
    .command('restore')
    .description("restore an archive of a snapshot to a file (which must not exist) or to stdout ('-')")
    .argument('<snapshot>', 'TYPE/ID/TIME, e.g. vm/100/2026-04-16T17:18:23Z', (v: string) =>
      parseSnapshotPath(v, 'snapshot'),
    )
    .argument(
      '<archive>',
      "archive name, e.g. drive-scsi0.img or qemu-server.conf ('index.json' prints the manifest)",
      restoreArchiveArg(),
    )
    .argument('<target>', "target file, or '-' for stdout", restoreTargetArg())
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--keyfile <file>', 'key for encrypted archives')
    .action(
      async (
        dir: BackupDirRef,
        archive: string,
        target: string,
        opts: { store: string; ns?: string; keyfile?: string },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
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

/** The verify `[target]`: a group `TYPE/ID` or a snapshot `TYPE/ID/TIME`, errors quoting it whole. */
function verifyTarget(spec: string): { group?: BackupGroupRef; snapshot?: BackupDirRef } {
  return parseWhole('target', spec, (input) =>
    spec.split('/').length === 3
      ? { snapshot: parseSnapshotPath(spec, input) }
      : { group: parseGroupPath(spec, input) },
  )
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
      verifyTarget,
    )
    .requiredOption('--store <store>', 'datastore name')
    .option('--ns <ns>', 'namespace (default: root)')
    .option('--max-depth <n>', 'namespace levels below --ns to include (default: all)', (v: string) =>
      parseMaxDepth(v, '--max-depth'),
    )
    .option('--ignore-verified', 'skip snapshots that were verified before (see --outdated-after)')
    .option(
      '--outdated-after <days>',
      'with --ignore-verified: re-verify when the last verification is older than this',
      integerArg('--outdated-after', 0),
    )
    .option('--verbose', 'print the verify log (one line per snapshot and file)')
    .action(
      async (
        target: { group?: BackupGroupRef; snapshot?: BackupDirRef } | undefined,
        opts: {
          store: string
          ns?: string
          maxDepth?: number
          ignoreVerified?: boolean
          outdatedAfter?: number
          verbose?: boolean
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const ns = nsFrom(opts.ns)
        const { group, snapshot } = target ?? {}
        const { maxDepth, outdatedAfter } = opts
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
