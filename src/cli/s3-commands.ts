import { mkdir } from 'node:fs/promises'

import type { Command } from 'commander'

import { formatCertFingerprint } from '../api-types/index.js'

import { S3ObjectStore, S3_PROVIDER_QUIRKS, type S3ProviderQuirk } from '../backend/s3/index.js'
import {
  createS3Endpoint,
  getS3Endpoint,
  loadS3Config,
  loadS3Secret,
  parseBucketName,
  removeS3Endpoint,
  s3ConfigLockPath,
  s3EndpointSummary,
  s3StoreOptions,
  type S3EndpointConfig,
} from '../config/index.js'
import type { ConfigLock } from '../config/config-file.js'
import type { Installation } from '../config/installation.js'
import { StorageError, ValidationError } from '../errors.js'
import { withLock } from '../lock/index.js'
import { refreshS3Cache } from '../datastore/s3-refresh.js'
import { cleanupS3 } from '../datastore/s3-cleanup.js'
import { providerQuirksArg, s3EndpointIdArg, s3RegionArg } from './cli-args.js'
import { cliContext, storeFrom } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'

/** PBS waits 10 s for config locks. */
const S3_CONFIG_LOCK_TIMEOUT_MS = 10_000

/** The exclusive lock on `<etc>/.s3.lck` serialising s3.cfg / s3.shadow updates. */
function s3ConfigLock(installation: Installation): ConfigLock {
  return async (fn) => {
    await mkdir(installation.etcDir, { recursive: true, mode: 0o750 })
    return withLock(
      s3ConfigLockPath(installation.etcDir),
      { mode: 'exclusive', timeoutMs: S3_CONFIG_LOCK_TIMEOUT_MS, what: 'S3 endpoint configuration' },
      fn,
    )
  }
}

