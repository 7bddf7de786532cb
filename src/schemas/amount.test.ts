import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { AmountString, amountSyntaxProblem, formatAmount, parseAmount } from './amount.js'

describe('amounts (ADVERSARIAL 8, 9, 11)', () => {
  it.each([
    ['-1', /sign/],
    ['+1', /sign/],
    ['1e18', /exponent/],
    ['', /empty/],
    [' 1 ', /spaces/],
    ['0x10', /hex/],
    ['NaN', /not a number/],
    ['Infinity', /not a number/],
    ['1.2.3', /at most one/],
    ['1,5', /at most one/],
    ['1.', /at most one/],
    ['1\u200b0', /U\+200B/],
  ])('rejects %j', (value, reason) => {
    expect(amountSyntaxProblem(value)).toMatch(reason)
    expect(AmountString.safeParse(value).success).toBe(false)
  })

  it('rejects a JSON number with a message about strings', () => {
    const result = AmountString.safeParse(1.5)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toMatch(/decimal strings/)
    expect((result.error?.issues[0] as { params?: unknown } | undefined)?.params).toEqual({
      airlock: 'INVALID_AMOUNT',
    })
  })

  it('converts exactly, never rounding', () => {
    expect(parseAmount('1.5', 6)).toBe(1_500_000n)
    expect(parseAmount('0.000001', 6)).toBe(1n)
    expect(parseAmount('1000000', 6)).toBe(1_000_000_000_000n)
    expect(() => parseAmount('0.0000001', 6)).toThrow(/7 fraction digits but the token has 6/)
  })

  it('rejects amounts over uint256 with INVALID_AMOUNT', () => {
    const max = (2n ** 256n - 1n).toString()
    expect(parseAmount(max, 0)).toBe(2n ** 256n - 1n)
    try {
      parseAmount((2n ** 256n).toString(), 0)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(BaseError)
      expect((error as BaseError).code).toBe('INVALID_AMOUNT')
      expect((error as BaseError).message).toMatch(/uint256/)
    }
    expect(() =>
      parseAmount('115792089237316195423570985008687907853269984665640564039457.584007913129639936', 18),
    ).toThrow(/uint256/)
  })

  it('formats base units back without loss', () => {
    for (const [raw, d] of [
      [1_500_000n, 6],
      [1n, 18],
      [0n, 6],
      [2n ** 256n - 1n, 18],
    ] as const)
      expect(parseAmount(formatAmount(raw, d), d)).toBe(raw)
    expect(formatAmount(1_500_000n, 6)).toBe('1.5')
  })
})
