/** Starting the worker tasks of the job endpoints and handing their context to engine operations. */
import type { OperationContext } from '../../datastore/operation-context.js'
import type { TaskContext } from '../../tasks/task-context.js'
import type { ApiCall } from '../router.js'

/**
 * Starts a task of `type`/`id` for the caller, refused while the same one runs.
 * @returns the task's UPID (the task runs on after the answer).
 */
export async function startTask(
  call: ApiCall,
  type: string,
  id: string,
  body: (task: TaskContext) => Promise<unknown>,
): Promise<string> {
  const { upid } = await call.ctx.tasks.spawn({ type, id, authid: call.auth.authid, unique: true }, body)
  return upid
}

/** The task's log, abort signal and progress sink, as engine operations take them. */
export function taskOperation(task: TaskContext): Required<OperationContext> {
  return { log: task.log, signal: task.signal, onProgress: task.onProgress }
}
