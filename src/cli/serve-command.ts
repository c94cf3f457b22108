import type { Command } from 'commander'

import { DEFAULT_LISTEN, serve } from '../server/serve.js'
import { listenArg } from './cli-args.js'
import { cliContext } from './context.js'
import { ensureFirstStart } from './init-command.js'
import type { OutputSink } from './output.js'

/**
 * `pbs-store serve [--listen ADDR:PORT] [--insecure-http]`: first-start setup, then the API and web
 * UI over HTTPS until SIGINT/SIGTERM, which abort running tasks and wait for their cleanup.
 */
export function registerServeCommand(program: Command, sink: OutputSink): void {
  program
    .command('serve')
    .description(`run the PBS-compatible API server and web UI (HTTPS, default ${DEFAULT_LISTEN})`)
    .option('--listen <addr:port>', 'listen address', listenArg(), DEFAULT_LISTEN)
    .option('--insecure-http', 'serve plain HTTP (only for explicit local use)')
    .action(async (opts: { listen: string; insecureHttp?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      await ensureFirstStart(ctx.installation, (line) => sink.out(`${line}\n`))
      const server = await serve({
        installation: ctx.installation,
        listen: opts.listen,
        insecureHttp: opts.insecureHttp === true,
        logger: { level: process.env.PBS_STORE_LOG_LEVEL ?? 'warn' },
      })
      sink.out(`pbs-store listening on ${server.url} (home ${ctx.installation.home})\n`)
      if (opts.insecureHttp) sink.err('warning: serving plain HTTP; credentials travel unencrypted\n')
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          process.off('SIGINT', onInt)
          process.off('SIGTERM', onTerm)
          sink.out(`${signal}: aborting running tasks and shutting down\n`)
          server.close().then(resolve, resolve)
        }
        const onInt = (): void => stop('SIGINT')
        const onTerm = (): void => stop('SIGTERM')
        process.on('SIGINT', onInt)
        process.on('SIGTERM', onTerm)
      })
    })
}
