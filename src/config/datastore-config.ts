/**
 * Typed access to `<etcDir>/datastore.cfg` (spec §1.1), on top of the section-config codec.
 *
 * Round trip is the first concern: PBS may share this file. Everything we do not model (other
 * properties such as gc-schedule or keep-*, unknown tuning or backend keys, sections of other
 * types, comments) is carried through `raw`/`source` and written back unchanged; a property
 * string whose meaning did not change keeps its original spelling (`1` stays `1`, not `true`).
 */
import { parseDatastoreName, parseSafeId } from '../api-types/index.js'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { AlreadyExistsError, ConfigError, ConflictError, NotFoundError, ValidationError } from '../errors.js'
import { readConfigFile, writeConfigFileAtomic } from './config-file.js'
import type { ConfigLock } from './config-file.js'
import { formatPropertyString, parsePropertyString } from './property-string.js'
import type { PropertyMap } from './property-string.js'
import { parseSectionConfig, writeSectionConfig } from './section-config.js'
import type { SectionConfigData, SectionConfigSection } from './section-config.js'

/** File name of the datastore config inside the config dir. */
export const DATASTORE_CFG_FILE = 'datastore.cfg'
/** File name of its lock file (PBS: /etc/proxmox-backup/.datastore.lck). */
export const DATASTORE_CFG_LOCK_FILE = '.datastore.lck'
/** Section type of a datastore. */
export const DATASTORE_SECTION_TYPE = 'datastore'

/** `tuning chunk-order`: the order chunks are visited in during verify/restore. */
export type ChunkOrder = 'none' | 'inode'
/** `tuning sync-level`: how hard writes are made durable. */
export type SyncLevel = 'none' | 'file' | 'filesystem'

/** The `tuning` property string (DatastoreTuning); absent keys take the PBS defaults. */
export interface DatastoreTuning {
  'chunk-order'?: ChunkOrder
  'sync-level'?: SyncLevel
  'gc-atime-safety-check'?: boolean
  /** Minutes, 1..2880. */
  'gc-atime-cutoff'?: number
  /** Entries, 0..8388608; 0 disables the GC cache. */
  'gc-cache-capacity'?: number
}

/** PBS defaults for every tuning key. */
export const DATASTORE_TUNING_DEFAULTS: Readonly<Required<DatastoreTuning>> = Object.freeze({
  'chunk-order': 'inode',
  'sync-level': 'filesystem',
  'gc-atime-safety-check': true,
  'gc-atime-cutoff': 1445,
  'gc-cache-capacity': 1048576,
})

/** Datastore backend kind. */
export type DatastoreBackendType = 'filesystem' | 's3'

/** The `backend` property string (DatastoreBackendConfig, default key `type`). */
export interface DatastoreBackendConfig {
  type: DatastoreBackendType
  /** Id of the s3-endpoint section in s3.cfg. */
  client?: string
  bucket?: string
  /** Local cache size limit as written (PBS size syntax, e.g. `32GiB`). */
  'max-cache-size'?: string
}

/** Maintenance mode kinds (pbs-api-types maintenance.rs). */
export type MaintenanceType = 'read-only' | 'offline' | 'delete' | 'unmount' | 's3-refresh'

/** The `maintenance-mode` property string. */
export interface MaintenanceMode {
  type: MaintenanceType
  message?: string
}

/** One `datastore: <name>` section, typed. */
export interface DatastoreConfigEntry {
  name: string
  /** Absolute path; relative to the device's mount point when backingDevice is set. */
  path: string
  comment?: string
  /** Filesystem UUID of a removable datastore (`backing-device`). */
  backingDevice?: string
  backend: DatastoreBackendConfig
  tuning: DatastoreTuning
  maintenanceMode?: MaintenanceMode
  /** The section as read; its other properties and comments are written back. Absent for new entries. */
  raw?: SectionConfigSection
}

