import { ValidationError } from '../errors.js'
import { SAFE_ID_REGEX, SAFE_ID_RULE } from './safe-id.js'

/** How an archive is stored: dynamic index, fixed index, or blob. */
export type ArchiveType = 'didx' | 'fidx' | 'blob'

/** The manifest's file name. */
export const MANIFEST_BLOB_NAME = 'index.json.blob'
/** The client log's file name (not listed in the manifest). */
export const CLIENT_LOG_BLOB_NAME = 'client.log.blob'

const SUFFIX_BY_EXTENSION: Record<string, ArchiveType> = {
  pxar: 'didx',
  mpxar: 'didx',
  ppxar: 'didx',
  pcat1: 'didx',
  img: 'fidx',
  conf: 'blob',
  json: 'blob',
  key: 'blob',
  log: 'blob',
}

/**
 * Normalises an archive name as PBS does: names ending in .didx/.fidx/.blob stay; otherwise the
 * stored suffix is appended from the extension (.img → .img.fidx, .conf → .conf.blob, …).
 * @throws ValidationError for unsafe names, unknown extensions and reserved names.
 */
export function normalizeArchiveName(value: unknown, input = 'archive name'): string {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  if (!SAFE_ID_REGEX.test(value)) throw new ValidationError(input, value, SAFE_ID_RULE)
  let name = value
  if (!/\.(didx|fidx|blob)$/.test(value)) {
    const ext = /\.([^.]+)$/.exec(value)?.[1]
    const suffix = ext === undefined ? undefined : SUFFIX_BY_EXTENSION[ext]
    if (suffix === undefined)
      throw new ValidationError(
        input,
        value,
        'unknown extension - use .img, .pxar, .mpxar, .ppxar, .pcat1, .conf, .json, .key or .log',
      )
    name = `${value}.${suffix}`
  }
  if (name === MANIFEST_BLOB_NAME || name === CLIENT_LOG_BLOB_NAME)
    throw new ValidationError(input, value, `'${name}' is reserved for the snapshot's own files`)
  return name
}

/** The stored type of a (normalised) archive name, from its final extension. */
export function archiveType(name: string): ArchiveType {
  const ext = /\.(didx|fidx|blob)$/.exec(name)?.[1]
  if (ext === undefined) throw new ValidationError('archive name', name, 'must end in .didx, .fidx or .blob')
  return ext as ArchiveType
}
