import type { OperationLog, ProgressReport } from '../datastore/operation-context.js'

/**
 * What a task body receives: its UPID, a log that writes task-log lines (warnings are counted
 * for the `WARNINGS: n` end state), the abort signal, and a progress sink. It is an
 * OperationContext, so it can be handed to engine operations unchanged.
 */
export interface TaskContext {
  readonly upid: string
  readonly log: OperationLog
  readonly signal: AbortSignal
  readonly onProgress: (p: ProgressReport) => void
  /** Throws the abort reason when abort was requested. */
  throwIfAborted(): void
  /** Warnings logged so far. */
  readonly warnings: number
}
