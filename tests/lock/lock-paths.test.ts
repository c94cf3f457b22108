import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'

import {
  chunkLockPath,
  groupLockPath,
  lockFilePath,
  manifestLockPath,
  moveJournalPath,
  snapshotLockPath,
} from '../../src/lock/lock-paths.js'
import { escapeUnitPath } from '../../src/lock/systemd-escape.js'

const LOCKS = '/run/proxmox-backup/locks'
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

describe('escapeUnitPath (systemd escape, path mode)', () => {
  it('keeps [A-Za-z0-9_.] and maps / to -', () => {
    assert.equal(escapeUnitPath('vm/100'), 'vm-100')
    assert.equal(escapeUnitPath('host/my_host.example'), 'host-my_host.example')
    assert.equal(escapeUnitPath('AZaz09_.'), 'AZaz09_.')
  })

  it("escapes '-' and ':' as lowercase \\xHH", () => {
    assert.equal(escapeUnitPath('a-b'), 'a\\x2db')
    assert.equal(escapeUnitPath('a:b'), 'a\\x3ab')
    assert.equal(escapeUnitPath('2024-01-02T03:04:05Z'), '2024\\x2d01\\x2d02T03\\x3a04\\x3a05Z')
  })

  it("escapes a '.' only at index 0 (after stripping leading slashes)", () => {
    assert.equal(escapeUnitPath('.hidden'), '\\x2ehidden')
    assert.equal(escapeUnitPath('/.hidden'), '\\x2ehidden')
    assert.equal(escapeUnitPath('a/.b'), 'a-.b')
    assert.equal(escapeUnitPath('..'), '\\x2e.')
  })

  it('escapes every UTF-8 byte of non-ASCII characters', () => {
    assert.equal(escapeUnitPath('ä'), '\\xc3\\xa4')
    assert.equal(escapeUnitPath('vm/€'), 'vm-\\xe2\\x82\\xac')
  })

  it('always uses two hex digits and escapes space, backslash and controls', () => {
    assert.equal(escapeUnitPath('\x01'), '\\x01')
    assert.equal(escapeUnitPath('a b'), 'a\\x20b')
    assert.equal(escapeUnitPath('a\\b'), 'a\\x5cb')
    assert.equal(escapeUnitPath('A\x7f'), 'A\\x7f')
  })

  it("strips all leading '/', and gives '-' for nothing", () => {
    assert.equal(escapeUnitPath(''), '-')
    assert.equal(escapeUnitPath('/'), '-')
    assert.equal(escapeUnitPath('///'), '-')
    assert.equal(escapeUnitPath('//vm/100'), 'vm-100')
    // Trailing slashes are not stripped by current proxmox-systemd.
    assert.equal(escapeUnitPath('vm/'), 'vm-')
  })
})

describe('lock file paths', () => {
  it('matches the exact short example (ns a/b, vm/100)', () => {
    const ns = ['a', 'b']
    assert.equal(groupLockPath('/locks', 'store1', ns, 'vm', '100'), '/locks/store1/a:b/vm-100')
    assert.equal(
      snapshotLockPath('/locks', 'store1', ns, 'vm', '100', '2024-01-02T03:04:05Z'),
      '/locks/store1/a:b/vm-100-2024\\x2d01\\x2d02T03\\x3a04\\x3a05Z',
    )
    assert.equal(
      manifestLockPath('/locks', 'store1', ns, 'vm', '100', '2024-01-02T03:04:05Z'),
      '/locks/store1/a:b/vm-100-2024\\x2d01\\x2d02T03\\x3a04\\x3a05Z-.index.json.lck',
    )
  })

  it('puts root-namespace locks directly under the store', () => {
    assert.equal(groupLockPath(LOCKS, 'store1', [], 'ct', '105'), `${LOCKS}/store1/ct-105`)
    assert.equal(
      snapshotLockPath(LOCKS, 'store1', [], 'host', 'my-host', '2022-05-02T08:11:33Z'),
      `${LOCKS}/store1/host-my\\x2dhost-2022\\x2d05\\x2d02T08\\x3a11\\x3a33Z`,
    )
  })

  it('joins a depth-7 namespace with colons (PBS doc example)', () => {
    const ns = ['ns1', 'ns2', 'ns3', 'ns4', 'ns5', 'ns6', 'ns7']
    assert.equal(
      snapshotLockPath(LOCKS, 's', ns, 'vm', '100', '2022-05-02T08:11:33Z'),
      `${LOCKS}/s/ns1:ns2:ns3:ns4:ns5:ns6:ns7/vm-100-2022\\x2d05\\x2d02T08\\x3a11\\x3a33Z`,
    )
  })

  it('keeps escaped names of 254 bytes and hashes names of 255 bytes', () => {
    // enc = "vm-" + id: 3 + 251 = 254 → plain; 3 + 252 = 255 → hashed.
    const id254 = 'x'.repeat(251)
    assert.equal(groupLockPath('/l', 's', [], 'vm', id254), `/l/s/vm-${id254}`)
    const id255 = 'x'.repeat(252)
    const enc = `vm-${id255}`
    const expected = `/l/s/hashed/${enc.slice(0, 80)}...${enc.slice(-80)}-${sha256(`vm/${id255}`)}`
    assert.equal(groupLockPath('/l', 's', [], 'vm', id255), expected)
  })

  it('hashes a long backup id in a namespace, by the rule worked out by hand', () => {
    // 100 × "ab-" → each '-' becomes "\x2d" (4 bytes): the escaped id is 100 × 6 = 600 bytes.
    const id = 'ab-'.repeat(100)
    const time = '2024-01-02T03:04:05Z'
    const rpath = `vm/${id}/${time}`
    const enc = `vm-${'ab\\x2d'.repeat(100)}-2024\\x2d01\\x2d02T03\\x3a04\\x3a05Z`
    const head = enc.slice(0, 80)
    const tail = enc.slice(enc.length - 80)
    assert.equal(head.length, 80)
    assert.ok(head.startsWith('vm-ab\\x2dab'))
    assert.ok(tail.endsWith('T03\\x3a04\\x3a05Z'))
    const name = `${head}...${tail}-${sha256(rpath)}`
    assert.equal(
      snapshotLockPath(LOCKS, 'store1', ['a', 'b'], 'vm', id, time),
      `${LOCKS}/store1/a:b/hashed/${name}`,
    )
    // The hash is of the raw rpath, so the manifest lock of the same snapshot differs only in the tail/hash.
    const m = manifestLockPath(LOCKS, 'store1', ['a', 'b'], 'vm', id, time)
    assert.ok(m.startsWith(`${LOCKS}/store1/a:b/hashed/${head}...`))
    assert.ok(m.endsWith(`-${sha256(`${rpath}/.index.json.lck`)}`))
    assert.ok(name.length < 255)
  })

  it('hashes the raw UTF-8 bytes of non-ASCII rpaths', () => {
    const rpath = `host/${'ä'.repeat(40)}`
    const enc = `host-${'\\xc3\\xa4'.repeat(40)}`
    assert.equal(enc.length, 325)
    assert.equal(
      lockFilePath('/l', 's', [], rpath),
      `/l/s/hashed/${enc.slice(0, 80)}...${enc.slice(-80)}-${sha256(rpath)}`,
    )
  })

  it('derives chunk and move-journal lock paths', () => {
    const digest = 'bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8'
    assert.equal(chunkLockPath(LOCKS, 'store1', digest), `${LOCKS}/store1/.chunks/bb9f/${digest}`)
    assert.equal(moveJournalPath(LOCKS, 'store1'), `${LOCKS}/store1/move-journal`)
  })
})
