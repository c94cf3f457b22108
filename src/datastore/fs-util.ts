import { readdir, rm, rmdir, stat } from 'node:fs/promises'

/** True when the error is one of the given errno codes. */
export function isErrno(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '')
}

/** True when `path` exists and is a directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return false
    throw e
  }
}

/** True when `path` is a regular file (false when it or a parent is missing). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return false
    throw e
  }
}

/** Names of the subdirectories of `dir` (none when it does not exist), sorted. */
export async function listSubdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return []
    throw e
  }
}

/** Removes an empty directory; returns false when it is missing or not empty. */
export async function removeEmptyDir(dir: string): Promise<boolean> {
  try {
    await rmdir(dir)
    return true
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) return false
    throw e
  }
}

/** Removes a file if it exists. */
export async function removeFileIfExists(path: string): Promise<void> {
  await rm(path, { force: true })
}
