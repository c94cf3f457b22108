/**
 * S3 endpoints: `<etcDir>/s3.cfg` (section type `s3-endpoint`, pbs-config/src/s3.rs) and their
 * secret keys in `<etcDir>/s3.shadow` (JSON `{"<id>": "<secret>"}`, mode 0600).
 *
 * The secret never enters S3EndpointConfig, never appears in s3.cfg, listings, messages or error
 * data: only loadS3Secret returns it, for building a client. Properties we do not model and
 * sections of other types are kept through `raw`/`source` and written back unchanged.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'

import { parseSafeId } from '../api-types/index.js'
import { S3_DEFAULT_REGION, S3_PROVIDER_QUIRKS, resolveS3Endpoint } from '../backend/s3/s3-object-store.js'
import type { S3ObjectStoreOptions, S3ProviderQuirk } from '../backend/s3/s3-object-store.js'
import { AlreadyExistsError, ConfigError, NotFoundError, ValidationError } from '../errors.js'
import { readConfigFile, writeConfigFileAtomic } from './config-file.js'
import type { ConfigLock } from './config-file.js'
import { parseSectionConfig, writeSectionConfig } from './section-config.js'
import type { SectionConfigData, SectionConfigSection } from './section-config.js'

/** File name of the endpoint config in the config dir. */
export const S3_CFG_FILE = 's3.cfg'
/** File name of the secret keys (mode 0600). */
export const S3_SHADOW_FILE = 's3.shadow'
/** Lock file serialising updates of both files. */
export const S3_CFG_LOCK_FILE = '.s3.lck'
/** Section type of an endpoint. */
export const S3_ENDPOINT_SECTION_TYPE = 's3-endpoint'
/** Bucket name rule (proxmox-s3-client api_types.rs); length 3..63. */
export const BUCKET_NAME_REGEX = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/

/** One `s3-endpoint: <id>` section, typed (no secret here, by design). */
export interface S3EndpointConfig {
  id: string
  /** URL, may contain `{{bucket}}` and `{{region}}`. */
  endpoint: string
  /** Default us-west-1. */
  region?: string
  accessKey: string
  pathStyle?: boolean
  providerQuirks?: S3ProviderQuirk[]
  port?: number
  /** SHA-256 fingerprint of a self-signed server certificate (`AA:BB:…`). */
  fingerprint?: string
  /** The section as read; unmodelled properties are written back. */
  raw?: SectionConfigSection
}

/** s3.cfg content. */
export interface S3Config {
  endpoints: Map<string, S3EndpointConfig>
  /** The parsed file, for a faithful rewrite. */
  source: SectionConfigData
  /** sha256 (hex) of the text read or written. */
  digest: string
}

const MODELLED = ['endpoint', 'region', 'access-key', 'path-style', 'provider-quirks', 'port', 'fingerprint']
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/
const REGION_RE = /^[a-z0-9][a-z0-9_-]*$/
const FINGERPRINT_RE = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/

/** Path of s3.cfg. */
export function s3ConfigPath(etcDir: string): string {
  return join(etcDir, S3_CFG_FILE)
}

/** Path of s3.shadow. */
export function s3ShadowPath(etcDir: string): string {
  return join(etcDir, S3_SHADOW_FILE)
}

/** Path of the lock file guarding s3.cfg and s3.shadow. */
export function s3ConfigLockPath(etcDir: string): string {
  return join(etcDir, S3_CFG_LOCK_FILE)
}

/**
 * Checks a bucket name (3..63 chars, lowercase letters, digits and '-', not at the ends) and returns it.
 * @throws ValidationError naming `input`.
 */
export function parseBucketName(value: unknown, input = 'bucket'): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (value.length < 3 || value.length > 63)
    throw new ValidationError(input, value, 'must be 3..63 characters long')
  if (!BUCKET_NAME_REGEX.test(value))
    throw new ValidationError(
      input,
      value,
      "may contain only lowercase letters, digits and '-', and must start and end with a letter or digit",
    )
  return value
}

