/**
 * Snapshot manifest `index.json.blob` (`pbs-datastore/src/manifest.rs`).
 *
 * Stored as a compressed, never encrypted DataBlob holding pretty JSON with kebab-case keys.
 * The signature is HMAC-SHA256(id_key, canonical JSON of the manifest without `unprotected` and
 * `signature`), so everything under `unprotected` (verify state, notes, upload stats, key
 * fingerprint) can change without re-signing. Unknown top-level keys are dropped, as PBS does.
 */
import { CorruptionError, CryptoError, NotFoundError } from '../errors.js'
import { canonicalJson, prettyJson } from './canonical-json.js'
import type { CryptConfig } from './crypt-config.js'
import { formatFingerprint, parseFingerprint } from './crypt-config.js'
import { blobIsEncrypted, decodeBlob, encodeBlob } from './data-blob.js'

/** File name of the manifest inside a snapshot directory. */
export const MANIFEST_BLOB_NAME = 'index.json.blob'
/** Lock file name next to the manifest (`MANIFEST_LOCK_NAME`). */
export const MANIFEST_LOCK_NAME = '.index.json.lck'

/** How a file in a snapshot is protected. */
export type CryptMode = 'none' | 'encrypt' | 'sign-only'
/** Backup types as they appear in JSON. */
export type BackupType = 'vm' | 'ct' | 'host'

/** One archive of a snapshot. */
export interface ManifestFile {
  /** Archive name including `.fidx`, `.didx` or `.blob`. */
  filename: string
  /** Defaults to `none` when missing (backups before 0.8.0). */
  'crypt-mode': CryptMode
  /** Index: content bytes; blob: raw file length. */
  size: number
  /** 64 lowercase hex: index_csum for indexes, SHA256 of the raw file for blobs. */
  csum: string
}

/** The manifest as PBS serialises it (keys exactly as on disk). */
export interface BackupManifest {
  /** Backup type. */
  'backup-type': BackupType
  /** Backup id. */
  'backup-id': string
  /** Snapshot time, epoch seconds. */
  'backup-time': number
  /** Archives in upload order. */
  files: ManifestFile[]
  /** Not covered by the signature. */
  unprotected: Record<string, unknown>
  /** 64 hex HMAC or null when not signed. */
  signature: string | null
}

/** `unprotected.verify_state` (`SnapshotVerifyState`). */
export interface SnapshotVerifyState {
  /** UPID of the verify task. */
  upid: string
  /** Result of the last verification. */
  state: 'ok' | 'failed'
}

/** `unprotected.chunk_upload_stats`, written at backup finish (snake_case on disk). */
export interface ChunkUploadStats {
  count: number
  size: number
  compressed_size: number
  duplicates: number
}

/** Outcome of {@link verifyManifestSignature} when it does not throw. */
export type ManifestSignatureStatus = 'unsigned' | 'verified' | 'not-checked'

const BACKUP_TYPES: readonly string[] = ['vm', 'ct', 'host']
const CRYPT_MODES: readonly string[] = ['none', 'encrypt', 'sign-only']
const HEX64 = /^[0-9a-fA-F]{64}$/

/** A new, empty, unsigned manifest. */
export function newManifest(backupType: BackupType, backupId: string, backupTime: number): BackupManifest {
  return {
    'backup-type': backupType,
    'backup-id': backupId,
    'backup-time': backupTime,
    files: [],
    unprotected: {},
    signature: null,
  }
}

/**
 * Parses manifest JSON (defaults: crypt-mode `none`, unprotected `{}`, signature null).
 * @throws CorruptionError naming the offending field.
 */
export function parseManifestJson(text: string): BackupManifest {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new CorruptionError(
      `unable to parse backup manifest json - ${(e as Error).message}`,
      {},
      { cause: e },
    )
  }
  const m = asObject(json, 'manifest')
  const backupType = m['backup-type']
  if (typeof backupType !== 'string' || !BACKUP_TYPES.includes(backupType)) {
    throw bad('backup-type', backupType)
  }
  const backupId = m['backup-id']
  if (typeof backupId !== 'string') throw bad('backup-id', backupId)
  const backupTime = m['backup-time']
  if (!Number.isSafeInteger(backupTime)) throw bad('backup-time', backupTime)
  if (!Array.isArray(m.files)) throw bad('files', m.files)
  const files = m.files.map((f: unknown, i) => parseFile(f, i))
  let unprotected: Record<string, unknown> = {}
  if (m.unprotected !== undefined && m.unprotected !== null)
    unprotected = asObject(m.unprotected, 'unprotected')
  const signature = m.signature ?? null
  if (signature !== null && typeof signature !== 'string') throw bad('signature', signature)
  return {
    'backup-type': backupType as BackupType,
    'backup-id': backupId,
    'backup-time': backupTime as number,
    files,
    unprotected,
    signature,
  }
}

