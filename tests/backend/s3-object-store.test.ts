import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import pLimit from 'p-limit'

import type { S3ObjectStore } from '../../src/backend/s3/index.js'
import { S3DeleteError, encodeCopySourceKey, resolveS3Endpoint } from '../../src/backend/s3/index.js'
import { NotFoundError, ValidationError } from '../../src/errors.js'
import { createTestBucket, startMoto, testObjectStore, type MotoServer } from '../helpers/moto.js'

let moto: MotoServer
const stores: S3ObjectStore[] = []

/** A store on a fresh bucket; destroyed after the file. */
async function freshStore(overrides: Parameters<typeof testObjectStore>[2] = {}): Promise<S3ObjectStore> {
  const bucket = await createTestBucket(moto.endpoint)
  const store = testObjectStore(moto.endpoint, bucket, overrides)
  stores.push(store)
  return store
}

async function putMany(store: S3ObjectStore, keys: readonly string[]): Promise<void> {
  const limit = pLimit(32)
  await Promise.all(keys.map((k) => limit(() => store.putObject(k, k, { replace: true }))))
}

async function listKeys(store: S3ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const o of store.listObjects(prefix)) out.push(o.key)
  return out
}

before(async () => {
  moto = await startMoto()
})
after(async () => {
  for (const s of stores) s.destroy()
  await moto.stop()
})

