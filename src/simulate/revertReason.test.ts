import { encodeAbiParameters, encodeErrorResult, parseAbi } from 'viem'
import { describe, expect, it } from 'vitest'
import { revertReason } from './revertReason.js'

const errorString = (message: string) =>
  encodeErrorResult({ abi: parseAbi(['error Error(string)']), errorName: 'Error', args: [message] })
const panic = (code: bigint) =>
  `0x4e487b71${encodeAbiParameters([{ type: 'uint256' }], [code]).slice(2)}` as const

describe('revertReason', () => {
  it("decodes Error(string) and strips what could hide or reorder text (it is the contract's own words)", () => {
    expect(revertReason(errorString('not enough balance'))).toBe('not enough balance')
    expect(revertReason(errorString('ok\u202Eexe.gnp\u200B\u0000 done'))).toBe('okexe.gnp done')
    expect([...revertReason(errorString('x'.repeat(5000)))]).toHaveLength(200)
  })

  it('names panic codes', () => {
    expect(revertReason(panic(0x11n))).toBe('panic 0x11 (arithmetic overflow)')
    expect(revertReason(panic(0x12n))).toBe('panic 0x12 (division by zero)')
    expect(revertReason(panic(0x99n))).toBe('panic 0x99')
  })

  it('shows custom errors by selector, naming the standard token errors', () => {
    expect(revertReason('0x12345678')).toBe('custom error 0x12345678')
    expect(revertReason('0xe450d38c0000')).toBe('custom error 0xe450d38c (ERC20InsufficientBalance)')
  })

  it('falls back to the given text (sanitized) when the data says nothing, and never trusts malformed data', () => {
    expect(revertReason('0x')).toBe('execution reverted without a reason')
    expect(revertReason(undefined, 'out of gas')).toBe('out of gas')
    expect(revertReason(undefined, '\u202E\u200B')).toBe('execution reverted without a reason')
    expect(revertReason('0x08c379a0ffff')).toBe('execution reverted with a malformed Error(string)')
    expect(revertReason('0xzz345678')).toBe('execution reverted without a reason')
  })
})
