import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { formatBackupTime, type BackupNamespace, type BackupType } from '../../src/api-types/index.js'
import type { Datastore } from '../../src/datastore/index.js'

/**
 * Lays out one group with `count` fake snapshots one minute apart, synchronously (thousands in a
 * second): owner file, and per snapshot an index placeholder and a manifest placeholder.
 */
export function makeBulkSnapshots(
  store: Datastore,
  ns: BackupNamespace,
  type: BackupType,
  id: string,
  firstTime: number,
  count: number,
  owner = 'root@pam',
): void {
  const group = store.groupDir(ns, { type, id })
  mkdirSync(group, { recursive: true })
  writeFileSync(join(group, 'owner'), `${owner}\n`)
  for (let i = 0; i < count; i++) {
    const snap = join(group, formatBackupTime(firstTime + i * 60))
    mkdirSync(snap)
    writeFileSync(join(snap, 'index.json.blob'), 'manifest placeholder')
  }
}