/** datastore.cfg content: typed entries plus what a faithful rewrite needs. */
export interface DatastoreConfig {
  /** Datastores by name, in file order; new ones are appended on write. */
  datastores: Map<string, DatastoreConfigEntry>
  /** The parsed file: order, comments and sections of other types come from here. */
  source: SectionConfigData
  /** sha256 (hex) of the text read or last written, for optimistic concurrency (PBS `digest`). */
  digest: string
}

const BUCKET_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/
const TUNING_KEYS = [
  'chunk-order',
  'sync-level',
  'gc-atime-safety-check',
  'gc-atime-cutoff',
  'gc-cache-capacity',
] as const
const BACKEND_KEYS = ['type', 'client', 'bucket', 'max-cache-size'] as const
const MAINTENANCE_KEYS = ['type', 'message'] as const
const MAINTENANCE_TYPES: readonly MaintenanceType[] = [
  'read-only',
  'offline',
  'delete',
  'unmount',
  's3-refresh',
]

/** Path of datastore.cfg in `etcDir`. */
export function datastoreConfigPath(etcDir: string): string {
  return join(etcDir, DATASTORE_CFG_FILE)
}

/** Path of datastore.cfg's lock file in `etcDir`. */
export function datastoreConfigLockPath(etcDir: string): string {
  return join(etcDir, DATASTORE_CFG_LOCK_FILE)
}

/**
 * Parses datastore.cfg text.
 * @throws ConfigError naming the file, line and datastore (cause: the ValidationError, if any).
 */
export function parseDatastoreConfig(text: string): DatastoreConfig {
  const source = parseSectionConfig(text, DATASTORE_CFG_FILE)
  const datastores = new Map<string, DatastoreConfigEntry>()
  for (const section of source.sections) {
    if (section.type !== DATASTORE_SECTION_TYPE) continue
    try {
      datastores.set(section.id, entryFromSection(section))
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e
      const at = section.line === undefined ? '' : `line ${section.line} `
      throw new ConfigError(
        `parsing '${DATASTORE_CFG_FILE}' failed - ${at}(datastore '${section.id}'): ${e.message}`,
        {
          file: DATASTORE_CFG_FILE,
          datastore: section.id,
          ...(section.line === undefined ? {} : { line: section.line }),
        },
        { cause: e },
      )
    }
  }
  return { datastores, source, digest: sha256Hex(text) }
}

/**
 * Renders the config as datastore.cfg text: sections in their original places, removed ones
 * dropped, new ones appended.
 * @throws ValidationError for an invalid entry; ConfigError for something the file cannot hold.
 */
export function writeDatastoreConfig(cfg: DatastoreConfig): string {
  for (const [key, entry] of cfg.datastores) {
    if (key !== entry.name) {
      throw new ConfigError(
        `writing '${DATASTORE_CFG_FILE}' failed - entry '${entry.name}' is stored under '${key}'`,
        {
          file: DATASTORE_CFG_FILE,
          datastore: entry.name,
        },
      )
    }
  }
  const sections: SectionConfigSection[] = []
  const written = new Set<string>()
  for (const section of cfg.source.sections) {
    if (section.type !== DATASTORE_SECTION_TYPE) {
      sections.push(section)
      continue
    }
    const entry = cfg.datastores.get(section.id)
    if (entry === undefined || written.has(entry.name)) continue
    sections.push(entryToSection(entry))
    written.add(entry.name)
  }
  for (const entry of cfg.datastores.values()) {
    if (!written.has(entry.name)) sections.push(entryToSection(entry))
  }
  const data: SectionConfigData = { sections }
  if (cfg.source.leading !== undefined) data.leading = cfg.source.leading
  if (cfg.source.trailing !== undefined) data.trailing = cfg.source.trailing
  return writeSectionConfig(data, DATASTORE_CFG_FILE)
}

/** Reads `<etcDir>/datastore.cfg` (missing → empty config). */
export async function loadDatastoreConfig(etcDir: string): Promise<DatastoreConfig> {
  return parseDatastoreConfig(await readConfigFile(datastoreConfigPath(etcDir)))
}

/**
 * Writes `<etcDir>/datastore.cfg` atomically (mode 0640) and updates `cfg.digest`.
 * Call it under the config lock (see updateDatastoreConfig).
 */
