import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ValidationError } from '../../src/errors.js'
import { formatPropertyString, parsePropertyString } from '../../src/config/property-string.js'

function invalid(fn: () => unknown, input: string, rule: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`)
    assert.equal(e.input, input)
    assert.match(e.rule, rule)
    assert.ok(e.message.startsWith(`invalid ${input} `), e.message)
    return true
  })
}

describe('parsePropertyString', () => {
  it('parses key=value pairs in input order', () => {
    const map = parsePropertyString('sync-level=file,gc-atime-cutoff=60,chunk-order=none')
    assert.deepEqual(
      [...map],
      [
        ['sync-level', 'file'],
        ['gc-atime-cutoff', '60'],
        ['chunk-order', 'none'],
      ],
    )
  })

  it('returns an empty map for an empty string', () => {
    assert.equal(parsePropertyString('').size, 0)
  })

  it('gives a bare value to the default key, wherever it stands', () => {
    assert.deepEqual([...parsePropertyString('s3', 'type')], [['type', 's3']])
    assert.deepEqual(
      [...parsePropertyString('s3,client=x,bucket=b', 'type')],
      [
        ['type', 's3'],
        ['client', 'x'],
        ['bucket', 'b'],
      ],
    )
    assert.deepEqual(
      [...parsePropertyString('client=x,s3', 'type')],
      [
        ['client', 'x'],
        ['type', 's3'],
      ],
    )
    assert.deepEqual(
      [...parsePropertyString('type=s3,client=x', 'type')],
      [
        ['type', 's3'],
        ['client', 'x'],
      ],
    )
  })

  it('reads quoted values with commas, equals signs and escapes', () => {
    const map = parsePropertyString(
      'type=offline,message="back monday, 9=nine \\"ok\\" a\\\\b\\nline2"',
      'type',
    )
    assert.equal(map.get('message'), 'back monday, 9=nine "ok" a\\b\nline2')
    assert.equal(parsePropertyString('"a,b=c",x=1', 'v').get('v'), 'a,b=c')
  })

  it('keeps an explicitly empty value', () => {
    assert.equal(parsePropertyString('comment=,x=1').get('comment'), '')
  })

  it('rejects duplicates, also through the default key', () => {
    invalid(() => parsePropertyString('a=1,b=2,a=3', undefined, 'tuning'), 'tuning', /duplicate key 'a'/)
    invalid(
      () => parsePropertyString('s3,type=filesystem', 'type', 'backend'),
      'backend',
      /duplicate key 'type'/,
    )
  })

  it('rejects a bare value when there is no default key', () => {
    invalid(
      () => parsePropertyString('a=1,oops', undefined, 'tuning'),
      'tuning',
      /no key and there is no default key/,
    )
  })

  const malformed: [string, RegExp][] = [
    ['a=1,,b=2', /empty entry/],
    ['a=1,', /trailing comma/],
    [',a=1', /empty entry/],
    ['=x', /invalid key ''/],
    ['bad key=1', /invalid key 'bad key'/],
    ['a="open', /unterminated/],
    ['a="x"y,b=1', /garbage after quoted string/],
    ['a="x\\q"', /unsupported escape/],
    ['a="x\\', /unterminated/],
  ]
  for (const [text, rule] of malformed) {
    it(`rejects malformed ${JSON.stringify(text)}`, () => {
      invalid(() => parsePropertyString(text, undefined, 'backend'), 'backend', rule)
    })
  }

  it('names the input and value in the message', () => {
    assert.throws(() => parsePropertyString('a=1,a=2', undefined, 'tuning'), {
      message: "invalid tuning 'a=1,a=2' - duplicate key 'a'",
    })
  })
})

describe('formatPropertyString', () => {
  it('writes entries in order from a map or an object, skipping undefined', () => {
    assert.equal(
      formatPropertyString(
        new Map([
          ['z', '1'],
          ['a', '2'],
        ]),
      ),
      'z=1,a=2',
    )
    assert.equal(
      formatPropertyString({ 'gc-atime-cutoff': 60, x: undefined, 'gc-atime-safety-check': false }),
      'gc-atime-cutoff=60,gc-atime-safety-check=false',
    )
  })

  it('writes the default key bare', () => {
    assert.equal(
      formatPropertyString({ type: 's3', client: 'x', bucket: 'b' }, 'type'),
      's3,client=x,bucket=b',
    )
  })

  it('quotes values that need it and round-trips them', () => {
    const tricky = {
      type: 'a=b',
      message: 'back monday, "really" \\ ok\nsecond line',
      empty: '',
      plain: 'x-y.z',
    }
    const text = formatPropertyString(tricky, 'type')
    assert.equal(text, '"a=b",message="back monday, \\"really\\" \\\\ ok\\nsecond line",empty=,plain=x-y.z')
    assert.deepEqual(Object.fromEntries(parsePropertyString(text, 'type')), tricky)
    assert.equal(formatPropertyString({ type: '' }, 'type'), '""')
    assert.equal(parsePropertyString('""', 'type').get('type'), '')
  })

  it('rejects bad keys and control characters', () => {
    invalid(() => formatPropertyString({ 'bad key': 'x' }, undefined, 'tuning'), 'tuning', /invalid key/)
    invalid(() => formatPropertyString({ a: 'x\ty' }, undefined, 'tuning'), 'tuning a', /control characters/)
  })
})
