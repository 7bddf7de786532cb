import { parseAbi } from 'viem'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, AmountString, amountOut, parseAmount } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'

export const QuoteSwapInput = z
  .object({
    chain: ChainRef,
    tokenIn: EvmAddress,
    tokenOut: EvmAddress,
    amountIn: AmountString,
    fee: z
      .union([z.literal(100), z.literal(500), z.literal(3000), z.literal(10000)])
      .optional()
      .describe('Pool fee tier in hundredths of a bip; default: the best of all tiers.'),
  })
  .strict()

export const QuoteSwapOutput = z.object({
  ...ChainOut,
  tokenIn: z.string(),
  tokenOut: z.string(),
  amountIn: AmountOut,
  amountOut: AmountOut,
  fee: z.number(),
  price: z.string().describe('tokenOut per tokenIn, display units, 8 significant fraction digits.'),
  gasEstimate: z.string(),
  quoter: z.string(),
})

const quoterAbi = parseAbi([
  'function quoteExactInputSingle((address tokenIn, address tokenOut, uint256 amountIn, uint24 fee, uint160 sqrtPriceLimitX96) params) returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate)',
])
const tiers = [100, 500, 3000, 10000] as const

/**
 * Quotes an exact-input swap on Uniswap v3 (QuoterV2), across fee tiers unless one is given.
 * @example await client.callTool({ name: 'quote_swap', arguments: { chain: 'devnet', tokenIn: weth, tokenOut: usdc, amountIn: '1' } })
 * @throws {NotFoundError} no pool for the pair on this chain
 */
export const quoteSwap = defineTool({
  name: 'quote_swap',
  title: 'Quote a swap',
  description:
    'Quotes swapping an exact amount of one ERC-20 for another on Uniswap v3 (read-only; nothing is sent). Use WETH for ETH.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: QuoteSwapInput,
  output: QuoteSwapOutput,
  async run({ chain, tokenIn, tokenOut, amountIn, fee }, { chains, tokens }) {
    const c = chains.resolve(chain)
    if (tokenIn === tokenOut)
      throw new InvalidInputError('tokenIn and tokenOut are the same token.', { field: 'tokenOut' })
    const quoter = tokens.contracts(c.id)?.uniswapV3?.quoter
    if (!quoter)
      throw new NotFoundError(`The gateway knows no Uniswap v3 quoter on ${c.name}.`, {
        field: 'chain',
        metaMessages: ['Quotes are available on ethereum, base, arbitrum, optimism, polygon and the devnet.'],
      })
    const [inFacts, outFacts] = await Promise.all([tokens.get(c, tokenIn), tokens.get(c, tokenOut)])
    const raw = parseAmount(amountIn, inFacts.decimals, 'amountIn')
    if (raw === 0n) throw new InvalidInputError('amountIn must be greater than zero.', { field: 'amountIn' })
    const candidates = fee ? [fee] : tiers
    const results = await c.client.multicall({
      allowFailure: true,
      batchSize: 0,
      contracts: candidates.map((f) => ({
        address: quoter,
        abi: quoterAbi,
        functionName: 'quoteExactInputSingle' as const,
        args: [{ tokenIn, tokenOut, amountIn: raw, fee: f, sqrtPriceLimitX96: 0n }] as const,
      })),
    })
    let best: { fee: number; out: bigint; gas: bigint } | undefined
    results.forEach((r, i) => {
      if (r.status !== 'success') return
      const [out, , , gas] = r.result
      if (!best || out > best.out) best = { fee: candidates[i]!, out, gas }
    })
    if (!best || best.out === 0n)
      throw new NotFoundError(
        `No Uniswap v3 pool with liquidity for this pair on ${c.name}${fee ? ` at fee ${fee}` : ''}.`,
        {
          metaMessages: ['Check the token addresses, or try another fee tier.'],
        },
      )
    // price = out/in in display units, computed in integers to avoid float rounding of large values.
    const scale = 10n ** 8n
    const priceScaled =
      (best.out * 10n ** BigInt(inFacts.decimals) * scale) / (raw * 10n ** BigInt(outFacts.decimals))
    return {
      chain: c.name,
      caip2: c.caip2,
      tokenIn,
      tokenOut,
      amountIn: amountOut(raw, inFacts.decimals),
      amountOut: amountOut(best.out, outFacts.decimals),
      fee: best.fee,
      price: amountOut(priceScaled, 8).formatted,
      gasEstimate: best.gas.toString(),
      quoter,
    }
  },
})
