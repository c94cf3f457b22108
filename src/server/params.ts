/**
 * API parameter schemas and their PBS reading rules (spec/pbs-api.md §1.3).
 *
 * Form mode (form-encoded body or no Content-Type): body, then query string, then URI
 * parameters; every value is a string converted by the schema; `_dc` is dropped; a repeated
 * scalar is `duplicate parameter.`. JSON mode: the body object only (the query string is
 * ignored), checked strictly (JSON booleans, integers, strings). Unknown keys are refused.
 * Every failure becomes one ValidationError whose message is PBS's
 * `parameter verification failed - '<param>': <rule>`.
 */
import {
  ACL_PATH_MAX_LENGTH,
  BackupNamespace,
  COMMENT_MAX_LENGTH,
  HIDDEN_VALUE,
  PASSWORD_LENGTH,
  checkBackupTime,
  isAclPathSyntax,
  isPasswordText,
  isSingleLine,
  parseAuthid,
  parseBackupId,
  parseBackupType,
  parseDatastoreName,
  parseSafeId,
  parseUserid,
} from '../api-types/index.js'
import type { DatastoreError } from '../errors.js'
import { ValidationError } from '../errors.js'

/** A string parameter; `parse` checks and converts it (a ValidationError's rule becomes the message). */
export interface StringParam {
  type: 'string'
  optional?: boolean
  description: string
  parse?: (value: string, name: string) => unknown
  minLength?: number
  maxLength?: number
  /** Never echo the value (passwords): errors carry '(hidden)'. */
  secret?: boolean
}

/** A boolean parameter (form: 1|on|yes|true / 0|off|no|false). */
export interface BooleanParam {
  type: 'boolean'
  optional?: boolean
  default?: boolean
  description: string
}

/** An integer parameter with an optional range. */
export interface IntegerParam {
  type: 'integer'
  optional?: boolean
  default?: number
  minimum?: number
  maximum?: number
  description: string
}

/** A repeatable string parameter (`delete=a&delete=b`; a comma list is also split). */
export interface ArrayParam {
  type: 'array'
  optional?: boolean
  description: string
  items?: readonly string[]
}

/** One parameter of an endpoint. */
export type Param = StringParam | BooleanParam | IntegerParam | ArrayParam

/** The parameters of an endpoint by name. */
export type ParamSchema = Record<string, Param>

/** Parameter errors by name, for the error mapper (text and ExtJS `errors`). */
export const PARAMETER_ERRORS = new WeakMap<DatastoreError, { param: string; message: string }[]>()

/** Builds the single error for one or more parameter problems. */
export function parameterError(
  errors: { param: string; message: string; value?: unknown }[],
): ValidationError {
  const first = errors[0]!
  const e = new ValidationError(first.param, first.value, first.message)
  PARAMETER_ERRORS.set(e, errors)
  return e
}

/** The PBS text for parameter errors. */
export function formatParameterErrors(errors: { param: string; message: string }[]): string {
  if (errors.length === 1)
    return `parameter verification failed - '${errors[0]!.param}': ${errors[0]!.message}`
  return `parameter verification failed:\n${errors.map((e) => `- '${e.param}': ${e.message}`).join('\n')}`
}

/** Raw parameter sources of one request. */
export interface RawParams {
  /** 'form' or 'json' mode. */
  mode: 'form' | 'json'
  /** Parsed body (object) in either mode; undefined for none. */
  body: unknown
  /** Query string (form mode only). */
  query: Record<string, string | string[] | undefined>
  /** URI parameters, already mapped to their API names. */
  uri: Record<string, string>
}

/**
 * Reads and checks the parameters of a request against a schema.
 * @throws ValidationError (400) with every problem listed.
 */
