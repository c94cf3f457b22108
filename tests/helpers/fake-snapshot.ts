import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

import { formatBackupTime, type BackupNamespace, type BackupType } from '../../src/api-types/index.js'
import type { Datastore } from '../../src/datastore/index.js'

/**
 * Lays out a group and snapshot directory by hand (owner file, optional manifest placeholder),
 * for tests of listing and layout that do not need real backup data.
 */
export async function makeFakeSnapshot(
  store: Datastore,
  ns: BackupNamespace,
  type: BackupType,
  id: string,
  time: number,
  options: { finished?: boolean; owner?: string; files?: string[]; content?: string } = {},
): Promise<string> {
  const group = store.groupDir(ns, { type, id })
  await mkdir(group, { recursive: true })
  await writeFile(join(group, 'owner'), `${options.owner ?? 'root@pam'}\n`, { flag: 'w' })
  const snap = join(group, formatBackupTime(time))
  await mkdir(snap, { recursive: true })
  for (const f of options.files ?? ['disk.img.fidx']) await writeFile(join(snap, f), options.content ?? 'x')
  if (options.finished !== false) await writeFile(join(snap, 'index.json.blob'), 'manifest placeholder')
  return snap
}

/** Creates an empty group (owner only). */
export async function makeFakeGroup(
  store: Datastore,
  ns: BackupNamespace,
  type: BackupType,
  id: string,
  owner = 'root@pam',
): Promise<string> {
  const group = store.groupDir(ns, { type, id })
  await mkdir(group, { recursive: true })
  await writeFile(join(group, 'owner'), `${owner}\n`)
  return group
}
