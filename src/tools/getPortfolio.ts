import type { Address } from 'viem'
import { z } from 'zod'
import { InvalidInputError, toBaseError } from '../errors/index.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { ChainAddress } from '../schemas/solanaAddress.js'
import { defineTool } from './defineTool.js'
import { readBalances, TokenBalance } from './shared/readBalances.js'
import { solanaTokenBalances } from './shared/solanaReads.js'

export const GetPortfolioInput = z
  .object({
    address: ChainAddress,
    solanaAddress: ChainAddress.optional(),
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
  async run({ address, solanaAddress, chains: refs }, { chains, tokens: facts, solanaDevnet }) {
    // One address per family: an EVM `address` for EVM chains; a Solana one (`address` or `solanaAddress`) for Solana.
    const evmAddress = address.startsWith('0x') ? (address as Address) : undefined
    const solAddress = address.startsWith('0x') ? solanaAddress : address
    if (solanaAddress?.startsWith('0x'))
      throw new InvalidInputError('solanaAddress must be a Solana address (base58).', {
        field: 'solanaAddress',
      })
    const all = refs
      ? [...new Map(refs.map((r) => chains.resolveAny(r)).map((c) => [c.caip2, c])).values()]
      : chains.listAll().filter((c) => c.source === 'config' || c.source === 'env' || c.source === 'devnet')
    const targets = refs
      ? all
      : all.filter((c) => (c.family === 'evm' ? evmAddress : solAddress) !== undefined)
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
          if (c.family === 'solana') {
            if (!solAddress)
              throw new InvalidInputError(
                `${c.name} is a Solana cluster: give a Solana address (solanaAddress).`,
                {
                  field: 'solanaAddress',
                },
              )
            const read = await solanaTokenBalances(c, solAddress, undefined, solanaDevnet)
            return { chain: read.chain, caip2: read.caip2, native: read.native, tokens: read.tokens }
          }
          if (!evmAddress)
            throw new InvalidInputError(`${c.name} is an EVM chain: give an EVM address (address).`, {
              field: 'address',
            })
          const address = evmAddress
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
