// backup, restore and verify through the real `pbs-store` binary: two snapshots sharing chunks,
// byte-identical restores (file and stdout), verify before and after a chunk is corrupted on disk,
// encryption with key files, and bad input that must leave nothing behind.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace, parseSnapshotPath } from '../../src/api-types/index.js'
import { openDatastore } from '../../src/datastore/index.js'
import { parseFixedIndex, serializeKeyConfig } from '../../src/format/index.js'
import { spawnNodeHolder } from '../helpers/lock-children.js'
import { CLI_BIN, runCli, runCliJson } from '../helpers/run-cli.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

const MiB = 1024 * 1024
const T1 = '2026-04-16T17:18:23Z'
const T1_EPOCH = 1776359903

interface BackupJson {
  snapshot: string
  files: { filename: string; 'crypt-mode': string; size: number; csum: string }[]
  'chunk-upload-stats': { count: number; size: number; compressed_size: number; duplicates: number }
}
interface VerifyJson {
  upid: string
  ok: number
  failed: number
  skipped: number
  'renamed-chunks': string[]
  snapshots: { snapshot: string; outcome: string; errors: string[]; reason?: string }[]
}

/** Runs the CLI and returns stdout as raw bytes (for `restore … -`). */
function runCliBinary(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }))
  })
}