export async function saveDatastoreConfig(etcDir: string, cfg: DatastoreConfig): Promise<void> {
  const text = writeDatastoreConfig(cfg)
  await writeConfigFileAtomic(datastoreConfigPath(etcDir), text, 0o640)
  cfg.digest = sha256Hex(text)
}

/**
 * Locked read-modify-write of datastore.cfg: loads, runs `mutate`, saves, all inside `lock`.
 * With `expectedDigest`, refuses (ConflictError) when the file changed since the caller read it.
 */
export async function updateDatastoreConfig<T>(
  etcDir: string,
  lock: ConfigLock,
  mutate: (cfg: DatastoreConfig) => T | Promise<T>,
  expectedDigest?: string,
): Promise<T> {
  return lock(async () => {
    const cfg = await loadDatastoreConfig(etcDir)
    if (expectedDigest !== undefined && expectedDigest !== cfg.digest) {
      throw new ConflictError(
        `updating '${DATASTORE_CFG_FILE}' failed - detected modified configuration - file changed by other user? Try again.`,
        { file: DATASTORE_CFG_FILE, expectedDigest, digest: cfg.digest },
      )
    }
    const result = await mutate(cfg)
    await saveDatastoreConfig(etcDir, cfg)
    return result
  })
}

/**
 * The datastore called `name`.
 * @throws NotFoundError "datastore 'x' does not exist"
 */
export function getDatastore(cfg: DatastoreConfig, name: string): DatastoreConfigEntry {
  const entry = cfg.datastores.get(name)
  if (entry === undefined) throw new NotFoundError(`datastore '${name}' does not exist`, { datastore: name })
  return entry
}

/**
 * Adds a validated entry (appended on write).
 * @throws ValidationError, AlreadyExistsError (same name), ConflictError (same path as another store)
 */
export function addDatastore(cfg: DatastoreConfig, entry: DatastoreConfigEntry): void {
  validateDatastoreEntry(entry)
  if (cfg.datastores.has(entry.name)) {
    throw new AlreadyExistsError(`datastore '${entry.name}' already exists`, { datastore: entry.name })
  }
  if (entry.backingDevice === undefined) {
    if (entry.path === '/')
      throw new ValidationError('path', entry.path, 'cannot create datastore in root path')
    for (const other of cfg.datastores.values()) {
      if (other.backingDevice !== undefined) continue
      if (other.path === entry.path) {
        throw new ConflictError(
          `creating datastore '${entry.name}' failed - path '${entry.path}' is already used by datastore '${other.name}'`,
          { datastore: entry.name, path: entry.path, usedBy: other.name },
        )
      }
      // One datastore inside another would see the other's chunks and snapshots as its own (PBS refuses too).
      if (isInside(entry.path, other.path) || isInside(other.path, entry.path)) {
        throw new ValidationError(
          'path',
          entry.path,
          `nested datastores not allowed: '${other.name}' already in "${other.path}"`,
        )
      }
    }
  }
  cfg.datastores.set(entry.name, entry)
}

/** True when `path` lies below `dir` (both absolute, normalised). */
function isInside(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith('/') ? dir : `${dir}/`)
}

/**
 * Removes the datastore called `name` from the config and returns its entry.
 * @throws NotFoundError
 */
export function removeDatastore(cfg: DatastoreConfig, name: string): DatastoreConfigEntry {
  const entry = getDatastore(cfg, name)
  cfg.datastores.delete(name)
  return entry
}

/**
 * Checks every typed field of an entry (name, path, comment, backend, tuning, maintenance mode).
 * @throws ValidationError naming the field and the rule.
 */
