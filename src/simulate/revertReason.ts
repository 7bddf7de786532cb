import { decodeAbiParameters, type Hex } from 'viem'
import { sanitizeText } from '../untrusted/sanitizeText.js'

const panicReasons: Readonly<Record<number, string>> = {
  0: 'generic panic',
  1: 'assertion failed',
  17: 'arithmetic overflow',
  18: 'division by zero',
  33: 'invalid enum value',
  34: 'corrupt storage byte array',
  49: 'pop on an empty array',
  50: 'array index out of bounds',
  65: 'out of memory',
  81: 'call to an uninitialized function',
}

// The standard token errors (ERC-6093) most reverts of a token call are; named so the approver can read them.
const knownErrors: Readonly<Record<string, string>> = {
  '0xe450d38c': 'ERC20InsufficientBalance',
  '0xfb8f41b2': 'ERC20InsufficientAllowance',
  '0x7e273289': 'ERC721NonexistentToken',
  '0x64283d7b': 'ERC721IncorrectOwner',
  '0x177e802f': 'ERC721InsufficientApproval',
}

const noReason = 'execution reverted without a reason'

/** Longest revert reason shown, in code points. */
const maxReasonLength = 200

/**
 * The reason a call reverted, as safe one-line text: `Error(string)`'s message, `panic 0x11 (arithmetic
 * overflow)`, `custom error 0x12345678`, or `fallback` when the data says nothing. The text comes from a contract,
 * so it is untrusted: control, bidi and zero-width characters are removed and the length is capped.
 *
 * @example
 * revertReason('0x4e487b710000000000000000000000000000000000000000000000000000000000000011') // 'panic 0x11 (arithmetic overflow)'
 * revertReason('0x', 'out of gas') // 'out of gas'
 */
export function revertReason(data: Hex | undefined, fallback = noReason): string {
  return sanitizeText(describe(data, fallback), { maxLength: maxReasonLength }).text || noReason
}

function describe(data: Hex | undefined, fallback: string): string {
  if (!data || data.length < 10 || !/^0x[0-9a-fA-F]*$/.test(data)) return fallback
  const selector = data.slice(0, 10).toLowerCase()
  const body = `0x${data.slice(10)}` as Hex
  if (selector === '0x08c379a0') {
    try {
      const [message] = decodeAbiParameters([{ type: 'string' }], body)
      return message || 'execution reverted with an empty reason'
    } catch {
      return 'execution reverted with a malformed Error(string)'
    }
  }
  if (selector === '0x4e487b71') {
    try {
      const [code] = decodeAbiParameters([{ type: 'uint256' }], body)
      const name = code <= 0xffn ? panicReasons[Number(code)] : undefined
      return `panic 0x${code.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''}`
    } catch {
      return 'panic with malformed data'
    }
  }
  const known = knownErrors[selector]
  return `custom error ${selector}${known ? ` (${known})` : ''}`
}
