// Hostile input against every CLI command (issue 10, part 4 — CLI side): ≥ 2,000 malformed or
// hostile values in every parameter position. Each must fail with a clear one-line error that
// names the input, and nothing on disk may change (a tree watcher compares before and after).
import assert from 'node:assert/strict'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { main } from '../../src/cli/main.js'
import type { OutputSink } from '../../src/cli/output.js'
import { createDatastore, createNamespace } from '../../src/datastore/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'
import {
  hostileAuthids,
  hostileBooleans,
  hostileIntegers,
  hostileNames,
  hostileNamespaces,
  hostileTimes,
} from './hostile-values.js'

const T0 = 1776359903
const SNAP = 'vm/100/2026-04-16T17:18:23Z'

/** Every path under dir with size and mtime, to detect any change. */
async function tree(dir: string, skip: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name)
      if (p === skip) continue
      const st = await lstat(p)
      out.set(p, `${st.size}:${st.mtimeMs}:${st.mode}`)
      if (st.isDirectory() && !p.endsWith('.chunks')) await walk(p)
    }
  }
  await walk(dir)
  return out
}

/** All argument vectors to try (each must be refused). */
function cases(): string[][] {
  const s = ['--store', 'store1']
  const out: string[][] = []
  for (const ns of hostileNamespaces()) {
    out.push(['namespace', 'create', ns, ...s])
    out.push(['namespace', 'list', ...s, '--ns', ns])
    out.push(['namespace', 'delete', ns, ...s])
    out.push(['namespace', 'move', ns, ...s, '--target-ns', 'ok2'])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', ns])
    out.push(['group', 'list', ...s, '--ns', ns])
    out.push(['group', 'move', 'vm/100', ...s, '--target-ns', ns])
    out.push(['snapshot', 'list', ...s, '--ns', ns])
    out.push(['prune-datastore', ...s, '--ns', ns, '--keep-last', '1', '--dry-run'])
  }
  for (const n of hostileNames()) {
    for (const group of [`vm/${n}`, `${n}/100`]) {
      out.push(['group', 'notes', group, ...s])
      out.push(['group', 'forget', group, ...s])
      out.push(['group', 'move', group, ...s, '--target-ns', 'ok'])
      out.push(['group', 'change-owner', group, ...s, '--new-owner', 'a@pbs'])
      out.push(['snapshot', 'list', group, ...s])
      out.push(['prune', group, ...s, '--keep-last', '1', '--dry-run'])
    }
    out.push(['group', 'list', '--store', n])
    out.push(['namespace', 'list', '--store', n])
    out.push(['datastore', 'create', n, '/tmp/pbs-store-hostile-never-created'])
  }
  for (const t of hostileTimes()) {
    for (const cmd of [
      ['snapshot', 'forget'],
      ['snapshot', 'files'],
      ['snapshot', 'protected'],
    ])
      out.push([...cmd, `vm/100/${t}`, ...s])
  }
  for (const a of hostileAuthids()) out.push(['group', 'change-owner', 'vm/100', ...s, '--new-owner', a])
  for (const b of hostileBooleans()) {
    out.push(['snapshot', 'protected', SNAP, ...s, '--set', b])
    out.push(['group', 'move', 'vm/100', ...s, '--target-ns', 'ok', '--merge-group', b])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--delete-source', b])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--merge-groups', b])
  }
  for (const i of hostileIntegers()) {
    out.push(['namespace', 'list', ...s, '--max-depth', i])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--max-depth', i])
    if (i !== '8' && i !== '99') out.push(['prune', 'vm/100', ...s, '--keep-daily', i, '--dry-run']) // large keep counts are valid
    out.push(['prune-datastore', ...s, '--max-depth', i, '--keep-last', '1', '--dry-run'])
  }
  for (const dir of ['', 'relative\u0000nul']) out.push(['datastore', 'create', 'newstore', dir])
  return out
}

describe('hostile input against the CLI', () => {
  let home: TempHome
  before(async () => {
    home = await makeTempHome()
    process.env.PBS_STORE_LOCK_DIR = home.env.PBS_STORE_LOCK_DIR
    process.env.PBS_STORE_PBS_RUN_DIR = home.env.PBS_STORE_PBS_RUN_DIR
    const store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    await createNamespace(store, BackupNamespace.parse('ok'))
    await makeFakeSnapshot(store, BackupNamespace.ROOT, 'vm', '100', T0)
  })
  after(() => home.cleanup())

  it('refuses every hostile value with a clear error and changes nothing', async () => {
    const all = cases()
    assert.ok(all.length >= 2000, `only ${all.length} cases`)
    const beforeTree = await tree(home.dir, home.installation.lockDir)
    const failures: string[] = []
    for (const argv of all) {
      let err = ''
      let out = ''
      const sink: OutputSink = { out: (t) => (out += t), err: (t) => (err += t) }
      const code = await main(['node', 'pbs-store', '--home', home.installation.home, ...argv], sink)
      const label = JSON.stringify(argv)
      if (code === 0) failures.push(`accepted: ${label} → ${out.slice(0, 100)}`)
      else if (!/^error: .*(invalid |does not exist|cannot |must |not empty|required|unknown)/m.test(err))
        failures.push(`unclear: ${label} → ${err.slice(0, 200)}`)
      else if (/\n\s+at /.test(err)) failures.push(`stack trace: ${label}`)
    }
    assert.deepEqual(
      failures.slice(0, 20),
      [],
      `${failures.length} of ${all.length} inputs not refused clearly`,
    )
    const afterTree = await tree(home.dir, home.installation.lockDir)
    const changed = [...new Set([...beforeTree.keys(), ...afterTree.keys()])].filter(
      (p) => beforeTree.get(p) !== afterTree.get(p),
    )
    assert.deepEqual(changed, [], 'no file created or changed')
    console.log(
      `# hostile CLI inputs: ${all.length} tried, ${all.length - failures.length} refused clearly, files changed: 0`,
    )
  })
})
