// Recovery of S3 moves from their intents, deterministically:
// - a CopyObject the killed mover had sent is applied by the server only after the kill (what left
//   a partial orphan in one s3-move-crash run): with no grace the rollback misses it, with the
//   grace period it is waited for and removed;
// - 'defer' (the recovery at the start of every move) leaves a fresh crash's rollbacks alone and
//   returns at once; 'wait' (cleanup, GC) sits out the grace and then rolls back;
// - a mover that ends normally with work left (failed deletes) leaves a settled intent, which is
//   recovered at once, grace or not;
// - version 1 intents (with key lists) are still recovered, by listing the prefixes.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readdir, rename, utimes, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, afterEach, before, describe, it } from 'node:test'

import { BackupNamespace, formatBackupTime, type BackupDirRef } from '../../src/api-types/index.js'
import { groupPrefix, snapshotFileKey, snapshotPrefix } from '../../src/backend/s3/s3-keys.js'
import { S3_MOVE_GRACE_ENV } from '../../src/backend/s3/s3-move-intent.js'
import { backupSnapshot, createNamespace, listSnapshotRefs } from '../../src/datastore/index.js'
import { moveGroup, recoverS3Moves } from '../../src/datastore/move/index.js'
import { localKeys } from '../backend/backend-conformance.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { CLI_BIN } from '../helpers/run-cli.js'
import { makeS3Store, s3TestEndpoint, snapshotKeyMap, type S3TestStore } from '../helpers/s3-store.js'

const T0 = 1776359903
const A = BackupNamespace.parse('a')
const B = BackupNamespace.parse('b')
const VM100 = { type: 'vm' as const, id: '100' }
const dirOf = (i: number): BackupDirRef => ({
  ...VM100,
  time: T0 + i * 60,
  timeString: formatBackupTime(T0 + i * 60),
})

/** Bucket snapshots = cache snapshots, each at one place. */
async function assertClean(s: S3TestStore, what: string): Promise<void> {
  const bucket = snapshotKeyMap(await s.keys())
  const local = snapshotKeyMap(await localKeys(s.store))
  assert.deepEqual(bucket, local, `${what}: bucket snapshots = cache snapshots`)
}

async function fillGroup(s: S3TestStore, count: number): Promise<void> {
  await createNamespace(s.store, A)
  await createNamespace(s.store, B)
  for (let i = 0; i < count; i++)
    await backupSnapshot(s.store, {
      ns: A,
      ...VM100,
      time: T0 + i * 60,
      owner: 'root@pam',
      workers: 0,
      archives: [{ name: 'qemu-server.conf', source: Buffer.from(`snapshot ${i}\n`) }],
    })
}

/** Headers for a buffered body: its length, no chunking, no 100-continue (the SigV4 headers stay). */
function plainHeaders(h: IncomingMessage['headers'], length: number): IncomingMessage['headers'] {
  const out = { ...h, 'content-length': String(length) }
  delete out['transfer-encoding']
  delete out.expect
  return out
}

/**
 * A proxy in front of the S3 server that holds the CopyObject requests `hold` selects for
 * `holdMs`, then forwards them - also when the client has gone meanwhile, as a server that had
 * already received a request would still apply it. Everything else passes at once.
 */
class HoldingProxy {
  readonly endpoint: string
  /** Resolves when the first held request arrived. */
  readonly held: Promise<void>
  /** Times (Date.now()) at which held requests were applied by the server. */
  readonly applied: number[] = []
  readonly #server: Server
  readonly #pending: Promise<void>[] = []

