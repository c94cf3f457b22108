import assert from 'node:assert/strict'
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'

import { main } from '../../src/cli/main.js'
import type { OutputSink } from '../../src/cli/output.js'
import {
  BUCKET_NAME_REGEX,
  createS3Endpoint,
  loadS3Config,
  loadS3Secret,
  parseBucketName,
  parseS3Config,
  removeS3Endpoint,
  s3ConfigPath,
  s3ShadowPath,
  validateS3Endpoint,
  writeS3Config,
  type ConfigLock,
  type S3EndpointConfig,
} from '../../src/config/index.js'
import { AlreadyExistsError, ConfigError, NotFoundError, ValidationError } from '../../src/errors.js'
import {
  MOTO_ACCESS_KEY,
  MOTO_SECRET_KEY,
  createTestBucket,
  startMoto,
  type MotoServer,
} from '../helpers/moto.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const noLock: ConfigLock = (fn) => fn()
const SECRET = 'sEcReT/+key=XYZ-never-print'

function capture(): OutputSink & { stdout: string; stderr: string } {
  const s = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      s.stdout += t
    },
    err: (t: string) => {
      s.stderr += t
    },
  }
  return s
}

async function cli(
  home: TempHome,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const sink = capture()
  const code = await main(['node', 'pbs-store', '--home', home.installation.home, ...argv], sink)
  return { code, stdout: sink.stdout, stderr: sink.stderr }
}

let home: TempHome
beforeEach(async () => {
  home = await makeTempHome()
  await mkdir(home.installation.etcDir, { recursive: true })
})
afterEach(async () => {
  await home.cleanup()
})

const base: S3EndpointConfig = {
  id: 'minio1',
  endpoint: 'https://{{bucket}}.s3.{{region}}.example.com',
  region: 'eu-central-1',
  accessKey: 'AKIAEXAMPLE',
  providerQuirks: ['skip-if-none-match-header'],
}

