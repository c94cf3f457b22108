/**
 * S3 object key layout of a datastore (spec §8.1), relative to the store prefix.
 *
 * Every key here is *relative*: S3Store prepends `<store>/`. Prefix helpers always end in '/',
 * because S3 prefix matching is plain string matching: PBS deletes group `vm/100` by the prefix
 * `.cnt/vm/100`, which also matches `.cnt/vm/1000/…` (spec §8.4). Pure module, no I/O.
 */
import type { BackupDirRef, BackupGroupRef, BackupNamespace } from '../../api-types/index.js'
import { ValidationError } from '../../errors.js'

/** Top-level prefix of the content tree (`S3_CONTENT_PREFIX`). */
export const S3_CONTENT_PREFIX = '.cnt'
/** Top-level prefix of the chunk store. */
export const S3_CHUNKS_PREFIX = '.chunks'
/** Relative key of the in-use marker (body `{"hostname":"…"}`). */
export const S3_IN_USE_KEY = '.in-use'
/** File name of the namespace marker object. */
export const S3_NAMESPACE_MARKER = '.namespace'
/** File name of the protected marker object. */
export const S3_PROTECTED_MARKER = '.protected'
/** Maximum length in bytes of a relative object key (proxmox-s3-client object_key.rs). */
export const S3_MAX_RELATIVE_KEY_BYTES = 1024

const DIGEST_RE = /^[a-f0-9]{64}$/

/**
 * Checks a relative key: not empty, no leading '/', at most 1024 bytes (UTF-8), and returns it.
 * @throws ValidationError naming `input`.
 */
export function checkRelativeKey(key: string, input = 'S3 object key'): string {
  if (key === '') throw new ValidationError(input, key, 'must not be empty')
  if (key.startsWith('/')) throw new ValidationError(input, key, "must be relative (no leading '/')")
  const bytes = Buffer.byteLength(key, 'utf8')
  if (bytes > S3_MAX_RELATIVE_KEY_BYTES) {
    throw new ValidationError(
      input,
      key,
      `is ${bytes} bytes long, at most ${S3_MAX_RELATIVE_KEY_BYTES} are allowed`,
    )
  }
  return key
}

function checkDigest(digest: string): string {
  if (!DIGEST_RE.test(digest))
    throw new ValidationError('chunk digest', digest, 'must be 64 lowercase hex digits')
  return digest
}

/** `.chunks/<4hex>/<digest>` */
export function chunkKey(digest: string): string {
  checkDigest(digest)
  return `${S3_CHUNKS_PREFIX}/${digest.slice(0, 4)}/${digest}`
}

/** `.chunks/<4hex>/<digest>.<n>.bad` (n = 0..9, as verify renames corrupt chunks). */
export function badChunkKey(digest: string, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new ValidationError('bad chunk number', n, 'must be 0..9')
  return `${chunkKey(digest)}.${n}.bad`
}

/** `.chunks/` or `.chunks/<4hex>/`: listing prefix of the chunk store or of one chunk dir. */
export function chunksPrefix(prefix4?: string): string {
  if (prefix4 === undefined) return `${S3_CHUNKS_PREFIX}/`
  if (!/^[a-f0-9]{4}$/.test(prefix4))
    throw new ValidationError('chunk dir', prefix4, 'must be 4 lowercase hex digits')
  return `${S3_CHUNKS_PREFIX}/${prefix4}/`
}

/** The digest of a chunk key (`.chunks/xxxx/<digest>`), or undefined for anything else (bad chunks, markers). */
export function digestOfChunkKey(key: string): string | undefined {
  const m = /^\.chunks\/([a-f0-9]{4})\/([a-f0-9]{64})$/.exec(key)
  return m !== null && m[2]!.startsWith(m[1]!) ? m[2] : undefined
}

/** `.cnt/` + the namespace path + '/': e.g. `.cnt/` (root) or `.cnt/ns/a/ns/b/`. Covers the whole subtree. */
export function namespacePrefix(ns: BackupNamespace): string {
  return ns.isRoot ? `${S3_CONTENT_PREFIX}/` : `${S3_CONTENT_PREFIX}/${ns.path()}/`
}

/** `.cnt/<ns path>/.namespace` (the root namespace has no marker; asking for it is an error). */
export function namespaceMarkerKey(ns: BackupNamespace): string {
  if (ns.isRoot) throw new ValidationError('namespace', '', 'the root namespace has no marker object')
  return checkRelativeKey(`${namespacePrefix(ns)}${S3_NAMESPACE_MARKER}`)
}

/** `.cnt/<ns path>/<type>/<id>/`: every object of the group, and nothing of `<id>0…`. */
export function groupPrefix(ns: BackupNamespace, group: BackupGroupRef): string {
  return checkRelativeKey(`${namespacePrefix(ns)}${group.type}/${group.id}/`)
}

/** `.cnt/<ns path>/<type>/<id>/owner` */
export function groupOwnerKey(ns: BackupNamespace, group: BackupGroupRef): string {
  return checkRelativeKey(`${groupPrefix(ns, group)}owner`)
}

/** `.cnt/<ns path>/<type>/<id>/notes` */
export function groupNotesKey(ns: BackupNamespace, group: BackupGroupRef): string {
  return checkRelativeKey(`${groupPrefix(ns, group)}notes`)
}

/** `.cnt/<ns path>/<type>/<id>/<time>/` */
export function snapshotPrefix(ns: BackupNamespace, dir: BackupDirRef): string {
  return checkRelativeKey(`${groupPrefix(ns, dir)}${dir.timeString}/`)
}

/** `.cnt/<ns path>/<type>/<id>/<time>/<file>` (manifest, indexes, blobs, client.log.blob). */
export function snapshotFileKey(ns: BackupNamespace, dir: BackupDirRef, file: string): string {
  if (file === '' || file.includes('/') || file === '.' || file === '..') {
    throw new ValidationError('snapshot file name', file, "must be a plain file name without '/'")
  }
  return checkRelativeKey(`${snapshotPrefix(ns, dir)}${file}`)
}

/** `.cnt/<ns path>/<type>/<id>/<time>/.protected` */
export function protectedMarkerKey(ns: BackupNamespace, dir: BackupDirRef): string {
  return snapshotFileKey(ns, dir, S3_PROTECTED_MARKER)
}

/**
 * Re-roots a key from one prefix to another (for copies during moves): `key` must start with
 * `from`, and both prefixes must end in '/'.
 * @throws ValidationError
 */
export function rebaseKey(key: string, from: string, to: string): string {
  if (!from.endsWith('/') || !to.endsWith('/'))
    throw new ValidationError('key prefix', from.endsWith('/') ? to : from, "must end in '/'")
  if (!key.startsWith(from)) throw new ValidationError('S3 object key', key, `does not start with '${from}'`)
  return checkRelativeKey(to + key.slice(from.length))
}
