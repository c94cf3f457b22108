// user.cfg codec, secret hashing, and the AccessConfig operations (users, tokens, ACL cleanup).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { AccessConfig } from '../../src/config/access-config.js'
import { hashSecret, verifySecret } from '../../src/config/secret-store.js'
import { isAccountActive, parseUserConfig, writeUserConfig } from '../../src/config/user-config.js'
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../src/errors.js'

describe('user.cfg and secrets', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbs-store-users-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads and writes the PBS example', () => {
    const text =
      'user: root@pam\n\tcomment Superuser\n\temail test@example.local\n\ntoken: root@pam!token1\n\tcomment API test token\n\tenable true\n\texpire 0\n'
    const cfg = parseUserConfig(text)
    assert.equal(cfg.users.get('root@pam')?.email, 'test@example.local')
    assert.deepEqual(cfg.tokens.get('root@pam!token1'), {
      tokenid: 'root@pam!token1',
      comment: 'API test token',
      enable: true,
      expire: 0,
    })
    assert.equal(writeUserConfig(cfg), text)
  })

  it('activity follows enable and expire', () => {
    assert.ok(isAccountActive({}))
    assert.ok(!isAccountActive({ enable: false }))
    assert.ok(!isAccountActive({ expire: 1 }))
    assert.ok(isAccountActive({ expire: 0 }))
  })

  it('hashes with a random salt and verifies in constant time', async () => {
    const a = await hashSecret('secret-1')
    const b = await hashSecret('secret-1')
    assert.notEqual(a, b)
    assert.match(a, /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/)
    assert.ok(await verifySecret('secret-1', a))
    assert.ok(!(await verifySecret('secret-2', a)))
    assert.ok(!(await verifySecret('secret-1', '$y$j9T$whatever')))
  })

  it('manages users, tokens and their ACL entries; secrets stay out of user.cfg', async () => {
    const access = new AccessConfig(dir)
    await access.createUser('alice@pbs', { comment: 'Alice' }, 'alice-pass')
    await assert.rejects(access.createUser('alice@pbs', {}), AlreadyExistsError)
    await assert.rejects(access.createUser('bob@pbs', {}, 'short'), ValidationError)
    assert.ok(await access.verifyPassword('alice@pbs', 'alice-pass'))
    assert.ok(!(await access.verifyPassword('alice@pbs', 'wrong-pass')))
    const shadow = JSON.parse(await readFile(join(dir, 'shadow.json'), 'utf8')) as Record<string, string>
    assert.ok(shadow.alice?.startsWith('$scrypt$'))
    const secret = await access.createToken('alice@pbs', 'ci')
    assert.ok(await access.verifyTokenSecret('alice@pbs!ci', secret))
    assert.doesNotMatch(await readFile(join(dir, 'user.cfg'), 'utf8'), new RegExp(secret))
    assert.doesNotMatch(await readFile(join(dir, 'token.shadow'), 'utf8'), new RegExp(secret))
    await access.modifyAcl({ path: '/datastore/s', role: 'DatastoreAudit', authid: 'alice@pbs!ci' })
    await assert.rejects(
      access.modifyAcl({ path: '/datastore/s', role: 'DatastoreAudit', authid: 'nobody@pbs' }),
      NotFoundError,
    )
    await access.updateUser('alice@pbs', { enable: false })
    assert.ok(!(await access.isActive('alice@pbs!ci')))
    await access.deleteUser('alice@pbs')
    assert.equal((await access.acl()).config.entries.length, 0)
    assert.ok(!(await access.verifyTokenSecret('alice@pbs!ci', secret)))
  })
})
