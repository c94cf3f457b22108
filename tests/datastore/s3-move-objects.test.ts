// Group and namespace objects of S3 moves survive a crash between their two halves: a move
// process is SIGKILLed right after the target group's owner upload, the target notes upload, the
// source group's prefix delete, a new namespace's marker upload, or before a removed namespace's
// marker delete. Each step is journalled (guardObjects), and the recovery makes the bucket's
// content tree equal the cache's again: owners, notes and markers included, not only snapshots.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { S3_MOVE_GRACE_ENV } from '../../src/backend/s3/s3-move-intent.js'
import { backupSnapshot, createNamespace, namespaceExists, setNotes } from '../../src/datastore/index.js'
import { recoverS3Moves } from '../../src/datastore/move/index.js'
import { localKeys } from '../backend/backend-conformance.js'
import { CLI_BIN } from '../helpers/run-cli.js'
import { makeS3Store, type S3TestStore } from '../helpers/s3-store.js'

const T0 = 1776359903

/** The bucket's content tree must equal the cache's (returns the bucket's). */
async function assertSameContent(s: S3TestStore, what: string): Promise<string[]> {
  const bucket = (await s.keys()).filter((k) => k.startsWith('.cnt/'))
  const cache = (await localKeys(s.store)).filter((k) => k.startsWith('.cnt/'))
  assert.deepEqual(bucket, cache, `${what}: bucket content = cache content`)
  return bucket
}

/** Runs the CLI with a crash point; it must die there. */
async function crashAt(s: S3TestStore, step: string, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI_BIN, ...args, '--store', 'store1'], {
    env: { ...s.home.env, PBS_STORE_S3_MOVE_CRASH_AT: step },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('close', (_c, sig) => resolve(sig)),
  )
  assert.equal(signal, 'SIGKILL', `pbs-store ${args.join(' ')} crashed at ${step} (stderr: ${stderr})`)
}

/** Runs the CLI to the end. */
async function run(s: S3TestStore, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI_BIN, ...args, '--store', 'store1'], {
    env: s.home.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, `pbs-store ${args.join(' ')}: ${stderr}`)
}

describe('S3 move: group and namespace objects after a crash', () => {
  let s: S3TestStore
  const saved = process.env[S3_MOVE_GRACE_ENV]
  before(async () => {
    process.env[S3_MOVE_GRACE_ENV] = '0' // the killed process sent nothing more after the crash point
    s = await makeS3Store()
    for (const n of ['a', 'b', 'x', 'x/c']) await createNamespace(s.store, BackupNamespace.parse(n))
    for (const [ns, id] of [
      ['a', '100'],
      ['a', '101'],
      ['x', '300'],
      ['x/c', '400'],
    ] as const)
      for (let i = 0; i < 2; i++)
        await backupSnapshot(s.store, {
          ns: BackupNamespace.parse(ns),
          type: 'vm',
          id,
          time: T0 + i * 60,
          owner: 'root@pam',
          workers: 0,
          archives: [{ name: 'qemu-server.conf', source: Buffer.from(`${ns} ${id} ${i}\n`) }],
        })
    await setNotes(s.store, BackupNamespace.parse('a'), { type: 'vm', id: '101' }, 'notes of vm/101\n')
    await assertSameContent(s, 'at the start')
  })
  after(async () => {
    if (saved === undefined) delete process.env[S3_MOVE_GRACE_ENV]
    else process.env[S3_MOVE_GRACE_ENV] = saved
    await s.cleanup()
  })

  const cases: { step: string; args: string[]; repaired: string }[] = [
    {
      step: 'after-owner-put',
      args: ['group', 'move', 'vm/100', '--ns', 'a', '--target-ns', 'b'],
      repaired: 'the new target group owner object is deleted (the group never appeared)',
    },
    {
      step: 'after-notes-put',
      args: ['group', 'move', 'vm/101', '--ns', 'a', '--target-ns', 'b'],
      repaired: 'the target notes object is deleted (the notes stayed at the source)',
    },
    {
      step: 'after-group-delete',
      args: ['group', 'move', 'vm/100', '--ns', 'a', '--target-ns', 'b'],
      repaired: 'the source group owner is uploaded again (the emptied group is still in the cache)',
    },
    {
      step: 'after-marker-put',
      args: ['namespace', 'move', 'x', '--target-ns', 'y'],
      repaired: 'the marker of the target namespace that was never made is deleted',
    },
    {
      step: 'before-marker-delete',
      args: ['namespace', 'move', 'x', '--target-ns', 'y'],
      repaired: 'the marker of the removed source namespace is deleted',
    },
  ]
  for (const c of cases)
    it(`${c.step}: ${c.repaired}`, { timeout: 120_000 }, async () => {
      await crashAt(s, c.step, c.args)
      const before = (await s.keys()).filter((k) => k.startsWith('.cnt/'))
      const cache = (await localKeys(s.store)).filter((k) => k.startsWith('.cnt/'))
      assert.notDeepEqual(before, cache, 'the crash left the bucket and the cache apart')
      const r = await recoverS3Moves(s.store)
      assert.deepEqual(r.warnings, [])
      assert.ok(r.reconciledObjects >= 1, 'the guarded objects were reconciled')
      await assertSameContent(s, `after the crash at ${c.step} and recovery`)
      // and the move then completes
      await run(s, c.args)
      await assertSameContent(s, `after rerunning ${c.args.join(' ')}`)
      // back to the start for the next case
      const [kind, , what] = c.args
      if (kind === 'group') await run(s, ['group', 'move', what!, '--ns', 'b', '--target-ns', 'a'])
      else if (!(await namespaceExists(s.store, BackupNamespace.parse('x'))))
        await run(s, ['namespace', 'move', 'y', '--target-ns', 'x'])
      await assertSameContent(s, 'after moving back')
    })
})
