/**
 * Parsers for CLI option and argument values, given to commander (`.option(flags, desc, parser)`,
 * `.argument(name, desc, parser)`) so that a bad value is refused while the command line is
 * read: before the remote/local check, before any file or connection is touched. Each throws a
 * ValidationError naming the option or argument and the rule, the value JSON-escaped (one line).
 * The rules are the API's (src/api-types); this file only names the inputs.
 */
import {
  CLIENT_LOG_BLOB_NAME,
  COMMENT_MAX_LENGTH,
  EMAIL_LENGTH,
  MANIFEST_BLOB_NAME,
  isSingleLine,
  normalizeArchiveName,
  parseAclPath,
  parseCertFingerprint,
  parseDatastoreName,
  parseListenAddress,
  parsePassword,
  parseSafeId,
  parseSingleLine,
  parseUserid,
} from '../api-types/index.js'
import { parseTaskUpid } from '../api-types/upid.js'
import { parseMaintenanceMode, type MaintenanceMode } from '../config/datastore-config.js'
import { parsePropertyString } from '../config/property-string.js'
import type { S3ProviderQuirk } from '../backend/s3/index.js'
import { parseProviderQuirks } from '../config/s3-config.js'
import { ValidationError } from '../errors.js'

/** A commander value parser. */
export type ArgParser<T> = (value: string) => T

/**
 * An integer option as the API reads integers: optional '-' and decimal digits only (no blanks,
 * signs, exponents, hex or other scripts' digits), a safe integer, within [min, max].
 */
export function integerArg(input: string, min?: number, max?: number): ArgParser<number> {
  const range =
    min !== undefined && max !== undefined
      ? `an integer from ${min} to ${max}`
      : min !== undefined
        ? `an integer >= ${min}`
        : 'an integer'
  return (value) => {
    const n = /^-?[0-9]+$/.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max))
      throw new ValidationError(input, value, `must be ${range}`)
    return n
  }
}

/** A single-line comment (COMMENT_SCHEMA: no control characters, at most 128 characters). */
export function commentArg(input = '--comment'): ArgParser<string> {
  return (value) => parseSingleLine(value, input, { maxLength: COMMENT_MAX_LENGTH })
}

/** An e-mail address (EMAIL_SCHEMA: a single line of 2 to 64 characters). */
export function emailArg(input = '--email'): ArgParser<string> {
  return (value) => parseSingleLine(value, input, EMAIL_LENGTH)
}

/** A pbs-realm password (8–64 characters, no control characters); errors never show it. */
export function passwordArg(input = '--password'): ArgParser<string> {
  return (value) => parsePassword(value, input)
}

/** A `user@realm` user id. */
export function useridArg(input = 'userid'): ArgParser<string> {
  return (value) => parseUserid(value, input)
}

/** A datastore name (SAFE_ID, 3–32 characters). */
export function storeArg(input = '--store'): ArgParser<string> {
  return (value) => parseDatastoreName(value, input)
}

/** An ACL path's syntax (spec §3.3). */
export function aclPathArg(input = 'path'): ArgParser<string> {
  return (value) => parseAclPath(value, input)
}

/** A task UPID (spec §5.1), as the task API checks it. */
export function upidArg(input = 'upid'): ArgParser<string> {
  return (value) => parseTaskUpid(value, input)
}

/** An S3 endpoint id (S3_CLIENT_ID_SCHEMA: SAFE_ID, 3–32 characters, as s3.cfg checks it). */
export function s3EndpointIdArg(input = 'id'): ArgParser<string> {
  return (value) => {
    parseSafeId(value, input)
    if (value.length < 3 || value.length > 32)
      throw new ValidationError(input, value, 'must be 3 to 32 characters')
    return value
  }
}

/** An S3 region (S3_REGION_SCHEMA: 3–32 lowercase letters, digits, '-' and '_', not '-' first). */
export function s3RegionArg(input = '--region'): ArgParser<string> {
  return (value) => {
    if (!/^[a-z0-9][a-z0-9_-]{2,31}$/.test(value))
      throw new ValidationError(
        input,
        value,
        "must be 3 to 32 lowercase letters, digits, '-' and '_', starting with a letter or digit",
      )
    return value
  }
}

/** A non-empty list of S3 provider quirks (comma or space separated). */
export function providerQuirksArg(input = '--provider-quirks'): ArgParser<S3ProviderQuirk[]> {
  return (value) => {
    const quirks = parseProviderQuirks(value, input)
    if (quirks.length === 0) throw new ValidationError(input, value, 'must name at least one quirk')
    return quirks
  }
}

