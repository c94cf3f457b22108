import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import {
  AlreadyExistsError,
  ConfigError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '../../src/errors.js'
import {
  DATASTORE_TUNING_DEFAULTS,
  addDatastore,
  datastoreConfigPath,
  getDatastore,
  loadDatastoreConfig,
  parseBackend,
  parseDatastoreConfig,
  parseTuning,
  removeDatastore,
  saveDatastoreConfig,
  updateDatastoreConfig,
  validateDatastoreEntry,
  writeDatastoreConfig,
} from '../../src/config/datastore-config.js'
import type { ConfigLock, DatastoreConfigEntry, DatastoreTuning } from '../../src/config/index.js'

const CFG = [
  '# pbs-store datastore config',
  '',
  'datastore: store1',
  '\tcomment Main store',
  '\tgc-schedule daily',
  '\tkeep-last 3',
  '\tpath /srv/store1',
  '\ttuning gc-atime-safety-check=1,gc-atime-cutoff=60,default-verification-workers=4,sync-level=file',
  '',
  'datastore: s3store',
  '\tbackend s3,client=minio,bucket=pbs-bucket',
  '\tnotify-user root@pam',
  '\tpath /var/cache/s3store',
  '\tx-unknown-future keep me',
  '',
  'sync-something: job1',
  '\tstore store1',
  '',
  'datastore: usb-disk',
  '\tbacking-device 8f0b5a1e-1c0c-4f2c-9d0f-2b1b7f0e9a11',
  '\tmaintenance-mode type=offline,message="unplugged, back monday"',
  '\tpath usb',
  '',
].join('\n')

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

function newEntry(
  name: string,
  path: string,
  extra: Partial<DatastoreConfigEntry> = {},
): DatastoreConfigEntry {
  return { name, path, backend: { type: 'filesystem' }, tuning: {}, ...extra }
}

function validation(fn: () => unknown, input: string, rule: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`)
    assert.equal(e.input, input)
    assert.match(e.rule, rule)
    return true
  })
}

describe('datastore.cfg typed access', () => {
  it('parses entries with typed backend, tuning and maintenance mode', () => {
    const cfg = parseDatastoreConfig(CFG)
    assert.deepEqual([...cfg.datastores.keys()], ['store1', 's3store', 'usb-disk'])
    const store1 = getDatastore(cfg, 'store1')
    assert.equal(store1.path, '/srv/store1')
    assert.equal(store1.comment, 'Main store')
    assert.deepEqual(store1.backend, { type: 'filesystem' })
    assert.deepEqual(store1.tuning, {
      'gc-atime-safety-check': true,
      'gc-atime-cutoff': 60,
      'sync-level': 'file',
    })
    assert.equal(store1.raw?.properties.get('gc-schedule'), 'daily')
    assert.deepEqual(getDatastore(cfg, 's3store').backend, {
      type: 's3',
      client: 'minio',
      bucket: 'pbs-bucket',
    })
    const usb = getDatastore(cfg, 'usb-disk')
    assert.equal(usb.backingDevice, '8f0b5a1e-1c0c-4f2c-9d0f-2b1b7f0e9a11')
    assert.deepEqual(usb.maintenanceMode, { type: 'offline', message: 'unplugged, back monday' })
    assert.equal(cfg.digest, sha256(CFG))
  })

  it('exposes the PBS tuning defaults', () => {
    assert.deepEqual(DATASTORE_TUNING_DEFAULTS, {
      'chunk-order': 'inode',
      'sync-level': 'filesystem',
      'gc-atime-safety-check': true,
      'gc-atime-cutoff': 1445,
      'gc-cache-capacity': 1048576,
    })
  })

  it('writes an unchanged config back byte-identically', () => {
    assert.equal(writeDatastoreConfig(parseDatastoreConfig(CFG)), CFG)
  })

  it('getDatastore names the missing datastore', () => {
    const cfg = parseDatastoreConfig(CFG)
    assert.throws(
      () => getDatastore(cfg, 'nope'),
      (e: unknown) => {
        assert.ok(e instanceof NotFoundError)
        assert.equal(e.message, "datastore 'nope' does not exist")
        assert.deepEqual(e.data, { datastore: 'nope' })
        return true
      },
    )
  })

  it('addDatastore appends a new section with keys in PBS (sorted) order', () => {
    const cfg = parseDatastoreConfig(CFG)
    addDatastore(
      cfg,
      newEntry('store2', '/srv/store2', {
        comment: 'new one',
        backend: { type: 's3', client: 'minio', bucket: 'bucket-2' },
        tuning: { 'sync-level': 'none', 'gc-cache-capacity': 0 },
      }),
    )
    const out = writeDatastoreConfig(cfg)
    assert.ok(
      out.endsWith(
        '\tpath usb\n\ndatastore: store2\n\tbackend type=s3,client=minio,bucket=bucket-2\n\tcomment new one\n' +
          '\tpath /srv/store2\n\ttuning sync-level=none,gc-cache-capacity=0\n',
      ),
      out,
    )
    assert.ok(out.startsWith(CFG.slice(0, -1)))
  })

  it('omits backend and tuning for a plain filesystem store', () => {
    const cfg = parseDatastoreConfig('')
    addDatastore(cfg, newEntry('plain', '/srv/plain'))
    assert.equal(writeDatastoreConfig(cfg), 'datastore: plain\n\tpath /srv/plain\n')
  })

  it('addDatastore refuses a duplicate name, a reused path and invalid names', () => {
    const cfg = parseDatastoreConfig(CFG)
    assert.throws(
      () => addDatastore(cfg, newEntry('store1', '/srv/other')),
      (e: unknown) => {
        assert.ok(e instanceof AlreadyExistsError)
        assert.equal(e.message, "datastore 'store1' already exists")
        return true
      },
    )
    assert.throws(() => addDatastore(cfg, newEntry('again', '/srv/store1')), ConflictError)
    validation(() => addDatastore(cfg, newEntry('ab', '/srv/ab')), 'datastore name', /3 to 32/)
    validation(() => addDatastore(cfg, newEntry('x'.repeat(33), '/srv/ab')), 'datastore name', /3 to 32/)
    validation(() => addDatastore(cfg, newEntry('-bad', '/srv/ab')), 'datastore name', /must start with/)
    validation(
      () => addDatastore(cfg, newEntry('with/slash', '/srv/ab')),
      'datastore name',
      /must start with/,
    )
    validation(() => addDatastore(cfg, newEntry('relative', 'srv/rel')), 'path', /absolute/)
    validation(() => addDatastore(cfg, newEntry('rootstore', '/')), 'path', /root path/)
    // nested either way round (PBS wording); a sibling that only shares a name prefix is fine
    validation(
      () => addDatastore(cfg, newEntry('inner', '/srv/store1/inner')),
      'path',
      /^nested datastores not allowed: 'store1' already in "\/srv\/store1"$/,
    )
    validation(() => addDatastore(cfg, newEntry('outer', '/srv')), 'path', /nested datastores not allowed/)
    addDatastore(cfg, newEntry('sibling', '/srv/store10'))
    cfg.datastores.delete('sibling')
    assert.deepEqual([...cfg.datastores.keys()], ['store1', 's3store', 'usb-disk'])
  })

  it('removeDatastore drops the section and its comments, keeping everything else', () => {
    const cfg = parseDatastoreConfig(CFG)
    assert.equal(removeDatastore(cfg, 's3store').name, 's3store')
    assert.throws(() => removeDatastore(cfg, 's3store'), NotFoundError)
    const out = writeDatastoreConfig(cfg)
    assert.ok(!out.includes('s3store'))
    assert.ok(
      out.includes(
        '\ttuning gc-atime-safety-check=1,gc-atime-cutoff=60,default-verification-workers=4,sync-level=file\n\nsync-something: job1\n',
      ),
    )
    assert.ok(out.startsWith('# pbs-store datastore config\n\ndatastore: store1\n'))
  })

  it('changing tuning keeps unknown tuning keys in place and unchanged spellings', () => {
    const cfg = parseDatastoreConfig(CFG)
    const store1 = getDatastore(cfg, 'store1')
    store1.tuning['gc-atime-cutoff'] = 120
    store1.tuning['chunk-order'] = 'none'
    delete store1.tuning['sync-level']
    const out = writeDatastoreConfig(cfg)
    assert.ok(
      out.includes(
        '\ttuning gc-atime-safety-check=1,gc-atime-cutoff=120,default-verification-workers=4,chunk-order=none\n',
      ),
      out,
    )
    assert.deepEqual(parseDatastoreConfig(out).datastores.get('store1')?.tuning, {
      'gc-atime-safety-check': true,
      'gc-atime-cutoff': 120,
      'chunk-order': 'none',
    })
  })

  it('changing the backend and maintenance mode keeps unknown properties', () => {
    const cfg = parseDatastoreConfig(CFG)
    const s3 = getDatastore(cfg, 's3store')
    s3.backend.bucket = 'other-bucket'
    s3.maintenanceMode = { type: 'read-only' }
    const usb = getDatastore(cfg, 'usb-disk')
    delete usb.maintenanceMode
    const out = writeDatastoreConfig(cfg)
    assert.ok(
      out.includes(
        'datastore: s3store\n\tbackend type=s3,client=minio,bucket=other-bucket\n\tmaintenance-mode type=read-only\n' +
          '\tnotify-user root@pam\n\tpath /var/cache/s3store\n\tx-unknown-future keep me\n',
      ),
      out,
    )
    assert.ok(
      out.includes(
        'datastore: usb-disk\n\tbacking-device 8f0b5a1e-1c0c-4f2c-9d0f-2b1b7f0e9a11\n\tpath usb\n',
      ),
      out,
    )
  })
})

describe('datastore.cfg validation', () => {
  const badTuning: [DatastoreTuning, string, RegExp][] = [
    [{ 'chunk-order': 'random' as 'none' }, 'tuning.chunk-order', /'none' or 'inode'/],
    [{ 'sync-level': 'fast' as 'none' }, 'tuning.sync-level', /'none', 'file' or 'filesystem'/],
    [{ 'gc-atime-cutoff': 0 }, 'tuning.gc-atime-cutoff', /integer between 1 and 2880/],
    [{ 'gc-atime-cutoff': 2881 }, 'tuning.gc-atime-cutoff', /integer between 1 and 2880/],
    [{ 'gc-atime-cutoff': 1.5 }, 'tuning.gc-atime-cutoff', /integer between 1 and 2880/],
    [{ 'gc-cache-capacity': -1 }, 'tuning.gc-cache-capacity', /integer between 0 and 8388608/],
    [{ 'gc-cache-capacity': 8388609 }, 'tuning.gc-cache-capacity', /integer between 0 and 8388608/],
    [
      { 'gc-atime-safety-check': 'yes' as unknown as boolean },
      'tuning.gc-atime-safety-check',
      /must be a boolean/,
    ],
  ]
  for (const [tuning, input, rule] of badTuning) {
    it(`rejects ${JSON.stringify(tuning)}`, () => {
      validation(() => validateDatastoreEntry(newEntry('store', '/srv/store', { tuning })), input, rule)
    })
  }

  it('accepts the range limits and PBS boolean spellings', () => {
    validateDatastoreEntry(
      newEntry('store', '/s', { tuning: { 'gc-atime-cutoff': 1, 'gc-cache-capacity': 0 } }),
    )
    validateDatastoreEntry(
      newEntry('store', '/s', { tuning: { 'gc-atime-cutoff': 2880, 'gc-cache-capacity': 8388608 } }),
    )
    assert.deepEqual(parseTuning('gc-atime-safety-check=off,chunk-order=inode,unknown-key=1'), {
      'gc-atime-safety-check': false,
      'chunk-order': 'inode',
    })
    validation(() => parseTuning('gc-atime-cutoff=abc'), 'tuning.gc-atime-cutoff', /integer/)
    validation(() => parseTuning('gc-atime-safety-check=maybe'), 'tuning.gc-atime-safety-check', /boolean/)
    validation(() => parseTuning('sync-level=file,sync-level=none'), 'tuning', /duplicate key/)
  })

  it('checks backends', () => {
    assert.deepEqual(parseBackend(''), { type: 'filesystem' })
    assert.deepEqual(parseBackend('type=s3,client=ep,bucket=abc,max-cache-size=64GiB'), {
      type: 's3',
      client: 'ep',
      bucket: 'abc',
      'max-cache-size': '64GiB',
    })
    validation(() => parseBackend('ftp'), 'backend.type', /'filesystem' or 's3'/)
    validation(() => parseBackend('s3,bucket=abc'), 'backend.client', /required/)
    validation(() => parseBackend('s3,client=ep'), 'backend.bucket', /required/)
    validation(() => parseBackend('s3,client=ep,bucket=Upper'), 'backend.bucket', /lowercase/)
    validation(() => parseBackend('s3,client=ep,bucket=ab'), 'backend.bucket', /3 to 63/)
    validation(() => parseBackend('s3,client=ep,bucket=abc-'), 'backend.bucket', /ending/)
    validation(() => parseBackend('filesystem,bucket=abc'), 'backend.bucket', /only allowed with type=s3/)
    validation(
      () => parseBackend('s3,client=ep,bucket=abc,max-cache-size=lots'),
      'backend.max-cache-size',
      /size/,
    )
  })

  it('reports a bad value in the file as a ConfigError with line and cause', () => {
    const text = 'datastore: good\n\tpath /g\n\ndatastore: bad1\n\tpath /b\n\ttuning gc-atime-cutoff=9999\n'
    assert.throws(
      () => parseDatastoreConfig(text),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError)
        assert.match(
          e.message,
          /^parsing 'datastore\.cfg' failed - line 4 \(datastore 'bad1'\): invalid tuning\.gc-atime-cutoff '9999'/,
        )
        assert.ok(e.cause instanceof ValidationError)
        assert.equal(e.data.line, 4)
        assert.equal(e.data.datastore, 'bad1')
        return true
      },
    )
    assert.throws(
      () => parseDatastoreConfig('datastore: nopath\n\tcomment x\n'),
      /invalid path \(missing\) - is required/,
    )
    assert.throws(() => parseDatastoreConfig('datastore: x\n\tpath /x\n'), /invalid datastore name 'x'/)
    assert.throws(
      () => parseDatastoreConfig('datastore: abc\n\tpath /x\n\tmaintenance-mode type=sleep\n'),
      /maintenance-mode\.type/,
    )
  })
})

describe('datastore.cfg on disk', () => {
  let etc = ''
  beforeEach(async () => {
    etc = await mkdtemp(join(tmpdir(), 'pbs-store-datastore-cfg-'))
  })
  afterEach(async () => {
    await rm(etc, { recursive: true, force: true })
  })

  it('loads a missing file as an empty config and saves the first datastore', async () => {
    const cfg = await loadDatastoreConfig(etc)
    assert.equal(cfg.datastores.size, 0)
    addDatastore(cfg, newEntry('first', '/srv/first', { comment: 'hello' }))
    await saveDatastoreConfig(etc, cfg)
    const text = await readFile(datastoreConfigPath(etc), 'utf8')
    assert.equal(text, 'datastore: first\n\tcomment hello\n\tpath /srv/first\n')
    assert.equal(cfg.digest, sha256(text))
    assert.deepEqual(await readdir(etc), ['datastore.cfg'])
  })

  it('keeps unknown properties, sections and comments through load, modify, save', async () => {
    await writeFile(datastoreConfigPath(etc), CFG)
    const cfg = await loadDatastoreConfig(etc)
    getDatastore(cfg, 's3store').comment = 'now with a comment'
    addDatastore(cfg, newEntry('fourth', '/srv/fourth'))
    await saveDatastoreConfig(etc, cfg)

    const text = await readFile(datastoreConfigPath(etc), 'utf8')
    const again = await loadDatastoreConfig(etc)
    const s3 = getDatastore(again, 's3store')
    assert.equal(s3.comment, 'now with a comment')
    assert.equal(s3.raw?.properties.get('x-unknown-future'), 'keep me')
    assert.equal(s3.raw?.properties.get('notify-user'), 'root@pam')
    assert.equal(getDatastore(again, 'store1').raw?.properties.get('keep-last'), '3')
    assert.ok(
      text.includes(
        '\ttuning gc-atime-safety-check=1,gc-atime-cutoff=60,default-verification-workers=4,sync-level=file\n',
      ),
    )
    assert.ok(text.includes('sync-something: job1\n\tstore store1\n'))
    assert.ok(text.startsWith('# pbs-store datastore config\n'))
    assert.ok(
      text.includes(
        'datastore: s3store\n\tbackend s3,client=minio,bucket=pbs-bucket\n\tcomment now with a comment\n',
      ),
    )
    assert.deepEqual([...again.datastores.keys()], ['store1', 's3store', 'usb-disk', 'fourth'])
  })

  it('updateDatastoreConfig runs load, mutate and save inside the lock', async () => {
    const events: string[] = []
    const lock: ConfigLock = async (fn) => {
      events.push('lock')
      try {
        return await fn()
      } finally {
        events.push('unlock')
      }
    }
    const result = await updateDatastoreConfig(etc, lock, (cfg) => {
      events.push(`mutate:${cfg.datastores.size}`)
      addDatastore(cfg, newEntry('locked', '/srv/locked'))
      return 42
    })
    assert.equal(result, 42)
    assert.deepEqual(events, ['lock', 'mutate:0', 'unlock'])
    assert.ok(getDatastore(await loadDatastoreConfig(etc), 'locked'))
  })

  it('updateDatastoreConfig refuses a stale digest and leaves the file alone', async () => {
    await writeFile(datastoreConfigPath(etc), CFG)
    const lock: ConfigLock = (fn) => fn()
    const stale = sha256('something else')
    await assert.rejects(
      updateDatastoreConfig(etc, lock, (cfg) => removeDatastore(cfg, 'store1'), stale),
      (e: unknown) => e instanceof ConflictError && /detected modified configuration/.test(e.message),
    )
    assert.equal(await readFile(datastoreConfigPath(etc), 'utf8'), CFG)
    await updateDatastoreConfig(etc, lock, (cfg) => removeDatastore(cfg, 'store1'), sha256(CFG))
    assert.ok(!(await readFile(datastoreConfigPath(etc), 'utf8')).includes('store1\n\tcomment'))
  })

  it('does not save when the mutation throws', async () => {
    await writeFile(datastoreConfigPath(etc), CFG)
    await assert.rejects(
      updateDatastoreConfig(
        etc,
        (fn) => fn(),
        (cfg) => addDatastore(cfg, newEntry('store1', '/srv/x')),
      ),
      AlreadyExistsError,
    )
    assert.equal(await readFile(datastoreConfigPath(etc), 'utf8'), CFG)
  })
})
