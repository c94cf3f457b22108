import assert from 'node:assert/strict'
import { randomBytes, scryptSync } from 'node:crypto'
import { describe, it } from 'node:test'

import { CorruptionError, CryptoError, NotFoundError, ValidationError } from '../../src/errors.js'
import {
  blobIsCompressed,
  blobIsEncrypted,
  canonicalJson,
  checkManifestFingerprint,
  CryptConfig,
  decodeBlob,
  decodeManifestBlob,
  encodeBlob,
  encodeManifestBlob,
  getChunkUploadStats,
  getManifestNotes,
  getVerifyState,
  lookupManifestFile,
  newManifest,
  parseManifestJson,
  prettyJson,
  serializeManifest,
  setBlobCrc,
  setChunkUploadStats,
  setManifestNotes,
  setVerifyState,
  signManifest,
  verifyManifestSignature,
  withSignature,
} from '../../src/format/index.js'
import type { BackupManifest } from '../../src/format/index.js'

/** The manifest of PBS's own `test_manifest_signature` (pbs-datastore/src/manifest.rs). */
function pbsTestManifest(): BackupManifest {
  const m = newManifest('host', 'elsa', Date.parse('2020-06-26T13:56:05Z') / 1000)
  m.files.push({ filename: 'test1.img.fidx', 'crypt-mode': 'encrypt', size: 200, csum: '01'.repeat(32) })
  m.files.push({ filename: 'abc.blob', 'crypt-mode': 'none', size: 200, csum: '02'.repeat(32) })
  m.unprotected.note = 'This is not protected by the signature.'
  return m
}

describe('manifest signature', () => {
  // PBS derives the test key with scrypt("test", salt "", n=65536, r=8, p=1).
  const testKey = scryptSync('test', Buffer.alloc(0), 32, { N: 65536, r: 8, p: 1, maxmem: 256 * 1024 * 1024 })
  const crypt = new CryptConfig(testKey)

  it('matches the PBS test vector d7b446fb…', () => {
    assert.equal(
      signManifest(pbsTestManifest(), crypt),
      'd7b446fb7db081662081d4b40fedd858a1d6307a5aff4ecff7d5bf4fd35679e9',
    )
  })

  it('withSignature sets signature and key-fingerprint, and it verifies', () => {
    const signed = withSignature(pbsTestManifest(), crypt)
    assert.equal(signed.unprotected['key-fingerprint'], crypt.fingerprintString())
    assert.equal(verifyManifestSignature(signed, crypt), 'verified')
    const reparsed = parseManifestJson(serializeManifest(signed))
    assert.equal(verifyManifestSignature(reparsed, crypt), 'verified')
  })

  it('unprotected data may change without breaking the signature', () => {
    const signed = setManifestNotes(withSignature(pbsTestManifest(), crypt), 'changed notes')
    assert.equal(verifyManifestSignature(signed, crypt), 'verified')
  })

  const tampers: Array<[string, (m: BackupManifest) => void]> = [
    ['backup-id', (m) => (m['backup-id'] = 'other')],
    ['backup-time', (m) => (m['backup-time'] += 1)],
    ['file size', (m) => (m.files[0]!.size = 201)],
    ['file csum', (m) => (m.files[1]!.csum = '03'.repeat(32))],
    ['crypt-mode', (m) => (m.files[1]!['crypt-mode'] = 'sign-only')],
    ['file order', (m) => m.files.reverse()],
  ]
  for (const [what, tamper] of tampers) {
    it(`detects a tampered ${what}`, () => {
      const m = structuredClone(withSignature(pbsTestManifest(), crypt))
      tamper(m)
      assert.throws(
        () => verifyManifestSignature(m, crypt),
        (e: unknown) => e instanceof CryptoError && /wrong signature in manifest/.test(e.message),
      )
    })
  }

  it('a signed manifest with another key-fingerprint fails with "wrong key"', () => {
    const signed = withSignature(pbsTestManifest(), crypt)
    const other = new CryptConfig(randomBytes(32))
    assert.throws(() => verifyManifestSignature(signed, other), /wrong key - unable to verify signature/)
  })

  it('unsigned manifests pass with any key or none; signed ones are not checked without key', () => {
    assert.equal(verifyManifestSignature(pbsTestManifest()), 'unsigned')
    assert.equal(verifyManifestSignature(pbsTestManifest(), crypt), 'unsigned')
    assert.equal(verifyManifestSignature(withSignature(pbsTestManifest(), crypt)), 'not-checked')
  })

  it('checkManifestFingerprint reports a missing or different key', () => {
    const signed = withSignature(pbsTestManifest(), crypt)
    assert.doesNotThrow(() => checkManifestFingerprint(signed, crypt))
    assert.doesNotThrow(() => checkManifestFingerprint(pbsTestManifest()))
    assert.throws(() => checkManifestFingerprint(signed), /missing key - manifest was created with key/)
    assert.throws(
      () => checkManifestFingerprint(signed, new CryptConfig(randomBytes(32))),
      /does not match provided key/,
    )
  })

  it('refuses to sign a manifest with null in the signed part', () => {
    const m = pbsTestManifest() as unknown as Record<string, unknown>
    m['backup-id'] = null
    assert.throws(() => signManifest(m as unknown as BackupManifest, crypt), ValidationError)
  })
})

