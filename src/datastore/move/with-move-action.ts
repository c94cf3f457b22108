/**
 * Every move error names its move: "moving group 'vm/100' from 'a' to 'b' failed - <cause>".
 * Lock, storage (S3, I/O), not-found (a vanished S3 object) and corruption errors come from layers that do not know the move, so
 * they get the prefix here; errors already carrying it pass unchanged.
 */
import { CorruptionError, LockBusyError, NotFoundError, StorageError } from '../../errors.js'

/** Awaits `work`; a lock, storage, not-found or corruption error is rethrown (same class) with `action` in front. */
export async function withMoveAction<T>(action: string, work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (e) {
    throw prefixMoveError(action, e)
  }
}

/** `e` with "`action` failed - " in front of its message when it lacks it (other errors unchanged). */
export function prefixMoveError(action: string, e: unknown): unknown {
  if (!(
    e instanceof LockBusyError ||
    e instanceof StorageError ||
    e instanceof NotFoundError ||
    e instanceof CorruptionError
  ))
    return e
  if (e.message.startsWith(action)) return e
  const message = `${action} failed - ${e.message}`
  if (e instanceof LockBusyError) return new LockBusyError(message, e.data, { cause: e })
  if (e instanceof CorruptionError) return new CorruptionError(message, e.data, { cause: e })
  if (e instanceof NotFoundError) return new NotFoundError(message, e.data, { cause: e })
  return new StorageError(message, e.data, { cause: e })
}

/** The cause part of a message that carries the move prefix (the whole message otherwise). */
export function moveErrorCause(action: string, message: string): string {
  const prefix = `${action} failed - `
  return message.startsWith(prefix) ? message.slice(prefix.length) : message
}