/** A SHA-256 certificate fingerprint, returned as 64 lowercase hex digits. */
export function fingerprintArg(input = '--fingerprint'): ArgParser<string> {
  return (value) => parseCertFingerprint(value, input)
}

/** The output format. */
export type OutputFormatName = 'text' | 'json' | 'json-pretty'

/** `--output-format`: text, json or json-pretty. */
export function outputFormatArg(input = '--output-format'): ArgParser<OutputFormatName> {
  return (value) => {
    if (value !== 'text' && value !== 'json' && value !== 'json-pretty')
      throw new ValidationError(input, value, "must be 'text', 'json' or 'json-pretty'")
    return value
  }
}

/**
 * A server URL (`--server`, PBS_STORE_SERVER): http(s) with a host, returned as its origin.
 * @throws ValidationError naming `input`
 */
export function parseServerUrl(value: string, input = '--server'): string {
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    throw new ValidationError(input, value, 'must be a URL like https://host:8007')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new ValidationError(input, value, 'must be an http(s) URL like https://host:8007')
  if (parsed.hostname === '') throw new ValidationError(input, value, 'must name a host')
  return parsed.origin
}

/** `--server URL`, checked when given (an empty value is an error, not local mode). */
export function serverUrlArg(input = '--server'): ArgParser<string> {
  return (value) => parseServerUrl(value, input)
}

/** `--listen ADDR:PORT`, checked and kept as given. */
export function listenArg(input = '--listen'): ArgParser<string> {
  return (value) => (parseListenAddress(value, input), value)
}

/**
 * A maintenance mode as `datastore update` takes it: `type=<read-only|offline>[,message=…]` (or a
 * bare type), a single line whose message is valid percent-encoding; other keys are refused.
 */
export function maintenanceModeArg(input = '--maintenance-mode'): ArgParser<MaintenanceMode> {
  return (value) => {
    if (!isSingleLine(value))
      throw new ValidationError(input, value, 'must be a single line without control characters')
    for (const key of parsePropertyString(value, 'type', input).keys())
      if (key !== 'type' && key !== 'message')
        throw new ValidationError(input, value, `has an unknown key '${key}' - only 'type' and 'message'`)
    const mode = parseMaintenanceMode(value)
    // delete, unmount and s3-refresh belong to the operations that set them, not to an admin
    if (mode.type !== 'read-only' && mode.type !== 'offline')
      throw new ValidationError(input, value, "type must be 'read-only' or 'offline'")
    if (mode.message !== undefined) {
      let decoded: string
      try {
        decoded = decodeURIComponent(mode.message)
      } catch {
        throw new ValidationError(input, value, 'message must be percent-encoded (e.g. disk%20swap)')
      }
      if (!isSingleLine(decoded))
        throw new ValidationError(input, value, 'message must be a single line without control characters')
    }
    return mode
  }
}

/** A restore target: a file path, or '-' for stdout. */
export function restoreTargetArg(input = 'target'): ArgParser<string> {
  return (value) => {
    if (value === '') throw new ValidationError(input, value, "must be a file path or '-' for stdout")
    if (value.includes('\u0000')) throw new ValidationError(input, value, 'must not contain a NUL character')
    return value
  }
}

/** A restore archive name: an archive of the snapshot, or 'index.json' for the manifest. */
export function restoreArchiveArg(input = 'archive'): ArgParser<string> {
  return (value) => {
    if (value === 'index.json' || value === MANIFEST_BLOB_NAME) return value
    normalizeArchiveName(value, input)
    // `index.json.blob.didx` & co. would pass the snapshot's own files off as archives
    if ([MANIFEST_BLOB_NAME, CLIENT_LOG_BLOB_NAME].some((f) => value.startsWith(`${f}.`)))
      throw new ValidationError(input, value, "must not start with the name of a snapshot's own file")
    return value
  }
}

/**
 * Runs `parse` on a compound value (`vm/100`, `NAME:PATH` …) whose parts the API names
 * `<input> <part>`, and rethrows its error so that it names `input` and quotes the whole value.
 */
export function parseWhole<T>(input: string, value: string, parse: (input: string) => T): T {
  try {
    return parse(input)
  } catch (e) {
    if (e instanceof ValidationError && e.input !== input && e.input.startsWith(`${input} `))
      throw new ValidationError(input, value, `${e.input.slice(input.length + 1)} ${e.rule}`, { cause: e })
    if (e instanceof ValidationError && e.input !== input)
      throw new ValidationError(input, value, `${e.input} ${e.rule}`, { cause: e })
    throw e
  }
}
