/**
 * The move journal (spec/move.md §2.6): before a snapshot directory is renamed, the absolute paths
 * its index files will have at the target are appended to `<lock-dir>/<store>/move-journal` under
 * an exclusive flock. GC drains it at the end of its mark phase, so a chunk referenced by an
 * index that moved behind GC's back is still marked. Invariant: if the new path exists, a journal
 * line for it exists. Lines for renames that never happened (crash) are harmless ghosts.
 */
import { appendFile } from 'node:fs/promises'

import { ValidationError } from '../../errors.js'
import { MOVE_JOURNAL_LOCK_TIMEOUT_MS, moveJournalPath, withLock } from '../../lock/index.js'
import type { Datastore } from '../datastore.js'

/** Path of the store's journal (it is also its own lock file, as in PBS). */
export function journalPathOf(store: Datastore): string {
  return moveJournalPath(store.lockDir, store.name)
}

/**
 * Appends index paths (one per line) under the journal lock; one write for the whole batch.
 * @throws LockBusyError after 10 s, ValidationError for a path with a newline.
 */
export async function appendMoveJournal(store: Datastore, indexPaths: readonly string[]): Promise<void> {
  if (indexPaths.length === 0) return
  for (const p of indexPaths)
    if (p.includes('\n') || p.includes('\0'))
      throw new ValidationError('index path', p, 'must not contain newlines or NUL bytes')
  const path = journalPathOf(store)
  await withLock(
    path,
    {
      mode: 'exclusive',
      timeoutMs: MOVE_JOURNAL_LOCK_TIMEOUT_MS,
      what: `move journal of store '${store.name}'`,
    },
    () => appendFile(path, indexPaths.map((p) => `${p}\n`).join('')),
  )
}