/** Pretty JSON exactly as PBS stores it: keys sorted at every level, 2-space indent. */
export function serializeManifest(m: BackupManifest): string {
  return prettyJson(toJsonValue(m))
}

/**
 * HMAC-SHA256 signature (hex) over the canonical JSON of the signed part.
 * @throws ValidationError when the signed part contains null or non-integer numbers.
 */
export function signManifest(m: BackupManifest, crypt: CryptConfig): string {
  return crypt.computeAuthTag(canonicalJson(signedPart(m))).toString('hex')
}

/** A copy with signature and `unprotected.key-fingerprint` set, as PBS writes signed manifests. */
export function withSignature(m: BackupManifest, crypt: CryptConfig): BackupManifest {
  return {
    ...m,
    unprotected: { ...m.unprotected, 'key-fingerprint': crypt.fingerprintString() },
    signature: signManifest(m, crypt),
  }
}

/**
 * Verifies the signature (`check_signature`): an unsigned manifest is accepted with any key or
 * none; a signed one is checked when a key is given ('not-checked' without key).
 * @throws CryptoError when key-fingerprint names another key or the signature does not match.
 */
export function verifyManifestSignature(m: BackupManifest, crypt?: CryptConfig): ManifestSignatureStatus {
  if (m.signature === null) return 'unsigned'
  if (crypt === undefined) return 'not-checked'
  const stored = manifestKeyFingerprint(m)
  if (stored !== undefined && stored !== crypt.fingerprintString()) {
    throw new CryptoError(
      `wrong key - unable to verify signature since manifest's key ${shortFp(stored)} does not match provided key ${crypt.shortFingerprint()}`,
      { manifestKey: stored, providedKey: crypt.fingerprintString() },
    )
  }
  // Exact string comparison, as PBS does (it always writes lowercase hex).
  if (m.signature !== signManifest(m, crypt)) {
    throw new CryptoError('wrong signature in manifest', { snapshot: snapshotName(m) })
  }
  return 'verified'
}

/**
 * Checks the manifest's key-fingerprint against a key (`check_fingerprint`); manifests without
 * one pass with any key or none.
 * @throws CryptoError for a missing or different key.
 */
export function checkManifestFingerprint(m: BackupManifest, crypt?: CryptConfig): void {
  const stored = manifestKeyFingerprint(m)
  if (stored === undefined) return
  if (crypt === undefined) {
    throw new CryptoError(`missing key - manifest was created with key ${shortFp(stored)}`, {
      manifestKey: stored,
    })
  }
  if (stored !== crypt.fingerprintString()) {
    throw new CryptoError(
      `wrong key - manifest's key ${shortFp(stored)} does not match provided key ${crypt.shortFingerprint()}`,
      { manifestKey: stored, providedKey: crypt.fingerprintString() },
    )
  }
}

/** `unprotected.key-fingerprint` normalised to lowercase `xx:…`, or undefined. @throws CorruptionError if malformed. */
export function manifestKeyFingerprint(m: BackupManifest): string | undefined {
  const value = m.unprotected['key-fingerprint']
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw bad('unprotected.key-fingerprint', value)
  try {
    return formatFingerprint(parseFingerprint(value))
  } catch (e) {
    throw new CorruptionError(
      `invalid backup manifest - malformed unprotected.key-fingerprint`,
      { value },
      { cause: e },
    )
  }
}

/** The entry for `filename`. @throws NotFoundError when the manifest does not list it. */
export function lookupManifestFile(m: BackupManifest, filename: string): ManifestFile {
  const file = m.files.find((f) => f.filename === filename)
  if (file === undefined)
    throw new NotFoundError(`manifest does not contain file '${filename}'`, { filename })
  return file
}

/** `unprotected.verify_state`, or undefined if never verified. @throws CorruptionError if malformed. */
export function getVerifyState(m: BackupManifest): SnapshotVerifyState | undefined {
  const v = m.unprotected.verify_state
  if (v === undefined || v === null) return undefined
  const o = asObject(v, 'unprotected.verify_state')
  if (typeof o.upid !== 'string' || (o.state !== 'ok' && o.state !== 'failed'))
    throw bad('unprotected.verify_state', v)
  return { upid: o.upid, state: o.state }
}

/** A copy with `unprotected.verify_state` set. */
export function setVerifyState(m: BackupManifest, state: SnapshotVerifyState): BackupManifest {
  return { ...m, unprotected: { ...m.unprotected, verify_state: { upid: state.upid, state: state.state } } }
}

