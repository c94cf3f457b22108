/**
 * Recovery of S3 snapshot moves from their intents (s3-move-intent.ts): finishes or rolls back
 * each snapshot of every intent no live move holds. Per snapshot, with the source and target
 * groups and the source snapshot locked (no move or backup can write either prefix meanwhile):
 *
 * - committed (its target cache dir exists): unless a snapshot lives at the source path again,
 *   the source prefix is listed and everything there is deleted (roll forward; the target is
 *   complete, every copy succeeded before the commit);
 * - not committed: the target prefix is listed and everything there is deleted (roll back) - the
 *   source is intact, nothing was deleted before the commit;
 * - a guarded object (group owner/notes, namespace marker; S3Backend.guardObjects): uploaded from
 *   its local counterpart when that exists, deleted when not.
 *
 * A rollback must not run before the dead writer's last requests are surely done: a CopyObject it
 * sent before it died may be applied by the server after the rollback listed the target, leaving
 * an orphan (seen once in the crash test against a loaded moto; any S3 may do it). An intent that is not settled and whose writer's last
 * heartbeat is younger than the grace period is therefore waited for ('wait', the default:
 * cleanup, GC, tests) or its rollbacks are left for a later recovery ('defer': the recovery at the
 * start of every move, which must stay fast; rolling forward needs no grace and happens at once).
 * Guarded objects wait likewise (a late upload or delete could undo the repair).
 */
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import {
  BackupNamespace,
  parseGroupPath,
  parseSnapshotPath,
  type BackupDirRef,
  type BackupGroupRef,
} from '../../api-types/index.js'
import { LockBusyError, errorMessage } from '../../errors.js'
import { acquireFileLock, type LockGuard } from '../../lock/index.js'
import type { MoveRecoveryOptions, MoveRecoveryResult } from '../datastore-backend.js'
import { emptyRecoveryResult } from '../datastore-backend.js'
import {
  intentFileKind,
  intentSettlesAt,
  s3MoveGraceMs,
  type S3GuardedObjectEntry,
  type S3MoveIntent,
  type S3MoveIntentEntry,
} from './s3-move-intent.js'
import type { S3ObjectStore } from './s3-object-store.js'

/** A guarded object with its parsed names. */
interface ParsedObject {
  object: S3GuardedObjectEntry
  ns: BackupNamespace
  group: BackupGroupRef | undefined
}

/** An intent entry with its parsed names. */
interface ParsedEntry {
  entry: S3MoveIntentEntry
  sourceNs: BackupNamespace
  targetNs: BackupNamespace
  dir: BackupDirRef
}

/** Recovers every intent in `intentDir` (see the module doc). */
export async function recoverS3MoveIntents(
  objects: S3ObjectStore,
  intentDir: string,
  options: MoveRecoveryOptions = {},
): Promise<MoveRecoveryResult> {
  const result = emptyRecoveryResult()
  let names: string[]
  try {
    names = (await readdir(intentDir)).sort()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result
    throw e
  }
  for (const name of names) {
    const path = join(intentDir, name)
    const kind = intentFileKind(name)
    if (kind === 'tmp') {
      await removeDeadTmp(path)
      continue
    }
    if (kind === 'other') continue
    let lock: LockGuard
    try {
      lock = await acquireFileLock(path, {
        mode: 'exclusive',
        timeoutMs: 0,
        what: `S3 move intent '${name}'`,
      })
    } catch {
      result.busy++
      continue
    }
    try {
      await recoverIntent(objects, path, name, kind === 'settled', result, options)
    } finally {
      await lock.release()
    }
  }
  return result
}

/** A crash while an intent was written (nothing was sent under it yet) - unless it is live. */
async function removeDeadTmp(path: string): Promise<void> {
  try {
    const l = await acquireFileLock(path, { mode: 'exclusive', timeoutMs: 0, what: 'S3 move intent' })
    await rm(path, { force: true })
    await l.release()
  } catch {
    /* live or gone */
  }
}

