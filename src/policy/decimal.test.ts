import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { compareRaw, parseDecimal, toBaseUnitsFloor } from './decimal.js'

describe('decimal', () => {
  test('parses plain decimals, dropping trailing fraction zeros', () => {
    expect(parseDecimal('1000')).toEqual({ int: 1000n, scale: 0 })
    expect(parseDecimal('1.50')).toEqual({ int: 15n, scale: 1 })
    expect(parseDecimal('0.000001')).toEqual({ int: 1n, scale: 6 })
    expect(() => parseDecimal('1e3')).toThrow()
  })

  test('compares base units with a display-unit decimal exactly', () => {
    const cap = parseDecimal('1000')
    expect(compareRaw(1_000_000_000n, 6, cap)).toBe(0)
    expect(compareRaw(1_000_000_001n, 6, cap)).toBe(1)
    expect(compareRaw(999_999_999n, 6, cap)).toBe(-1)
    // More digits in the rule than the token has.
    expect(compareRaw(1n, 0, parseDecimal('0.5'))).toBe(1)
    expect(compareRaw(0n, 0, parseDecimal('0.5'))).toBe(-1)
  })

  test('converts to base units rounding down', () => {
    expect(toBaseUnitsFloor(parseDecimal('2500'), 6)).toBe(2_500_000_000n)
    expect(toBaseUnitsFloor(parseDecimal('1.239'), 2)).toBe(123n)
  })

  test('compareRaw agrees with cross-multiplication for random values', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 30 }),
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 30 }),
        (raw, decimals, int, scale) => {
          const left = raw * 10n ** BigInt(scale)
          const right = int * 10n ** BigInt(decimals)
          expect(compareRaw(raw, decimals, { int, scale })).toBe(left < right ? -1 : left > right ? 1 : 0)
        },
      ),
    )
  })
})
