/** The JSON Pointer resolver of configured webhook fields, against RFC 6901's own examples (§5). */
import { describe, expect, it } from 'vitest'
import { isPointer, resolvePointer } from '../src/sources/json-pointer'

// RFC 6901 §5, the example document.
const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 }

describe('resolvePointer', () => {
  it.each([
    ['', doc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('RFC 6901 §5: %j', (pointer, expected) => {
    expect(resolvePointer(doc, pointer)).toEqual(expected)
  })

  it('unescapes ~1 before ~0, so ~01 is the key "~1"', () => {
    expect(resolvePointer({ '~1': 'tilde-one', '/': 'slash' }, '/~01')).toBe('tilde-one')
  })

  it('walks nested objects and arrays (a Clerk user.created)', () => {
    const event = { data: { email_addresses: [{ email_address: 'example@example.org' }], first_name: 'Example' } }
    expect(resolvePointer(event, '/data/email_addresses/0/email_address')).toBe('example@example.org')
    expect(resolvePointer(event, '/data/first_name')).toBe('Example')
  })

  it('names nothing for a missing key, an index out of range, "-", a leading zero or a non-numeric index', () => {
    for (const pointer of ['/nope', '/foo/2', '/foo/-', '/foo/01', '/foo/x', '/foo/0/deeper', '/ /x']) {
      expect(resolvePointer(doc, pointer)).toBeUndefined()
    }
  })

  it('reads own keys only: no prototype walking', () => {
    expect(resolvePointer({}, '/constructor')).toBeUndefined()
    expect(resolvePointer({ a: {} }, '/a/__proto__')).toBeUndefined()
    expect(resolvePointer([], '/length')).toBeUndefined()
  })

  it('names nothing through null or a scalar', () => {
    expect(resolvePointer({ a: null }, '/a/b')).toBeUndefined()
    expect(resolvePointer({ a: 'text' }, '/a/0')).toBeUndefined()
  })
})

describe('isPointer', () => {
  it('accepts pointers and refuses what is not one', () => {
    for (const ok of ['', '/', '/a', '/a/0', '/a~0b/c~1d', '//']) expect(isPointer(ok), ok).toBe(true)
    for (const bad of ['a', 'data/email', '/a~', '/a~2', '#/a']) expect(isPointer(bad), bad).toBe(false)
  })
})
