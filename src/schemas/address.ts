import { type Address, getAddress } from 'viem'
import { z } from 'zod'
import { describeHiddenCharacter, findHiddenCharacter } from '../untrusted/rejectHiddenCharacters.js'

const hex40 = /^0x[0-9a-fA-F]{40}$/

/** Why `value` is not an acceptable EVM address, or `undefined` when it is. */
export function addressProblem(value: string): string | undefined {
  if (hex40.test(value)) return checksumProblem(value) // plain ASCII hex: no hidden character can be in it
  const hidden = findHiddenCharacter(value)
  if (hidden) return `it contains ${describeHiddenCharacter(hidden)}; retype the address`
  if (/\.[a-z]{2,}$/i.test(value))
    return `"${value.slice(0, 64)}" looks like a name; this field takes an address (resolve names with resolve_ens)`
  if (!value.startsWith('0x')) return 'it must start with 0x (lowercase x)'
  const digits = value.length - 2
  return /^0x[0-9a-fA-F]*$/.test(value)
    ? `it has ${digits} hex digits, an address has exactly 40`
    : 'it contains characters that are not hex digits'
}

function checksumProblem(value: string): string | undefined {
  const body = value.slice(2)
  if (body === body.toLowerCase()) return undefined
  if (getAddress(value) !== value)
    return body === body.toUpperCase()
      ? 'all-uppercase hex is not accepted; use the EIP-55 checksummed or all-lowercase form'
      : 'its mixed-case EIP-55 checksum is wrong (a typo, or a tampered address); check it against the source'
  return undefined
}

/**
 * An EVM address: EIP-55 checksummed or all lowercase; normalized to the checksummed form.
 * Broken checksums, all-uppercase hex, invisible characters and names are rejected with the reason. No field
 * description: `tools/list` would repeat it for every address field, and the refusal explains the rule.
 *
 * @example EvmAddress.parse('0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e') // '0xd8dA6BF2…'
 */
export const EvmAddress = z
  .string()
  .max(100)
  .transform((value, ctx): Address => {
    const problem = addressProblem(value)
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem, params: { airlock: 'INVALID_ADDRESS' } })
      return z.NEVER
    }
    return getAddress(value)
  })
