import { getBase58Encoder } from '@solana/kit'
import { getAddress } from 'viem'
import { z } from 'zod'
import { describeHiddenCharacter, findHiddenCharacter } from '../untrusted/rejectHiddenCharacters.js'
import { addressProblem } from './address.js'

const base58 = /^[1-9A-HJ-NP-Za-km-z]+$/
const encoder = getBase58Encoder()

/**
 * Why `value` is not a Solana address (base58 of 32 bytes, checked by decoding), or `undefined` when it is
 * (ADVERSARIAL 59). An EVM address is named as one, so the caller knows it used the wrong family.
 *
 * @example solanaAddressProblem('0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e') // 'it is an EVM address (0x…); …'
 */
export function solanaAddressProblem(value: string): string | undefined {
  const hidden = findHiddenCharacter(value)
  if (hidden) return `it contains ${describeHiddenCharacter(hidden)}; retype the address`
  if (/^0x[0-9a-fA-F]*$/.test(value))
    return 'it is an EVM address (0x…); this is a Solana chain, whose addresses are base58'
  if (!base58.test(value)) {
    const bad = [...value].find((ch) => !base58.test(ch)) ?? ''
    return `it contains "${bad === ' ' ? 'a space' : bad.slice(0, 2)}", which base58 does not use (no 0, O, I, l, spaces or punctuation)`
  }
  if (value.length > 44) return `it has ${value.length} characters; a Solana address has 32 to 44`
  const bytes = encoder.encode(value).length
  if (bytes !== 32) return `it decodes to ${bytes} bytes; a Solana address is exactly 32`
  return undefined
}

/**
 * An address of either family, as a tool that serves both takes it: a `0x…` value is held to the EVM rules
 * (checksum, length) and normalized to EIP-55; anything else must be a Solana address. Whether it fits the chain
 * is checked by the tool once the chain is resolved ({@link addressOnChain}).
 */
export const ChainAddress = z
  .string()
  .max(100)
  .transform((value, ctx) => {
    const evm = value.startsWith('0x') || /^[0-9a-fA-F]{40}$/.test(value) || /\.[a-z]{2,}$/i.test(value)
    const problem = evm ? addressProblem(value) : solanaAddressProblem(value)
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem, params: { airlock: 'INVALID_ADDRESS' } })
      return z.NEVER
    }
    return evm ? getAddress(value) : value
  })
