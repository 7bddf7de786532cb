import { encodeFunctionData, erc20Abi, parseAbi } from 'viem'
import { z } from 'zod'
import { BaseError, NotFoundError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { AmountString, amountOut, parseAmount } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { tokenPhrase } from '../untrusted/quoteUntrusted.js'
import { quoteExactInput } from './shared/uniswapQuote.js'
import { defineWriteTool, WriteOptions } from './shared/write.js'

export const SwapInput = z
  .object({
    chain: ChainRef,
    tokenIn: EvmAddress,
    tokenOut: EvmAddress,
    amountIn: AmountString,
    maxSlippageBps: z.number().int().min(1).max(1000).optional().describe('Default 50 (0.5%), max 1000'),
    minAmountOut: AmountString.optional().describe('Least output; refused if the quote is lower'),
    ...WriteOptions,
  })
  .strict()

const routerAbi = parseAbi([
  'function exactInputSingle((address tokenIn, address tokenOut, uint24 fee, address recipient, uint256 deadline, uint256 amountIn, uint256 amountOutMinimum, uint160 sqrtPriceLimitX96) params) payable returns (uint256 amountOut)',
])

/** How long a signed swap stays valid. */
const deadlineSeconds = 600n

/**
 * Swaps an exact amount of one ERC-20 for another on Uniswap v3, with a minimum output from a fresh quote and a
 * deadline. The router must already be approved for `amountIn` (use `approve`).
 * @example await client.callTool({ name: 'swap', arguments: { chain: 'devnet', tokenIn: usdc, tokenOut: weth, amountIn: '100' } })
 */
export const swap = defineWriteTool({
  name: 'swap',
  title: 'Swap',
  description:
    'Swaps an exact ERC-20 amount on Uniswap v3; minimum out is a fresh quote less slippage. Approve the router first.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: SwapInput,
  async build({ chain, tokenIn, tokenOut, amountIn, maxSlippageBps = 50, minAmountOut }, ctx) {
    const c = ctx.chains.resolve(chain)
    const router = ctx.tokens.contracts(c.id)?.uniswapV3?.router
    if (!router)
      throw new NotFoundError(`The gateway knows no Uniswap v3 SwapRouter on ${c.name}.`, {
        field: 'chain',
        metaMessages: ['Swaps are available on ethereum, arbitrum, optimism, polygon and the devnet.'],
      })
    const q = await quoteExactInput(c, ctx.tokens, { tokenIn, tokenOut, amountIn })
    const allowance = await c.client.readContract({
      address: tokenIn,
      abi: erc20Abi,
      functionName: 'allowance',
      args: [ctx.wallet, router],
    })
    if (allowance < q.amountIn)
      throw new BaseError(
        'PRECONDITION_FAILED',
        `The Uniswap router ${router} may not spend enough of ${tokenPhrase(tokenIn, q.tokenIn)}.`,
        {
          field: 'tokenIn',
          metaMessages: [
            `Call approve with token ${tokenIn}, spender ${router} and amount ${amountOut(q.amountIn, q.tokenIn.decimals).formatted} first.`,
          ],
        },
      )
    let minOut = (q.amountOut * BigInt(10_000 - maxSlippageBps)) / 10_000n
    // A floor of the caller's own (a standing order takes it from its oracle, not from this pool): the swap is
    // refused when the pool cannot give it, and otherwise signed with it when it is the higher of the two.
    if (minAmountOut !== undefined) {
      const floor = parseAmount(minAmountOut, q.tokenOut.decimals, 'minAmountOut')
      if (q.amountOut < floor)
        throw new BaseError(
          'PRECONDITION_FAILED',
          `The pool quotes ${amountOut(q.amountOut, q.tokenOut.decimals).formatted} ${tokenPhrase(tokenOut, q.tokenOut)}, less than the minimum of ${minAmountOut}.`,
          {
            field: 'minAmountOut',
            metaMessages: ['Nothing was signed. Swap less, or wait for the pool to come back to the price.'],
          },
        )
      if (floor > minOut) minOut = floor
    }
    const block = await c.client.getBlock({ blockTag: 'latest' })
    const deadline = block.timestamp + deadlineSeconds
    const inFmt = amountOut(q.amountIn, q.tokenIn.decimals)
    const quoted = amountOut(q.amountOut, q.tokenOut.decimals)
    const min = amountOut(minOut, q.tokenOut.decimals)
    return {
      operation: 'swap',
      chain: c,
      call: {
        to: router,
        data: encodeFunctionData({
          abi: routerAbi,
          functionName: 'exactInputSingle',
          args: [
            {
              tokenIn,
              tokenOut,
              fee: q.fee,
              recipient: ctx.wallet,
              deadline,
              amountIn: q.amountIn,
              amountOutMinimum: minOut,
              sqrtPriceLimitX96: 0n,
            },
          ],
        }),
        value: 0n,
      },
      summary: `Swap ${inFmt.formatted} ${tokenPhrase(tokenIn, q.tokenIn)} for at least ${min.formatted} ${tokenPhrase(tokenOut, q.tokenOut)} (quoted ${quoted.formatted}, fee tier ${q.fee}) on Uniswap v3, ${c.name}.`,
      details: {
        tokenIn,
        tokenOut,
        amountIn: inFmt,
        quotedOut: quoted,
        minimumOut: min,
        fee: q.fee,
        maxSlippageBps,
        router,
        deadline: deadline.toString(),
      },
    }
  },
})