export function readParams(schema: ParamSchema, raw: RawParams): Record<string, unknown> {
  const errors: { param: string; message: string; value?: unknown }[] = []
  const out: Record<string, unknown> = {}
  const values = new Map<string, unknown>()
  if (raw.mode === 'form') {
    const add = (k: string, v: unknown): void => {
      if (k === '_dc') return
      const prev = values.get(k)
      if (prev === undefined) values.set(k, v)
      else values.set(k, [...asList(prev), ...asList(v)])
    }
    if (raw.body !== undefined && raw.body !== null) {
      if (typeof raw.body !== 'object')
        errors.push({ param: 'body', message: 'expected form-encoded parameters' })
      else for (const [k, v] of Object.entries(raw.body as Record<string, unknown>)) add(k, v)
    }
    for (const [k, v] of Object.entries(raw.query)) if (v !== undefined) add(k, v)
  } else {
    const body = raw.body ?? {}
    if (typeof body !== 'object' || Array.isArray(body) || body === null)
      throw parameterError([{ param: 'body', message: 'the JSON body must be an object' }])
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) values.set(k, v)
  }
  for (const [k, v] of Object.entries(raw.uri)) values.set(k, v)

  // Own keys only: `__proto__` or `constructor` are unknown parameters, not Object.prototype's.
  for (const key of values.keys())
    if (!Object.hasOwn(schema, key))
      errors.push({ param: key, message: 'schema does not allow additional properties.' })

  for (const [name, param] of Object.entries(schema)) {
    const value = values.get(name)
    if (value === undefined || value === null) {
      if ('default' in param && param.default !== undefined) out[name] = param.default
      else if (!param.optional)
        errors.push({
          param: name,
          message:
            raw.mode === 'form'
              ? 'parameter is missing and it is not optional.'
              : 'property is missing and it is not optional',
        })
      continue
    }
    try {
      out[name] = convert(name, param, value, raw.mode === 'json' && !(name in raw.uri))
    } catch (e) {
      if (e instanceof ValidationError)
        errors.push({
          param: name,
          message: e.rule,
          value: param.type === 'string' && param.secret ? '(hidden)' : value,
        })
      else throw e
    }
  }
  if (errors.length > 0) throw parameterError(errors)
  return out
}

/** A value as a list (repeated form keys arrive as arrays). */
function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [v]
}

function fail(name: string, value: unknown, message: string): never {
  throw new ValidationError(name, value, message)
}

function convert(name: string, param: Param, value: unknown, strict: boolean): unknown {
  if (param.type === 'array') {
    const list = asList(value)
    const items = list.flatMap((v) => (typeof v === 'string' ? v.split(/[,;]/).filter((x) => x !== '') : [v]))
    for (const item of items) {
      if (typeof item !== 'string') fail(name, item, 'Expected string value.')
      if (param.items && !param.items.includes(item))
        fail(name, item, `value '${item}' is not defined in the enumeration.`)
    }
    return items
  }
  if (Array.isArray(value)) fail(name, value, 'duplicate parameter.')
  switch (param.type) {
    case 'boolean': {
      if (typeof value === 'boolean') return value
      if (strict) fail(name, value, 'Expected boolean value.')
      const v = String(value).toLowerCase()
      if (['1', 'on', 'yes', 'true'].includes(v)) return true
      if (['0', 'off', 'no', 'false'].includes(v)) return false
      return fail(name, value, 'Unable to parse boolean option.')
    }
    case 'integer': {
      let n: number
      if (typeof value === 'number') n = value
      else if (strict) fail(name, value, 'Expected integer value.')
      else if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) n = Number(value)
      else fail(name, value, 'Expected integer value.')
      if (!Number.isSafeInteger(n)) fail(name, value, 'Expected integer value.')
      if (param.minimum !== undefined && n < param.minimum)
        fail(name, value, `value must have a minimum value of ${param.minimum} (got ${n})`)
      if (param.maximum !== undefined && n > param.maximum)
        fail(name, value, `value must have a maximum value of ${param.maximum} (got ${n})`)
      return n
    }
    case 'string': {
      if (typeof value !== 'string') return fail(name, value, 'Expected string value.')
      if (param.minLength !== undefined && value.length < param.minLength)
        fail(name, value, `value must be at least ${param.minLength} characters long`)
      if (param.maxLength !== undefined && value.length > param.maxLength)
        fail(name, value, `value may only be ${param.maxLength} characters long`)
      return param.parse ? param.parse(value, name) : value
    }
  }
}

// ---- common parameter definitions (spec §1.6), named as PBS names them ----

/** `store` (DATASTORE_SCHEMA). */
export const STORE: StringParam = {
  type: 'string',
  description: 'Datastore name.',
  parse: (v, n) => parseDatastoreName(v, n),
}

