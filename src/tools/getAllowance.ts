import { erc20Abi, maxUint256 } from 'viem'
import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'

export const GetAllowanceInput = z
  .object({ chain: ChainRef, token: EvmAddress, owner: EvmAddress, spender: EvmAddress })
  .strict()

export const GetAllowanceOutput = z.object({
  ...ChainOut,
  token: z.string(),
  owner: z.string(),
  spender: z.string(),
  decimals: z.number(),
  allowance: AmountOut,
  unlimited: z.boolean().describe('2^256-1'),
})

/**
 * ERC-20 allowance an owner granted a spender.
 * @example await client.callTool({ name: 'get_allowance', arguments: { chain: 'devnet', token, owner, spender } })
 */
export const getAllowance = defineTool({
  name: 'get_allowance',
  title: 'Token allowance',
  description: "ERC-20 allowance of `spender` over `owner`'s tokens.",
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetAllowanceInput,
  output: GetAllowanceOutput,
  async run({ chain, token, owner, spender }, { chains, tokens }) {
    const c = chains.resolve(chain)
    const [facts, raw] = await Promise.all([
      tokens.get(c, token),
      c.client.readContract({
        address: token,
        abi: erc20Abi,
        functionName: 'allowance',
        args: [owner, spender],
      }),
    ])
    return {
      chain: c.name,
      caip2: c.caip2,
      token,
      owner,
      spender,
      decimals: facts.decimals,
      allowance: amountOut(raw, facts.decimals),
      unlimited: raw === maxUint256,
    }
  },
})
