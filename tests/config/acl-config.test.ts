// acl.cfg codec (PBS line format) and ACL evaluation: replace-not-merge, propagation, NoAccess,
// token ∩ user, path checks, and re-pointing after a namespace move.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  addAclEntry,
  anyPrivsBelow,
  checkAclPath,
  lookupPrivs,
  parseAclConfig,
  repointAclPaths,
  writeAclConfig,
} from '../../src/config/acl-config.js'
import { ALL_PRIVS, NS_PRIVS_OK, PRIV, ROLES } from '../../src/config/privileges.js'
import { ConfigError, ValidationError } from '../../src/errors.js'

describe('acl.cfg', () => {
  it('parses and writes the PBS format (sorted depth first, merged ugids, no root@pam)', () => {
    const text = [
      'acl:1:/datastore/store1:user1@pbs,user2@pbs:DatastoreAdmin',
      'acl:0:/datastore/store1:user3@pbs:DatastoreAudit',
      'acl:1:/:root@pam!test:Admin',
      'acl:1:/:root@pam:Admin',
    ].join('\n')
    const cfg = parseAclConfig(text)
    assert.equal(cfg.entries.length, 5)
    assert.equal(
      writeAclConfig(cfg),
      [
        'acl:1:/:root@pam!test:Admin',
        'acl:0:/datastore/store1:user3@pbs:DatastoreAudit',
        'acl:1:/datastore/store1:user1@pbs,user2@pbs:DatastoreAdmin',
        '',
      ].join('\n'),
    )
    assert.deepEqual(parseAclConfig(writeAclConfig(cfg)).entries.length, 4)
  })

  it('refuses unknown roles and malformed lines', () => {
    assert.throws(
      () => parseAclConfig('acl:1:/:a@pbs:Superman'),
      (e: unknown) => e instanceof ConfigError && /unknown role 'Superman'/.test(e.message),
    )
    assert.throws(() => parseAclConfig('acl:1:/:a@pbs'), ConfigError)
  })

  it('a deeper node replaces (does not merge) the roles from above; propagate=0 only applies at its node', () => {
    const cfg = parseAclConfig(
      [
        'acl:1:/datastore:a@pbs:DatastoreAdmin',
        'acl:1:/datastore/s/ns1:a@pbs:DatastoreAudit',
        'acl:0:/datastore/s2:a@pbs:DatastoreBackup',
      ].join('\n'),
    )
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s')[0], ROLES.DatastoreAdmin!.privs)
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s/ns1/deeper')[0], PRIV.DatastoreAudit)
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s2')[0], PRIV.DatastoreBackup)
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s2/x')[0], ROLES.DatastoreAdmin!.privs)
    assert.equal(lookupPrivs(cfg, 'b@pbs', '/datastore/s')[0], 0)
    assert.equal(lookupPrivs(cfg, 'root@pam', '/anything')[0], ALL_PRIVS)
    assert.equal(lookupPrivs(cfg, 'root@pam!tok', '/datastore')[0], 0)
  })

  it('NoAccess blocks inheritance, and adding another role removes it', () => {
    const cfg = parseAclConfig('acl:1:/:a@pbs:Admin\nacl:1:/datastore/s:a@pbs:NoAccess')
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s/ns')[0], 0)
    addAclEntry(cfg, { path: '/datastore/s', ugid: 'a@pbs', roleid: 'DatastoreAudit', propagate: true })
    assert.equal(lookupPrivs(cfg, 'a@pbs', '/datastore/s/ns')[0], PRIV.DatastoreAudit)
  })

  it('a token gets only its own entries, cut down to its user', () => {
    const cfg = parseAclConfig(
      [
        'acl:1:/datastore:a@pbs:DatastoreAudit',
        'acl:1:/datastore:a@pbs!t:DatastoreAdmin',
        'acl:1:/datastore/s:a@pbs!u:DatastoreAudit',
      ].join('\n'),
    )
    assert.equal(lookupPrivs(cfg, 'a@pbs!t', '/datastore/s')[0], PRIV.DatastoreAudit)
    assert.equal(lookupPrivs(cfg, 'a@pbs!new', '/datastore/s')[0], 0)
    assert.ok(anyPrivsBelow(cfg, 'a@pbs!u', '/datastore', NS_PRIVS_OK))
    assert.ok(!anyPrivsBelow(cfg, 'b@pbs', '/datastore', NS_PRIVS_OK))
  })

  it('checks paths for new entries', () => {
    for (const p of ['/', '/datastore/s/a/b/c', '/system/tasks', '/access/users', '/remote/r/s'])
      assert.equal(checkAclPath(p), p)
    for (const p of ['/bogus', '/datastore/s/1/2/3/4/5/6/7/8', '/access/nope'])
      assert.throws(() => checkAclPath(p), ValidationError)
  })

  it('re-points entries of a moved namespace (and below) to the new path', () => {
    const cfg = parseAclConfig(
      [
        'acl:1:/datastore/s/a:x@pbs:DatastoreAudit',
        'acl:1:/datastore/s/a/b:x@pbs:DatastoreBackup',
        'acl:1:/datastore/s/ab:x@pbs:DatastoreAdmin',
      ].join('\n'),
    )
    const moved = repointAclPaths(cfg, '/datastore/s/a', '/datastore/s/z/a')
    assert.deepEqual(
      moved.map((m) => m.to),
      ['/datastore/s/z/a', '/datastore/s/z/a/b'],
    )
    assert.deepEqual(cfg.entries.map((e) => e.path).sort(), [
      '/datastore/s/ab',
      '/datastore/s/z/a',
      '/datastore/s/z/a/b',
    ])
  })
})
