import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'

export const GetBalanceInput = z.object({ chain: ChainRef, address: EvmAddress }).strict()

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
  async run({ chain, address }, { chains }) {
    const c = chains.resolve(chain)
    const raw = await c.client.getBalance({ address })
    const { symbol, decimals } = c.chain.nativeCurrency
    return { chain: c.name, caip2: c.caip2, address, symbol, decimals, balance: amountOut(raw, decimals) }
  },
})
