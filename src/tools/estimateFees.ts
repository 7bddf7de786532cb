import { formatGwei } from 'viem'
import { z } from 'zod'
import { amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'

const Wei = z.object({ wei: z.string(), gwei: z.string() })

export const EstimateFeesInput = z.object({ chain: ChainRef }).strict()

export const EstimateFeesOutput = z.object({
  ...ChainOut,
  type: z.enum(['eip1559', 'legacy']),
  baseFeePerGas: Wei.nullable(),
  maxFeePerGas: Wei.nullable(),
  maxPriorityFeePerGas: Wei.nullable(),
  gasPrice: Wei.nullable(),
  nativeTransferCost: z
    .object({ raw: z.string(), formatted: z.string(), symbol: z.string() })
    .describe('21,000 gas at maxFeePerGas or gasPrice'),
})

const wei = (v: bigint | undefined | null) =>
  v === undefined || v === null ? null : { wei: v.toString(), gwei: formatGwei(v) }

/**
 * Current fee estimates (EIP-1559 where the chain supports it).
 * @example await client.callTool({ name: 'estimate_fees', arguments: { chain: 'base' } })
 */
export const estimateFees = defineTool({
  name: 'estimate_fees',
  title: 'Fee estimates',
  description: 'Current gas fees and the cost of a plain transfer.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: EstimateFeesInput,
  output: EstimateFeesOutput,
  async run({ chain }, { chains }) {
    const c = chains.resolve(chain)
    const block = await c.client.getBlock({ blockTag: 'latest' })
    const { symbol, decimals } = c.chain.nativeCurrency
    const cost = (perGas: bigint) => ({ ...amountOut(perGas * 21_000n, decimals), symbol })
    if (block.baseFeePerGas !== null && block.baseFeePerGas !== undefined) {
      const fees = await c.client.estimateFeesPerGas({ type: 'eip1559' })
      return {
        chain: c.name,
        caip2: c.caip2,
        type: 'eip1559' as const,
        baseFeePerGas: wei(block.baseFeePerGas),
        maxFeePerGas: wei(fees.maxFeePerGas),
        maxPriorityFeePerGas: wei(fees.maxPriorityFeePerGas),
        gasPrice: null,
        nativeTransferCost: cost(fees.maxFeePerGas),
      }
    }
    const gasPrice = await c.client.getGasPrice()
    return {
      chain: c.name,
      caip2: c.caip2,
      type: 'legacy' as const,
      baseFeePerGas: null,
      maxFeePerGas: null,
      maxPriorityFeePerGas: null,
      gasPrice: wei(gasPrice),
      nativeTransferCost: cost(gasPrice),
    }
  },
})
