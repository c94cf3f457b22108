import { Command, CommanderError, Option, type OutputConfiguration } from 'commander'

import { ApiError, typedError } from '../client/index.js'
import { DatastoreError, errorMessage } from '../errors.js'
import { fingerprintArg, outputFormatArg, serverUrlArg } from './cli-args.js'
import { registerDataCommands } from './data-commands.js'
import { registerDatastoreCommands } from './datastore-commands.js'
import { registerGcCommand } from './gc-command.js'
import { registerGroupCommands } from './group-commands.js'
import { registerInitCommand } from './init-command.js'
import { registerNamespaceCommands } from './namespace-commands.js'
import { oneLine, processSink, type OutputSink } from './output.js'
import { registerPruneCommands } from './prune-commands.js'
import { registerS3Commands } from './s3-commands.js'
import { registerSnapshotCommands } from './snapshot-commands.js'
import { registerServeCommand } from './serve-command.js'
import { registerAccessCommands } from './access-commands.js'
import { assertRunnable } from './remote-context.js'
import { registerLoginCommand, registerTaskCommands } from './task-commands.js'

/** Exit code for a failed operation. */
export const EXIT_FAILURE = 1
/** Exit code for a usage error (unknown command, missing option). */
export const EXIT_USAGE = 2

/** Builds the `pbs-store` command tree. */
export function buildProgram(sink: OutputSink = processSink): Command {
  const program = new Command('pbs-store')
    .description(
      'Backup datastore toolkit in the Proxmox Backup Server layout: move groups and namespaces safely.',
    )
    .option('--home <dir>', 'state directory (config, logs); env PBS_STORE_HOME, default ./var')
    .addOption(
      new Option('--output-format <format>', "output format: 'text', 'json' or 'json-pretty'")
        .argParser(outputFormatArg())
        .default('text'),
    )
    .option(
      '--server <url>',
      'work through this pbs-store server instead of locally; env PBS_STORE_SERVER',
      serverUrlArg(),
    )
    .option(
      '--fingerprint <sha256>',
      "trust the server's certificate by its SHA-256 fingerprint (also read by 's3 endpoint create')",
      fingerprintArg(),
    )
    .option('--insecure-tls', 'accept any server certificate (self-signed development servers)')
    .showHelpAfterError()
    .configureOutput(outputOf(sink))
    .exitOverride()
    .hook('preAction', (_program, action) => assertRunnable(action))
  registerInitCommand(program, sink)
  registerDatastoreCommands(program, sink)
  registerNamespaceCommands(program, sink)
  registerGroupCommands(program, sink)
  registerSnapshotCommands(program, sink)
  registerDataCommands(program, sink)
  registerGcCommand(program, sink)
  registerPruneCommands(program, sink)
  registerServeCommand(program, sink)
  registerAccessCommands(program, sink)
  registerS3Commands(program, sink)
  registerTaskCommands(program, sink)
  registerLoginCommand(program, sink)
  for (const cmd of allCommands(program)) cmd.exitOverride().configureOutput(outputOf(sink))
  return program
}

/** Commander's output to the sink; its usage errors (which may quote an argument) on one line. */
function outputOf(sink: OutputSink): OutputConfiguration {
  return {
    writeOut: (t) => sink.out(t),
    writeErr: (t) => sink.err(t),
    outputError: (t, write) => write(`${oneLine(t.trimEnd())}\n`),
  }
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)])
}

/**
 * Runs the CLI and returns the exit code: 0 ok, 1 operation failed, 2 usage error. Errors go to
 * stderr as one line naming what failed and why.
 */
export async function main(argv: readonly string[], sink: OutputSink = processSink): Promise<number> {
  const program = buildProgram(sink)
  try {
    await program.parseAsync([...argv])
    return 0
  } catch (thrown) {
    // A failed API call fails like the same operation done locally.
    const e = thrown instanceof ApiError ? typedError(thrown) : thrown
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE
    }
    if (e instanceof DatastoreError) {
      sink.err(`error: ${oneLine(e.message)}\n`)
      return EXIT_FAILURE
    }
    sink.err(`error: ${oneLine(errorMessage(e))}\n`)
    if (process.env.PBS_STORE_DEBUG) sink.err(`${(e as Error).stack ?? ''}\n`)
    return EXIT_FAILURE
  }
}
