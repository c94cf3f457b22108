import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '../../src/errors.js'
import { findSection, parseSectionConfig, writeSectionConfig } from '../../src/config/section-config.js'
import type { SectionConfigData } from '../../src/config/section-config.js'

/** A datastore.cfg as PBS writes it, plus comments, unknown keys, a key-only line and a foreign section type. */
const REALISTIC = [
  '# datastore.cfg - managed by pbs-store',
  '# second header line',
  '',
  'datastore: store1',
  '\tcomment Main store, do not touch',
  '\tgc-schedule daily',
  '\tkeep-daily 7',
  '\tkeep-last 3',
  '\tnotification-mode notification-system',
  '\tpath /srv/store1',
  '\tprune-schedule sat 18:15',
  '\ttuning chunk-order=none,gc-atime-cutoff=60,sync-level=file,default-verification-workers=2',
  '',
  'datastore: s3store',
  '\tbackend type=s3,client=minio,bucket=pbs-bucket,max-cache-size=64GiB',
  '\tpath /var/cache/s3store',
  '\tfuture-option x y  z',
  '\tverify-new',
  '',
  '# this one lives on a USB disk',
  'datastore: usb-disk',
  '\tbacking-device 8f0b5a1e-1c0c-4f2c-9d0f-2b1b7f0e9a11',
  '\tmaintenance-mode type=offline,message="unplugged, back monday"',
  '\tpath usb',
  '',
  'other-kind: thing1',
  '\tsomething else',
  '',
].join('\n')