describe('canonical JSON', () => {
  const cases: Array<[string, unknown, string]> = [
    [
      'sorted keys, no whitespace',
      { b: 1, a: [true, false, 'x'], c: { z: 1, y: 2 } },
      '{"a":[true,false,"x"],"b":1,"c":{"y":2,"z":1}}',
    ],
    ['integer-like keys sorted as strings', { '10': 1, '9': 2, a: 3 }, '{"10":1,"9":2,"a":3}'],
    [
      'keys sorted by UTF-8 bytes',
      { é: 1, z: 2, '\u{1F600}': 3, '\uFFFF': 4 },
      '{"z":2,"é":1,"\uFFFF":4,"\u{1F600}":3}',
    ],
    [
      'UTF-8 unescaped, controls escaped like serde_json',
      { s: 'ä"\\\n\u0001\u007f' },
      '{"s":"ä\\"\\\\\\n\\u0001\u007f"}',
    ],
    ['empty containers', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    ['negative and large integers', [-1, 0, 9007199254740991], '[-1,0,9007199254740991]'],
  ]
  for (const [name, value, expected] of cases) {
    it(name, () => assert.equal(canonicalJson(value), expected))
  }

  const rejects: Array<[string, unknown]> = [
    ['null at top level', null],
    ['null nested in an array', { a: [1, null] }],
    ['null nested in an object', { a: { b: null } }],
    ['a float', { a: 1.5 }],
    ['a non-finite number', [Infinity]],
  ]
  for (const [name, value] of rejects) {
    it(`rejects ${name}`, () => assert.throws(() => canonicalJson(value), ValidationError))
  }
})

describe('manifest serialisation', () => {
  it('writes pretty JSON with sorted keys at every level and signature null', () => {
    const m = newManifest('vm', '100', 1_700_000_000)
    m.files.push({
      filename: 'drive-scsi0.img.fidx',
      'crypt-mode': 'none',
      size: 4194304,
      csum: 'ab'.repeat(32),
    })
    m.unprotected = {
      verify_state: { upid: 'UPID:x', state: 'ok' },
      chunk_upload_stats: { size: 1, count: 2, duplicates: 0, compressed_size: 1 },
    }
    const expected = [
      '{',
      '  "backup-id": "100",',
      '  "backup-time": 1700000000,',
      '  "backup-type": "vm",',
      '  "files": [',
      '    {',
      '      "crypt-mode": "none",',
      `      "csum": "${'ab'.repeat(32)}",`,
      '      "filename": "drive-scsi0.img.fidx",',
      '      "size": 4194304',
      '    }',
      '  ],',
      '  "signature": null,',
      '  "unprotected": {',
      '    "chunk_upload_stats": {',
      '      "compressed_size": 1,',
      '      "count": 2,',
      '      "duplicates": 0,',
      '      "size": 1',
      '    },',
      '    "verify_state": {',
      '      "state": "ok",',
      '      "upid": "UPID:x"',
      '    }',
      '  }',
      '}',
    ].join('\n')
    assert.equal(serializeManifest(m), expected)
  })

  it('prettyJson writes empty containers like serde_json', () => {
    assert.equal(prettyJson({ b: [], a: {} }), '{\n  "a": {},\n  "b": []\n}')
  })

  it('parse fills defaults: crypt-mode none, unprotected {}, signature null', () => {
    const m = parseManifestJson(
      JSON.stringify({
        'backup-type': 'ct',
        'backup-id': '101',
        'backup-time': 1,
        files: [{ filename: 'root.pxar.didx', size: 5, csum: 'AB'.repeat(32) }],
        extra: 'dropped',
      }),
    )
    assert.deepEqual(m, {
      'backup-type': 'ct',
      'backup-id': '101',
      'backup-time': 1,
      files: [{ filename: 'root.pxar.didx', 'crypt-mode': 'none', size: 5, csum: 'ab'.repeat(32) }],
      unprotected: {},
      signature: null,
    })
  })

  const badInputs: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{', /unable to parse backup manifest json/],
    [
      'unknown backup type',
      '{"backup-type":"vz","backup-id":"1","backup-time":1,"files":[]}',
      /bad 'backup-type'/,
    ],
    ['missing files', '{"backup-type":"vm","backup-id":"1","backup-time":1}', /bad 'files'/],
    [
      'bad csum',
      '{"backup-type":"vm","backup-id":"1","backup-time":1,"files":[{"filename":"a.blob","size":1,"csum":"xyz"}]}',
      /bad 'files\[0\].csum'/,
    ],
    [
      'negative size',
      `{"backup-type":"vm","backup-id":"1","backup-time":1,"files":[{"filename":"a.blob","size":-1,"csum":"${'0'.repeat(64)}"}]}`,
      /files\[0\].size/,
    ],
    [
      'unknown crypt-mode',
      `{"backup-type":"vm","backup-id":"1","backup-time":1,"files":[{"filename":"a","crypt-mode":"x","size":1,"csum":"${'0'.repeat(64)}"}]}`,
      /crypt-mode/,
    ],
  ]
  for (const [name, text, message] of badInputs) {
    it(`parse rejects ${name}`, () => {
      assert.throws(
        () => parseManifestJson(text),
        (e: unknown) => e instanceof CorruptionError && message.test(e.message),
      )
    })
  }

  it('lookupManifestFile finds entries and throws NotFoundError otherwise', () => {
    const m = pbsTestManifest()
    assert.equal(lookupManifestFile(m, 'abc.blob').size, 200)
    assert.throws(() => lookupManifestFile(m, 'nope.blob'), NotFoundError)
  })
})

describe('manifest unprotected helpers', () => {
  it('verify_state round trip without mutating the input', () => {
    const m = pbsTestManifest()
    const v = setVerifyState(m, {
      upid: 'UPID:pbs:00000001:00000002:00000003:65000000:verify:store:root@pam:',
      state: 'failed',
    })
    assert.equal(getVerifyState(m), undefined)
    assert.deepEqual(getVerifyState(v), {
      upid: 'UPID:pbs:00000001:00000002:00000003:65000000:verify:store:root@pam:',
      state: 'failed',
    })
    assert.equal(v.unprotected.note, m.unprotected.note)
  })

  it('chunk_upload_stats and notes round trip', () => {
    const stats = { count: 3, size: 300, compressed_size: 120, duplicates: 1 }
    const m = setManifestNotes(setChunkUploadStats(pbsTestManifest(), stats), 'first line\nmore')
    assert.deepEqual(getChunkUploadStats(m), stats)
    assert.equal(getManifestNotes(m), 'first line\nmore')
  })

  it('malformed verify_state is reported', () => {
    const m = pbsTestManifest()
    m.unprotected.verify_state = { upid: 'x', state: 'maybe' }
    assert.throws(() => getVerifyState(m), CorruptionError)
  })
})

describe('manifest blob', () => {
  it('is compressed, unencrypted, and round-trips', () => {
    const m = withSignature(pbsTestManifest(), new CryptConfig(randomBytes(32)))
    const raw = encodeManifestBlob(m)
    assert.equal(blobIsCompressed(raw), true)
    assert.equal(blobIsEncrypted(raw), false)
    assert.equal(decodeBlob(raw).toString('utf8'), serializeManifest(m))
    assert.deepEqual(decodeManifestBlob(raw), m)
  })

  it('rejects an encrypted manifest blob and a corrupted one', () => {
    const text = Buffer.from(serializeManifest(pbsTestManifest()))
    const enc = encodeBlob(text, { compress: true, crypt: new CryptConfig(randomBytes(32)) })
    assert.throws(
      () => decodeManifestBlob(enc),
      /decode backup manifest blob failed - manifest blob must not be encrypted/,
    )
    const raw = encodeManifestBlob(pbsTestManifest())
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1
    assert.throws(
      () => decodeManifestBlob(raw),
      (e: unknown) => e instanceof CorruptionError && /crc mismatch/.test(e.message),
    )
  })

  it('rejects invalid UTF-8', () => {
    const raw = encodeBlob(Buffer.from([0x7b, 0xff, 0x7d]), { compress: false })
    setBlobCrc(raw)
    assert.throws(() => decodeManifestBlob(raw), CorruptionError)
  })
})
