/**
 * Reading and atomically replacing config files (datastore.cfg, s3.cfg …).
 *
 * A reader never sees a half-written file: the new content goes to `<path>.tmp_<random>` in the
 * same directory, is fsynced, renamed over the old file, and the directory is fsynced so the
 * rename itself survives a crash. Serialising writers is the caller's job: read-modify-write
 * sequences run under a ConfigLock (the lock layer's exclusive lock on the `.lck` file).
 */
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StorageError, errorMessage } from '../errors.js'

/**
 * Runs `fn` while holding the config's exclusive lock. Injected so this layer stays independent
 * of src/lock; wire it as `(fn) => withLock(lockPath, { mode: 'exclusive', timeoutMs, what }, fn)`.
 */
export type ConfigLock = <T>(fn: () => Promise<T>) => Promise<T>

/**
 * Reads a config file as UTF-8; a missing file reads as '' (PBS treats it as an empty config).
 * @throws StorageError for any other read failure.
 */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw new StorageError(
      `reading config file '${path}' failed - ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
}

/**
 * Replaces `path` with `text` atomically (temp file in the same dir, fsync, rename, fsync dir).
 * The file gets exactly `mode` (default 0640), regardless of the umask.
 * @throws StorageError; no temp file is left behind on failure.
 */
export async function writeConfigFileAtomic(path: string, text: string, mode = 0o640): Promise<void> {
  const tmp = `${path}.tmp_${randomBytes(8).toString('hex')}`
  let created = false
  try {
    const fh = await open(tmp, 'wx', mode)
    created = true
    try {
      await fh.chmod(mode)
      await fh.writeFile(text, 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    created = false
    await syncDir(dirname(path))
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined)
    throw new StorageError(
      `writing config file '${path}' failed - ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
}

/** fsync a directory so a rename in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