export function validateDatastoreEntry(entry: DatastoreConfigEntry): void {
  parseDatastoreName(entry.name, 'datastore name')
  if (entry.path === '') throw new ValidationError('path', entry.path, 'must not be empty')
  if (CONTROL.test(entry.path))
    throw new ValidationError('path', entry.path, 'must not contain control characters')
  if (entry.backingDevice === undefined && !entry.path.startsWith('/')) {
    throw new ValidationError('path', entry.path, 'must be absolute (unless backing-device is set)')
  }
  if (
    entry.backingDevice !== undefined &&
    (entry.backingDevice === '' || /\s/.test(entry.backingDevice) || CONTROL.test(entry.backingDevice))
  ) {
    throw new ValidationError('backing-device', entry.backingDevice, 'must be a filesystem UUID')
  }
  if (entry.comment !== undefined && CONTROL.test(entry.comment)) {
    throw new ValidationError('comment', entry.comment, 'must be a single line without control characters')
  }
  validateBackend(entry.backend)
  validateTuning(entry.tuning)
  if (entry.maintenanceMode !== undefined) validateMaintenanceMode(entry.maintenanceMode)
}

/**
 * Parses a `tuning` property string; unknown keys are accepted (and kept by the raw section).
 * @throws ValidationError naming the key (`tuning.<key>`) and the rule.
 */
export function parseTuning(text: string): DatastoreTuning {
  const tuning: DatastoreTuning = {}
  for (const [key, value] of parsePropertyString(text, undefined, 'tuning')) {
    if (isTuningKey(key)) setTuning(tuning, key, value)
  }
  return tuning
}

/**
 * Checks typed tuning values against the PBS schema.
 * @throws ValidationError naming the key (`tuning.<key>`) and the rule.
 */
export function validateTuning(tuning: DatastoreTuning): void {
  for (const key of TUNING_KEYS) {
    const value = tuning[key]
    if (value === undefined) continue
    const expected = key === 'gc-atime-safety-check' ? 'boolean' : key.startsWith('gc-') ? 'number' : 'string'
    if (typeof value !== expected) throw new ValidationError(`tuning.${key}`, value, `must be a ${expected}`)
    parseTuningValue(key, String(value))
  }
}

/**
 * Parses a `backend` property string (default key `type`; absent type means filesystem).
 * @throws ValidationError
 */
export function parseBackend(text: string): DatastoreBackendConfig {
  const props = parsePropertyString(text, 'type', 'backend')
  const type = props.get('type') ?? 'filesystem'
  if (type !== 'filesystem' && type !== 's3')
    throw new ValidationError('backend.type', type, "must be 'filesystem' or 's3'")
  const backend: DatastoreBackendConfig = { type }
  for (const key of ['client', 'bucket', 'max-cache-size'] as const) {
    const value = props.get(key)
    if (value !== undefined) backend[key] = value
  }
  validateBackend(backend)
  return backend
}

/**
 * Checks a backend: s3 needs a client (SAFE_ID) and a bucket (S3 bucket name rules).
 * @throws ValidationError
 */
export function validateBackend(backend: DatastoreBackendConfig): void {
  if (backend.type !== 'filesystem' && backend.type !== 's3') {
    throw new ValidationError('backend.type', backend.type, "must be 'filesystem' or 's3'")
  }
  if (backend.type === 'filesystem') {
    for (const key of ['client', 'bucket', 'max-cache-size'] as const) {
      if (backend[key] !== undefined)
        throw new ValidationError(`backend.${key}`, backend[key], 'is only allowed with type=s3')
    }
    return
  }
  const { client, bucket } = backend
  if (client === undefined) throw new ValidationError('backend.client', client, 'is required with type=s3')
  parseSafeId(client, 'backend.client')
  if (bucket === undefined) throw new ValidationError('backend.bucket', bucket, 'is required with type=s3')
  if (bucket.length < 3 || bucket.length > 63 || !BUCKET_RE.test(bucket)) {
    throw new ValidationError(
      'backend.bucket',
      bucket,
      "must be 3 to 63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit",
    )
  }
  const size = backend['max-cache-size']
  if (size !== undefined && !/^\d+(?:\.\d+)?\s*(?:[KMGTP]i?)?B?$/i.test(size)) {
    throw new ValidationError(
      'backend.max-cache-size',
      size,
      "must be a size such as '1073741824' or '64GiB'",
    )
  }
}

/**
 * Parses a `maintenance-mode` property string (`type=…[,message=…]`, bare type accepted).
 * @throws ValidationError
 */