async function recoverIntent(
  store: S3ObjectStore,
  path: string,
  name: string,
  settled: boolean,
  result: MoveRecoveryResult,
  options: MoveRecoveryOptions,
): Promise<void> {
  let intent: S3MoveIntent
  try {
    const text = await readFile(path, 'utf8')
    if (text === '') {
      // removed (or settled under another name) by its move after our readdir: the lock re-created it
      await rm(path, { force: true })
      return
    }
    intent = JSON.parse(text) as S3MoveIntent
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return // finished meanwhile
    result.warnings.push(`S3 move intent '${name}' is unreadable - ${errorMessage(e)}; left in place`)
    return
  }
  let entries: ParsedEntry[]
  let guarded: ParsedObject[]
  try {
    entries = intent.entries.map((entry) => ({
      entry,
      sourceNs: BackupNamespace.parse(entry.sourceNs),
      targetNs: BackupNamespace.parse(entry.targetNs),
      dir: parseSnapshotPath(entry.snapshot),
    }))
    guarded = (intent.objects ?? []).map((object) => ({
      object,
      ns: BackupNamespace.parse(object.ns),
      group: object.group === undefined ? undefined : parseGroupPath(object.group),
    }))
  } catch (e) {
    result.warnings.push(`S3 move intent '${name}' is invalid - ${errorMessage(e)}; left in place`)
    return
  }
  result.intents++

  // Rollbacks and object repairs wait for a recently dead writer's requests (or are left for later).
  let wait = settled ? 0 : Math.ceil((await intentSettlesAt(path, s3MoveGraceMs())) - Date.now())
  if (wait > 0 && options.settle !== 'defer' && (guarded.length > 0 || (await anyUncommitted(entries)))) {
    options.onWait?.(wait)
    await sleep(wait)
    result.waitedMs += wait
    wait = 0
  }
  /** No request of the writer can land any more (else only roll-forwards, which need no grace). */
  const graceOver = wait <= 0

  const groupLocks: AsyncDisposable[] = []
  let complete = true
  /** Something waits for the grace period (a rollback, a guarded object). */
  let deferred = !graceOver && guarded.length > 0
  try {
    // Every writer into or out of these groups holds their lock (moves, backups): lock them all.
    if (options.lockGroup !== undefined) {
      const groups: [BackupNamespace, BackupGroupRef][] = [
        ...entries.map((e): [BackupNamespace, BackupGroupRef] => [e.sourceNs, e.dir]),
        ...entries.map((e): [BackupNamespace, BackupGroupRef] => [e.targetNs, e.dir]),
        ...(graceOver ? guarded : []).flatMap((o): [BackupNamespace, BackupGroupRef][] =>
          o.group === undefined ? [] : [[o.ns, o.group]],
        ),
      ]
      const seen = new Set<string>()
      for (const [ns, g] of groups) {
        const id = `${ns.toString()}\u0000${g.type}/${g.id}`
        if (seen.has(id)) continue
        seen.add(id)
        groupLocks.push(await options.lockGroup(ns, g))
      }
    }
    for (const e of entries) {
      try {
        if (!(await recoverEntry(store, e, graceOver, result, options))) deferred = true
      } catch (err) {
        complete = false
        if (err instanceof LockBusyError) {
          result.busy++
          break
        }
        result.warnings.push(
          `recovering the S3 move of snapshot '${e.entry.snapshot}' failed - ${errorMessage(err)}`,
        )
      }
    }
    if (graceOver)
      for (const o of guarded) {
        try {
          await reconcileObject(store, o.object)
          result.reconciledObjects++
        } catch (err) {
          complete = false
          result.warnings.push(`repairing S3 object '${o.object.key}' failed - ${errorMessage(err)}`)
        }
      }
  } catch (err) {
    complete = false
    if (err instanceof LockBusyError) result.busy++
    else result.warnings.push(`recovering S3 move intent '${name}' failed - ${errorMessage(err)}`)
  } finally {
    for (const l of groupLocks.reverse()) await l[Symbol.asyncDispose]()
  }
  if (complete && !deferred) await rm(path, { force: true })
  else if (deferred) result.deferred++
}

/**
 * Makes a guarded object match its local counterpart: a group file is uploaded from the local
 * file (replace), a namespace marker created (no-replace) when the directory exists; when the
 * counterpart is gone the object is deleted.
 */
async function reconcileObject(objects: S3ObjectStore, o: S3GuardedObjectEntry): Promise<void> {
  if (o.kind === 'namespace-marker') {
    if (await exists(o.localPath)) await objects.putObject(o.key, '', { replace: false })
    else await objects.deleteObjects([o.key])
    return
  }
  let content: Buffer
  try {
    content = await readFile(o.localPath)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    await objects.deleteObjects([o.key])
    return
  }
  await objects.putObject(o.key, content, { replace: true })
}

async function anyUncommitted(entries: readonly ParsedEntry[]): Promise<boolean> {
  for (const e of entries) if (!(await exists(e.entry.targetPath))) return true
  return false
}

/**
 * Rolls one snapshot forward or back (under its source snapshot lock). Returns false when it
 * needs a rollback that is not allowed yet.
 */
async function recoverEntry(
  objects: S3ObjectStore,
  e: ParsedEntry,
  rollbackAllowed: boolean,
  result: MoveRecoveryResult,
  options: MoveRecoveryOptions,
): Promise<boolean> {
  const { entry } = e
  const guard = await options.lockSnapshot?.(e.sourceNs, e.dir)
  try {
    if (await exists(entry.targetPath)) {
      // Committed, so every target object was copied before the rename: drop the source's
      // leftovers - unless a snapshot lives at the source path again (moved back, say).
      // (Nothing is copied here: a target object missing now was removed on purpose later.)
      if (!(await exists(entry.sourcePath))) {
        const sources: string[] = []
        for await (const o of objects.listObjects(entry.sourcePrefix)) sources.push(o.key)
        if (sources.length > 0) result.deletedObjects += await objects.deleteObjects(sources)
      }
      result.rolledForward++
      return true
    }
    if (!rollbackAllowed) return false
    // not committed: the source is intact, whatever is under the target prefix is a leftover
    const targets: string[] = []
    for await (const o of objects.listObjects(entry.targetPrefix)) targets.push(o.key)
    if (targets.length > 0) result.deletedObjects += await objects.deleteObjects(targets)
    result.rolledBack++
    return true
  } finally {
    await guard?.[Symbol.asyncDispose]()
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}
