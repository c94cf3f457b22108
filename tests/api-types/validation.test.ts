// One table per PBS naming rule (spec/pbs-format.md §2): valid and invalid cases, and every
// rejection must name the input and the rule it broke.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  BackupNamespace,
  archiveType,
  compareBackupId,
  compareGroups,
  formatBackupTime,
  normalizeArchiveName,
  ownerMatches,
  parseAuthid,
  parseBackupId,
  parseBackupTimeArg,
  parseBackupTimeString,
  parseBackupType,
  parseDatastoreName,
  parseGroupPath,
  parseMaxDepth,
  parseRfc3339,
  parseSafeId,
  parseSnapshotPath,
} from '../../src/api-types/index.js'
import { ValidationError } from '../../src/errors.js'

/** Asserts that fn throws a ValidationError whose message names the input and matches the rule. */
function rejects(fn: () => unknown, input: string, rule: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`)
    assert.equal(e.code, 'ValidationError')
    assert.match(e.message, new RegExp(`invalid ${input.replace(/[-[\]()]/g, '\\$&')} `))
    assert.match(e.message, rule)
    return true
  })
}

describe('SAFE_ID', () => {
  for (const ok of ['a', '0', '_x', 'a.b-c_d', 'A9'])
    it(`accepts ${ok}`, () => assert.equal(parseSafeId(ok, 'name'), ok))
  for (const bad of ['', '.a', '-a', 'a/b', 'a b', 'ä', 'a\u0000', '..', 'a:b'])
    it(`rejects ${JSON.stringify(bad)}`, () => rejects(() => parseSafeId(bad, 'name'), 'name', /must/))
})

describe('backup type', () => {
  for (const ok of ['vm', 'ct', 'host']) it(`accepts ${ok}`, () => assert.equal(parseBackupType(ok), ok))
  for (const bad of ['VM', 'qemu', '', 'vm ', 1])
    it(`rejects ${JSON.stringify(bad)}`, () =>
      rejects(() => parseBackupType(bad), 'backup-type', /one of 'vm', 'ct', 'host'/))
  it('orders ct < host < vm', () => {
    const sorted = [
      { type: 'vm', id: '1' },
      { type: 'host', id: '1' },
      { type: 'ct', id: '1' },
    ].sort((a, b) => compareGroups(parseGroupPath(`${a.type}/${a.id}`), parseGroupPath(`${b.type}/${b.id}`)))
    assert.deepEqual(
      sorted.map((g) => g.type),
      ['ct', 'host', 'vm'],
    )
  })
})

describe('backup id', () => {
  for (const ok of ['100', 'my-host', 'a.b_c', '_x', 'x'.repeat(255)])
    it(`accepts ${ok.slice(0, 20)}`, () => assert.equal(parseBackupId(ok), ok))
  const cases: [unknown, RegExp][] = [
    ['', /must not be empty/],
    ['.hidden', /must start with/],
    ['-x', /must start with/],
    ['a/b', /only letters/],
    ['..', /must start with/],
    ['x'.repeat(256), /at most 255/],
    [100, /must be a string/],
  ]
  for (const [bad, rule] of cases)
    it(`rejects ${JSON.stringify(bad).slice(0, 20)}`, () =>
      rejects(() => parseBackupId(bad), 'backup-id', rule))
  it('orders numeric ids numerically, before non-numeric ones', () => {
    const ids = ['b', '1000', 'a', '20', '3', '18446744073709551616']
    assert.deepEqual(ids.sort(compareBackupId), ['3', '20', '1000', '18446744073709551616', 'a', 'b'])
  })
})

describe('backup time', () => {
  const table: [number, string][] = [
    [1, '1970-01-01T00:00:01Z'],
    [1776359903, '2026-04-16T17:18:23Z'],
    [253402300799, '9999-12-31T23:59:59Z'],
  ]
  for (const [epoch, text] of table) {
    it(`formats ${epoch} as ${text}`, () => assert.equal(formatBackupTime(epoch), text))
    it(`parses ${text}`, () => assert.equal(parseRfc3339(text), epoch))
  }
  it('parses offsets', () => {
    assert.equal(parseRfc3339('2026-04-16T19:18:23+02:00'), 1776359903)
    assert.equal(parseRfc3339('2026-04-16T15:18:23-02:00'), 1776359903)
  })
  it('takes epoch seconds or RFC3339 from the user', () => {
    assert.equal(parseBackupTimeArg('1776359903'), 1776359903)
    assert.equal(parseBackupTimeArg('2026-04-16T17:18:23Z'), 1776359903)
  })
  const bad: [unknown, RegExp][] = [
    ['2026-13-01T00:00:00Z', /month/],
    ['2026-02-30T00:00:00Z', /does not exist/],
    ['2026-01-01T24:00:00Z', /hour/],
    ['2026-01-01T00:60:00Z', /minute/],
    ['2026-01-01 00:00:00Z', /RFC3339/],
    ['2026-01-01T00:00:00', /RFC3339/],
    ['1970-01-01T00:00:00Z', /at least 1/],
    ['0', /at least 1/],
    [1.5, /integer/],
  ]
  for (const [value, rule] of bad)
    it(`rejects ${JSON.stringify(value)}`, () =>
      rejects(() => parseBackupTimeArg(value), 'backup-time', rule))
  it('snapshot directory names must use the Z form', () => {
    rejects(() => parseBackupTimeString('2026-04-16T19:18:23+02:00'), 'backup-time', /UTC time/)
    assert.equal(parseBackupTimeString('2026-04-16T17:18:23Z'), 1776359903)
  })
})

describe('namespace', () => {
  it('parses and renders both forms', () => {
    const ns = BackupNamespace.parse('a/b/c')
    assert.deepEqual(ns.components, ['a', 'b', 'c'])
    assert.equal(ns.path(), 'ns/a/ns/b/ns/c')
    assert.equal(ns.toString(), 'a/b/c')
    assert.equal(BackupNamespace.fromPath('ns/a/ns/b/ns/c').toString(), 'a/b/c')
    assert.equal(BackupNamespace.parse('').isRoot, true)
    assert.equal(BackupNamespace.ROOT.path(), '')
    assert.equal(ns.pathLength, 5 + 9)
  })
  it('accepts depth 7 and length 256', () => {
    assert.equal(BackupNamespace.parse('a/b/c/d/e/f/g').depth, 7)
    // 255 characters + the +1 of PBS's push check = 256
    assert.equal(BackupNamespace.parse('x'.repeat(255)).nameLength, 255)
    const long = ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(54)].join('/')
    assert.equal(BackupNamespace.parse(long).nameLength, 256)
  })
  const bad: [string, RegExp][] = [
    ['a/b/c/d/e/f/g/h', /too deep/],
    ['x'.repeat(256), /length exceeded/],
    [['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(55)].join('/'), /length exceeded/],
    ['a//b', /must not be empty/],
    ['/a', /must not be empty/],
    ['a/', /must not be empty/],
    ['a/../b', /namespace component '..'/],
    ['a/.b', /namespace component '.b'/],
    ['a/b c', /namespace component 'b c'/],
    ['a/\u0000', /namespace component/],
    ['а', /namespace component/], // Cyrillic a
  ]
  for (const [value, rule] of bad)
    it(`rejects ${JSON.stringify(value).slice(0, 30)}`, () =>
      rejects(() => BackupNamespace.parse(value), 'namespace', rule))
  it('rejects malformed ns/ paths', () => {
    rejects(() => BackupNamespace.fromPath('ns/a/b'), 'namespace path', /pairs/)
    rejects(() => BackupNamespace.fromPath('xx/a'), 'namespace path', /pairs/)
  })
  it('contains, mapPrefix, checkMaxDepth', () => {
    const a = BackupNamespace.parse('a')
    const abc = BackupNamespace.parse('a/b/c')
    assert.equal(a.contains(abc), 2)
    assert.equal(abc.contains(a), undefined)
    assert.equal(BackupNamespace.ROOT.contains(a), 1)
    assert.equal(BackupNamespace.parse('ab').contains(BackupNamespace.parse('a')), undefined)
    assert.equal(abc.mapPrefix(a, BackupNamespace.parse('x/y')).toString(), 'x/y/b/c')
    rejects(() => abc.mapPrefix(BackupNamespace.parse('q'), a), 'target namespace', /not a prefix/)
    rejects(() => abc.mapPrefix(a, BackupNamespace.parse('1/2/3/4/5/6')), 'target namespace', /too deep/)
    abc.checkMaxDepth(4)
    rejects(() => abc.checkMaxDepth(5), 'max-depth', /exceeds the maximum depth 7/)
    assert.equal(abc.parent()?.toString(), 'a/b')
    assert.deepEqual(abc.ancestors().map(String), ['', 'a', 'a/b'])
  })
  it('max-depth parameter', () => {
    assert.equal(parseMaxDepth('7'), 7)
    assert.equal(parseMaxDepth(0), 0)
    rejects(() => parseMaxDepth(8), 'max-depth', /0 to 7/)
    rejects(() => parseMaxDepth('-1'), 'max-depth', /0 to 7/)
  })
})

describe('group and snapshot paths', () => {
  it('parses vm/100 and vm/100/<time>', () => {
    assert.deepEqual(parseGroupPath('vm/100'), { type: 'vm', id: '100' })
    const snap = parseSnapshotPath('vm/100/2026-04-16T17:18:23Z')
    assert.equal(snap.time, 1776359903)
    assert.equal(snap.timeString, '2026-04-16T17:18:23Z')
  })
  const bad: [string, string, RegExp][] = [
    ['vm', 'group', /<type>\/<id>/],
    ['vm/100/x', 'group', /<type>\/<id>/],
    ['qemu/100', 'group type', /one of/],
    ['vm/../etc', 'group', /<type>\/<id>/],
    ['vm/..', 'group id', /must start with/],
  ]
  for (const [value, input, rule] of bad)
    it(`rejects group ${value}`, () => rejects(() => parseGroupPath(value), input, rule))
  it('rejects bad snapshot paths', () => {
    rejects(() => parseSnapshotPath('vm/100'), 'snapshot', /<type>\/<id>\/<time>/)
    rejects(() => parseSnapshotPath('vm/100/yesterday'), 'snapshot time', /UTC time/)
  })
})

describe('archive names', () => {
  const table: [string, string, string][] = [
    ['disk.img', 'disk.img.fidx', 'fidx'],
    ['root.pxar', 'root.pxar.didx', 'didx'],
    ['catalog.pcat1', 'catalog.pcat1.didx', 'didx'],
    ['qemu-server.conf', 'qemu-server.conf.blob', 'blob'],
    ['x.json', 'x.json.blob', 'blob'],
    ['drive.img.fidx', 'drive.img.fidx', 'fidx'],
    ['anything.blob', 'anything.blob', 'blob'],
  ]
  for (const [input, out, type] of table)
    it(`${input} → ${out}`, () => {
      assert.equal(normalizeArchiveName(input), out)
      assert.equal(archiveType(out), type)
    })
  const bad: [string, RegExp][] = [
    ['disk.exe', /unknown extension/],
    ['noext', /unknown extension/],
    ['../x.img', /must start with/],
    ['a/b.img', /only letters/],
    ['index.json', /reserved/],
    ['client.log', /reserved/],
  ]
  for (const [value, rule] of bad)
    it(`rejects ${value}`, () => rejects(() => normalizeArchiveName(value), 'archive name', rule))
})

describe('authid', () => {
  it('parses users and tokens', () => {
    assert.deepEqual(parseAuthid('root@pam'), { userid: 'root@pam' })
    assert.deepEqual(parseAuthid('alice@pbs!backup'), { userid: 'alice@pbs', tokenName: 'backup' })
  })
  const bad: [string, RegExp][] = [
    ['root', /user@realm/],
    ['@pbs', /user@realm/],
    ['a b@pbs', /white space/],
    ['a@p', /realm/],
    ['a@pbs!', /token name/],
    ['a@pbs!x/y', /token name/],
    ['x'.repeat(70) + '@pbs', /3 to 64/],
  ]
  for (const [value, rule] of bad)
    it(`rejects ${value.slice(0, 20)}`, () => rejects(() => parseAuthid(value), 'auth-id', rule))
  it('a user owns its tokens’ groups, not the reverse', () => {
    assert.equal(ownerMatches('alice@pbs!t', 'alice@pbs'), true)
    assert.equal(ownerMatches('alice@pbs', 'alice@pbs!t'), false)
    assert.equal(ownerMatches('bob@pbs!t', 'alice@pbs'), false)
  })
})

describe('datastore name', () => {
  for (const ok of ['abc', 'store1', 'a'.repeat(32)])
    it(`accepts ${ok}`, () => assert.equal(parseDatastoreName(ok), ok))
  const bad: [string, RegExp][] = [
    ['ab', /3 to 32/],
    ['a'.repeat(33), /3 to 32/],
    ['.store', /must start/],
    ['st/re', /only letters/],
  ]
  for (const [value, rule] of bad)
    it(`rejects ${value}`, () => rejects(() => parseDatastoreName(value), 'store', rule))
})