describe('pbs-store backup / restore / verify', () => {
  let home: TempHome
  let storeBase: string
  let image: Buffer
  const paths = { image: '', conf: '', key: '', keyJson: '' }
  const conf = 'boot: order=scsi0\nmemory: 2048\n'
  const S = ['--store', 'store1']

  before(async () => {
    home = await makeTempHome()
    storeBase = join(home.dir, 'store1')
    const r = await runCli(['datastore', 'create', 'store1', storeBase], home.env)
    assert.equal(r.code, 0, r.stderr)
    image = Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(4 * MiB), randomBytes(MiB + 17)])
    paths.image = join(home.dir, 'disk.raw')
    paths.conf = join(home.dir, '100.conf')
    paths.key = join(home.dir, 'raw.key')
    paths.keyJson = join(home.dir, 'key.json')
    await writeFile(paths.image, image)
    await writeFile(paths.conf, conf)
    const key = randomBytes(32)
    await writeFile(paths.key, key)
    await writeFile(paths.keyJson, serializeKeyConfig(key))
  })
  after(() => home.cleanup())

  it('backs up twice; the second snapshot finds every chunk in the store (duplicates counted)', async () => {
    const args = [
      'backup',
      ...S,
      '--backup-type',
      'vm',
      '--backup-id',
      '100',
      `drive-scsi0.img:${paths.image}`,
      `qemu-server.conf:${paths.conf}`,
    ]
    const first = await runCliJson<BackupJson>([...args, '--backup-time', T1], home.env)
    assert.equal(first.snapshot, `vm/100/${T1}`)
    assert.deepEqual(
      first.files.map((f) => [f.filename, f['crypt-mode']]),
      [
        ['drive-scsi0.img.fidx', 'none'],
        ['qemu-server.conf.blob', 'none'],
      ],
    )
    assert.deepEqual(first['chunk-upload-stats'].duplicates, 0)
    assert.equal(first['chunk-upload-stats'].count, 3, 'a random chunk, the zero chunk and the short tail')
    const second = await runCliJson<BackupJson>([...args, '--backup-time', String(T1_EPOCH + 3600)], home.env)
    assert.equal(second.snapshot, 'vm/100/2026-04-16T18:18:23Z')
    assert.equal(second['chunk-upload-stats'].duplicates, second['chunk-upload-stats'].count)
    assert.equal(second.files[0]!.csum, first.files[0]!.csum)

    const text = await runCli([...args, '--backup-time', String(T1_EPOCH + 7200)], home.env)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /created snapshot 'vm\/100\/2026-04-16T19:18:23Z' on store 'store1'/)
    assert.match(text.stdout, /drive-scsi0\.img\.fidx/)
  })

  it('restores byte-identical images and configs, to a file and to stdout', async () => {
    const target = join(home.dir, 'restored.raw')
    const r = await runCliJson<{ size: number; 'sparse-bytes': number }>(
      ['restore', `vm/100/${T1}`, 'drive-scsi0.img', target, ...S],
      home.env,
    )
    assert.equal(r.size, image.length)
    assert.equal(r['sparse-bytes'], 4 * MiB)
    assert.ok((await readFile(target)).equals(image))
    const out = await runCliBinary(['restore', `vm/100/${T1}`, 'drive-scsi0.img', '-', ...S], home.env)
    assert.equal(out.code, 0, out.stderr)
    assert.ok(out.stdout.equals(image), 'stdout carries exactly the image bytes')
    const c = await runCliBinary(
      ['restore', 'vm/100/2026-04-16T18:18:23Z', 'qemu-server.conf', '-', ...S],
      home.env,
    )
    assert.equal(c.stdout.toString(), conf)
    const again = await runCli(['restore', `vm/100/${T1}`, 'drive-scsi0.img', target, ...S], home.env)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /restore target '.*restored\.raw' already exists/)
  })

  it('verify: ok (exit 0), then a corrupted chunk is reported, renamed to .0.bad, exit non-zero', async () => {
    const ok = await runCliJson<VerifyJson>(['verify', ...S], home.env)
    assert.deepEqual([ok.ok, ok.failed, ok.skipped], [3, 0, 0])
    assert.match(
      ok.upid,
      /^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[0-9A-F]{8}:verify:store1:root@pam:$/,
    )
    const listed = await runCliJson<
      {
        files: { filename: string; 'crypt-mode'?: string }[]
        verification?: { upid: string; state: string }
      }[]
    >(['snapshot', 'list', 'vm/100', ...S], home.env)
    assert.deepEqual(
      listed.map((s) => s.verification),
      listed.map(() => ({ upid: ok.upid, state: 'ok' })),
      'snapshot list shows the verification from the manifest',
    )
    assert.deepEqual(
      listed[0]!.files.find((f) => f.filename === 'drive-scsi0.img.fidx')?.['crypt-mode'],
      'none',
    )

    const fidx = parseFixedIndex(await readFile(join(storeBase, 'vm', '100', T1, 'drive-scsi0.img.fidx')))
    const hex = fidx.digestHex(0)
    const chunk = join(storeBase, '.chunks', hex.slice(0, 4), hex)
    const raw = await readFile(chunk)
    raw[100]! ^= 0xff
    await writeFile(chunk, raw)

    const bad = await runCli(['verify', ...S, 'vm/100', '--output-format', 'json'], home.env)
    assert.equal(bad.code, 1)
    const result = JSON.parse(bad.stdout) as VerifyJson
    assert.deepEqual([result.ok, result.failed], [0, 3])
    assert.deepEqual(result['renamed-chunks'], [`${chunk}.0.bad`])
    assert.ok(existsSync(`${chunk}.0.bad`) && !existsSync(chunk))
    assert.match(bad.stderr, /crc mismatch/)
    assert.match(bad.stderr, /error: verification failed - 3 snapshot\(s\) with errors/)

    const text = await runCli(['verify', ...S, `vm/100/${T1}`], home.env)
    assert.equal(text.code, 1)
    assert.match(text.stdout, new RegExp(`vm/100/${T1}\\s+failed`))
    assert.match(text.stderr, /chunk [0-9a-f]{64} was marked as corrupt|can't verify chunk/)

    // A new backup stores the chunk again; that snapshot verifies.
    const fresh = await runCliJson<BackupJson>(
      ['backup', ...S, '--backup-type', 'vm', '--backup-id', '100', `drive-scsi0.img:${paths.image}`],
      home.env,
    )
    assert.ok(existsSync(chunk))
    const v = await runCliJson<VerifyJson>(['verify', ...S, fresh.snapshot], home.env)
    assert.equal(v.ok, 1)
  })

  it('encrypted backup with a raw key file, restore with the PBS key file; wrong or missing key fails cleanly', async () => {
    const b = await runCliJson<BackupJson>(
      [
        'backup',
        ...S,
        '--backup-type',
        'vm',
        '--backup-id',
        '200',
        '--backup-time',
        T1,
        '--keyfile',
        paths.key,
        `disk.img:${paths.image}`,
        `qemu-server.conf:${paths.conf}`,
      ],
      home.env,
    )
    assert.deepEqual(
      b.files.map((f) => f['crypt-mode']),
      ['encrypt', 'encrypt'],
    )
    const target = join(home.dir, 'enc.raw')
    await runCliJson(
      ['restore', `vm/200/${T1}`, 'disk.img', target, ...S, '--keyfile', paths.keyJson],
      home.env,
    )
    assert.ok((await readFile(target)).equals(image))

    const otherKey = join(home.dir, 'other.key')
    await writeFile(otherKey, randomBytes(32))
    const wrong = await runCli(
      ['restore', `vm/200/${T1}`, 'disk.img', join(home.dir, 'wrong.raw'), ...S, '--keyfile', otherKey],
      home.env,
    )
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong key/)
    const missing = await runCli(
      ['restore', `vm/200/${T1}`, 'disk.img', join(home.dir, 'nokey.raw'), ...S],
      home.env,
    )
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /encrypted, a key is needed/)
    const names = await readdir(home.dir)
    assert.ok(!names.includes('wrong.raw') && !names.includes('nokey.raw'), 'no partial target left')
    const v = await runCliJson<VerifyJson>(['verify', ...S, 'vm/200'], home.env)
    assert.equal(v.ok, 1, 'verify checks encrypted snapshots without the key')
  })

  it('reads an archive from stdin', async () => {
    const log = 'line one\nline two\n'.repeat(100)
    const r = await runCli(
      [
        'backup',
        ...S,
        '--backup-type',
        'host',
        '--backup-id',
        'web',
        'syslog.log:-',
        '--output-format',
        'json',
      ],
      home.env,
      log,
    )
    assert.equal(r.code, 0, r.stderr)
    const b = JSON.parse(r.stdout) as BackupJson
    const out = await runCliBinary(['restore', b.snapshot, 'syslog.log', '-', ...S], home.env)
    assert.equal(out.stdout.toString(), log)
  })

  it('bad input: clear errors, exit 1, nothing left behind', async () => {
    const before = (await readdir(join(storeBase, 'vm'), { recursive: true })).sort()
    const cases: [string[], RegExp][] = [
      [['--backup-id', '300', `disk.vmdk:${paths.image}`], /unknown extension/],
      [['--backup-id', '300', `root.pxar:${paths.image}`], /directory archives .* not supported/],
      [
        ['--backup-id', '300', `disk.img:${join(home.dir, 'missing.raw')}`],
        /archive source '.*missing\.raw' does not exist/,
      ],
      [['--backup-id', '300', 'disk.img'], /must have the form ARCHIVE:PATH/],
      [
        ['--backup-id', '100', '--backup-time', T1, `disk.img:${paths.image}`],
        /backup time 2026-04-16T17:18:23Z is not newer than the last finished snapshot/,
      ],
      [
        ['--backup-id', '300', '--keyfile', join(home.dir, 'nope.key'), `disk.img:${paths.image}`],
        /key file '.*nope\.key' does not exist/,
      ],
      [
        ['--backup-id', '300', '--backup-time', 'yesterday', `disk.img:${paths.image}`],
        /invalid --backup-time 'yesterday'/,
      ],
    ]
    for (const [args, message] of cases) {
      const r = await runCli(['backup', ...S, '--backup-type', 'vm', ...args], home.env)
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
    }
    assert.deepEqual((await readdir(join(storeBase, 'vm'), { recursive: true })).sort(), before)
  })

  it('verify skips a snapshot another process holds exclusively (exit 0)', async () => {
    const store = await openDatastore(home.installation, 'store1')
    const [lockFile] = store.snapshotLockFiles(BackupNamespace.ROOT, parseSnapshotPath(`vm/200/${T1}`))
    const holder = await spawnNodeHolder('flock', lockFile, 'exclusive')
    try {
      const r = await runCliJson<VerifyJson>(['verify', ...S, 'vm/200'], home.env)
      assert.deepEqual([r.ok, r.failed, r.skipped], [0, 0, 1])
      assert.match(r.snapshots[0]!.reason!, /could not acquire snapshot lock/)
    } finally {
      await holder.release()
    }
  })
})
