import { type Address, parseAbi } from 'viem'
import type { ChainContext } from '../../chains/chains.js'
import type { TokenFacts, TokenFactsService } from '../../chains/tokenFacts.js'
import { InvalidInputError, NotFoundError } from '../../errors/index.js'
import { parseAmount } from '../../schemas/amount.js'

const quoterAbi = parseAbi([
  'function quoteExactInputSingle((address tokenIn, address tokenOut, uint256 amountIn, uint24 fee, uint160 sqrtPriceLimitX96) params) returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate)',
])

/** Uniswap v3 fee tiers, in hundredths of a basis point. */
export const feeTiers = [100, 500, 3000, 10000] as const

/** The best exact-input quote over the fee tiers asked for. */
export type UniswapQuote = {
  tokenIn: TokenFacts
  tokenOut: TokenFacts
  amountIn: bigint
  amountOut: bigint
  fee: number
  gasEstimate: bigint
  quoter: Address
}

/**
 * Quotes an exact-input single-pool swap with QuoterV2, over every fee tier in one `eth_call` unless `fee` is given.
 *
 * @example const q = await quoteExactInput(chain, tokens, { tokenIn: weth, tokenOut: usdc, amountIn: '1' })
 * @throws {NotFoundError} no quoter on this chain, or no pool with liquidity
 * @throws {InvalidAmountError} the amount does not fit tokenIn's decimals
 */
export async function quoteExactInput(
  chain: ChainContext,
  tokens: TokenFactsService,
  args: { tokenIn: Address; tokenOut: Address; amountIn: string; fee?: number | undefined },
): Promise<UniswapQuote> {
  if (args.tokenIn === args.tokenOut)
    throw new InvalidInputError('tokenIn and tokenOut are the same token.', { field: 'tokenOut' })
  const quoter = tokens.contracts(chain.id)?.uniswapV3?.quoter
  if (!quoter)
    throw new NotFoundError(`The gateway knows no Uniswap v3 quoter on ${chain.name}.`, {
      field: 'chain',
      metaMessages: ['Quotes are available on ethereum, base, arbitrum, optimism, polygon and the devnet.'],
    })
  const [tokenIn, tokenOut] = await Promise.all([
    tokens.get(chain, args.tokenIn),
    tokens.get(chain, args.tokenOut),
  ])
  const amountIn = parseAmount(args.amountIn, tokenIn.decimals, 'amountIn')
  if (amountIn === 0n)
    throw new InvalidInputError('amountIn must be greater than zero.', { field: 'amountIn' })
  const candidates = args.fee ? [args.fee] : feeTiers
  const results = await chain.client.multicall({
    allowFailure: true,
    batchSize: 0,
    contracts: candidates.map((fee) => ({
      address: quoter,
      abi: quoterAbi,
      functionName: 'quoteExactInputSingle' as const,
      args: [
        { tokenIn: args.tokenIn, tokenOut: args.tokenOut, amountIn, fee, sqrtPriceLimitX96: 0n },
      ] as const,
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
      `No Uniswap v3 pool with liquidity for this pair on ${chain.name}${args.fee ? ` at fee ${args.fee}` : ''}.`,
      { metaMessages: ['Check the token addresses, or try another fee tier.'] },
    )
  return { tokenIn, tokenOut, amountIn, amountOut: best.out, fee: best.fee, gasEstimate: best.gas, quoter }
}