/** `pbs-store s3 …` */
export function registerS3Commands(program: Command, sink: OutputSink): void {
  const s3 = program.command('s3').description('S3 endpoints and buckets')
  const endpoint = s3.command('endpoint').description('manage S3 endpoints (s3.cfg; secrets in s3.shadow)')

  endpoint
    .command('create')
    .description('add an S3 endpoint')
    .argument('<id>', 'endpoint id (3-32 characters: letters, digits, ".", "_", "-")', s3EndpointIdArg())
    .requiredOption('--endpoint <url>', "endpoint URL, may contain '{{bucket}}' and '{{region}}'")
    .requiredOption('--access-key <key>', 'access key id')
    .requiredOption('--secret-key <secret>', 'secret access key (stored in s3.shadow, mode 0600)')
    .option('--region <region>', 'region (default us-west-1)', s3RegionArg())
    .option('--path-style', 'path-style addressing (/<bucket>/<key>)')
    .option('--port <port>', 'port (overrides the URL)')
    // The program's global --fingerprint takes the value wherever it stands (read below).
    .option('--fingerprint <sha256>', 'certificate fingerprint (SHA-256) of a self-signed endpoint')
    .option(
      '--provider-quirks <quirks>',
      `comma-separated: ${S3_PROVIDER_QUIRKS.join(', ')}`,
      providerQuirksArg(),
    )
    .action(
      async (
        id: string,
        opts: {
          endpoint: string
          accessKey: string
          secretKey: string
          region?: string
          pathStyle?: boolean
          port?: string
          providerQuirks?: S3ProviderQuirk[]
        },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const entry: S3EndpointConfig = { id, endpoint: opts.endpoint, accessKey: opts.accessKey }
        if (opts.region !== undefined) entry.region = opts.region
        if (opts.pathStyle === true) entry.pathStyle = true
        if (opts.port !== undefined) {
          if (!/^\d+$/.test(opts.port))
            throw new ValidationError('--port', opts.port, 'must be an integer 1..65535')
          entry.port = Number(opts.port)
        }
        // checked (fingerprintArg) as 64 hex digits; s3.cfg keeps PBS's `xx:xx:…` form
        const fingerprint = cmd.optsWithGlobals<{ fingerprint?: string }>().fingerprint
        if (fingerprint !== undefined) entry.fingerprint = formatCertFingerprint(fingerprint)
        if (opts.providerQuirks !== undefined) entry.providerQuirks = opts.providerQuirks
        const etc = ctx.installation.etcDir
        await createS3Endpoint(etc, s3ConfigLock(ctx.installation), entry, opts.secretKey)
        emit(sink, ctx.format, s3EndpointSummary(entry), () => `created s3 endpoint '${id}'\n`)
      },
    )

  endpoint
    .command('list')
    .description('list S3 endpoints (secrets are never shown)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const cfg = await loadS3Config(ctx.installation.etcDir)
      const rows = [...cfg.endpoints.values()].map(s3EndpointSummary)
      emit(sink, ctx.format, rows, () =>
        formatTable(rows, [
          { header: 'id', value: (r) => String(r.id) },
          { header: 'endpoint', value: (r) => String(r.endpoint) },
          { header: 'region', value: (r) => String(r.region) },
          { header: 'access-key', value: (r) => String(r['access-key']) },
          { header: 'path-style', value: (r) => Boolean(r['path-style']) },
          {
            header: 'provider-quirks',
            value: (r) => (Array.isArray(r['provider-quirks']) ? r['provider-quirks'].join(',') : ''),
          },
        ]),
      )
    })

  endpoint
    .command('remove')
    .description('remove an S3 endpoint and its secret')
    .argument('<id>', 'endpoint id', s3EndpointIdArg())
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      await removeS3Endpoint(ctx.installation.etcDir, s3ConfigLock(ctx.installation), id)
      emit(sink, ctx.format, null, () => `removed s3 endpoint '${id}'\n`)
    })

  s3.command('refresh')
    .description(
      "rebuild an S3 datastore's local cache (.cnt mirror) from the bucket; chunks are fetched on demand",
    )
    .requiredOption('--store <store>', 'datastore')
    .action(async (opts: { store: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const store = await storeFrom(ctx, opts.store, 'lookup')
      try {
        const r = await refreshS3Cache(store)
        emit(
          sink,
          ctx.format,
          r,
          () =>
            `refreshed the cache of '${store.name}': ${r.downloaded} object(s), ${r.namespaces} namespace(s)\n`,
        )
      } finally {
        store.close()
      }
    })

  s3.command('cleanup')
    .description(
      'finish or roll back S3 moves left unfinished by a crash or a failed delete, then delete content objects without a cache counterpart (no orphans)',
    )
    .requiredOption('--store <store>', 'datastore')
    .action(async (opts: { store: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const store = await storeFrom(ctx, opts.store, 'write')
      try {
        const { recovery: r, sweep } = await cleanupS3(store)
        const warnings = [...r.warnings, ...(sweep?.warnings ?? [])]
        const skipped = sweep?.skipped ?? []
        const data = {
          intents: r.intents,
          'rolled-forward': r.rolledForward,
          'rolled-back': r.rolledBack,
          'deleted-objects': r.deletedObjects,
          'copied-objects': r.copiedObjects,
          busy: r.busy,
          'orphans-scanned': sweep?.scanned ?? 0,
          'orphans-deleted': sweep?.deleted.length ?? 0,
          'orphans-restored': sweep?.restored.length ?? 0,
          'orphans-skipped': skipped.map((s) => ({ key: s.key, reason: s.reason, message: s.message })),
          warnings,
        }
        emit(sink, ctx.format, data, () => {
          let out = `cleaned ${r.intents} unfinished move intent(s): ${r.rolledForward} snapshot move(s) completed, ${r.rolledBack} rolled back, ${r.deletedObjects} object(s) deleted, ${r.copiedObjects} copied\n`
          if (r.busy > 0) out += `${r.busy} intent(s) belong to a running move and were left alone\n`
          if (sweep !== undefined) {
            out += `swept ${sweep.scanned} content object(s): ${sweep.deleted.length} orphan(s) deleted, ${sweep.restored.length} restored to the cache, ${skipped.length} left for a later cleanup\n`
            for (const k of sweep.deleted) out += `deleted '${k}'\n`
            for (const k of sweep.restored) out += `restored '${k}'\n`
            for (const s of skipped) out += `skipped '${s.key}' (${s.reason}) - ${s.message}\n`
          }
          for (const w of warnings) out += `warning: ${w}\n`
          return out
        })
        // after the report: main() turns the error into exit code 1 (process.exitCode would be overwritten)
        if (warnings.length > 0)
          throw new StorageError(
            `s3 cleanup of store '${store.name}' left ${warnings.length} problem(s) - rerun it when they are fixed`,
            { store: store.name, warnings },
          )
      } finally {
        store.close()
      }
    })

  s3.command('check')
    .description('check that a bucket is reachable with an endpoint (HEAD bucket, list one page)')
    .argument('<id>', 'endpoint id', s3EndpointIdArg())
    .requiredOption('--bucket <bucket>', 'bucket name')
    .action(async (id: string, opts: { bucket: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const bucket = parseBucketName(opts.bucket, '--bucket')
      const etc = ctx.installation.etcDir
      const entry = getS3Endpoint(await loadS3Config(etc), id)
      const store = new S3ObjectStore({
        ...s3StoreOptions(entry, await loadS3Secret(etc, id), bucket),
        concurrency: 2,
        maxAttempts: 3,
      })
      try {
        await store.headBucket()
        let sample: string | undefined
        for await (const page of store.listObjectPages('')) {
          sample = page[0]?.key
          break
        }
        const data = {
          endpoint: id,
          bucket,
          reachable: true,
          ...(sample === undefined ? {} : { 'first-key': sample }),
        }
        emit(sink, ctx.format, data, () =>
          sample === undefined
            ? `bucket '${bucket}' at s3 endpoint '${id}' is reachable (empty)\n`
            : `bucket '${bucket}' at s3 endpoint '${id}' is reachable (first key '${sample}')\n`,
        )
      } finally {
        store.destroy()
      }
    })
}
