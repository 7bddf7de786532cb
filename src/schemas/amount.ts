import { z } from 'zod'
import { InvalidAmountError } from '../errors/index.js'
import { describeHiddenCharacter, findHiddenCharacter } from '../untrusted/rejectHiddenCharacters.js'

const maxUint256 = 2n ** 256n - 1n
const plainDecimal = /^(\d+)(?:\.(\d+))?$/

/** Why `value` is not a plain decimal display-unit string, or `undefined`. Decimals are checked later. */
export function amountSyntaxProblem(value: string): string | undefined {
  if (value === '') return 'it is empty'
  const hidden = findHiddenCharacter(value)
  if (hidden && hidden.kind !== 'space')
    return `it contains ${describeHiddenCharacter(hidden)}; retype the amount`
  if (value.trim() !== value) return 'it has leading or trailing spaces'
  if (/^[+-]/.test(value)) return 'it has a sign; amounts are unsigned'
  if (/^0x/i.test(value)) return 'hex is not accepted; give a decimal string'
  if (/[eE]/.test(value) && /\d/.test(value)) return 'exponent notation is not accepted; write the digits out'
  if (/nan|infinity/i.test(value)) return `"${value.slice(0, 20)}" is not a number`
  if (!plainDecimal.test(value)) return 'use digits with at most one "." (like "1.5"), nothing else'
  return undefined
}

/**
 * A decimal amount in display units (`"1.5"`), as a string. Numbers, signs, exponents, hex and spaces are rejected.
 * Convert with {@link parseAmount} once the token's decimals are known.
 *
 * @example AmountString.parse('1.5') // '1.5'
 */
export const AmountString = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem =
      typeof value === 'string'
        ? value.length > 100
          ? 'it is longer than 100 characters'
          : amountSyntaxProblem(value)
        : value === undefined
          ? 'it is missing; give a decimal string like "1.5"'
          : `amounts are decimal strings like "1.5", not JSON ${typeof value === 'number' ? 'numbers' : typeof value}s`
    if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { airlock: 'INVALID_AMOUNT' } })
  })
  .transform((value) => value as string)
  // The schema accepts any JSON so that a number gets INVALID_AMOUNT, but clients are told the truth: a string.
  .meta({
    type: 'string',
    description: 'Decimal, display units ("1.5")',
  })

/**
 * Converts a display-unit amount into base units, refusing extra fraction digits (never rounds) and uint256 overflow.
 *
 * @example parseAmount('1.5', 6) // 1500000n
 * @throws {InvalidAmountError} syntax, too many fraction digits, or more than 2^256-1 base units
 */
export function parseAmount(value: string, decimals: number, field = 'amount'): bigint {
  const problem = amountSyntaxProblem(value)
  if (problem) throw new InvalidAmountError({ reason: problem, field })
  const [, whole = '0', fraction = ''] = plainDecimal.exec(value)!
  if (fraction.length > decimals)
    throw new InvalidAmountError({
      reason: `"${value}" has ${fraction.length} fraction digits but the token has ${decimals} decimals (amounts are never rounded)`,
      field,
    })
  const raw = BigInt(whole + fraction.padEnd(decimals, '0'))
  if (raw > maxUint256) throw new InvalidAmountError({ reason: 'it exceeds the uint256 maximum', field })
  return raw
}

/**
 * Base units to a display-unit string without trailing zeros, exact for any size.
 *
 * @example formatAmount(1500000n, 6) // '1.5'
 */
export function formatAmount(raw: bigint, decimals: number): string {
  const negative = raw < 0n
  const digits = (negative ? -raw : raw).toString().padStart(decimals + 1, '0')
  const whole = digits.slice(0, digits.length - decimals)
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}

/** The `{ raw, formatted }` pair every amount in a tool result carries. */
export const AmountOut = z.object({
  raw: z.string().describe('Base units, decimal string.'),
  formatted: z.string().describe('Display units.'),
})

/** Builds an {@link AmountOut}. */
export function amountOut(raw: bigint, decimals: number): z.infer<typeof AmountOut> {
  return { raw: raw.toString(), formatted: formatAmount(raw, decimals) }
}
