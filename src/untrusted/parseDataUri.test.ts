import { describe, expect, it } from 'vitest'
import { FetchFailedError, UntrustedFetchBlockedError } from '../errors/index.js'
import { parseDataUri } from './parseDataUri.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('parseDataUri', () => {
  it('decodes base64 JSON as on-chain NFTs store it', () => {
    const json = '{"name":"Airlock #1","image":"data:image/svg+xml;base64,PHN2Zy8+"}'
    const result = parseDataUri(`data:application/json;base64,${Buffer.from(json).toString('base64')}`)
    expect(result.mimeType).toBe('application/json')
    expect(result.base64).toBe(true)
    expect(text(result.bytes)).toBe(json)
  })

  it('decodes percent-encoded and raw UTF-8 content, keeping "#" as data', () => {
    expect(text(parseDataUri('data:,Hello%2C%20World').bytes)).toBe('Hello, World')
    const raw = parseDataUri('data:application/json;utf8,{"name":"🦄 #1","color":"#fff","pct":"100%"}')
    expect(JSON.parse(text(raw.bytes))).toEqual({ name: '🦄 #1', color: '#fff', pct: '100%' })
  })

  it('reads media type parameters and defaults to text/plain', () => {
    const result = parseDataUri('data:Text/Plain;Charset=UTF-8;base64,aGk=')
    expect(result).toMatchObject({ mimeType: 'text/plain', parameters: { charset: 'UTF-8' }, base64: true })
    expect(parseDataUri('data:;base64,aGk=').mimeType).toBe('text/plain')
    expect(parseDataUri('data:<script>,x').mimeType).toBe('text/plain')
  })

  it('accepts base64 with whitespace and without padding', () => {
    expect(text(parseDataUri('data:;base64,aGVs%20bG8').bytes)).toBe('hello')
    expect(text(parseDataUri('data:;base64,aGVsbG8=').bytes)).toBe('hello')
  })

  it('refuses invalid base64', () => {
    expect(() => parseDataUri('data:application/json;base64,!!!notbase64')).toThrow(FetchFailedError)
    expect(() => parseDataUri('data:application/json;base64,aGVsb')).toThrow(/invalid base64/)
    expect(() => parseDataUri('data:application/json;base64,aG=Vs')).toThrow(FetchFailedError)
  })

  it('refuses a URI without a comma', () => {
    expect(() => parseDataUri('data:application/json')).toThrow(/malformed/)
  })

  it('refuses content above the size cap, before decoding a huge string', () => {
    const big = `data:;base64,${Buffer.alloc(2000).toString('base64')}`
    expect(() => parseDataUri(big, { maxBytes: 1000 })).toThrow(UntrustedFetchBlockedError)
    expect(() => parseDataUri(`data:,${'a'.repeat(10_000_000)}`, { maxBytes: 1000 })).toThrow(
      /more than 1000 bytes/,
    )
  })
})
