import { encodeFunctionData, erc20Abi, maxUint256 } from 'viem'
import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountString, amountOut, parseAmount } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { tokenPhrase } from '../untrusted/quoteUntrusted.js'
import { defineWriteTool, WriteOptions } from './shared/write.js'

export const ApproveInput = z
  .object({
    chain: ChainRef,
    token: EvmAddress,
    spender: EvmAddress,
    amount: AmountString.describe('Display units; "0" revokes'),
    ...WriteOptions,
  })
  .strict()

/**
 * Sets an ERC-20 allowance for a spender; `"0"` revokes it.
 * @example await client.callTool({ name: 'approve', arguments: { chain: 'devnet', token: usdc, spender: router, amount: '100' } })
 */
export const approve = defineWriteTool({
  name: 'approve',
  title: 'Approve a spender',
  description: 'Sets the exact ERC-20 allowance of a spender ("0" revokes).',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: ApproveInput,
  async build({ chain, token, spender, amount }, ctx) {
    const c = ctx.chains.resolve(chain)
    const facts = await ctx.tokens.get(c, token)
    const raw = parseAmount(amount, facts.decimals)
    const formatted = amountOut(raw, facts.decimals)
    const what =
      raw === 0n
        ? `Revoke the allowance of ${spender}`
        : `Allow ${spender} to spend ${raw === maxUint256 ? 'an UNLIMITED amount' : formatted.formatted}`
    return {
      operation: 'approve',
      chain: c,
      call: {
        to: token,
        data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, raw] }),
        value: 0n,
      },
      summary: `${what} of ${tokenPhrase(token, facts)} on ${c.name}.`,
      details: {
        token,
        spender,
        symbol: facts.symbol,
        amount: formatted,
        revoke: raw === 0n,
        unlimited: raw === maxUint256,
      },
    }
  },
})