export function parseMaintenanceMode(text: string): MaintenanceMode {
  const props = parsePropertyString(text, 'type', 'maintenance-mode')
  const type = props.get('type')
  const mode = { type } as MaintenanceMode
  const message = props.get('message')
  if (message !== undefined) mode.message = message
  validateMaintenanceMode(mode)
  return mode
}

/** The `maintenance-mode` property string of a mode, as datastore.cfg holds it: `type=…[,message=…]`. */
export function formatMaintenanceMode(mode: MaintenanceMode): string {
  return formatPropertyString({ type: mode.type, message: mode.message }, undefined, 'maintenance-mode')
}

/**
 * Checks a maintenance mode.
 * @throws ValidationError
 */
export function validateMaintenanceMode(mode: MaintenanceMode): void {
  if (!MAINTENANCE_TYPES.includes(mode.type)) {
    throw new ValidationError(
      'maintenance-mode.type',
      mode.type,
      `must be one of ${MAINTENANCE_TYPES.join(', ')}`,
    )
  }
  if (mode.message !== undefined && CONTROL.test(mode.message.replace(/\n/g, ''))) {
    throw new ValidationError('maintenance-mode.message', mode.message, 'must not contain control characters')
  }
}

type TuningKey = (typeof TUNING_KEYS)[number]

function isTuningKey(key: string): key is TuningKey {
  return (TUNING_KEYS as readonly string[]).includes(key)
}

/** Typed value of one tuning key from its text; the single source of the tuning rules. */
function parseTuningValue(key: TuningKey, value: string): string | number | boolean {
  const input = `tuning.${key}`
  switch (key) {
    case 'chunk-order':
      if (value !== 'none' && value !== 'inode')
        throw new ValidationError(input, value, "must be 'none' or 'inode'")
      return value
    case 'sync-level':
      if (value !== 'none' && value !== 'file' && value !== 'filesystem') {
        throw new ValidationError(input, value, "must be 'none', 'file' or 'filesystem'")
      }
      return value
    case 'gc-atime-safety-check': {
      const lower = value.toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true
      if (['0', 'false', 'no', 'off'].includes(lower)) return false
      throw new ValidationError(input, value, 'must be a boolean (true/false, 1/0, yes/no, on/off)')
    }
    case 'gc-atime-cutoff':
      return parseIntegerIn(input, value, 1, 2880)
    case 'gc-cache-capacity':
      return parseIntegerIn(input, value, 0, 8388608)
  }
}

function parseIntegerIn(input: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ValidationError(input, value, `must be an integer between ${min} and ${max}`)
  }
  return n
}

function setTuning(tuning: DatastoreTuning, key: TuningKey, value: string): void {
  // The switch in parseTuningValue guarantees the value matches the key's type.
  ;(tuning as Record<TuningKey, unknown>)[key] = parseTuningValue(key, value)
}

/** Same typed value? Lets an unchanged `1` stay `1` instead of becoming `true`. */
function sameTuningValue(key: string, a: string, b: string): boolean {
  if (a === b) return true
  if (!isTuningKey(key)) return false
  try {
    return parseTuningValue(key, a) === parseTuningValue(key, b)
  } catch {
    return false
  }
}

function entryFromSection(section: SectionConfigSection): DatastoreConfigEntry {
  const props = section.properties
  const name = parseDatastoreName(section.id, 'datastore name')
  const path = props.get('path')
  if (path === undefined) throw new ValidationError('path', path, 'is required')
  const entry: DatastoreConfigEntry = {
    name,
    path,
    backend: parseBackend(props.get('backend') ?? ''),
    tuning: parseTuning(props.get('tuning') ?? ''),
    raw: section,
  }
  const comment = props.get('comment')
  if (comment !== undefined) entry.comment = comment
  const device = props.get('backing-device')
  if (device !== undefined) entry.backingDevice = device
  const mode = props.get('maintenance-mode')
  if (mode !== undefined) entry.maintenanceMode = parseMaintenanceMode(mode)
  validateDatastoreEntry(entry)
  return entry
}

