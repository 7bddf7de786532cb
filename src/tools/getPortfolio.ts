import { z } from 'zod'
import { InvalidInputError, toBaseError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'
import { readBalances, TokenBalance } from './shared/readBalances.js'

export const GetPortfolioInput = z
  .object({
    address: EvmAddress,
    chains: z.array(ChainRef).min(1).max(64).optional().describe('Default: configured chains'),
  })
  .strict()

export const GetPortfolioOutput = z.object({
  address: z.string(),
  chains: z.array(
    z.union([
      z.object({
        chain: z.string(),
        caip2: z.string(),
        native: z.object({ symbol: z.string(), decimals: z.number(), balance: AmountOut }),
        tokens: z.array(TokenBalance),
      }),
      z.object({
        chain: z.string(),
        caip2: z.string(),
        error: z.object({ code: z.string(), message: z.string() }),
      }),
    ]),
  ),
})

/**
 * Native and known-token balances across chains, read in parallel (one call per chain); a failing chain is
 * reported in its entry and does not fail the whole call.
 * @example await client.callTool({ name: 'get_portfolio', arguments: { address, chains: ['base', 'arbitrum'] } })
 */
export const getPortfolio = defineTool({
  name: 'get_portfolio',
  title: 'Portfolio',
  description: 'Native and known-token balances of an address on several chains.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetPortfolioInput,
  output: GetPortfolioOutput,
  async run({ address, chains: refs }, { chains, tokens: facts }) {
    const targets = refs
      ? [...new Map(refs.map((r) => chains.resolve(r)).map((c) => [c.id, c])).values()]
      : chains.list().filter((c) => c.source === 'config' || c.source === 'env' || c.source === 'devnet')
    if (!targets.length)
      throw new InvalidInputError(
        'No chain has its own endpoints configured, so there is no default chain list.',
        {
          field: 'chains',
          metaMessages: ['Pass `chains`, e.g. ["ethereum", "base"], or configure endpoints.'],
        },
      )
    const entries = await Promise.all(
      targets.map(async (c) => {
        try {
          const result = await readBalances(
            c,
            address,
            facts.known(c.id).map((t) => t.address),
            facts,
          )
          const { symbol, decimals } = c.chain.nativeCurrency
          return {
            chain: c.name,
            caip2: c.caip2,
            native: { symbol, decimals, balance: amountOut(result.native, decimals) },
            tokens: result.tokens,
          }
        } catch (error) {
          const e = toBaseError(error)
          return { chain: c.name, caip2: c.caip2, error: { code: e.code, message: e.shortMessage } }
        }
      }),
    )
    return { address, chains: entries }
  },
})
