// The task log file is named after the UPID text: a UPID that PBS's pattern accepts but that
// contains '/' must never turn into a path outside the task directory.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'

import { parseUpid } from '../../src/api-types/upid.js'
import { ValidationError } from '../../src/errors.js'
import { taskLogPath } from '../../src/tasks/task-log.js'

const GOOD = 'UPID:host:00001234:0000ABCD:00000001:6A000000:verify:store1:root@pam:'

describe('task log path', () => {
  it('puts a UPID under <tasks>/<HH>/', () => {
    assert.equal(taskLogPath('/t', GOOD, parseUpid(GOOD)), join('/t', 'CD', GOOD))
  })

  it("refuses a UPID whose worker type or authid contains '/' (it would leave the directory)", () => {
    for (const text of [
      'UPID:host:00001234:0000ABCD:00000001:6A000000:../../etc:store1:root@pam:',
      'UPID:host:00001234:0000ABCD:00000001:6A000000:verify:store1:a/../../b@pam:',
    ]) {
      const upid = parseUpid(text) // PBS's pattern allows '/' there
      assert.throws(() => taskLogPath('/t', text, upid), ValidationError, text)
    }
  })
})
