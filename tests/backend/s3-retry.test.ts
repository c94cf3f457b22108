import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { S3DeleteError, type S3ObjectStore } from '../../src/backend/s3/index.js'
import { AbortedError, StorageError } from '../../src/errors.js'
import { FaultProxy, classifyS3Request, seededRandom, type FaultAction } from '../helpers/fault-proxy.js'
import { createTestBucket, startMoto, testObjectStore, type MotoServer } from '../helpers/moto.js'

let moto: MotoServer
let proxy: FaultProxy
const stores: S3ObjectStore[] = []

/** A store on a fresh bucket that talks to moto through the fault proxy. */
async function proxiedStore(overrides: Parameters<typeof testObjectStore>[2] = {}): Promise<S3ObjectStore> {
  const bucket = await createTestBucket(moto.endpoint)
  const store = testObjectStore(proxy.endpoint, bucket, overrides)
  stores.push(store)
  return store
}

before(async () => {
  moto = await startMoto()
  proxy = await FaultProxy.start(moto.endpoint, { seed: 42 })
})
after(async () => {
  for (const s of stores) s.destroy()
  await proxy.stop()
  await moto.stop()
})

const transient: [string, FaultAction][] = [
  ['503 SlowDown', { type: 'slowdown' }],
  ['500 InternalError', { type: 'error', status: 500 }],
  ['a reset connection', { type: 'reset' }],
]

describe('S3 retries through the fault proxy', () => {
  for (const [name, action] of transient) {
    it(`PUT survives ${name}: the retry is counted`, async () => {
      const store = await proxiedStore()
      proxy.clearRules()
      const rule = proxy.addRule({ kind: 'put', match: (r) => r.key.endsWith('/a/obj'), nth: 1, action })
      assert.equal(await store.putObject('a/obj', 'payload', { replace: false }), 'created')
      assert.equal(rule.injected, 1)
      assert.equal((await store.getObject('a/obj'))?.toString(), 'payload')
      const c = store.counters()
      assert.equal(c.requests.put, 2)
      assert.equal(c.retries.put, 1)
    })

    it(`COPY survives ${name}: the retry is counted`, async () => {
      const store = await proxiedStore()
      await store.putObject('src/2025-01-01T00:00:00Z/x y+z', 'copy me', { replace: true })
      proxy.clearRules()
      const rule = proxy.addRule({ kind: 'copy', nth: 1, action })
      await store.copyObject('src/2025-01-01T00:00:00Z/x y+z', 'dst/2025-01-01T00:00:00Z/x y+z')
      assert.equal(rule.injected, 1)
      assert.equal((await store.getObject('dst/2025-01-01T00:00:00Z/x y+z'))?.toString(), 'copy me')
      assert.equal(store.counters().requests.copy, 2)
      assert.equal(store.counters().retries.copy, 1)
    })
  }

  it('a conditional PUT whose response is lost is retried and reports exists with our body', async () => {
    const store = await proxiedStore()
    proxy.clearRules()
    proxy.addRule({ kind: 'put', nth: 1, action: { type: 'reset-after-forward' } })
    assert.equal(await store.putObject('chunk', 'mine', { replace: false }), 'exists')
    assert.equal((await store.getObject('chunk'))?.toString(), 'mine')
    assert.equal(store.counters().retries.put, 1)
  })

  it('GET and LIST survive resets and throttling', async () => {
    const store = await proxiedStore()
    await store.putObject('l/a', 'A', { replace: true })
    proxy.clearRules()
    proxy.addRule({ kind: 'get', nth: 1, times: 2, action: { type: 'reset' } })
    proxy.addRule({
      kind: 'list',
      nth: 1,
      action: { type: 'error', status: 503, code: 'ServiceUnavailable' },
    })
    assert.equal((await store.getObject('l/a'))?.toString(), 'A')
    const keys: string[] = []
    for await (const o of store.listObjects('l/')) keys.push(o.key)
    assert.deepEqual(keys, ['l/a'])
    assert.deepEqual([store.counters().retries.get, store.counters().retries.list], [2, 1])
  })

  it('a request that stalls past the socket timeout is retried', async () => {
    const store = await proxiedStore({ requestTimeoutMs: 300 })
    await store.putObject('slow', 'S', { replace: true })
    proxy.clearRules()
    proxy.addRule({ kind: 'get', nth: 1, action: { type: 'delay', ms: 1000 } })
    assert.equal((await store.getObject('slow'))?.toString(), 'S')
    assert.equal(store.counters().retries.get, 1)
  })

  it('a permanent failure surfaces a typed StorageError after the retry budget', async () => {
    const store = await proxiedStore({ maxAttempts: 3 })
    proxy.clearRules()
    proxy.resetCounts()
    proxy.addRule({ kind: 'put', action: { type: 'error', status: 500 } })
    await assert.rejects(store.putObject('p/k', 'x', { replace: true }), (e: unknown) => {
      assert.ok(e instanceof StorageError)
      assert.equal(e.code, 'StorageError')
      assert.deepEqual(
        { op: e.data.op, key: e.data.key, status: e.data.status, attempts: e.data.attempts },
        { op: 'put', key: 'p/k', status: 500, attempts: 3 },
      )
      assert.match(
        e.message,
        /S3 put of 'p\/k' in bucket '.*' failed \(after 3 attempts\) - HTTP 500 InternalError/,
      )
      assert.doesNotMatch(e.message, /testing-secret/)
      return true
    })
    assert.equal(proxy.counts().requests.put, 3)
    assert.equal(store.counters().requests.put, 3)
  })

  it('a client error (403) is not retried', async () => {
    const store = await proxiedStore()
    proxy.clearRules()
    proxy.addRule({
      kind: 'get',
      action: { type: 'error', status: 403, code: 'AccessDenied', message: 'denied' },
    })
    await assert.rejects(
      store.getObject('x'),
      (e: unknown) => e instanceof StorageError && e.data.status === 403,
    )
    assert.equal(store.counters().requests.get, 1)
  })

  it('DeleteObjects per-key errors become an S3DeleteError listing the failed keys', async () => {
    const store = await proxiedStore()
    await store.putObject('d/a', 'a', { replace: true })
    await store.putObject('d/b', 'b', { replace: true })
    proxy.clearRules()
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      '<Error><Key>store1/d/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>'
    proxy.addRule({
      kind: 'delete',
      nth: 1,
      action: { type: 'respond', status: 200, body, headers: { 'content-type': 'application/xml' } },
    })
    await assert.rejects(store.deleteObjects(['d/a', 'd/b']), (e: unknown) => {
      assert.ok(e instanceof S3DeleteError)
      assert.ok(e instanceof StorageError)
      assert.deepEqual(e.failed, [{ key: 'd/b', code: 'AccessDenied', message: 'Access Denied' }])
      assert.equal(e.data.deleted, 1)
      return true
    })
  })

  it('a DeleteObjects batch that keeps failing lists all its keys; other batches are deleted', async () => {
    const store = await proxiedStore({ maxAttempts: 2, providerQuirks: ['delete-objects-via-delete-object'] })
    await store.putObject('e/a', 'a', { replace: true })
    await store.putObject('e/b', 'b', { replace: true })
    proxy.clearRules()
    proxy.addRule({ kind: 'delete', match: (r) => r.key.endsWith('e/b'), action: { type: 'slowdown' } })
    await assert.rejects(store.deleteObjects(['e/a', 'e/b']), (e: unknown) => {
      assert.ok(e instanceof S3DeleteError)
      assert.deepEqual(
        e.failed.map((f) => [f.key, f.code]),
        [['e/b', 'SlowDown']],
      )
      return true
    })
    proxy.clearRules()
    assert.equal(await store.headObject('e/a'), undefined)
    assert.notEqual(await store.headObject('e/b'), undefined)
  })

  it('an abort during backoff ends with AbortedError', async () => {
    const store = await proxiedStore({ retryBaseDelayMs: 5000, retryMaxDelayMs: 5000 })
    proxy.clearRules()
    proxy.addRule({ kind: 'put', action: { type: 'slowdown' } })
    const ctl = new AbortController()
    setTimeout(() => ctl.abort(), 200)
    const t0 = Date.now()
    await assert.rejects(store.putObject('ab', 'x', { replace: true, signal: ctl.signal }), AbortedError)
    assert.ok(Date.now() - t0 < 3000)
    proxy.clearRules()
  })
})

