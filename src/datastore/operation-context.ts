import { AbortedError } from '../errors.js'

/** Where a long operation reports what it does (a task log, the CLI, a test). */
export interface OperationLog {
  info(message: string): void
  warn(message: string): void
}

/** Progress of a long operation: done/total units, with rate and ETA derived. */
export interface ProgressReport {
  done: number
  total: number
  /** Units per second since the start. */
  rate: number
  /** Estimated seconds left (undefined until something is done). */
  etaSeconds: number | undefined
  /** What the units are ("snapshots", "chunks", …). */
  unit: string
}

/** What every long engine operation accepts. */
export interface OperationContext {
  log?: OperationLog
  signal?: AbortSignal
  onProgress?: (p: ProgressReport) => void
}

/** A log that drops everything. */
export const SILENT_LOG: OperationLog = { info: () => undefined, warn: () => undefined }

/** Throws AbortedError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted)
    throw new AbortedError(`${what} aborted`, { reason: String(signal.reason ?? 'abort requested') })
}

/** Counts units of work and reports rate and ETA, at most every `intervalMs`. */
export class ProgressTracker {
  readonly #started = Date.now()
  readonly #report: ((p: ProgressReport) => void) | undefined
  readonly #unit: string
  readonly #intervalMs: number
  #last = 0
  total: number
  done = 0

  constructor(
    total: number,
    unit: string,
    report: ((p: ProgressReport) => void) | undefined,
    intervalMs = 200,
  ) {
    this.total = total
    this.#unit = unit
    this.#report = report
    this.#intervalMs = intervalMs
  }

  /** Adds `n` done units; reports when the interval has passed (or when finished). */
  add(n = 1): void {
    this.done += n
    const now = Date.now()
    if (this.#report && (now - this.#last >= this.#intervalMs || this.done >= this.total)) {
      this.#last = now
      this.#report(this.snapshot())
    }
  }

  /** The current figures. */
  snapshot(): ProgressReport {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 1e-3)
    const rate = this.done / seconds
    const left = Math.max(this.total - this.done, 0)
    return {
      done: this.done,
      total: this.total,
      rate,
      etaSeconds: this.done > 0 ? left / rate : undefined,
      unit: this.#unit,
    }
  }
}
