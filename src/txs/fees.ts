import { type Address, formatGwei, type Hex, parseGwei } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { BaseError, toBaseError } from '../errors/index.js'

/** Per-chain fee limits from the config. */
export type FeeCaps = {
  /** Highest acceptable maxFeePerGas, in gwei. */
  maxFeePerGasGwei?: number | undefined
  /** Highest acceptable priority fee, in gwei. */
  maxPriorityFeePerGasGwei?: number | undefined
}

/** Gas and EIP-1559 fees for one transaction. */
export type TxFees = { gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }

/** Gas estimates get this margin (in percent) on top: state can move between estimate and inclusion. */
export const gasMarginPercent = 20n

/**
 * Estimates gas (with a {@link gasMarginPercent} margin) and EIP-1559 fees for a call, and refuses when the chain's
 * fees exceed the configured caps — a clear error now instead of a transaction stuck later.
 *
 * @example const fees = await estimateTxFees(chain, { from, to, data, value }, { maxFeePerGasGwei: 50 })
 * @throws {BaseError} FEE_CAP_EXCEEDED when the base fee is above a cap; CONTRACT_REVERTED when the call would fail
 */
export async function estimateTxFees(
  chain: ChainContext,
  call: { from: Address; to: Address; data: Hex; value: bigint },
  caps: FeeCaps = {},
): Promise<TxFees> {
  const [gasEstimate, fees] = await Promise.all([
    chain.client
      .estimateGas({ account: call.from, to: call.to, data: call.data, value: call.value })
      .catch((error: unknown) => {
        const e = toBaseError(error)
        if (e.code !== 'CONTRACT_REVERTED' && e.code !== 'RPC_ERROR') throw e
        throw new BaseError('CONTRACT_REVERTED', `The transaction would fail: ${e.shortMessage}`, {
          metaMessages: ['Nothing was signed. Check the amount, the balance and the arguments.'],
          cause: error,
        })
      }),
    chain.client.estimateFeesPerGas({ type: 'eip1559' }),
  ])
  const gas = gasEstimate + (gasEstimate * gasMarginPercent) / 100n
  const maxFeeCap = caps.maxFeePerGasGwei === undefined ? undefined : parseGwei(String(caps.maxFeePerGasGwei))
  const tipCap =
    caps.maxPriorityFeePerGasGwei === undefined ? undefined : parseGwei(String(caps.maxPriorityFeePerGasGwei))
  let { maxFeePerGas, maxPriorityFeePerGas } = fees
  if (tipCap !== undefined && maxPriorityFeePerGas > tipCap) maxPriorityFeePerGas = tipCap
  if (maxFeeCap !== undefined && maxFeePerGas > maxFeeCap) {
    // The estimate carries head-room over the base fee; only a base fee (plus tip) above the cap is a refusal.
    const block = await chain.client.getBlock({ blockTag: 'latest' })
    const base = block.baseFeePerGas ?? 0n
    if (base + maxPriorityFeePerGas > maxFeeCap)
      throw new BaseError(
        'FEE_CAP_EXCEEDED',
        `Fees on ${chain.name} are above the configured cap: base fee ${formatGwei(base)} gwei + tip ${formatGwei(maxPriorityFeePerGas)} gwei > ${formatGwei(maxFeeCap)} gwei.`,
        {
          metaMessages: [
            'Nothing was signed. Retry when fees drop, or raise chains.<name>.maxFeePerGasGwei.',
          ],
        },
      )
    maxFeePerGas = maxFeeCap
  }
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas
  return { gas, maxFeePerGas, maxPriorityFeePerGas }
}