function entryToSection(entry: DatastoreConfigEntry): SectionConfigSection {
  validateDatastoreEntry(entry)
  const raw = entry.raw?.properties
  const backend = new Map<string, string>()
  for (const key of BACKEND_KEYS) {
    const value = entry.backend[key]
    if (value !== undefined) backend.set(key, value)
  }
  const tuning = new Map<string, string>()
  for (const key of TUNING_KEYS) {
    const value = entry.tuning[key]
    if (value !== undefined) tuning.set(key, String(value))
  }
  const mode = new Map<string, string>()
  if (entry.maintenanceMode !== undefined) {
    mode.set('type', entry.maintenanceMode.type)
    if (entry.maintenanceMode.message !== undefined) mode.set('message', entry.maintenanceMode.message)
  }

  const rawBackend = raw?.get('backend')
  const defaultBackend = backend.size === 1 && backend.get('type') === 'filesystem'
  const wanted: [string, string | undefined][] = [
    ['path', entry.path],
    ['comment', entry.comment],
    ['backing-device', entry.backingDevice],
    [
      'backend',
      rawBackend === undefined && defaultBackend
        ? undefined
        : mergePropertyString(rawBackend, 'type', 'backend', BACKEND_KEYS, backend, (_k, a, b) => a === b),
    ],
    [
      'tuning',
      mergePropertyString(raw?.get('tuning'), undefined, 'tuning', TUNING_KEYS, tuning, sameTuningValue),
    ],
    [
      'maintenance-mode',
      entry.maintenanceMode === undefined
        ? undefined
        : mergePropertyString(
            raw?.get('maintenance-mode'),
            'type',
            'maintenance-mode',
            MAINTENANCE_KEYS,
            mode,
            (_k, a, b) => a === b,
          ),
    ],
  ]
  const properties = new Map(raw ?? [])
  for (const [key, value] of wanted) {
    if (value === undefined) properties.delete(key)
    else setInOrder(properties, key, value)
  }
  const section: SectionConfigSection = { type: DATASTORE_SECTION_TYPE, id: entry.name, properties }
  if (entry.raw?.preamble !== undefined) section.preamble = entry.raw.preamble
  return section
}

/**
 * The property string for `known` keys set to `typed`, keeping unknown keys of `rawText` in
 * place; `rawText` itself when the meaning is unchanged; undefined when nothing is left.
 */
function mergePropertyString(
  rawText: string | undefined,
  defaultKey: string | undefined,
  input: string,
  known: readonly string[],
  typed: PropertyMap,
  same: (key: string, rawValue: string, value: string) => boolean,
): string | undefined {
  const rawMap =
    rawText === undefined ? new Map<string, string>() : parsePropertyString(rawText, defaultKey, input)
  const merged: PropertyMap = new Map()
  for (const [key, value] of rawMap) {
    if (!known.includes(key)) merged.set(key, value)
    else {
      const wanted = typed.get(key)
      if (wanted !== undefined) merged.set(key, same(key, value, wanted) ? value : wanted)
    }
  }
  for (const [key, value] of typed) if (!merged.has(key)) merged.set(key, value)
  if (merged.size === 0) return undefined
  if (rawText !== undefined && mapsEqual(rawMap, merged)) return rawText
  // Explicit `type=` even where PBS has a default key: every PBS version reads that form.
  return formatPropertyString(merged, undefined, input)
}

function mapsEqual(a: PropertyMap, b: PropertyMap): boolean {
  if (a.size !== b.size) return false
  const bEntries = [...b]
  return [...a].every(([k, v], i) => bEntries[i]?.[0] === k && bEntries[i]?.[1] === v)
}

/** Sets `key`, keeping its place if present, else before the first key that sorts after it (PBS writes keys sorted). */
function setInOrder(props: Map<string, string>, key: string, value: string): void {
  if (props.has(key)) {
    props.set(key, value)
    return
  }
  const entries = [...props]
  const at = entries.findIndex(([k]) => k > key)
  if (at < 0) {
    props.set(key, value)
    return
  }
  entries.splice(at, 0, [key, value])
  props.clear()
  for (const [k, v] of entries) props.set(k, v)
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