describe('S3ObjectStore against moto', () => {
  it('conditional put: a second no-replace put reports exists and leaves the body unchanged', async () => {
    const store = await freshStore()
    assert.equal(await store.putObject('.chunks/abcd/x', 'first', { replace: false }), 'created')
    assert.equal(await store.putObject('.chunks/abcd/x', 'second', { replace: false }), 'exists')
    assert.equal((await store.getObject('.chunks/abcd/x'))?.toString(), 'first')
    assert.equal(await store.putObject('.chunks/abcd/x', 'third', { replace: true }), 'created')
    assert.equal((await store.getObject('.chunks/abcd/x'))?.toString(), 'third')
    assert.deepEqual(store.counters().requests.put, 3)
  })

  it('skip-if-none-match-header quirk: a no-replace put overwrites (PBS behaviour)', async () => {
    const store = await freshStore({ providerQuirks: ['skip-if-none-match-header'] })
    await store.putObject('k', 'a', { replace: false })
    assert.equal(await store.putObject('k', 'b', { replace: false }), 'created')
    assert.equal((await store.getObject('k'))?.toString(), 'b')
  })

  it('get and head of an absent key return undefined; keys live under the store prefix', async () => {
    const store = await freshStore()
    assert.equal(await store.getObject('nope/absent'), undefined)
    assert.equal(await store.headObject('nope/absent'), undefined)
    await store.putObject('dir/file', Buffer.from([1, 2, 3]), { replace: true })
    const head = await store.headObject('dir/file')
    assert.equal(head?.size, 3)
    assert.deepEqual([...((await store.getObject('dir/file')) ?? [])], [1, 2, 3])
    const other = testObjectStore(moto.endpoint, store.bucket, { prefix: '' })
    stores.push(other)
    assert.deepEqual(await listKeys(other, ''), ['store1/dir/file'])
  })

  it('a missing bucket is a NotFoundError, not an absent object', async () => {
    const store = testObjectStore(moto.endpoint, 'no-such-bucket-here')
    stores.push(store)
    await assert.rejects(store.headBucket(), NotFoundError)
    await assert.rejects(store.getObject('x'), NotFoundError)
  })

  it('lists more than 1000 keys over several pages, relative to the prefix', async () => {
    const store = await freshStore()
    const keys = Array.from({ length: 1100 }, (_, i) => `.cnt/vm/1/obj-${String(i).padStart(4, '0')}`)
    await putMany(store, [...keys, '.cnt/vm/10/other'])
    store.resetCounters()
    const listed = await listKeys(store, '.cnt/vm/1/')
    assert.deepEqual(listed, keys)
    assert.equal(store.counters().requests.list, 2)
    let pages = 0
    for await (const page of store.listObjectPages('.cnt/vm/1/')) {
      pages += 1
      assert.ok(page.length <= 1000)
    }
    assert.equal(pages, 2)
  })

  it('copies keys with spaces, +, %, unicode and ":" and reads them back', async () => {
    const store = await freshStore()
    const names = [
      '.cnt/vm/100/2025-07-14T14:20:02Z/index.json.blob',
      'odd/a b+c%20d/ü€😀 file+1.blob',
      'odd/question?and#hash&amp=1',
    ]
    for (const [i, src] of names.entries()) {
      await store.putObject(src, `body-${i}`, { replace: true })
      const dst = `copied/${src}`
      await store.copyObject(src, dst)
      assert.equal((await store.getObject(dst))?.toString(), `body-${i}`, dst)
    }
    assert.equal(store.counters().requests.copy, names.length)
    await assert.rejects(store.copyObject('odd/missing', 'odd/target'), NotFoundError)
    assert.equal(encodeCopySourceKey('a b/c+d:e'), 'a%20b/c%2Bd%3Ae')
  })

  it('deleteObjects uses batches of at most 1000 keys', async () => {
    const store = await freshStore()
    const keys = Array.from({ length: 1050 }, (_, i) => `del/k${i}`)
    await putMany(store, keys)
    store.resetCounters()
    assert.equal(await store.deleteObjects([...keys, 'del/never-existed']), 1051)
    assert.equal(store.counters().requests.delete, 2)
    assert.deepEqual(await listKeys(store, 'del/'), [])
  })

  it('delete-objects-via-delete-object quirk deletes with one request per key', async () => {
    const store = await freshStore({ providerQuirks: ['delete-objects-via-delete-object'] })
    await putMany(store, ['q/a', 'q/b', 'q/c'])
    store.resetCounters()
    assert.equal(await store.deleteObjects(['q/a', 'q/b', 'q/c']), 3)
    assert.equal(store.counters().requests.delete, 3)
    assert.deepEqual(await listKeys(store, 'q/'), [])
  })

  it('deletePrefix of vm/100/ never touches vm/1000/, and refuses a prefix without "/"', async () => {
    const store = await freshStore()
    const g100 = Array.from({ length: 1010 }, (_, i) => `.cnt/vm/100/2025-01-01T00:00:00Z/f${i}`)
    const g1000 = ['.cnt/vm/1000/owner', '.cnt/vm/1000/2025-01-01T00:00:00Z/index.json.blob']
    await putMany(store, [...g100, '.cnt/vm/100/owner', ...g1000])
    await assert.rejects(store.deletePrefix('.cnt/vm/100'), ValidationError)
    await assert.rejects(store.deletePrefix(''), ValidationError)
    assert.equal(await store.deletePrefix('.cnt/vm/100/'), 1011)
    assert.deepEqual(await listKeys(store, '.cnt/'), g1000.sort())
  })

  it('rejects keys longer than 1024 bytes before any request', async () => {
    const store = await freshStore()
    store.resetCounters()
    await assert.rejects(store.putObject('x'.repeat(1025), 'a', { replace: true }), ValidationError)
    assert.equal(store.counters().requests.put, 0)
  })

  it('resolves endpoint templates', () => {
    assert.equal(
      resolveS3Endpoint('https://{{bucket}}.s3.{{region}}.amazonaws.com', {
        region: 'eu-central-1',
        pathStyle: false,
      }),
      'https://s3.eu-central-1.amazonaws.com',
    )
    assert.equal(
      resolveS3Endpoint('http://127.0.0.1:9000/', { region: 'x', pathStyle: true, port: 9001 }),
      'http://127.0.0.1:9001',
    )
    assert.throws(
      () => resolveS3Endpoint('https://{{bucket}}.x', { region: 'r', pathStyle: true }),
      ValidationError,
    )
    assert.throws(() => resolveS3Endpoint('ftp://x', { region: 'r', pathStyle: false }), ValidationError)
    assert.throws(() => resolveS3Endpoint('not a url', { region: 'r', pathStyle: false }), ValidationError)
  })

  it('S3DeleteError is a typed StorageError', () => {
    const e = new S3DeleteError('b', [{ key: 'k', code: 'AccessDenied', message: 'no' }], 2)
    assert.equal(e.code, 'StorageError')
    assert.deepEqual(
      e.failed.map((f) => f.key),
      ['k'],
    )
  })
})
