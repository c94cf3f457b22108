/**
 * End of phase 1 (spec/move.md §2.6): marks the indexes that move-group/namespace journalled before
 * renaming them, closing the race where GC visits the target namespace before and the source after
 * a move and so finds the index at neither place.
 */
import { DatastoreError, StorageError, errorMessage } from '../../errors.js'
import { MOVE_JOURNAL_LOCK_TIMEOUT_MS, withLock } from '../../lock/index.js'
import type { Datastore } from '../datastore.js'
import { journalPathOf } from '../move/move-journal.js'
import type { ChunkMarker } from './chunk-marker.js'

/** What the drain did. */
export interface JournalDrainResult {
  /** Journal lines read (non-empty). */
  entries: number
  /** Entries whose index existed and was marked. */
  marked: number
  /** Entries whose index does not exist (a crash between journal write and rename). */
  ghosts: number
}

/**
 * Takes the journal lock (10 s), marks every journalled index that exists, then truncates the
 * journal. On any failure the journal is left as it is and the error propagates (GC fails).
 * @throws LockBusyError when the lock cannot be had in time, or the marking error.
 */
export async function drainMoveJournal(
  store: Datastore,
  marker: ChunkMarker,
  onEntry?: (path: string) => void | Promise<void>,
): Promise<JournalDrainResult> {
  const path = journalPathOf(store)
  return withLock(
    path,
    {
      mode: 'exclusive',
      timeoutMs: MOVE_JOURNAL_LOCK_TIMEOUT_MS,
      what: `move journal of store '${store.name}'`,
    },
    async (guard) => {
      const result: JournalDrainResult = { entries: 0, marked: 0, ghosts: 0 }
      try {
        const text = await guard.file.readFile({ encoding: 'utf8' })
        for (const line of text.split('\n')) {
          if (line === '') continue
          result.entries++
          await onEntry?.(line)
          if (await marker.markIndex(line)) result.marked++
          else result.ghosts++
        }
        await guard.file.truncate(0)
      } catch (e) {
        if (e instanceof DatastoreError) throw e
        throw new StorageError(
          `processing move journal '${path}' failed - ${errorMessage(e)}`,
          { path },
          { cause: e },
        )
      }
      return result
    },
  )
}
