import type { Command } from 'commander'

import { BackupNamespace } from '../api-types/index.js'
import { resolveInstallation, type Installation } from '../config/installation.js'
import { openDatastore, type Datastore, type DatastoreOperation } from '../datastore/index.js'
import { ValidationError } from '../errors.js'
import type { OutputFormat, OutputSink } from './output.js'

/** What every command action needs: where the state lives, how to print, and the sink. */
export interface CliContext {
  installation: Installation
  format: OutputFormat
  sink: OutputSink
}

/** Options every command has (from the program). */
interface GlobalOptions {
  home?: string
  outputFormat?: string
}

/** Builds the context from the command's merged global options. */
export function cliContext(cmd: Command, sink: OutputSink): CliContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>()
  const format = opts.outputFormat ?? 'text'
  if (format !== 'text' && format !== 'json' && format !== 'json-pretty')
    throw new ValidationError('--output-format', format, "must be 'text', 'json' or 'json-pretty'")
  return { installation: resolveInstallation(opts.home), format, sink }
}

/** Opens the datastore named by --store for `operation` (checked against its maintenance mode). */
export function storeFrom(
  ctx: CliContext,
  store: unknown,
  operation: DatastoreOperation,
): Promise<Datastore> {
  if (typeof store !== 'string') throw new ValidationError('--store', store, 'is required')
  return openDatastore(ctx.installation, store, { operation })
}

/** Parses --ns (absent = root). */
export function nsFrom(value: unknown, input = '--ns'): BackupNamespace {
  return BackupNamespace.parse(value ?? '', input)
}

/** Parses a `true|false` option value (PBS CLI style, also 1/0/yes/no/on/off). */
export function parseBool(value: unknown, input: string): boolean {
  if (typeof value === 'boolean') return value
  const v = typeof value === 'string' ? value.toLowerCase() : value
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false
  throw new ValidationError(input, value, "must be 'true' or 'false'")
}