/** Parses a provider-quirks list (comma or space separated). @throws ValidationError */
export function parseProviderQuirks(value: string, input = 'provider-quirks'): S3ProviderQuirk[] {
  const out: S3ProviderQuirk[] = []
  for (const q of value.split(/[\s,]+/).filter((s) => s !== '')) {
    if (!(S3_PROVIDER_QUIRKS as readonly string[]).includes(q))
      throw new ValidationError(input, q, `must be one of ${S3_PROVIDER_QUIRKS.join(', ')}`)
    if (!out.includes(q as S3ProviderQuirk)) out.push(q as S3ProviderQuirk)
  }
  return out
}

/**
 * Checks every field of an endpoint.
 * @throws ValidationError naming the field.
 */
export function validateS3Endpoint(entry: S3EndpointConfig): void {
  parseSafeId(entry.id, 'id')
  if (entry.id.length < 3 || entry.id.length > 32)
    throw new ValidationError('id', entry.id, 'must be 3..32 characters long')
  if (CONTROL.test(entry.endpoint) || /\s/.test(entry.endpoint))
    throw new ValidationError('endpoint', entry.endpoint, 'must not contain whitespace or control characters')
  const region = entry.region ?? S3_DEFAULT_REGION
  if (!REGION_RE.test(region))
    throw new ValidationError('region', region, "must be lowercase letters, digits, '-' and '_'")
  if (entry.port !== undefined && (!Number.isInteger(entry.port) || entry.port < 1 || entry.port > 65535))
    throw new ValidationError('port', entry.port, 'must be an integer 1..65535')
  resolveS3Endpoint(entry.endpoint, {
    region,
    pathStyle: entry.pathStyle ?? false,
    ...(entry.port === undefined ? {} : { port: entry.port }),
  })
  if (entry.accessKey === '' || /\s/.test(entry.accessKey) || CONTROL.test(entry.accessKey))
    throw new ValidationError('access-key', entry.accessKey, 'must be non-empty without whitespace')
  if (entry.fingerprint !== undefined && !FINGERPRINT_RE.test(entry.fingerprint))
    throw new ValidationError(
      'fingerprint',
      entry.fingerprint,
      "must be a SHA-256 fingerprint like 'AA:BB:…' (32 bytes)",
    )
  for (const q of entry.providerQuirks ?? []) parseProviderQuirks(q)
}

/** Checks a secret key without ever putting it in the error. @throws ValidationError */
export function validateS3SecretKey(secret: string): void {
  if (secret === '') throw new ValidationError('secret-key', '(hidden)', 'must not be empty')
  if (CONTROL.test(secret))
    throw new ValidationError('secret-key', '(hidden)', 'must not contain control characters')
}

/**
 * Parses s3.cfg text.
 * @throws ConfigError naming the file, line and endpoint.
 */
export function parseS3Config(text: string): S3Config {
  const source = parseSectionConfig(text, S3_CFG_FILE)
  const endpoints = new Map<string, S3EndpointConfig>()
  for (const section of source.sections) {
    if (section.type !== S3_ENDPOINT_SECTION_TYPE) continue
    try {
      endpoints.set(section.id, entryFromSection(section))
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e
      const at = section.line === undefined ? '' : `line ${section.line} `
      throw new ConfigError(
        `parsing '${S3_CFG_FILE}' failed - ${at}(s3-endpoint '${section.id}'): ${e.message}`,
        {
          file: S3_CFG_FILE,
          endpoint: section.id,
          ...(section.line === undefined ? {} : { line: section.line }),
        },
        { cause: e },
      )
    }
  }
  return { endpoints, source, digest: sha256Hex(text) }
}

/** Renders s3.cfg text (original order kept, new endpoints appended). */
export function writeS3Config(cfg: S3Config): string {
  const sections: SectionConfigSection[] = []
  const written = new Set<string>()
  for (const section of cfg.source.sections) {
    if (section.type !== S3_ENDPOINT_SECTION_TYPE) {
      sections.push(section)
      continue
    }
    const entry = cfg.endpoints.get(section.id)
    if (entry === undefined) continue
    sections.push(entryToSection(entry))
    written.add(entry.id)
  }
  for (const entry of cfg.endpoints.values()) if (!written.has(entry.id)) sections.push(entryToSection(entry))
  const data: SectionConfigData = { sections }
  if (cfg.source.leading !== undefined) data.leading = cfg.source.leading
  if (cfg.source.trailing !== undefined) data.trailing = cfg.source.trailing
  return writeSectionConfig(data, S3_CFG_FILE)
}

