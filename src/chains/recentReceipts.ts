import type { Hash, TransactionReceipt } from 'viem'
import type { ChainContext } from './chains.js'

/** How long a receipt just read stands in for reading it again. */
const freshMs = 2000
const maxKept = 1000
// Per chain client, not chain id: two devnets with one chain id in one process can hold the same transaction hash.
const kept = new WeakMap<object, Map<string, { receipt: TransactionReceipt; at: number }>>()

/**
 * Keeps a receipt the tracker just read, so the write that waited for it, its settlement and its answer use that one
 * read instead of three (one transaction, one receipt). Kept for {@link freshMs}: a reorg after that read is the
 * tracker's to find, as it would be after any read.
 *
 * @example rememberReceipt(chain, receipt)
 */
export function rememberReceipt(chain: Pick<ChainContext, 'client'>, receipt: TransactionReceipt): void {
  let receipts = kept.get(chain.client)
  if (!receipts) {
    receipts = new Map()
    kept.set(chain.client, receipts)
  }
  if (receipts.size >= maxKept) receipts.delete(receipts.keys().next().value as string)
  receipts.set(receipt.transactionHash.toLowerCase(), { receipt, at: Date.now() })
}

/**
 * A transaction's receipt: the one read within the last two seconds, else from the chain (and then kept).
 *
 * @example const receipt = await recentReceipt(chain, hash) // null: not mined (or not known)
 * @throws whatever the endpoint throws
 */
export async function recentReceipt(
  chain: Pick<ChainContext, 'client'>,
  hash: Hash,
): Promise<TransactionReceipt | null> {
  const receipts = kept.get(chain.client)
  const key = hash.toLowerCase()
  const hit = receipts?.get(key)
  if (hit && Date.now() - hit.at <= freshMs) return hit.receipt
  if (hit) receipts?.delete(key)
  const receipt = await chain.client.getTransactionReceipt({ hash }).catch((error: unknown) => {
    if ((error as { name?: string }).name === 'TransactionReceiptNotFoundError') return null
    throw error
  })
  if (receipt) rememberReceipt(chain, receipt)
  return receipt
}