/** `unprotected.chunk_upload_stats`, or undefined. @throws CorruptionError if malformed. */
export function getChunkUploadStats(m: BackupManifest): ChunkUploadStats | undefined {
  const v = m.unprotected.chunk_upload_stats
  if (v === undefined || v === null) return undefined
  const o = asObject(v, 'unprotected.chunk_upload_stats')
  const fields = ['count', 'size', 'compressed_size', 'duplicates'] as const
  for (const f of fields)
    if (!Number.isSafeInteger(o[f])) throw bad(`unprotected.chunk_upload_stats.${f}`, o[f])
  return {
    count: o.count as number,
    size: o.size as number,
    compressed_size: o.compressed_size as number,
    duplicates: o.duplicates as number,
  }
}

/** A copy with `unprotected.chunk_upload_stats` set. */
export function setChunkUploadStats(m: BackupManifest, stats: ChunkUploadStats): BackupManifest {
  const { count, size, compressed_size, duplicates } = stats
  return {
    ...m,
    unprotected: { ...m.unprotected, chunk_upload_stats: { count, size, compressed_size, duplicates } },
  }
}

/** Snapshot notes (`unprotected.notes`), or undefined. */
export function getManifestNotes(m: BackupManifest): string | undefined {
  const v = m.unprotected.notes
  return typeof v === 'string' ? v : undefined
}

/** A copy with `unprotected.notes` set. */
export function setManifestNotes(m: BackupManifest, notes: string): BackupManifest {
  return { ...m, unprotected: { ...m.unprotected, notes } }
}

/** The DataBlob bytes of a manifest: compressed, never encrypted. */
export function encodeManifestBlob(m: BackupManifest): Buffer {
  return encodeBlob(Buffer.from(serializeManifest(m), 'utf8'), { compress: true })
}

/**
 * Decodes `index.json.blob` bytes (CRC checked).
 * @throws CorruptionError for a bad blob, an encrypted blob, invalid UTF-8 or invalid JSON/shape.
 */
export function decodeManifestBlob(raw: Uint8Array): BackupManifest {
  let text: string
  try {
    if (blobIsEncrypted(raw)) throw new CorruptionError('manifest blob must not be encrypted')
    text = new TextDecoder('utf-8', { fatal: true }).decode(decodeBlob(raw))
  } catch (e) {
    const data = e instanceof CorruptionError ? e.data : {}
    throw new CorruptionError(`decode backup manifest blob failed - ${(e as Error).message}`, data, {
      cause: e,
    })
  }
  return parseManifestJson(text)
}

/** The signed part in serde's shape: everything except unprotected and signature. */
function signedPart(m: BackupManifest): Record<string, unknown> {
  const { unprotected: _u, signature: _s, ...rest } = toJsonValue(m)
  return rest
}

/** The serde_json Value of a manifest (known fields only, csum lowercase). */
function toJsonValue(m: BackupManifest): Record<string, unknown> {
  return {
    'backup-type': m['backup-type'],
    'backup-id': m['backup-id'],
    'backup-time': m['backup-time'],
    files: m.files.map((f) => ({
      filename: f.filename,
      'crypt-mode': f['crypt-mode'],
      size: f.size,
      csum: f.csum.toLowerCase(),
    })),
    unprotected: m.unprotected,
    signature: m.signature,
  }
}

/** Parses one `files[i]` entry. */
function parseFile(value: unknown, i: number): ManifestFile {
  const f = asObject(value, `files[${i}]`)
  if (typeof f.filename !== 'string') throw bad(`files[${i}].filename`, f.filename)
  const cryptMode = f['crypt-mode'] ?? 'none'
  if (typeof cryptMode !== 'string' || !CRYPT_MODES.includes(cryptMode))
    throw bad(`files[${i}].crypt-mode`, cryptMode)
  if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) throw bad(`files[${i}].size`, f.size)
  if (typeof f.csum !== 'string' || !HEX64.test(f.csum)) throw bad(`files[${i}].csum`, f.csum)
  return {
    filename: f.filename,
    'crypt-mode': cryptMode as CryptMode,
    size: f.size as number,
    csum: f.csum.toLowerCase(),
  }
}

/** Narrows to a plain JSON object. */
function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(what, value)
  return value as Record<string, unknown>
}

/** CorruptionError for an invalid field. */
function bad(field: string, value: unknown): CorruptionError {
  const shown = JSON.stringify(value) ?? String(value)
  return new CorruptionError(
    `invalid backup manifest - bad '${field}' (${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown})`,
    { field },
  )
}

/** First 8 bytes of a full fingerprint, as PBS displays it. */
function shortFp(full: string): string {
  return full.slice(0, 23)
}

/** `type/id/time` for messages. */
function snapshotName(m: BackupManifest): string {
  return `${m['backup-type']}/${m['backup-id']}/${m['backup-time']}`
}