/** A namespace (`ns`, `parent`, `target-ns`); '' is the root. Parses to BackupNamespace. */
export function nsParam(description: string, optional = true): StringParam {
  return { type: 'string', optional, description, parse: (v, n) => BackupNamespace.parse(v, n) }
}

/** `backup-type`. */
export const BACKUP_TYPE: StringParam = {
  type: 'string',
  description: 'Backup type (vm, ct, host).',
  parse: (v, n) => parseBackupType(v, n),
}

/** `backup-id`. */
export const BACKUP_ID: StringParam = {
  type: 'string',
  description: 'Backup id.',
  parse: (v, n) => parseBackupId(v, n),
}

/** `backup-time` (epoch ≥ 1). */
export const BACKUP_TIME: IntegerParam = {
  type: 'integer',
  minimum: 1,
  description: 'Backup time (Unix epoch).',
}

/** Checks an epoch backup time (used after integer conversion). */
export function checkTime(value: number, name = 'backup-time'): number {
  return checkBackupTime(value, name)
}

/** `max-depth` (0–7). */
export function maxDepthParam(defaultValue?: number): IntegerParam {
  return {
    type: 'integer',
    minimum: 0,
    maximum: 7,
    optional: true,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    description: 'How many levels of namespaces to operate on (0 = only the given namespace).',
  }
}

/** An optional boolean with a default. */
export function boolParam(description: string, defaultValue?: boolean): BooleanParam {
  return {
    type: 'boolean',
    optional: true,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    description,
  }
}

/** An Authid (`user@realm` or `user@realm!token`), kept as its string form. */
export function authidParam(description: string, optional = false): StringParam {
  return {
    type: 'string',
    optional,
    description,
    parse: (v, n) => {
      parseAuthid(v, n)
      return v
    },
  }
}

/** A Userid (`user@realm`). */
export function useridParam(description: string, optional = false): StringParam {
  return { type: 'string', optional, description, parse: (v, n) => parseUserid(v, n) }
}

/** A SAFE_ID. */
export function safeIdParam(description: string, optional = false): StringParam {
  return { type: 'string', optional, description, parse: (v, n) => parseSafeId(v, n) }
}

/** A single-line comment (≤ 128 characters, no control characters). */
export function commentParam(description = 'Comment.'): StringParam {
  return {
    type: 'string',
    optional: true,
    maxLength: COMMENT_MAX_LENGTH,
    description,
    parse: (v, n) => {
      if (!isSingleLine(v)) throw new ValidationError(n, v, 'value does not match the regex pattern')
      return v
    },
  }
}

/** `digest` (64 hex). */
export const DIGEST: StringParam = {
  type: 'string',
  optional: true,
  description: 'Digest of the config file, to refuse concurrent modifications.',
  parse: (v, n) => {
    if (!/^[0-9a-fA-F]{64}$/.test(v))
      throw new ValidationError(n, v, 'value does not match the regex pattern')
    return v.toLowerCase()
  },
}

/** The retention parameters `keep-*` (integers ≥ 1). */
export const KEEP_PARAMS: ParamSchema = Object.fromEntries(
  ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'].map((k) => [
    k,
    {
      type: 'integer',
      optional: true,
      minimum: 1,
      description: `Retention: ${k.slice(5)} count.`,
    } satisfies IntegerParam,
  ]),
)

/** An ACL path (ACL_PATH_SCHEMA: `/` or `/`-separated SAFE_IDs, 1–128 characters), kept as given. */
export function aclPathParam(description: string, optional = false): StringParam {
  return {
    type: 'string',
    optional,
    minLength: 1,
    maxLength: ACL_PATH_MAX_LENGTH,
    description,
    parse: (v, n) => {
      if (!isAclPathSyntax(v)) throw new ValidationError(n, v, 'value does not match the regex pattern')
      return v
    },
  }
}

/** A pbs-realm password (PBS_PASSWORD_SCHEMA: 8–64 characters, no control characters). */
export function passwordParam(description: string, optional = false): StringParam {
  return {
    type: 'string',
    optional,
    ...PASSWORD_LENGTH,
    secret: true,
    description,
    parse: (v, n) => {
      if (!isPasswordText(v))
        throw new ValidationError(n, HIDDEN_VALUE, 'value does not match the regex pattern')
      return v
    },
  }
}
