import { z } from 'zod'
import { addressOnChain } from '../chains/addressOnChain.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { ChainAddress } from '../schemas/solanaAddress.js'
import { defineTool } from './defineTool.js'
import { solanaBalance } from './shared/solanaReads.js'

export const GetBalanceInput = z.object({ chain: ChainRef, address: ChainAddress }).strict()

export const GetBalanceOutput = z.object({
  ...ChainOut,
  address: z.string(),
  symbol: z.string(),
  decimals: z.number(),
  balance: AmountOut,
})

/**
 * Reads the native balance of an address on one chain.
 * @example await client.callTool({ name: 'get_balance', arguments: { chain: 'base', address: '0x…' } })
 * @throws {ChainNotFoundError} the chain is not in the registry
 */
export const getBalance = defineTool({
  name: 'get_balance',
  title: 'Native balance',
  description: 'Native balance of an address.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetBalanceInput,
  output: GetBalanceOutput,
  async run({ chain, address: input }, { chains }) {
    const any = chains.resolveAny(chain)
    if (any.family === 'solana') return solanaBalance(any, addressOnChain(any, input, 'address'))
    const c = any
    const address = addressOnChain(c, input, 'address')
    const raw = await c.client.getBalance({ address })
    const { symbol, decimals } = c.chain.nativeCurrency
    return { chain: c.name, caip2: c.caip2, address, symbol, decimals, balance: amountOut(raw, decimals) }
  },
})
