import { describe, expect, it } from 'vitest'
import { bigintReplacer, stringifyJson, toJson } from './json.js'

describe('JSON with bigints', () => {
  it('writes bigints as decimal strings, drops undefined members and turns undefined into null', () => {
    expect(stringifyJson({ raw: -1500000n, n: 1 })).toBe('{"raw":"-1500000","n":1}')
    expect(JSON.stringify([2n ** 70n], bigintReplacer)).toBe('["1180591620717411303424"]')
    expect(toJson({ a: 5n, b: undefined, c: [1n] })).toEqual({ a: '5', c: ['1'] })
    expect(toJson(undefined)).toBeNull()
  })
})