/** Reads s3.cfg (missing → empty). */
export async function loadS3Config(etcDir: string): Promise<S3Config> {
  return parseS3Config(await readConfigFile(s3ConfigPath(etcDir)))
}

/** Writes s3.cfg atomically (mode 0640); call under the lock. */
export async function saveS3Config(etcDir: string, cfg: S3Config): Promise<void> {
  const text = writeS3Config(cfg)
  await writeConfigFileAtomic(s3ConfigPath(etcDir), text, 0o640)
  cfg.digest = sha256Hex(text)
}

/**
 * The endpoint called `id`.
 * @throws NotFoundError
 */
export function getS3Endpoint(cfg: S3Config, id: string): S3EndpointConfig {
  const entry = cfg.endpoints.get(id)
  if (entry === undefined) throw new NotFoundError(`s3 endpoint '${id}' does not exist`, { endpoint: id })
  return entry
}

/** Reads the secrets file (missing → none). @throws ConfigError when it is not a JSON object of strings */
async function loadSecrets(etcDir: string): Promise<Map<string, string>> {
  const text = await readConfigFile(s3ShadowPath(etcDir))
  if (text.trim() === '') return new Map()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // The parser's message may quote file content, i.e. a secret: keep it out.
    throw new ConfigError(`parsing '${S3_SHADOW_FILE}' failed - not valid JSON`, { file: S3_SHADOW_FILE })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`parsing '${S3_SHADOW_FILE}' failed - expected a JSON object`, {
      file: S3_SHADOW_FILE,
    })
  const out = new Map<string, string>()
  for (const [id, secret] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof secret !== 'string')
      throw new ConfigError(`parsing '${S3_SHADOW_FILE}' failed - entry '${id}' is not a string`, {
        file: S3_SHADOW_FILE,
        endpoint: id,
      })
    out.set(id, secret)
  }
  return out
}

async function saveSecrets(etcDir: string, secrets: Map<string, string>): Promise<void> {
  await writeConfigFileAtomic(
    s3ShadowPath(etcDir),
    `${JSON.stringify(Object.fromEntries(secrets), null, 2)}\n`,
    0o600,
  )
}

/**
 * The secret key of endpoint `id`: from s3.shadow, else a `secret-key` property that another
 * tool left in s3.cfg.
 * @throws NotFoundError when none is stored.
 */
export async function loadS3Secret(etcDir: string, id: string): Promise<string> {
  const secret =
    (await loadSecrets(etcDir)).get(id) ??
    (await loadS3Config(etcDir)).endpoints.get(id)?.raw?.properties.get('secret-key')
  if (secret === undefined)
    throw new NotFoundError(`s3 endpoint '${id}' has no secret key in '${S3_SHADOW_FILE}'`, { endpoint: id })
  return secret
}

/**
 * Adds an endpoint and stores its secret (s3.shadow first, so s3.cfg never names an endpoint
 * without a secret after a crash in between).
 * @throws ValidationError, AlreadyExistsError
 */
export async function createS3Endpoint(
  etcDir: string,
  lock: ConfigLock,
  entry: S3EndpointConfig,
  secretKey: string,
): Promise<void> {
  validateS3Endpoint(entry)
  validateS3SecretKey(secretKey)
  await lock(async () => {
    const cfg = await loadS3Config(etcDir)
    if (cfg.endpoints.has(entry.id))
      throw new AlreadyExistsError(`s3 endpoint '${entry.id}' already exists`, { endpoint: entry.id })
    const secrets = await loadSecrets(etcDir)
    secrets.set(entry.id, secretKey)
    await saveSecrets(etcDir, secrets)
    cfg.endpoints.set(entry.id, entry)
    await saveS3Config(etcDir, cfg)
  })
}

/**
 * Removes an endpoint and its secret; returns the removed entry.
 * @throws NotFoundError
 */
export async function removeS3Endpoint(
  etcDir: string,
  lock: ConfigLock,
  id: string,
): Promise<S3EndpointConfig> {
  return lock(async () => {
    const cfg = await loadS3Config(etcDir)
    const entry = getS3Endpoint(cfg, id)
    cfg.endpoints.delete(id)
    await saveS3Config(etcDir, cfg)
    const secrets = await loadSecrets(etcDir)
    if (secrets.delete(id)) await saveSecrets(etcDir, secrets)
    return entry
  })
}

