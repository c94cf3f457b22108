/**
 * Verify (spec §9, PBS `src/backup/verify.rs`).
 *
 * Per snapshot: a shared snapshot lock (when it cannot be had — a backup or removal is running —
 * the snapshot is SKIPPED, which counts as success), the manifest, then every file:
 * - index (fidx/didx): recomputed size and index csum must match the manifest, then every
 *   distinct chunk is loaded (CRC), its crypt mode compared with the file's, and unencrypted
 *   chunks decoded and checked for digest and length. Chunks are visited in inode order unless
 *   `chunk-order=none`. Chunks verified earlier in the same job are not read again; chunks found
 *   corrupt earlier count as errors again. A corrupt chunk is renamed to `<digest>.<n>.bad` so the
 *   next backup stores a good copy.
 * - blob: raw size and SHA-256 must match the manifest; unencrypted blobs must decode.
 * The outcome goes to `unprotected.verify_state = {upid, state}` through updateManifest (manifest
 * lock); a failed manifest update makes the snapshot fail.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import {
  BackupNamespace,
  archiveType,
  compareGroups,
  formatSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
} from '../api-types/index.js'
import { parseUpid } from '../api-types/upid.js'
import {
  AbortedError,
  CorruptionError,
  DatastoreError,
  LockBusyError,
  ValidationError,
  errorMessage,
} from '../errors.js'
import {
  blobCryptMode,
  decodeBlob,
  getVerifyState,
  parseDynamicIndex,
  parseFixedIndex,
  setVerifyState,
  verifyBlobCrc,
  verifyUnencryptedChunk,
  type BackupManifest,
  type DynamicIndex,
  type FixedIndex,
  type ManifestFile,
} from '../format/index.js'
import { chunkStoreFor, type ChunkStore } from './chunk-store.js'
import type { Datastore } from './datastore.js'
import { isDirectory } from './fs-util.js'
import { assertGroupExists, listGroupRefs } from './groups.js'
import { loadManifest, updateManifest } from './manifest-io.js'
import { listNamespaces } from './namespaces.js'
import type { OperationLog } from './operation-context.js'
import { assertSnapshotExists, listSnapshotRefs } from './snapshots.js'

/** Outcome of one snapshot. */
export type SnapshotVerifyOutcome = 'ok' | 'failed' | 'skipped'

/** Result for one snapshot. */
export interface SnapshotVerifyResult {
  ns: BackupNamespace
  snapshot: BackupDirRef
  outcome: SnapshotVerifyOutcome
  /** Why it was skipped (locked, recently verified, vanished). */
  reason?: string
  /** What was wrong (files and chunks), in PBS's wording. */
  errors: string[]
}

/** Result of a verify run. */
export interface VerifyResult {
  snapshots: SnapshotVerifyResult[]
  ok: number
  failed: number
  skipped: number
  /** Distinct chunks found good. */
  verifiedChunks: number
  /** Distinct chunks found corrupt or missing (hex digests). */
  corruptChunks: string[]
  /** Paths the corrupt chunks were renamed to. */
  renamedChunks: string[]
  /** Bytes of chunk files read. */
  readBytes: number
}

/** Progress: snapshots done of the total, chunks checked so far. */
export interface VerifyProgress {
  snapshotsDone: number
  snapshotsTotal: number
  /** The snapshot being verified. */
  current: string | undefined
  chunksChecked: number
  readBytes: number
}

/** Options shared by the job and {@link verifyDatastore}. */
export interface VerifyJobOptions {
  /** Task UPID recorded in verify_state (PBS format, see src/api-types/upid.ts). */
  upid: string
  /** Skip snapshots that have a verify_state (unless older than outdatedAfter days). */
  ignoreVerified?: boolean
  /** With ignoreVerified: re-verify when the last verification is more than this many days old. */
  outdatedAfter?: number | undefined
  /** Job log (PBS task log wording): progress lines as info, problems as warn. */
  log?: OperationLog
  onProgress?: (progress: VerifyProgress) => void
  signal?: AbortSignal
  /** Clock for outdated-after, epoch seconds (tests). */
  now?: () => number
}

/** What to verify. */
export interface VerifyOptions extends VerifyJobOptions {
  /** Namespace (default root). */
  ns?: BackupNamespace
  /** Only this group. */
  group?: BackupGroupRef
  /** Only this snapshot. */
  snapshot?: BackupDirRef
  /** Levels of namespaces below `ns` when neither group nor snapshot is given (default: all). */
  maxDepth?: number
}

