/** Display helpers: sizes, times, durations, namespace labels. */

/** Bytes as B, KiB, MiB … with one decimal above KiB. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`
}

/** Epoch seconds as local `YYYY-MM-DD HH:MM:SS` ('' for 0 or undefined). */
export function formatTime(epoch: number | undefined): string {
  if (epoch === undefined || epoch <= 0) return ''
  const d = new Date(epoch * 1000)
  const p = (x: number): string => String(x).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Seconds as `1h 02m`, `3m 04s` or `5s`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return ''
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`
  return `${r}s`
}

/** The first line of a text, trimmed. */
export function firstLine(text: string | undefined): string {
  if (text === undefined) return ''
  return (text.split('\n')[0] ?? '').trim()
}

/** A namespace for people: 'Root' for '', else the path. */
export function nsLabel(ns: string): string {
  return ns === '' ? 'Root' : ns
}

/** Depth of a namespace path ('' = 0). */
export function nsDepth(ns: string): number {
  return ns === '' ? 0 : ns.split('/').length
}

/** Parent path of a namespace ('' for top-level ones and the root). */
export function nsParent(ns: string): string {
  const i = ns.lastIndexOf('/')
  return i < 0 ? '' : ns.slice(0, i)
}

/** Last component of a namespace path. */
export function nsName(ns: string): string {
  return ns.slice(ns.lastIndexOf('/') + 1)
}

/** True when `other` is `ns` itself or lies below it. */
export function nsContains(ns: string, other: string): boolean {
  return ns === '' || other === ns || other.startsWith(`${ns}/`)
}

/** `parent/name` (just `name` under the root). */
export function nsJoin(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`
}
