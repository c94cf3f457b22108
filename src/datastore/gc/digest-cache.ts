/**
 * The GC digest cache (`gc-cache-capacity`): a bounded LRU set of digests already touched in this
 * run, so chunks shared by many snapshots are touched once. Capacity 0 disables it.
 */
export class DigestCache {
  readonly capacity: number
  hits = 0
  misses = 0
  readonly #entries = new Map<string, true>()

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity))
  }

  /** True when `digest` was seen (it becomes most recent); otherwise it is remembered now. */
  seen(digest: string): boolean {
    if (this.capacity === 0) return false
    if (this.#entries.delete(digest)) {
      this.#entries.set(digest, true)
      this.hits++
      return true
    }
    this.misses++
    this.#entries.set(digest, true)
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    return false
  }
}
