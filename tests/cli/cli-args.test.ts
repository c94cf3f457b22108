// The CLI's value parsers at the edge: the rules they apply, the one-line error printing, and
// the two bugs the hostile-input generator found (an s3 endpoint's --fingerprint swallowed by the
// global option; a user created with an empty password). Runs main() in-process.
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { integerArg, maintenanceModeArg, parseServerUrl } from '../../src/cli/cli-args.js'
import { main } from '../../src/cli/main.js'
import { oneLine, type OutputSink } from '../../src/cli/output.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

describe('CLI value parsers', () => {
  let home: TempHome
  before(async () => {
    home = await makeTempHome('pbs-store-cli-args-')
  })
  after(() => home.cleanup())

  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = ''
    let err = ''
    const sink: OutputSink = { out: (t) => (out += t), err: (t) => (err += t) }
    const code = await main(['node', 'pbs-store', '--home', home.installation.home, ...argv], sink)
    return { code, out, err }
  }

  it('reads integers as the API does', () => {
    const expire = integerArg('--expire', 0)
    assert.equal(expire('0'), 0)
    assert.equal(expire('1776359903'), 1776359903)
    for (const bad of ['1.0', '', ' 1', '1e3', '0x1', '-1', '9'.repeat(30)])
      assert.throws(() => expire(bad), /invalid --expire .* - must be an integer >= 0/, JSON.stringify(bad))
  })

  it('takes an admin maintenance mode with a percent-encoded one-line message only', () => {
    const parse = maintenanceModeArg()
    assert.deepEqual(parse('type=offline,message=disk%20swap'), { type: 'offline', message: 'disk%20swap' })
    assert.deepEqual(parse('read-only'), { type: 'read-only' })
    assert.throws(() => parse('type=offline,message=a%0Ab'), /message must be a single line/)
    assert.throws(() => parse('type=offline,message=%zz'), /percent-encoded/)
    assert.throws(() => parse('type=read-only,x=1'), /unknown key 'x'/)
    assert.throws(() => parse('type=delete'), /'read-only' or 'offline'/)
  })

  it('keeps the origin of a server URL and refuses an empty one', () => {
    assert.equal(parseServerUrl('https://pbs.example:8007/api2/json'), 'https://pbs.example:8007')
    assert.throws(() => parseServerUrl(''), /invalid --server '' - must be a URL/)
  })

  it('prints control characters of a message as escapes', () => {
    assert.equal(oneLine('a\nb\r\t\u0000\u001b[31m\u009b'), 'a\\nb\\r\\t\\u0000\\u001b[31m\\u009b')
  })

  it('refuses an empty or short password instead of creating a user without one', async () => {
    for (const password of ['', 'short']) {
      const r = await run('user', 'create', 'new@pbs', '--password', password)
      assert.equal(r.code, 1)
      assert.equal(r.err, "error: invalid --password '(hidden)' - must be 8 to 64 characters\n")
    }
    const users = await run('--output-format', 'json', 'user', 'list')
    assert.ok(!users.out.includes('new@pbs'), users.out)
  })

  it("stores an s3 endpoint's --fingerprint (the global option takes it) in PBS's xx:xx form", async () => {
    const hex = 'ab'.repeat(32)
    const r = await run(
      's3',
      'endpoint',
      'create',
      'ep1',
      '--endpoint',
      'https://s3.example.com',
      '--access-key',
      'k',
      '--secret-key',
      's',
      '--fingerprint',
      hex.toUpperCase(),
    )
    assert.equal(r.code, 0, r.err)
    const cfg = await readFile(join(home.installation.etcDir, 's3.cfg'), 'utf8')
    assert.match(cfg, new RegExp(`fingerprint ${'ab:'.repeat(31)}ab\\n`))
    const bad = await run(
      's3',
      'endpoint',
      'create',
      'ep2',
      '--endpoint',
      'https://s3.example.com',
      '--access-key',
      'k',
      '--secret-key',
      's',
      '--fingerprint',
      'AA:BB',
    )
    assert.equal(bad.code, 1)
    assert.match(bad.err, /^error: invalid --fingerprint 'AA:BB' - must be a SHA-256 fingerprint/)
    assert.ok(!(await readFile(join(home.installation.etcDir, 's3.cfg'), 'utf8')).includes('ep2'))
    assert.ok((await readdir(home.installation.etcDir)).includes('s3.cfg'))
  })
})
