import type { Command } from 'commander'

import { formatBytes, garbageCollect, gcStatusJson } from '../datastore/gc/index.js'
import type { OperationLog } from '../datastore/operation-context.js'
import { cliContext, storeFrom } from './context.js'
import { emit, type OutputSink } from './output.js'
import { progressView } from './progress.js'
import { remoteJob } from './remote-commands.js'
import { isRemote, remoteClient } from './remote-context.js'

/** `pbs-store gc --store S`: garbage collection (spec §7). */
export function registerGcCommand(program: Command, sink: OutputSink): void {
  program
    .command('gc')
    .description('garbage collection: remove chunks no snapshot references any more')
    .requiredOption('--store <store>', 'datastore name')
    .option('--verbose', 'print the task log lines (to stderr)')
    .action(async (opts: { store: string; verbose?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      if (isRemote(cmd)) return remoteJob(ctx, await remoteClient(cmd), opts.store, 'gc', {})
      const store = await storeFrom(ctx, opts.store, 'write')
      const text = ctx.format === 'text'
      const view = progressView(process.stderr, text && process.stderr.isTTY === true)
      const log: OperationLog = {
        info: (m) => (opts.verbose ? sink.err(`${m}\n`) : undefined),
        warn: (m) => sink.err(`${m}\n`),
      }
      // Ctrl-C stops between chunk directories and releases the locks instead of killing mid-sweep.
      const abort = new AbortController()
      const onSigint = (): void => abort.abort('interrupted')
      process.once('SIGINT', onSigint)
      let r
      try {
        r = await garbageCollect(store, { log, signal: abort.signal, onProgress: (p) => view.update(p) })
      } finally {
        view.stop()
        process.off('SIGINT', onSigint)
      }
      const s = r.status
      emit(sink, ctx.format, gcStatusJson(s), () =>
        [
          `garbage collection on store '${store.name}' finished`,
          `removed garbage: ${formatBytes(s.removedBytes)} (${s.removedChunks} chunks${s.removedBad > 0 ? `, ${s.removedBad} bad` : ''})`,
          `pending removals: ${formatBytes(s.pendingBytes)} (in ${s.pendingChunks} chunks)`,
          `original data usage: ${formatBytes(s.indexDataBytes)} in ${s.indexFileCount} index files`,
          `on-disk usage: ${formatBytes(s.diskBytes)} (${s.diskChunks} chunks)`,
          `deduplication factor: ${r.dedupFactor.toFixed(2)}`,
          ...(r.missingChunks > 0 ? [`WARNING: ${r.missingChunks} referenced chunk(s) are missing`] : []),
          '',
        ].join('\n'),
      )
    })
}
