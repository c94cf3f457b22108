/**
 * Phase 1, step 1 (PBS `list_index_files`): every `.fidx`/`.didx` below the base, found by a plain
 * directory walk, so indexes outside the namespace/group/snapshot scheme are still marked.
 */
import type { Dirent } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

import { StorageError, errorMessage } from '../../errors.js'
import { isErrno } from '../fs-util.js'

/** True for a file name GC treats as an index (`.fidx` or `.didx`). */
export function isIndexFileName(name: string): boolean {
  return name.endsWith('.fidx') || name.endsWith('.didx')
}

/**
 * Absolute paths of all index files under `base`. Symlinks are not followed and dot entries (this
 * covers `.chunks`) are skipped. Vanished directories are ignored; EPERM is fatal except on
 * `lost+found` near the top, because an unreadable directory could hide referenced chunks.
 * @throws StorageError when a directory cannot be read.
 */
export async function listIndexFiles(base: string): Promise<Set<string>> {
  const out = new Set<string>()
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return
      if (isErrno(e, 'EPERM', 'EACCES') && depth <= 1 && dir.endsWith('/lost+found')) return
      throw new StorageError(
        `listing index files in '${dir}' failed - ${errorMessage(e)}`,
        { path: dir },
        { cause: e },
      )
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const path = join(dir, e.name)
      if (e.isDirectory()) await walk(path, depth + 1)
      else if (e.isFile() && isIndexFileName(e.name)) out.add(path)
    }
  }
  await walk(base, 0)
  return out
}
