import { describe, expect, it } from 'vitest'
import {
  checkContentDigest,
  contentDigest,
  parseSfDictionary,
  serializeSfInnerList,
} from './contentDigest.js'

// RFC 9530 §2 examples: the body {"hello": "world"} and its SHA-256 and SHA-512 digests.
const body = new TextEncoder().encode('{"hello": "world"}')
const sha256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
const sha512 =
  'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:'

describe('contentDigest', () => {
  it('computes the RFC 9530 example digest from a string or bytes', () => {
    expect(contentDigest('{"hello": "world"}')).toBe(sha256)
    expect(contentDigest(body)).toBe(sha256)
  })
})

describe('checkContentDigest', () => {
  it('accepts a matching sha-256, sha-512, or both, and ignores unknown algorithms', () => {
    expect(checkContentDigest(sha256, body)).toBe(true)
    expect(checkContentDigest(sha512, body)).toBe(true)
    expect(checkContentDigest(`${sha512}, ${sha256}`, body)).toBe(true)
    expect(checkContentDigest(`md5=:AAAA:, ${sha256}`, body)).toBe(true)
  })
  it('refuses a digest of another body, or a mismatch in any algorithm it knows', () => {
    expect(checkContentDigest(sha256, new TextEncoder().encode('{"hello": "World"}'))).toBe(false)
    expect(checkContentDigest(`${sha256}, sha-512=:${Buffer.alloc(64).toString('base64')}:`, body)).toBe(
      false,
    )
  })
  it('refuses a missing, malformed, or unknown-only field', () => {
    expect(checkContentDigest(null, body)).toBe(false)
    expect(checkContentDigest('', body)).toBe(false)
    expect(checkContentDigest('sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', body)).toBe(false)
    expect(checkContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:', body)).toBe(false)
    expect(checkContentDigest(`${sha256},`, body)).toBe(false)
    expect(checkContentDigest('md5=:AAAA:', body)).toBe(false)
    expect(checkContentDigest('sha-256=:AAAA:', body)).toBe(false)
  })
})

describe('structured fields', () => {
  it('parses an RFC 9421 Signature-Input dictionary and serializes its inner list back', () => {
    const text =
      'sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="test-key-ed25519";alg="ed25519"'
    const member = parseSfDictionary(text).get('sig1')
    expect(member?.kind).toBe('list')
    if (member?.kind !== 'list') return
    expect(member.items.map((i) => i.value)).toEqual([
      { type: 'string', value: '@method' },
      { type: 'string', value: '@target-uri' },
      { type: 'string', value: 'content-digest' },
    ])
    expect(member.params.get('created')).toEqual({ type: 'integer', value: 1618884473 })
    expect(serializeSfInnerList(member)).toBe(text.slice('sig1='.length))
  })
  it('reads tokens, booleans, decimals, escapes and spacing as RFC 8941 does', () => {
    const d = parseSfDictionary('a=tok/en:1 ,  b;x=?0;y, c=-1.25, d="q\\"\\\\", e=( "x"  1 );p')
    expect(d.get('a')).toEqual({
      kind: 'item',
      value: { type: 'token', value: 'tok/en:1' },
      params: new Map(),
    })
    expect(d.get('b')).toEqual({
      kind: 'item',
      value: { type: 'boolean', value: true },
      params: new Map([
        ['x', { type: 'boolean', value: false }],
        ['y', { type: 'boolean', value: true }],
      ]),
    })
    expect(d.get('c')).toMatchObject({ value: { type: 'decimal', value: -1.25 } })
    expect(d.get('d')).toMatchObject({ value: { type: 'string', value: 'q"\\' } })
    const e = d.get('e')
    expect(e?.kind === 'list' && serializeSfInnerList(e)).toBe('("x" 1);p')
  })
  it('fails on grammar errors without quoting the input', () => {
    for (const bad of [
      'Sig=1',
      'a=("x"',
      'a=("x""y")',
      'a="unterminated',
      'a="bad\\n"',
      'a=:not base64!:',
      'a=1234567890123456',
      'a=1.2345',
      'a=?2',
      'a=1,,b=2',
      'a=1 b=2',
      'a=@',
      'a="é"',
    ])
      expect(() => parseSfDictionary(bad), bad).toThrow(/Malformed structured field: .* at character \d+\.$/)
    expect(() => parseSfDictionary('a=1'.padEnd(9000, ' '))).toThrow(/longer than/)
  })
})
