// UPID format and parse (proxmox-schema upid.rs), as written into verify_state.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  escapeUnitName,
  formatUpid,
  parseUpid,
  unescapeUnitName,
  type Upid,
} from '../../src/api-types/upid.js'
import { ValidationError } from '../../src/errors.js'

describe('UPID', () => {
  it('formats like PBS: uppercase 8-digit hex, escaped worker id, trailing colon', () => {
    const upid: Upid = {
      node: 'elsa',
      pid: 0x4f37,
      pstart: 0x39e469,
      taskId: 0,
      starttime: 0x5ca78b83,
      workerType: 'verify',
      workerId: 'store1:vm/100',
      authid: 'root@pam',
    }
    assert.equal(
      formatUpid(upid),
      'UPID:elsa:00004F37:0039E469:00000000:5CA78B83:verify:store1\\x3avm-100:root@pam:',
    )
    assert.deepEqual(parseUpid(formatUpid(upid)), upid)
  })

  it('parses a PBS garbage-collection UPID without worker id', () => {
    const u = parseUpid('UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:')
    assert.equal(u.starttime, 0x5ca78b83)
    assert.equal(u.workerType, 'garbage_collection')
    assert.equal(u.workerId, undefined)
    assert.equal(formatUpid(u), 'UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:')
  })

  it('escapes worker ids like systemd unit names (non-path mode)', () => {
    assert.equal(escapeUnitName('a-b:c/d.e_f'), 'a\\x2db\\x3ac-d.e_f')
    assert.equal(escapeUnitName('.hidden'), '\\x2ehidden')
    assert.equal(escapeUnitName('ä'), '\\xc3\\xa4')
    for (const s of ['store1:ns/a:vm/100/5CA78B83', 'ä-ö', '.x'])
      assert.equal(unescapeUnitName(escapeUnitName(s)), s)
  })

  it('rejects malformed UPIDs and fields', () => {
    for (const bad of [
      '',
      'UPID:',
      'UPID:node:1:2:3:4:verify::root@pam:',
      'UPID:elsa:00004F37:0039E469:00000000:5CA78B83:verify::root@pam',
    ]) {
      assert.throws(() => parseUpid(bad), ValidationError, bad)
    }
    assert.throws(
      () =>
        formatUpid({
          node: 'a_b',
          pid: 1,
          pstart: 1,
          taskId: 0,
          starttime: 1,
          workerType: 'x',
          authid: 'root@pam',
        }),
      ValidationError,
    )
    assert.throws(
      () =>
        formatUpid({
          node: 'a',
          pid: -1,
          pstart: 1,
          taskId: 0,
          starttime: 1,
          workerType: 'x',
          authid: 'root@pam',
        }),
      ValidationError,
    )
  })
})