/** Chunk loads kept in flight ahead of the checks. */
const READ_AHEAD = 4

/** A verify job: the chunk sets shared by all the snapshots it verifies. */
export class VerifyJob {
  readonly store: Datastore
  readonly #chunks: ChunkStore
  readonly #options: VerifyJobOptions
  readonly #verified = new Set<string>()
  readonly #corrupt = new Set<string>()
  readonly #renamed: string[] = []
  #readBytes = 0
  #checked = 0
  #progress: Omit<VerifyProgress, 'chunksChecked' | 'readBytes'> = {
    snapshotsDone: 0,
    snapshotsTotal: 0,
    current: undefined,
  }

  /** @throws ValidationError for a malformed upid or outdatedAfter */
  constructor(store: Datastore, options: VerifyJobOptions) {
    parseUpid(options.upid)
    if (
      options.outdatedAfter !== undefined &&
      (!Number.isSafeInteger(options.outdatedAfter) || options.outdatedAfter < 0)
    ) {
      throw new ValidationError(
        'outdated-after',
        options.outdatedAfter,
        'must be a non-negative number of days',
      )
    }
    this.store = store
    this.#chunks = chunkStoreFor(store)
    this.#options = options
  }

  /** Counters for the final result. */
  summary(): Pick<VerifyResult, 'verifiedChunks' | 'corruptChunks' | 'renamedChunks' | 'readBytes'> {
    return {
      verifiedChunks: this.#verified.size,
      corruptChunks: [...this.#corrupt],
      renamedChunks: [...this.#renamed],
      readBytes: this.#readBytes,
    }
  }

  /** Sets the snapshot counters reported through onProgress. */
  setProgress(done: number, total: number, current?: string): void {
    this.#progress = { snapshotsDone: done, snapshotsTotal: total, current }
    this.#report()
  }

  /**
   * Verifies one snapshot and records the result in its manifest (PBS verify_backup_dir).
   * Never throws for problems of the snapshot itself; they are in the result.
   * @throws AbortedError when the signal fires
   */
  async verifySnapshot(ns: BackupNamespace, dir: BackupDirRef): Promise<SnapshotVerifyResult> {
    const name = this.#name(ns, dir)
    const result = (
      outcome: SnapshotVerifyOutcome,
      errors: string[] = [],
      reason?: string,
    ): SnapshotVerifyResult => ({
      ns,
      snapshot: dir,
      outcome,
      errors,
      ...(reason === undefined ? {} : { reason }),
    })
    let lock
    try {
      lock = await this.store.lockSnapshot(ns, dir, 'shared')
    } catch (e) {
      if (!(e instanceof LockBusyError)) throw e
      const reason = `could not acquire snapshot lock: ${e.message}`
      this.#log(`SKIPPED: verify ${name} - ${reason}`)
      return result('skipped', [], reason)
    }
    try {
      if (!(await isDirectory(this.store.snapshotDir(ns, dir)))) {
        this.#log(`SKIPPED: verify ${name} - snapshot vanished`)
        return result('skipped', [], 'snapshot vanished')
      }
      let manifest: BackupManifest
      try {
        manifest = (await loadManifest(this.store, ns, dir)).manifest
      } catch (e) {
        const msg = `verify ${name} - manifest load error: ${errorMessage(e)}`
        this.#warn(msg)
        return result('failed', [msg])
      }
      if (!this.#wanted(manifest)) {
        this.#log(`SKIPPED: verify ${name} (recently verified)`)
        return result('skipped', [], 'recently verified')
      }
      this.#log(`verify ${name}`)
      const errors: string[] = []
      for (const file of manifest.files) {
        this.#options.signal?.throwIfAborted()
        this.#log(`  check ${file.filename}`)
        const fileErrors: string[] = []
        try {
          await this.#verifyFile(ns, dir, file, fileErrors)
        } catch (e) {
          if (e instanceof AbortedError || (e instanceof Error && e.name === 'AbortError')) throw e
          fileErrors.push(`verify ${name}/${file.filename} failed: ${errorMessage(e)}`)
        }
        for (const line of fileErrors) this.#warn(line)
        errors.push(...fileErrors)
      }
      const state = errors.length === 0 ? 'ok' : 'failed'
      try {
        await updateManifest(this.store, ns, dir, (m) =>
          setVerifyState(m, { upid: this.#options.upid, state }),
        )
      } catch (e) {
        const msg = `verify ${name} - manifest update error: ${errorMessage(e)}`
        this.#warn(msg)
        return result('failed', [...errors, msg])
      }
      return result(state, errors)
    } finally {
      await lock.release()
    }
  }

  /** PBS verify_filter: with ignore-verified, only unverified or outdated snapshots. */
  #wanted(manifest: BackupManifest): boolean {
    if (!this.#options.ignoreVerified) return true
    let last
    try {
      last = getVerifyState(manifest)
    } catch (e) {
      this.#warn(`error reading manifest: ${errorMessage(e)}`)
      return true
    }
    if (last === undefined) return true
    const days = this.#options.outdatedAfter
    if (days === undefined) return false
    let starttime: number
    try {
      starttime = parseUpid(last.upid).starttime
    } catch {
      return true // an unreadable UPID cannot prove the snapshot was verified recently
    }
    const now = this.#options.now?.() ?? Math.floor(Date.now() / 1000)
    return Math.trunc((now - starttime) / 86400) > days
  }

  async #verifyFile(
    ns: BackupNamespace,
    dir: BackupDirRef,
    file: ManifestFile,
    errors: string[],
  ): Promise<void> {
    const path = join(this.store.snapshotDir(ns, dir), file.filename)
    const kind = archiveType(file.filename)
    const raw = await readFile(path)
    if (kind === 'blob') {
      verifyBlobCrc(raw)
      if (raw.length !== file.size) throw new CorruptionError(`wrong size (${file.size} != ${raw.length})`)
      if (createHash('sha256').update(raw).digest('hex') !== file.csum)
        throw new CorruptionError('wrong index checksum')
      if (file['crypt-mode'] === 'sign-only') throw new CorruptionError('Invalid CryptMode for blob')
      if (blobCryptMode(raw) === 'none') decodeBlob(raw)
      return
    }
    const index: FixedIndex | DynamicIndex = kind === 'fidx' ? parseFixedIndex(raw) : parseDynamicIndex(raw)
    if (index.size !== file.size) throw new CorruptionError(`wrong size (${file.size} != ${index.size})`)
    if (index.computeCsum().toString('hex') !== file.csum) throw new CorruptionError('wrong index checksum')
    const expected = file['crypt-mode'] === 'encrypt' ? 'encrypt' : 'none'
    const failed = await this.#verifyIndexChunks(index, expected, errors)
    if (failed > 0) throw new CorruptionError('chunks could not be verified')
  }

  /** Checks each distinct chunk of an index not yet verified by this job; returns the error count. */
  async #verifyIndexChunks(
    index: FixedIndex | DynamicIndex,
    expected: 'encrypt' | 'none',
    log: string[],
  ): Promise<number> {
    let failed = 0
    const todo: { hex: string; digest: Buffer; size: number; ino: bigint }[] = []
    const queued = new Set<string>()
    for (let i = 0; i < index.count; i++) {
      const hex = index.digestHex(i)
      if (this.#verified.has(hex) || queued.has(hex)) continue
      if (this.#corrupt.has(hex)) {
        log.push(`chunk ${hex} was marked as corrupt`)
        failed++
        continue
      }
      queued.add(hex)
      const { start, end } = index.chunkRange(i)
      todo.push({ hex, digest: index.digest(i), size: end - start, ino: 0n })
    }
    if ((this.store.config.tuning['chunk-order'] ?? 'inode') === 'inode') {
      // Reading in inode order turns random seeks into mostly sequential ones on spinning disks.
      for (const c of todo)
        c.ino = (await this.#chunks.statChunk(c.hex))?.ino ?? BigInt(Number.MAX_SAFE_INTEGER)
      todo.sort((a, b) => (a.ino < b.ino ? -1 : a.ino > b.ino ? 1 : 0))
    }
    const load = (hex: string): Promise<Buffer> => {
      const p = this.#chunks.loadChunk(hex, { fromRemote: true }) // S3: check the bucket's copy
      p.catch(() => undefined) // awaited in order below
      return p
    }
    const ahead: Promise<Buffer>[] = []
    let next = 0
    try {
      for (let i = 0; i < todo.length; i++) {
        while (next < todo.length && next < i + READ_AHEAD) ahead.push(load(todo[next++]!.hex))
        this.#options.signal?.throwIfAborted()
        const chunk = todo[i]!
        const pending = ahead.shift()!
        let raw: Buffer
        try {
          raw = await pending
        } catch (e) {
          failed++
          log.push(`can't verify chunk, load failed - ${errorMessage(e)}`)
          await this.#markCorrupt(chunk.hex, log)
          continue
        }
        this.#readBytes += raw.length
        this.#checked++
        const mode = blobCryptMode(raw)
        if (mode !== expected) {
          failed++
          log.push(`chunk ${chunk.hex}: chunk CryptMode ${mode} does not match index CryptMode ${expected}`)
        }
        try {
          verifyUnencryptedChunk(raw, chunk.size, chunk.digest)
          this.#verified.add(chunk.hex)
        } catch (e) {
          failed++
          log.push(`chunk ${chunk.hex}: ${errorMessage(e)}`)
          await this.#markCorrupt(chunk.hex, log)
        }
        this.#report()
      }
    } finally {
      await Promise.allSettled(ahead)
    }
    return failed
  }

  async #markCorrupt(hex: string, log: string[]): Promise<void> {
    this.#corrupt.add(hex)
    try {
      const to = await this.#chunks.renameCorruptChunk(hex)
      if (to !== undefined) {
        this.#renamed.push(to)
        log.push(`corrupt chunk renamed to ${to}`)
      }
    } catch (e) {
      log.push(`could not rename corrupt chunk ${hex} - ${errorMessage(e)}`)
    }
  }

  #name(ns: BackupNamespace, dir: BackupDirRef): string {
    return `${this.store.name}:${ns.isRoot ? '' : `${ns.toString()}:`}${formatSnapshotPath(dir)}`
  }

  #log(line: string): void {
    this.#options.log?.info(line)
  }

  #warn(line: string): void {
    this.#options.log?.warn(line)
  }

  #report(): void {
    this.#options.onProgress?.({
      ...this.#progress,
      chunksChecked: this.#checked,
      readBytes: this.#readBytes,
    })
  }
}

