import { SingleBar } from 'cli-progress'

import type { ProgressReport } from '../datastore/operation-context.js'

/** Something that shows progress and is stopped at the end. */
export interface ProgressView {
  update(p: ProgressReport): void
  stop(): void
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

/** One plain progress line: `42/100 snapshots (42%), 120.5/s, ETA 1s`. */
export function formatProgressLine(p: ProgressReport): string {
  const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${formatDuration(p.etaSeconds)}`
  return `${p.done}/${p.total} ${p.unit} (${pct}%), ${p.rate.toFixed(1)}/s${eta}`
}

/**
 * A bar on a TTY (stderr), plain lines at most every `lineIntervalMs` otherwise, nothing in JSON
 * mode (so stdout stays parseable).
 */
export function progressView(
  stream: NodeJS.WriteStream,
  enabled: boolean,
  lineIntervalMs = 2000,
): ProgressView {
  if (!enabled) return { update: () => undefined, stop: () => undefined }
  if (stream.isTTY) {
    const bar = new SingleBar({
      format: '{bar} {percentage}% | {value}/{total} {unit} | {rate}/s | ETA {eta_formatted}',
      stream,
      hideCursor: true,
    })
    let started = false
    return {
      update(p) {
        if (!started) {
          bar.start(p.total, p.done, { unit: p.unit, rate: p.rate.toFixed(1) })
          started = true
        }
        bar.setTotal(p.total)
        bar.update(p.done, { unit: p.unit, rate: p.rate.toFixed(1) })
      },
      stop: () => started && bar.stop(),
    }
  }
  let last = 0
  return {
    update(p) {
      const now = Date.now()
      if (now - last < lineIntervalMs && p.done < p.total) return
      last = now
      stream.write(`progress: ${formatProgressLine(p)}\n`)
    },
    stop: () => undefined,
  }
}