describe('s3.cfg and s3.shadow', () => {
  it('round trip keeps the secret out of s3.cfg and in a 0600 shadow file', async () => {
    const etc = home.installation.etcDir
    await createS3Endpoint(etc, noLock, { ...base, pathStyle: false, port: 8443 }, SECRET)
    const text = await readFile(s3ConfigPath(etc), 'utf8')
    assert.equal(
      text,
      [
        's3-endpoint: minio1',
        '\tendpoint https://{{bucket}}.s3.{{region}}.example.com',
        '\tregion eu-central-1',
        '\taccess-key AKIAEXAMPLE',
        '\tpath-style false',
        '\tprovider-quirks skip-if-none-match-header',
        '\tport 8443',
        '',
      ].join('\n'),
    )
    assert.ok(!text.includes(SECRET))
    assert.equal((await stat(s3ShadowPath(etc))).mode & 0o777, 0o600)
    assert.equal(await loadS3Secret(etc, 'minio1'), SECRET)
    const cfg = await loadS3Config(etc)
    const e = cfg.endpoints.get('minio1')
    assert.deepEqual({ ...e, raw: undefined }, { ...base, pathStyle: false, port: 8443, raw: undefined })
    assert.equal(writeS3Config(cfg), text)
    await assert.rejects(createS3Endpoint(etc, noLock, base, 'x'), AlreadyExistsError)
    await removeS3Endpoint(etc, noLock, 'minio1')
    assert.equal((await loadS3Config(etc)).endpoints.size, 0)
    await assert.rejects(loadS3Secret(etc, 'minio1'), NotFoundError)
    assert.ok(!(await readFile(s3ShadowPath(etc), 'utf8')).includes(SECRET))
    await assert.rejects(removeS3Endpoint(etc, noLock, 'minio1'), NotFoundError)
  })

  it('keeps unknown properties, other sections and comments on rewrite', () => {
    const text =
      '# endpoints\ns3-endpoint: a1b\n\taccess-key K\n\tendpoint http://h:9000\n\tpath-style 1\n\tput-rate-limit 10\n\nother: x\n\tfoo bar\n'
    const cfg = parseS3Config(text)
    assert.equal(cfg.endpoints.get('a1b')?.pathStyle, true)
    const out = writeS3Config(cfg)
    assert.match(out, /^# endpoints\ns3-endpoint: a1b\n/)
    assert.match(out, /\tpath-style 1\n/)
    assert.match(out, /\tput-rate-limit 10\n/)
    assert.match(out, /other: x\n\tfoo bar\n$/)
  })

  it('validation names the field', () => {
    const bad = (patch: Partial<S3EndpointConfig>, field: string): void => {
      assert.throws(
        () => validateS3Endpoint({ ...base, ...patch }),
        (e: unknown) => e instanceof ValidationError && e.input === field,
        field,
      )
    }
    bad({ id: 'a/b' }, 'id')
    bad({ id: 'ab' }, 'id')
    bad({ endpoint: 'not a url' }, 'endpoint')
    bad({ endpoint: 'ftp://x' }, 'endpoint')
    bad({ pathStyle: true }, 'endpoint') // {{bucket}} needs virtual-host style
    bad({ region: 'EU Central' }, 'region')
    bad({ accessKey: '' }, 'access-key')
    bad({ port: 70000 }, 'port')
    bad({ fingerprint: 'aa:bb' }, 'fingerprint')
    assert.throws(() => parseS3Config('s3-endpoint: x1y\n\tendpoint http://h\n'), ConfigError)
    assert.throws(
      () => parseS3Config('s3-endpoint: x1y\n\tendpoint http://h\n\taccess-key k\n\tprovider-quirks nope\n'),
      ConfigError,
    )
  })

  it('bucket names follow the S3 rule', () => {
    for (const ok of ['abc', 'my-bucket-1', 'a'.repeat(63)]) assert.equal(parseBucketName(ok), ok)
    for (const bad of ['ab', 'a'.repeat(64), 'Abc', '-abc', 'abc-', 'a_b', 'a.b']) {
      assert.throws(() => parseBucketName(bad), ValidationError, bad)
    }
    assert.ok(BUCKET_NAME_REGEX.test('x1'))
  })

  it('a corrupt shadow file does not echo its content', async () => {
    const etc = home.installation.etcDir
    await writeFile(s3ShadowPath(etc), `{"a": "${SECRET}"`)
    await assert.rejects(loadS3Secret(etc, 'a'), (e: unknown) => {
      assert.ok(e instanceof ConfigError)
      assert.ok(!e.message.includes(SECRET))
      return true
    })
  })
})

describe('pbs-store s3 CLI', () => {
  let moto: MotoServer
  before(async () => {
    moto = await startMoto()
  })
  after(async () => {
    await moto.stop()
  })

  it('endpoint create / list / check / remove, never printing the secret', async () => {
    const created = await cli(
      home,
      's3',
      'endpoint',
      'create',
      'moto1',
      '--endpoint',
      moto.endpoint,
      '--access-key',
      MOTO_ACCESS_KEY,
      '--secret-key',
      MOTO_SECRET_KEY,
      '--region',
      'us-west-1',
      '--path-style',
      '--provider-quirks',
      'delete-objects-via-delete-object',
    )
    assert.equal(created.code, 0, created.stderr)
    assert.ok(!created.stdout.includes(MOTO_SECRET_KEY))

    const text = await cli(home, 's3', 'endpoint', 'list')
    assert.equal(text.code, 0, text.stderr)
    assert.match(
      text.stdout,
      /moto1\s+http:\/\/127\.0\.0\.1:\d+\s+us-west-1\s+testing\s+true\s+delete-objects-via-delete-object/,
    )
    const json = await cli(home, '--output-format', 'json', 's3', 'endpoint', 'list')
    assert.deepEqual(JSON.parse(json.stdout), [
      {
        id: 'moto1',
        endpoint: moto.endpoint,
        region: 'us-west-1',
        'access-key': MOTO_ACCESS_KEY,
        'path-style': true,
        'provider-quirks': ['delete-objects-via-delete-object'],
      },
    ])
    for (const out of [text.stdout, json.stdout]) assert.ok(!out.includes(MOTO_SECRET_KEY))
    assert.ok(!(await readFile(s3ConfigPath(home.installation.etcDir), 'utf8')).includes(MOTO_SECRET_KEY))

    const bucket = await createTestBucket(moto.endpoint)
    const check = await cli(home, 's3', 'check', 'moto1', '--bucket', bucket)
    assert.equal(check.code, 0, check.stderr)
    assert.match(
      check.stdout,
      new RegExp(`bucket '${bucket}' at s3 endpoint 'moto1' is reachable \\(empty\\)`),
    )
    const missing = await cli(home, 's3', 'check', 'moto1', '--bucket', 'no-such-bucket-xyz')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /no-such-bucket-xyz/)
    assert.ok(!missing.stderr.includes(MOTO_SECRET_KEY))
    const badBucket = await cli(home, 's3', 'check', 'moto1', '--bucket', 'Bad_Bucket')
    assert.equal(badBucket.code, 1)
    assert.match(badBucket.stderr, /invalid --bucket 'Bad_Bucket'/)

    const dup = await cli(
      home,
      's3',
      'endpoint',
      'create',
      'moto1',
      '--endpoint',
      moto.endpoint,
      '--access-key',
      'a',
      '--secret-key',
      'b',
    )
    assert.equal(dup.code, 1)
    assert.match(dup.stderr, /already exists/)

    const removed = await cli(home, 's3', 'endpoint', 'remove', 'moto1')
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal((await cli(home, 's3', 'endpoint', 'list')).stdout, '(none)\n')
  })
})
