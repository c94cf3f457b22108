import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'

/** How hard a write is pushed to disk (datastore tuning `sync-level`). */
export type SyncLevel = 'none' | 'file' | 'filesystem'

/** Options of replaceFile. */
export interface ReplaceFileOptions {
  /** File mode of the new file (default 0o644, as PBS). */
  mode?: number
  /** 'file' fsyncs the file and its directory; the others leave it to the caller / kernel. */
  sync?: SyncLevel
  /** Only create: fail with EEXIST instead of replacing (done with link(2), still atomic). */
  exclusive?: boolean
}

/**
 * PBS's temporary name for a target: the extension replaced by `.tmp_XXXXXX`
 * (`index.json.blob` → `index.json.tmp_ab12CD`). GC's chunk-name filters never match it.
 */
export function tmpNameFor(path: string): string {
  const ext = extname(path)
  const stem = ext === '' ? basename(path) : basename(path, ext)
  const suffix = randomBytes(6).toString('base64url').slice(0, 6)
  return join(dirname(path), `${stem}.tmp_${suffix}`)
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, then rename.
 * Readers see the old or the new content, never a mix; a crash leaves at most a `.tmp_` file.
 */
export async function replaceFile(
  path: string,
  data: Uint8Array | string,
  options: ReplaceFileOptions = {},
): Promise<void> {
  const tmp = tmpNameFor(path)
  const fh = await open(tmp, 'wx', options.mode ?? 0o644)
  try {
    try {
      await fh.writeFile(data)
      if (options.mode !== undefined) await fh.chmod(options.mode) // umask must not narrow it
      if (options.sync === 'file') await fh.sync()
    } finally {
      await fh.close()
    }
    if (options.exclusive) {
      await link(tmp, path)
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined)
    throw e
  }
  if (options.sync === 'file') await fsyncDir(dirname(path))
}

/** fsyncs a directory so a rename or create in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