/**
 * Verifies one snapshot, one group, or every group of a namespace and (up to `maxDepth`) the
 * namespaces below it; groups in PBS order, snapshots newest first.
 * @throws NotFoundError (namespace, group or snapshot missing), ValidationError, AbortedError
 * @example const r = await verifyDatastore(store, { upid, ignoreVerified: true, outdatedAfter: 30 })
 */
export async function verifyDatastore(store: Datastore, options: VerifyOptions): Promise<VerifyResult> {
  const ns = options.ns ?? BackupNamespace.ROOT
  const job = new VerifyJob(store, options)
  store.assertNewStyleLocking('verify')
  const targets: { ns: BackupNamespace; dir: BackupDirRef }[] = []
  if (options.snapshot) {
    await assertSnapshotExists(store, ns, options.snapshot)
    targets.push({ ns, dir: options.snapshot })
  } else {
    const spaces = options.group ? [ns] : await listNamespaces(store, ns, options.maxDepth)
    for (const space of spaces) {
      let groups: BackupGroupRef[]
      if (options.group) {
        await assertGroupExists(store, space, options.group)
        groups = [options.group]
      } else groups = (await listGroupRefs(store, space)).sort(compareGroups)
      for (const g of groups) {
        const snaps = await listSnapshotRefs(store, space, g)
        for (const dir of snaps.reverse()) targets.push({ ns: space, dir })
      }
    }
  }
  const snapshots: SnapshotVerifyResult[] = []
  for (const [i, t] of targets.entries()) {
    job.setProgress(i, targets.length, formatSnapshotPath(t.dir))
    try {
      snapshots.push(await job.verifySnapshot(t.ns, t.dir))
    } catch (e) {
      if (e instanceof DatastoreError || !(e instanceof Error && e.name === 'AbortError')) throw e
      throw new AbortedError('verify aborted', {}, { cause: e })
    }
  }
  job.setProgress(targets.length, targets.length)
  return {
    snapshots,
    ok: snapshots.filter((s) => s.outcome === 'ok').length,
    failed: snapshots.filter((s) => s.outcome === 'failed').length,
    skipped: snapshots.filter((s) => s.outcome === 'skipped').length,
    ...job.summary(),
  }
}
