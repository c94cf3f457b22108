import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { BackupNamespace, backupDir, parseGroupPath } from '../../src/api-types/index.js'
import {
  badChunkKey,
  checkRelativeKey,
  chunkKey,
  chunksPrefix,
  digestOfChunkKey,
  groupNotesKey,
  groupOwnerKey,
  groupPrefix,
  namespaceMarkerKey,
  namespacePrefix,
  protectedMarkerKey,
  rebaseKey,
  snapshotFileKey,
  snapshotPrefix,
  S3_IN_USE_KEY,
} from '../../src/backend/s3/index.js'
import { ValidationError } from '../../src/errors.js'

const digest = 'ab12' + 'c'.repeat(60)
const root = BackupNamespace.ROOT
const nsAB = BackupNamespace.parse('a/b')
const vm100 = parseGroupPath('vm/100')
const snap = backupDir(vm100, Date.UTC(2025, 6, 14, 14, 20, 2) / 1000)

describe('S3 key layout (spec §8.1)', () => {
  it('chunk and bad chunk keys use the 4-hex directory', () => {
    assert.equal(chunkKey(digest), `.chunks/ab12/${digest}`)
    assert.equal(badChunkKey(digest, 3), `.chunks/ab12/${digest}.3.bad`)
    assert.equal(digestOfChunkKey(chunkKey(digest)), digest)
    assert.equal(digestOfChunkKey(badChunkKey(digest, 0)), undefined)
    assert.equal(digestOfChunkKey(`.chunks/0000/${digest}`), undefined)
    assert.equal(chunksPrefix(), '.chunks/')
    assert.equal(chunksPrefix('ab12'), '.chunks/ab12/')
    assert.throws(() => chunkKey('AB' + 'c'.repeat(62)), ValidationError)
    assert.throws(() => badChunkKey(digest, 10), ValidationError)
  })

  it('namespace markers and prefixes', () => {
    assert.equal(namespaceMarkerKey(nsAB), '.cnt/ns/a/ns/b/.namespace')
    assert.equal(namespacePrefix(nsAB), '.cnt/ns/a/ns/b/')
    assert.equal(namespacePrefix(root), '.cnt/')
    assert.throws(() => namespaceMarkerKey(root), ValidationError)
    assert.equal(S3_IN_USE_KEY, '.in-use')
  })

  it('group, snapshot and file keys for root and nested namespaces', () => {
    assert.equal(groupOwnerKey(root, vm100), '.cnt/vm/100/owner')
    assert.equal(groupNotesKey(nsAB, vm100), '.cnt/ns/a/ns/b/vm/100/notes')
    assert.equal(
      snapshotFileKey(root, snap, 'drive-scsi0.img.fidx'),
      '.cnt/vm/100/2025-07-14T14:20:02Z/drive-scsi0.img.fidx',
    )
    assert.equal(protectedMarkerKey(nsAB, snap), '.cnt/ns/a/ns/b/vm/100/2025-07-14T14:20:02Z/.protected')
    assert.throws(() => snapshotFileKey(root, snap, 'a/b'), ValidationError)
  })

  it('every prefix ends in "/" so vm/100 never matches vm/1000', () => {
    const vm1000 = parseGroupPath('vm/1000')
    const p100 = groupPrefix(root, vm100)
    assert.equal(p100, '.cnt/vm/100/')
    assert.ok(!groupOwnerKey(root, vm1000).startsWith(p100))
    assert.ok(groupOwnerKey(root, vm100).startsWith(p100))
    assert.ok(snapshotPrefix(nsAB, snap).endsWith('Z/'))
    const nsA = BackupNamespace.parse('a')
    const nsAa = BackupNamespace.parse('aa')
    assert.ok(!namespaceMarkerKey(nsAa).startsWith(namespacePrefix(nsA)))
  })

  it('relative keys are at most 1024 bytes (counted in UTF-8)', () => {
    assert.equal(checkRelativeKey('x'.repeat(1024)), 'x'.repeat(1024))
    assert.throws(() => checkRelativeKey('x'.repeat(1025)), ValidationError)
    assert.throws(() => checkRelativeKey('ü'.repeat(513)), /1026 bytes/)
    assert.throws(() => checkRelativeKey('/abs'), ValidationError)
    assert.throws(() => checkRelativeKey(''), ValidationError)
  })

  it('rebaseKey moves a key between prefixes that end in "/"', () => {
    assert.equal(rebaseKey('.cnt/vm/100/x', '.cnt/vm/100/', '.cnt/ns/a/vm/100/'), '.cnt/ns/a/vm/100/x')
    assert.throws(() => rebaseKey('.cnt/vm/100/x', '.cnt/vm/100', '.cnt/ns/a/vm/100/'), ValidationError)
    assert.throws(() => rebaseKey('.cnt/vm/1000/x', '.cnt/vm/100/', '.cnt/x/'), ValidationError)
  })
})