  private constructor(server: Server, held: Promise<void>) {
    this.#server = server
    this.held = held
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  static async start(target: string, hold: (key: string) => boolean, holdMs: number): Promise<HoldingProxy> {
    const up = new URL(target)
    let onHeld!: () => void
    const held = new Promise<void>((r) => (onHeld = r))
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const proxy = new HoldingProxy(server, held)
    const forward = (
      req: IncomingMessage,
      body: Buffer,
    ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
      new Promise((resolve, reject) => {
        const out = httpRequest(
          {
            host: up.hostname,
            port: up.port,
            method: req.method,
            path: req.url,
            headers: plainHeaders(req.headers, body.length),
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const all = Buffer.concat(chunks)
              resolve({
                status: res.statusCode ?? 502,
                headers: plainHeaders(res.headers, all.length),
                body: all,
              })
            })
          },
        )
        out.on('error', reject)
        out.end(body)
      })
    server.on('request', (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const key = decodeURIComponent((req.url ?? '').split('?')[0]!.split('/').slice(2).join('/'))
        const isHeld = req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined && hold(key)
        const run = async (): Promise<void> => {
          if (isHeld) {
            onHeld()
            await sleep(holdMs)
          }
          const r = await forward(req, body)
          if (isHeld) proxy.applied.push(Date.now())
          if (!res.destroyed) {
            res.writeHead(r.status, r.headers)
            res.end(r.body)
          }
        }
        const p = run().catch(() => {
          res.destroy()
        })
        if (isHeld) proxy.#pending.push(p)
      })
    })
    return proxy
  }

  /** Waits until every held request was forwarded. */
  async drain(): Promise<void> {
    await Promise.all(this.#pending)
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((r) => this.#server.close(() => r()))
  }
}

/** Runs `pbs-store group move vm/100 --ns a --target-ns b` and SIGKILLs it once `killOn` resolves. */
async function killedMove(
  s: S3TestStore,
  killOn: Promise<void> | undefined,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const child = spawn(
    process.execPath,
    [CLI_BIN, 'group', 'move', 'vm/100', '--ns', 'a', '--target-ns', 'b', '--store', 'store1'],
    { env: { ...s.home.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  if (killOn !== undefined)
    void Promise.race([killOn, exited]).then(() => {
      child.kill('SIGKILL')
    })
  const { signal } = await exited
  assert.equal(signal, 'SIGKILL', `the move was killed (stderr: ${stderr})`)
}

describe('S3 move recovery', () => {
  const savedGrace = process.env[S3_MOVE_GRACE_ENV]
  afterEach(() => {
    if (savedGrace === undefined) delete process.env[S3_MOVE_GRACE_ENV]
    else process.env[S3_MOVE_GRACE_ENV] = savedGrace
  })

  for (const graceMs of [0, 5000]) {
    it(
      graceMs === 0
        ? 'without a grace period, a copy the killed mover sent lands after the rollback (the orphan)'
        : "with the grace period, the rollback waits for the killed mover's last copy and removes it",
      { timeout: 120_000 },
      async () => {
        const HOLD_MS = 3000
        const heldKey = snapshotFileKey(B, dirOf(1), 'index.json.blob')
        const proxy = await HoldingProxy.start(s3TestEndpoint(), (k) => k.endsWith(heldKey), HOLD_MS)
        const s = await makeS3Store({ clientEndpoint: proxy.endpoint })
        try {
          await fillGroup(s, 4)
          process.env[S3_MOVE_GRACE_ENV] = String(graceMs)
          // killed the moment the server has the copy of snapshot 1's manifest in hand
          await killedMove(s, proxy.held)
          const t0 = Date.now()
          const r = await recoverS3Moves(s.store)
          const recovered = Date.now()
          assert.deepEqual(r.warnings, [])
          assert.equal(r.intents, 1)
          assert.ok(r.rolledBack >= 1, 'snapshot 1 was not committed: rolled back')
          if (graceMs === 0) {
            assert.ok(recovered - t0 < HOLD_MS, 'recovery did not wait for the held copy')
            await proxy.drain()
            assert.equal(proxy.applied.length, 1)
            assert.ok(proxy.applied[0]! > recovered, 'the held copy was applied after the rollback')
            const orphan = (await s.keys()).filter((k) => k === heldKey)
            assert.deepEqual(orphan, [heldKey], 'the late copy left an orphan at the target')
            await s.backend.objects.deleteObjects(orphan)
          } else {
            assert.ok(r.waitedMs >= HOLD_MS - 1000, `recovery waited for the grace period (${r.waitedMs} ms)`)
            assert.equal(
              proxy.applied.length,
              1,
              'the held copy was applied before the rollback listed the target',
            )
            assert.ok(proxy.applied[0]! < recovered)
            await proxy.drain()
          }
          await assertClean(s, 'after recovery')
          // and a later move finishes the group
          const m = await moveGroup(s.store, A, VM100, B)
          assert.ok(m.movedSnapshots >= 3)
          assert.equal((await listSnapshotRefs(s.store, B, VM100)).length, 4)
          await assertClean(s, 'after the rerun')
        } finally {
          await s.cleanup()
          await proxy.stop()
        }
      },
    )
  }

  describe('with one store', () => {
    let s: S3TestStore
    before(async () => {
      s = await makeS3Store()
      await fillGroup(s, 5)
    })
    after(() => s.cleanup())

    it("'defer' leaves a fresh crash's rollback alone; 'wait' sits out the grace, then rolls back", async () => {
      process.env[S3_MOVE_GRACE_ENV] = '1500'
      // crashes before the first rename: every snapshot copied, none committed
      await killedMove(s, undefined, { PBS_STORE_S3_MOVE_CRASH_AT: 'after-copy' })
      const isTargetSnapshotKey = (k: string): boolean =>
        k.startsWith(groupPrefix(B, VM100)) && /\/\d{4}-\d\d-\d\dT[^/]+\/[^/]+$/.test(k)
      const copied = (await s.keys()).filter(isTargetSnapshotKey)
      assert.ok(copied.length > 0, 'the killed move had copied objects to the target')
      const t0 = Date.now()
      const d = await recoverS3Moves(s.store, undefined, 'defer')
      assert.ok(Date.now() - t0 < 1000, 'defer returns at once')
      assert.deepEqual([d.intents, d.deferred, d.rolledBack, d.deletedObjects, d.waitedMs], [1, 1, 0, 0, 0])
      assert.equal((await readdir(s.backend.intentDir)).length, 1, 'the intent stays')
      const w = await recoverS3Moves(s.store)
      assert.ok(w.waitedMs > 0, 'wait mode waited')
      assert.equal(w.deferred, 0)
      assert.ok(w.rolledBack >= 1)
      assert.ok(w.deletedObjects >= copied.length, 'every copy at the target was deleted')
      assert.deepEqual((await s.keys()).filter(isTargetSnapshotKey), [])
      assert.deepEqual(await readdir(s.backend.intentDir), [])
      await assertClean(s, 'after recovery')
    })

    it('a version 1 intent (with key lists) is recovered by listing: forward and back', async () => {
      // snapshot 0 "committed" (cache renamed, source objects left), snapshot 1 not (partial copies
      // at the target, one of them not in the key list)
      const objects = s.backend.objects
      const keysOf = async (prefix: string): Promise<string[]> => {
        const out: string[] = []
        for await (const o of objects.listObjects(prefix)) out.push(o.key)
        return out
      }
      const entries = []
      for (const i of [0, 1]) {
        const dir = dirOf(i)
        const sourcePrefix = snapshotPrefix(A, dir)
        const targetPrefix = snapshotPrefix(B, dir)
        const keys = await keysOf(sourcePrefix)
        assert.ok(keys.length >= 2)
        for (const k of keys) await objects.copyObject(k, targetPrefix + k.slice(sourcePrefix.length))
        entries.push({
          sourceNs: 'a',
          targetNs: 'b',
          snapshot: `vm/100/${dir.timeString}`,
          sourcePrefix,
          targetPrefix,
          sourcePath: s.store.snapshotDir(A, dir),
          targetPath: s.store.snapshotDir(B, dir),
          keys: i === 1 ? keys.slice(0, 1) : keys,
        })
      }
      await mkdir(s.store.groupDir(B, VM100), { recursive: true })
      await writeFile(join(s.store.groupDir(B, VM100), 'owner'), 'root@pam\n')
      await s.backend.putGroupFile(B, VM100, 'owner', 'root@pam\n')
      await rename(entries[0]!.sourcePath, entries[0]!.targetPath)
      await mkdir(s.backend.intentDir, { recursive: true })
      const file = join(s.backend.intentDir, 'old.json')
      await writeFile(file, JSON.stringify({ version: 1, created: new Date(0).toISOString(), entries }))
      const hourAgo = new Date(Date.now() - 3_600_000)
      await utimes(file, hourAgo, hourAgo) // left by a process that died an hour ago
      process.env[S3_MOVE_GRACE_ENV] = '60000'
      const r = await recoverS3Moves(s.store)
      assert.deepEqual(r.warnings, [])
      assert.deepEqual([r.intents, r.rolledForward, r.rolledBack, r.waitedMs], [1, 1, 1, 0])
      assert.deepEqual(await keysOf(snapshotPrefix(A, dirOf(0))), [], 'forward: the source is gone')
      assert.deepEqual(
        await keysOf(snapshotPrefix(B, dirOf(1))),
        [],
        'back: every target object is gone, listed or not',
      )
      assert.deepEqual(await readdir(s.backend.intentDir), [])
      await assertClean(s, 'after recovering the v1 intent')
    })
  })

  it(
    'a mover that ends with work left leaves a settled intent: recovered at once, no grace',
    { timeout: 120_000 },
    async () => {
      const proxy = await FaultProxy.start(s3TestEndpoint())
      const s = await makeS3Store({ clientEndpoint: proxy.endpoint, overrides: { maxAttempts: 2 } })
      try {
        await fillGroup(s, 4)
        // snapshot 2's copy fails (an answer: 500), and every delete fails
        proxy.addRule({
          kind: 'copy',
          match: (r) => r.key.includes(`/${dirOf(2).timeString}/`),
          action: { type: 'error', status: 500 },
        })
        proxy.addRule({ kind: 'delete', action: { type: 'error', status: 500 } })
        await assert.rejects(moveGroup(s.store, A, VM100, B), /500|InternalError/)
        proxy.clearRules()
        const names = await readdir(s.backend.intentDir)
        assert.equal(names.length, 1)
        assert.match(names[0]!, /\.settled\.json$/, 'every request was answered: settled')
        process.env[S3_MOVE_GRACE_ENV] = '60000'
        const t0 = Date.now()
        const r = await recoverS3Moves(s.store)
        assert.ok(Date.now() - t0 < 5000, 'no grace period for a settled intent')
        assert.deepEqual(r.warnings, [])
        assert.deepEqual([r.rolledForward, r.waitedMs], [2, 0])
        assert.ok(r.rolledBack >= 1)
        assert.deepEqual(await readdir(s.backend.intentDir), [])
        await assertClean(s, 'after recovery')
      } finally {
        await s.cleanup()
        await proxy.stop()
      }
    },
  )
})
