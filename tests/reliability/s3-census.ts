/**
 * The orphan census of an S3 datastore, for the reliability tests: every object under the store
 * prefix must be the in-use marker, a chunk some index references, or a content key
 * (namespace marker, group owner/notes, snapshot file) whose counterpart exists in the cache.
 * The bucket is read through the client given (tests pass one that bypasses the fault proxy).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { S3Backend } from '../../src/backend/s3/s3-backend.js'
import type { S3ObjectStore } from '../../src/backend/s3/s3-object-store.js'
import type { Datastore } from '../../src/datastore/index.js'
import { parseDynamicIndex, parseFixedIndex } from '../../src/format/index.js'
import { localKeys } from '../backend/backend-conformance.js'

/** What the census found; every list is sorted and empty on a clean store. */
export interface S3Census {
  /** Objects under the store prefix. */
  objects: number
  /** Snapshots in the bucket (by snapshot prefix). */
  snapshots: number
  /** Content keys with no counterpart in the cache (a snapshot, group or namespace that is gone). */
  orphanContent: string[]
  /** Chunk objects (`.chunks/…`) that no index of the cache references, `.bad` copies included. */
  unreferencedChunks: string[]
  /** Keys that are neither content, chunk nor the in-use marker. */
  strayKeys: string[]
  /** Content keys the cache has and the bucket lacks. */
  missingContent: string[]
  /** Chunk digests an index references that have no object. */
  missingChunks: string[]
  /** Snapshots (`type/id/time`) at more than one place in the bucket. */
  duplicates: string[]
  /** Files left in the cache's move-intent directory. */
  intents: string[]
  /** Snapshot files whose bucket bytes differ from the cache's (only with compareContent). */
  contentDiffers: string[]
}

const CHUNK_KEY = /^\.chunks\/([0-9a-f]{4})\/([0-9a-f]{64})$/
const SNAPSHOT_KEY = /^\.cnt\/(?:.*\/)?((?:vm|ct|host)\/[^/]+\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\/[^/]+$/

/** Every chunk digest referenced by an index file of the cache (read from the local files). */
async function referencedDigests(store: Datastore, content: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>()
  for (const key of content) {
    const fixed = key.endsWith('.fidx')
    if (!fixed && !key.endsWith('.didx')) continue
    const raw = await readFile(join(store.base, key.slice('.cnt/'.length)))
    const index = fixed ? parseFixedIndex(raw) : parseDynamicIndex(raw)
    for (let i = 0; i < index.count; i++) out.add(index.digestHex(i))
  }
  return out
}

/**
 * Takes the census of `store` (an S3 datastore) reading the bucket through `objects`.
 * With compareContent every snapshot file's bucket bytes are compared with the cache's copy.
 */
export async function s3Census(
  store: Datastore,
  objects: S3ObjectStore,
  options: { compareContent?: boolean } = {},
): Promise<S3Census> {
  if (!(store.backend instanceof S3Backend)) throw new Error(`store '${store.name}' is not an S3 datastore`)
  const intentDir = store.backend.intentDir
  const bucket: string[] = []
  for await (const o of objects.listObjects('')) bucket.push(o.key)
  bucket.sort()
  const local = await localKeys(store)
  const localSet = new Set(local)
  const bucketSet = new Set(bucket)
  const referenced = await referencedDigests(store, local)

  const census: S3Census = {
    objects: bucket.length,
    snapshots: 0,
    orphanContent: [],
    unreferencedChunks: [],
    strayKeys: [],
    missingContent: local.filter((k) => !bucketSet.has(k)),
    missingChunks: [],
    duplicates: [],
    intents: [],
    contentDiffers: [],
  }
  const places = new Map<string, Set<string>>()
  const chunkObjects = new Set<string>()
  for (const key of bucket) {
    if (key === '.in-use') continue
    if (key.startsWith('.chunks/')) {
      const m = CHUNK_KEY.exec(key)
      if (m !== null && m[2]!.startsWith(m[1]!)) {
        chunkObjects.add(m[2]!)
        if (!referenced.has(m[2]!)) census.unreferencedChunks.push(key)
      } else census.unreferencedChunks.push(key)
      continue
    }
    if (!key.startsWith('.cnt/')) {
      census.strayKeys.push(key)
      continue
    }
    if (!localSet.has(key)) census.orphanContent.push(key)
    const snap = SNAPSHOT_KEY.exec(key)
    if (snap !== null) {
      const prefix = key.slice(0, key.lastIndexOf('/'))
      const set = places.get(snap[1]!) ?? new Set<string>()
      set.add(prefix)
      places.set(snap[1]!, set)
    }
  }
  census.snapshots = places.size
  for (const [snap, at] of places) if (at.size > 1) census.duplicates.push(`${snap}: ${[...at].join(', ')}`)
  for (const d of referenced) if (!chunkObjects.has(d)) census.missingChunks.push(d)
  census.missingChunks.sort()
  census.duplicates.sort()
  try {
    census.intents = (await readdir(intentDir)).sort()
  } catch {
    census.intents = [] // no move ever ran: the directory was never made
  }
  if (options.compareContent === true) {
    const files = local.filter((k) => SNAPSHOT_KEY.test(k) && bucketSet.has(k))
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < files.length; i = next++) {
          const key = files[i]!
          const [remote, mine] = await Promise.all([
            objects.getObject(key),
            readFile(join(store.base, key.slice('.cnt/'.length))),
          ])
          if (remote === undefined || !remote.equals(mine)) census.contentDiffers.push(key)
        }
      }),
    )
    census.contentDiffers.sort()
  }
  return census
}

/** The problems of a census as lines (empty = clean); `allowUnreferencedChunks` before a final GC. */
export function censusProblems(c: S3Census, options: { allowUnreferencedChunks?: boolean } = {}): string[] {
  const out: string[] = []
  const add = (what: string, list: readonly string[]): void => {
    if (list.length > 0) out.push(`${what} (${list.length}): ${list.slice(0, 20).join(', ')}`)
  }
  add('orphaned content objects', c.orphanContent)
  if (options.allowUnreferencedChunks !== true) add('unreferenced chunk objects', c.unreferencedChunks)
  add('stray keys', c.strayKeys)
  add('content missing in the bucket', c.missingContent)
  add('referenced chunks missing in the bucket', c.missingChunks)
  add('snapshots at two places', c.duplicates)
  add('intent files left', c.intents)
  add('snapshot files differing between bucket and cache', c.contentDiffers)
  return out
}

/** Orphaned objects of a census: content without cache counterpart, unreferenced chunks, stray keys. */
export function orphanCount(c: S3Census): number {
  return c.orphanContent.length + c.unreferencedChunks.length + c.strayKeys.length
}
