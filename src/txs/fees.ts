import { type Address, type Block, formatGwei, type Hex, parseGwei } from 'viem'
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

/** The latest block's base fee, already read (a simulation's block environment has it). */
export type FeeBlock = { baseFeePerGas: bigint }

/** Options of {@link estimateTxFees}. */
export type EstimateTxFeesOptions = {
  /**
   * Price the fees from this block (or the block this promise brings) instead of reading the latest one; the
   * priority fee is then reused per chain for {@link tipCacheMs}.
   */
  block?: FeeBlock | Promise<FeeBlock> | undefined
  /** The gas limit, when the caller knows it already: no estimate is asked for (and no margin added). */
  gas?: bigint | undefined
}

/**
 * How long a chain's priority fee (`eth_maxPriorityFeePerGas`) is reused when the block comes from the caller. The
 * tip moves slowly and only decides how soon a transaction is included, never what it does; the base fee, which
 * decides whether it can be included at all, comes from the block each time.
 */
export const tipCacheMs = 10_000
const tips = new WeakMap<object, { at: number; tip: bigint }>()

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
  options: EstimateTxFeesOptions = {},
): Promise<TxFees> {
  const [gas, { fees, baseFee }] = await Promise.all([
    options.gas ??
      chain.client
        .estimateGas({ account: call.from, to: call.to, data: call.data, value: call.value })
        .then((estimate) => estimate + (estimate * gasMarginPercent) / 100n)
        .catch((error: unknown) => {
          const e = toBaseError(error)
          if (e.code !== 'CONTRACT_REVERTED' && e.code !== 'RPC_ERROR') throw e
          throw new BaseError('CONTRACT_REVERTED', `The transaction would fail: ${e.shortMessage}`, {
            metaMessages: ['Nothing was signed. Check the amount, the balance and the arguments.'],
            cause: error,
          })
        }),
    feesPerGas(chain, options.block),
  ])
  const maxFeeCap = caps.maxFeePerGasGwei === undefined ? undefined : parseGwei(String(caps.maxFeePerGasGwei))
  const tipCap =
    caps.maxPriorityFeePerGasGwei === undefined ? undefined : parseGwei(String(caps.maxPriorityFeePerGasGwei))
  let { maxFeePerGas, maxPriorityFeePerGas } = fees
  if (tipCap !== undefined && maxPriorityFeePerGas > tipCap) maxPriorityFeePerGas = tipCap
  if (maxFeeCap !== undefined && maxFeePerGas > maxFeeCap) {
    // The estimate carries head-room over the base fee; only a base fee (plus tip) above the cap is a refusal.
    const base = baseFee ?? (await chain.client.getBlock({ blockTag: 'latest' })).baseFeePerGas ?? 0n
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

/** EIP-1559 fees as viem prices them (the chain's own fee rules included), from the caller's block when given. */
async function feesPerGas(
  chain: ChainContext,
  given: FeeBlock | Promise<FeeBlock> | undefined,
): Promise<{ fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }; baseFee?: bigint | undefined }> {
  // A chain with fee rules of its own (viem's `chain.fees`) may read more of the block than its base fee.
  if (!given || chain.chain.fees) {
    // The caller awaits its block itself; unused here, its failure is the caller's to report.
    Promise.resolve(given).catch(() => {})
    return { fees: await chain.client.estimateFeesPerGas({ type: 'eip1559' }) }
  }
  const block = await given
  const hit = tips.get(chain.client)
  const fresh = hit !== undefined && Date.now() - hit.at < tipCacheMs
  const fees = (await chain.client.estimateFeesPerGas({
    type: 'eip1559',
    // Only its base fee is read (chains with fee rules of their own were sent the other way above).
    block: block as Block,
    ...(fresh ? { request: { maxPriorityFeePerGas: hit.tip } } : {}),
  } as Parameters<typeof chain.client.estimateFeesPerGas>[0])) as {
    maxFeePerGas: bigint
    maxPriorityFeePerGas: bigint
  }
  if (!fresh) tips.set(chain.client, { at: Date.now(), tip: fees.maxPriorityFeePerGas })
  return { fees, baseFee: block.baseFeePerGas }
}
