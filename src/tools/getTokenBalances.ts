import { z } from 'zod'
import { addressOnChain } from '../chains/addressOnChain.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { ChainAddress } from '../schemas/solanaAddress.js'
import { defineTool } from './defineTool.js'
import { readBalances, TokenBalance } from './shared/readBalances.js'
import { solanaTokenBalances } from './shared/solanaReads.js'

export const GetTokenBalancesInput = z
  .object({
    chain: ChainRef,
    address: ChainAddress,
    tokens: z.array(ChainAddress).max(500).optional().describe('Default: known (Solana: held)'),
  })
  .strict()

export const GetTokenBalancesOutput = z.object({
  ...ChainOut,
  address: z.string(),
  native: z.object({ symbol: z.string(), decimals: z.number(), balance: AmountOut }),
  tokens: z.array(TokenBalance),
})

/**
 * Native and ERC-20 balances of an address in one RPC call (Multicall3), for known tokens or a given list.
 * @example await client.callTool({ name: 'get_token_balances', arguments: { chain: 'devnet', address, tokens: [usdc] } })
 */
export const getTokenBalances = defineTool({
  name: 'get_token_balances',
  title: 'Token balances',
  description: 'Native and token balances of an address; trust `verified`, not symbols.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetTokenBalancesInput,
  output: GetTokenBalancesOutput,
  async run({ chain, address: input, tokens: listed }, { chains, tokens: facts, solanaDevnet }) {
    const any = chains.resolveAny(chain)
    if (any.family === 'solana')
      return solanaTokenBalances(
        any,
        addressOnChain(any, input, 'address'),
        listed?.map((t) => addressOnChain(any, t, 'tokens')),
        solanaDevnet,
      )
    const c = any
    const address = addressOnChain(c, input, 'address')
    const tokens = listed?.map((t) => addressOnChain(c, t, 'tokens'))
    const list = [...new Set(tokens ?? facts.known(c.id).map((t) => t.address))]
    const result = await readBalances(c, address, list, facts)
    const { symbol, decimals } = c.chain.nativeCurrency
    return {
      chain: c.name,
      caip2: c.caip2,
      address,
      native: { symbol, decimals, balance: amountOut(result.native, decimals) },
      tokens: result.tokens,
    }
  },
})
