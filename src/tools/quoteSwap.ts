import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, AmountString, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'
import { quoteExactInput } from './shared/uniswapQuote.js'

export const QuoteSwapInput = z
  .object({
    chain: ChainRef,
    tokenIn: EvmAddress,
    tokenOut: EvmAddress,
    amountIn: AmountString,
    fee: z
      .union([z.literal(100), z.literal(500), z.literal(3000), z.literal(10000)])
      .optional()
      .describe('Fee tier; default best'),
  })
  .strict()

export const QuoteSwapOutput = z.object({
  ...ChainOut,
  tokenIn: z.string(),
  tokenOut: z.string(),
  amountIn: AmountOut,
  amountOut: AmountOut,
  fee: z.number(),
  price: z.string().describe('tokenOut per tokenIn'),
  gasEstimate: z.string(),
  quoter: z.string(),
})

/**
 * Quotes an exact-input swap on Uniswap v3 (QuoterV2), across fee tiers unless one is given.
 * @example await client.callTool({ name: 'quote_swap', arguments: { chain: 'devnet', tokenIn: weth, tokenOut: usdc, amountIn: '1' } })
 * @throws {NotFoundError} no pool for the pair on this chain
 */
export const quoteSwap = defineTool({
  name: 'quote_swap',
  title: 'Quote a swap',
  description: 'Uniswap v3 quote for an exact ERC-20 input (WETH for ETH).',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: QuoteSwapInput,
  output: QuoteSwapOutput,
  async run({ chain, tokenIn, tokenOut, amountIn, fee }, { chains, tokens }) {
    const c = chains.resolve(chain)
    const q = await quoteExactInput(c, tokens, { tokenIn, tokenOut, amountIn, fee })
    // price = out/in in display units, computed in integers to avoid float rounding of large values.
    const scale = 10n ** 8n
    const priceScaled =
      (q.amountOut * 10n ** BigInt(q.tokenIn.decimals) * scale) /
      (q.amountIn * 10n ** BigInt(q.tokenOut.decimals))
    return {
      chain: c.name,
      caip2: c.caip2,
      tokenIn,
      tokenOut,
      amountIn: amountOut(q.amountIn, q.tokenIn.decimals),
      amountOut: amountOut(q.amountOut, q.tokenOut.decimals),
      fee: q.fee,
      price: amountOut(priceScaled, 8).formatted,
      gasEstimate: q.gasEstimate.toString(),
      quoter: q.quoter,
    }
  },
})