function parseError(text: string): ConfigError {
  try {
    parseSectionConfig(text, 'test.cfg')
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`)
    return e
  }
  assert.fail('parse did not throw')
}

describe('section config round trip', () => {
  it('writes a realistic PBS file back byte-identically', () => {
    const data = parseSectionConfig(REALISTIC, 'datastore.cfg')
    assert.equal(writeSectionConfig(data, 'datastore.cfg'), REALISTIC)
  })

  it('keeps section order, property order, values and unknown sections', () => {
    const data = parseSectionConfig(REALISTIC, 'datastore.cfg')
    assert.deepEqual(
      data.sections.map((s) => `${s.type}:${s.id}`),
      ['datastore:store1', 'datastore:s3store', 'datastore:usb-disk', 'other-kind:thing1'],
    )
    const store1 = findSection(data, 'store1')!
    assert.deepEqual(
      [...store1.properties.keys()],
      [
        'comment',
        'gc-schedule',
        'keep-daily',
        'keep-last',
        'notification-mode',
        'path',
        'prune-schedule',
        'tuning',
      ],
    )
    assert.equal(store1.properties.get('comment'), 'Main store, do not touch')
    assert.equal(store1.properties.get('prune-schedule'), 'sat 18:15')
    const s3 = findSection(data, 's3store')!
    assert.equal(s3.properties.get('future-option'), 'x y  z')
    assert.equal(s3.properties.get('verify-new'), '')
    assert.equal(findSection(data, 'thing1')?.properties.get('something'), 'else')
    assert.deepEqual(data.leading, ['# datastore.cfg - managed by pbs-store', '# second header line', ''])
    assert.deepEqual(findSection(data, 'usb-disk')?.preamble, ['', '# this one lives on a USB disk'])
    assert.equal(store1.line, 4)
    assert.equal(s3.line, 14)
  })

  it('round-trips an empty file and a comment-only file', () => {
    assert.equal(writeSectionConfig(parseSectionConfig('', 'x.cfg')), '')
    const comments = '# nothing here yet\n\n# really\n'
    const data = parseSectionConfig(comments, 'x.cfg')
    assert.equal(data.sections.length, 0)
    assert.equal(writeSectionConfig(data), comments)
  })

  it('keeps comments and blank lines after the last section', () => {
    const text = 'datastore: abc\n\tpath /a\n\n# the end\n\n'
    assert.equal(writeSectionConfig(parseSectionConfig(text, 'x.cfg')), text)
  })

  it('reads space indentation, CRLF, padded headers and a missing final newline; writes the canonical form', () => {
    const text =
      'datastore :  abc  \r\n    path   /srv/a  \r\n  comment  hi there\r\n\r\ndatastore: def\n path /d'
    const data = parseSectionConfig(text, 'x.cfg')
    assert.equal(findSection(data, 'abc')?.properties.get('path'), '/srv/a')
    assert.equal(findSection(data, 'abc')?.properties.get('comment'), 'hi there')
    assert.equal(
      writeSectionConfig(data),
      'datastore: abc\n\tpath /srv/a\n\tcomment hi there\n\ndatastore: def\n\tpath /d\n',
    )
  })

  it("treats a column-0 comment after properties as the next section's preamble", () => {
    const data = parseSectionConfig(
      'datastore: abc\n\tpath /a\n# about def\ndatastore: def\n\tpath /d\n',
      'x.cfg',
    )
    assert.deepEqual(findSection(data, 'def')?.preamble, ['# about def'])
    assert.equal(
      writeSectionConfig(data),
      'datastore: abc\n\tpath /a\n\n# about def\ndatastore: def\n\tpath /d\n',
    )
  })
})

describe('section config editing', () => {
  it('separates programmatically added sections with one blank line and writes key-only lines bare', () => {
    const data: SectionConfigData = {
      sections: [
        { type: 'datastore', id: 'one', properties: new Map([['path', '/one']]) },
        {
          type: 'datastore',
          id: 'two',
          properties: new Map([
            ['path', '/two'],
            ['verify-new', ''],
          ]),
        },
      ],
    }
    assert.equal(
      writeSectionConfig(data),
      'datastore: one\n\tpath /one\n\ndatastore: two\n\tpath /two\n\tverify-new\n',
    )
  })

  it("keeps the file comments when the first section is removed, and drops that section's own comments", () => {
    const data = parseSectionConfig(REALISTIC, 'datastore.cfg')
    data.sections = data.sections.filter((s) => s.id !== 'store1' && s.id !== 'usb-disk')
    const out = writeSectionConfig(data)
    assert.ok(
      out.startsWith('# datastore.cfg - managed by pbs-store\n# second header line\n\ndatastore: s3store\n'),
    )
    assert.ok(!out.includes('USB disk'))
    assert.ok(out.includes('\tverify-new\n\nother-kind: thing1\n'))
  })

  it('refuses values, keys, ids and comment lines that would not read back the same', () => {
    const section = (id: string, key: string, value: string): SectionConfigData => ({
      sections: [{ type: 'datastore', id, properties: new Map([[key, value]]) }],
    })
    for (const bad of [
      section('abc', 'path', '/a\nstore: injected'),
      section('abc', 'path', '/a\rb'),
      section('abc', 'two words', 'x'),
      section('abc', '', 'x'),
      section('abc', '#path', 'x'),
      section('a b', 'path', '/a'),
      section('', 'path', '/a'),
      { sections: [{ type: '1bad', id: 'abc', properties: new Map() }] },
      { sections: [], leading: ['not a comment'] },
      { sections: [], trailing: ['# ok', 'datastore: x'] },
      { sections: [{ type: 'datastore', id: 'abc', properties: new Map(), preamble: ['#x\ny'] }] },
    ] satisfies SectionConfigData[]) {
      assert.throws(
        () => writeSectionConfig(bad, 'bad.cfg'),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError)
          assert.match(e.message, /^writing 'bad\.cfg' failed - /)
          return true
        },
      )
    }
  })

  it('refuses duplicate section ids on write', () => {
    const data: SectionConfigData = {
      sections: [
        { type: 'datastore', id: 'abc', properties: new Map() },
        { type: 'other', id: 'abc', properties: new Map() },
      ],
    }
    assert.throws(() => writeSectionConfig(data), /duplicate section id 'abc'/)
  })
})

describe('section config parse errors', () => {
  const cases: [string, string, number, RegExp][] = [
    ['property before any header', '\tpath /a\n', 1, /expected header/],
    ['header without colon', '# c\ndatastore abc\n', 2, /expected header/],
    ['header with empty id', 'datastore:\n', 1, /expected header/],
    ['header starting with a digit', '1datastore: abc\n', 1, /expected header/],
    [
      'unindented line inside a section',
      'datastore: abc\n\tpath /a\ncomment x\n',
      3,
      /expected section properties/,
    ],
    [
      'header directly after properties',
      'datastore: abc\n\tpath /a\ndatastore: def\n',
      3,
      /expected section properties/,
    ],
    [
      'duplicate property',
      'datastore: abc\n\tpath /a\n\tcomment x\n\tpath /b\n',
      4,
      /duplicate property 'path'/,
    ],
    [
      'duplicate section id',
      'datastore: abc\n\tpath /a\n\nother: abc\n\tx y\n',
      4,
      /duplicate section id 'abc'/,
    ],
    ['indented comment inside a section', 'datastore: abc\n\t# note\n', 2, /comments/],
  ]
  for (const [name, text, line, cause] of cases) {
    it(`reports ${name} with file name and line ${line}`, () => {
      const e = parseError(text)
      assert.match(e.message, new RegExp(`^parsing 'test\\.cfg' failed - line ${line}: `))
      assert.match(e.message, cause)
      assert.equal(e.data.file, 'test.cfg')
      assert.equal(e.data.line, line)
    })
  }

  it('counts CRLF lines like LF lines', () => {
    assert.equal(parseError('# a\r\n# b\r\n\tpath /x\r\n').data.line, 3)
  })
})