/** What listing shows of an endpoint: everything but the secret (and the raw section). */
export function s3EndpointSummary(
  entry: S3EndpointConfig,
): Record<string, string | number | boolean | string[]> {
  return {
    id: entry.id,
    endpoint: entry.endpoint,
    region: entry.region ?? S3_DEFAULT_REGION,
    'access-key': entry.accessKey,
    'path-style': entry.pathStyle ?? false,
    ...(entry.providerQuirks === undefined || entry.providerQuirks.length === 0
      ? {}
      : { 'provider-quirks': [...entry.providerQuirks] }),
    ...(entry.port === undefined ? {} : { port: entry.port }),
    ...(entry.fingerprint === undefined ? {} : { fingerprint: entry.fingerprint }),
  }
}

/** Client options for one bucket of an endpoint (the caller adds prefix, concurrency …). */
export function s3StoreOptions(
  entry: S3EndpointConfig,
  secretKey: string,
  bucket: string,
): S3ObjectStoreOptions {
  return {
    endpoint: entry.endpoint,
    bucket: parseBucketName(bucket),
    accessKey: entry.accessKey,
    secretKey,
    region: entry.region ?? S3_DEFAULT_REGION,
    pathStyle: entry.pathStyle ?? false,
    ...(entry.port === undefined ? {} : { port: entry.port }),
    ...(entry.providerQuirks === undefined ? {} : { providerQuirks: entry.providerQuirks }),
  }
}

function entryFromSection(section: SectionConfigSection): S3EndpointConfig {
  const p = section.properties
  const endpoint = p.get('endpoint')
  if (endpoint === undefined) throw new ValidationError('endpoint', undefined, 'is required')
  const accessKey = p.get('access-key')
  if (accessKey === undefined) throw new ValidationError('access-key', undefined, 'is required')
  const entry: S3EndpointConfig = { id: section.id, endpoint, accessKey, raw: section }
  const region = p.get('region')
  if (region !== undefined) entry.region = region
  const pathStyle = p.get('path-style')
  if (pathStyle !== undefined) entry.pathStyle = parseBoolValue(pathStyle, 'path-style')
  const quirks = p.get('provider-quirks')
  if (quirks !== undefined) entry.providerQuirks = parseProviderQuirks(quirks)
  const port = p.get('port')
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) throw new ValidationError('port', port, 'must be an integer 1..65535')
    entry.port = Number(port)
  }
  const fingerprint = p.get('fingerprint')
  if (fingerprint !== undefined) entry.fingerprint = fingerprint
  validateS3Endpoint(entry)
  return entry
}

function entryToSection(entry: S3EndpointConfig): SectionConfigSection {
  validateS3Endpoint(entry)
  const props = new Map<string, string>()
  props.set('endpoint', entry.endpoint)
  if (entry.region !== undefined) props.set('region', entry.region)
  props.set('access-key', entry.accessKey)
  if (entry.pathStyle !== undefined) {
    const old = entry.raw?.properties.get('path-style')
    const same = old !== undefined && parseBoolSafe(old) === entry.pathStyle
    props.set('path-style', same ? old : String(entry.pathStyle))
  }
  if (entry.providerQuirks !== undefined && entry.providerQuirks.length > 0)
    props.set('provider-quirks', entry.providerQuirks.join(','))
  if (entry.port !== undefined) props.set('port', String(entry.port))
  if (entry.fingerprint !== undefined) props.set('fingerprint', entry.fingerprint)
  // Properties we do not model survive a rewrite (a PBS-written secret-key too: we never add one).
  for (const [k, v] of entry.raw?.properties ?? []) {
    if (!MODELLED.includes(k)) props.set(k, v)
  }
  const section: SectionConfigSection = { type: S3_ENDPOINT_SECTION_TYPE, id: entry.id, properties: props }
  if (entry.raw?.preamble !== undefined) section.preamble = entry.raw.preamble
  return section
}

function parseBoolSafe(v: string): boolean | undefined {
  try {
    return parseBoolValue(v, 'bool')
  } catch {
    return undefined
  }
}

function parseBoolValue(v: string, input: string): boolean {
  const s = v.toLowerCase()
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false
  throw new ValidationError(input, v, "must be 'true' or 'false'")
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