describe('fault proxy', () => {
  it('classifies S3 requests by kind', () => {
    assert.equal(classifyS3Request('GET', '/b?list-type=2&prefix=x', {}).kind, 'list')
    assert.equal(classifyS3Request('GET', '/b/a%20b/c', {}).key, 'a b/c')
    assert.equal(classifyS3Request('PUT', '/b/k', { 'x-amz-copy-source': 'b/j' }).kind, 'copy')
    assert.equal(classifyS3Request('PUT', '/b/k', {}).kind, 'put')
    assert.equal(classifyS3Request('POST', '/b?delete', {}).kind, 'delete')
    assert.equal(classifyS3Request('DELETE', '/b/k', {}).kind, 'delete')
    assert.equal(classifyS3Request('HEAD', '/b/k', {}).kind, 'head')
  })

  it('fails exactly the n-th matching request and counts requests by kind', async () => {
    const store = await proxiedStore({ maxAttempts: 1 })
    proxy.clearRules()
    proxy.resetCounts()
    const rule = proxy.addRule({ kind: 'put', nth: 3, action: { type: 'error', status: 500 } })
    await store.putObject('n/1', '1', { replace: true })
    await store.putObject('n/2', '2', { replace: true })
    await assert.rejects(store.putObject('n/3', '3', { replace: true }), StorageError)
    await store.putObject('n/4', '4', { replace: true })
    await store.getObject('n/1')
    assert.deepEqual([rule.matched, rule.injected], [4, 1])
    assert.equal(proxy.counts().requests.put, 4)
    assert.equal(proxy.counts().injected.put, 1)
    assert.equal(proxy.counts().requests.get, 1)
    assert.equal(await store.headObject('n/3'), undefined)
  })

  it('probabilistic faults are reproducible with the same seed', async () => {
    const a = seededRandom(7)
    const b = seededRandom(7)
    const seqA = Array.from({ length: 20 }, () => a())
    assert.deepEqual(
      seqA,
      Array.from({ length: 20 }, () => b()),
    )
    assert.ok(seqA.every((x) => x >= 0 && x < 1))

    const store = await proxiedStore({ maxAttempts: 8 })
    proxy.clearRules()
    const rule = proxy.addRule({ kind: 'put', probability: 0.3, action: { type: 'slowdown' } })
    for (let i = 0; i < 20; i++) await store.putObject(`p/${i}`, String(i), { replace: true })
    assert.ok(rule.injected > 0 && rule.injected < rule.matched, `${rule.injected}/${rule.matched}`)
    assert.equal(store.counters().retries.put, rule.injected)
    assert.equal(store.counters().requests.put, 20 + rule.injected)
    proxy.clearRules()
  })
})
