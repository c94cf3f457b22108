/**
 * Progress for long CLI commands: a bar (done/total, rate, ETA) on a TTY, occasional plain lines
 * otherwise, so logs of non-interactive runs still show that work is moving. Output goes to
 * stderr; stdout stays free for results (and for `restore … -`).
 */
import { Presets, SingleBar } from 'cli-progress'

/** A progress display; update often, stop once. */
export interface Progress {
  /** `done` of `total` (undefined when unknown) units, with the item being worked on. */
  update(done: number, total: number | undefined, label?: string): void
  /** Removes the bar (TTY) / prints nothing more. */
  stop(): void
}

/** How values are shown. */
export type ProgressUnit = 'bytes' | 'items'

/** Milliseconds between plain lines when not on a TTY. */
const PLAIN_INTERVAL_MS = 10_000

/** Human bytes: 1.5 GiB, 300.0 MiB, 12 B. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]!}`
}

/** Rate in MB/s (decimal, as PBS task logs print). */
export function formatRate(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / Math.max(ms / 1000, 1e-3)).toFixed(1)} MB/s`
}

/** A progress display on `stream` (normally process.stderr). */
export function createProgress(stream: NodeJS.WriteStream, unit: ProgressUnit, enabled = true): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined }
  return stream.isTTY ? ttyProgress(stream, unit) : plainProgress(stream, unit)
}

function show(unit: ProgressUnit, n: number): string {
  return unit === 'bytes' ? formatBytes(n) : String(n)
}

function ttyProgress(stream: NodeJS.WriteStream, unit: ProgressUnit): Progress {
  const started = Date.now()
  let bar: SingleBar | undefined
  let knownTotal: number | undefined
  return {
    update(done, total, label = '') {
      const payload = {
        label,
        done: show(unit, done),
        size: total === undefined ? '?' : show(unit, total),
        rate: unit === 'bytes' ? formatRate(done, Date.now() - started) : '',
      }
      if (!bar) {
        const format =
          total === undefined
            ? '{label} {done} | {rate}'
            : '{label} [{bar}] {percentage}% | {done}/{size} | {rate} | ETA {eta_formatted}'
        bar = new SingleBar(
          { format, stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50, fps: 5 },
          Presets.shades_classic,
        )
        knownTotal = total
        bar.start(total ?? 0, done, payload)
        return
      }
      if (total !== knownTotal && total !== undefined) {
        knownTotal = total
        bar.setTotal(total)
      }
      bar.update(done, payload)
    },
    stop() {
      bar?.stop()
    },
  }
}

function plainProgress(stream: NodeJS.WriteStream, unit: ProgressUnit): Progress {
  const started = Date.now()
  let last = started
  return {
    update(done, total, label = '') {
      const now = Date.now()
      if (now - last < PLAIN_INTERVAL_MS) return
      last = now
      const of =
        total === undefined
          ? ''
          : ` of ${show(unit, total)} (${Math.floor((done / Math.max(total, 1)) * 100)}%)`
      const rate = unit === 'bytes' ? `, ${formatRate(done, now - started)}` : ''
      stream.write(`${label ? `${label}: ` : ''}${show(unit, done)}${of}${rate}\n`)
    },
    stop: () => undefined,
  }
}
