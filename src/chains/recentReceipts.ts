import type { Hash, TransactionReceipt } from 'viem'
import type { ChainContext } from './chains.js'

/** How long a receipt just read stands in for reading it again. */
const freshMs = 2000
const maxKept = 1000
const kept = new Map<string, { receipt: TransactionReceipt; at: number }>()

/**
 * Keeps a receipt the tracker just read, so the write that waited for it, its settlement and its answer use that one
 * read instead of three (one transaction, one receipt). Kept for {@link freshMs}: a reorg after that read is the
 * tracker's to find, as it would be after any read.
 *
 * @example rememberReceipt(chain.id, receipt)
 */
export function rememberReceipt(chainId: number, receipt: TransactionReceipt): void {
  if (kept.size >= maxKept) kept.delete(kept.keys().next().value as string)
  kept.set(`${chainId}:${receipt.transactionHash.toLowerCase()}`, { receipt, at: Date.now() })
}

/**
 * A transaction's receipt: the one read within the last two seconds, else from the chain (and then kept).
 *
 * @example const receipt = await recentReceipt(chain, hash) // null: not mined (or not known)
 * @throws whatever the endpoint throws
 */
export async function recentReceipt(chain: ChainContext, hash: Hash): Promise<TransactionReceipt | null> {
  const key = `${chain.id}:${hash.toLowerCase()}`
  const hit = kept.get(key)
  if (hit && Date.now() - hit.at <= freshMs) return hit.receipt
  if (hit) kept.delete(key)
  const receipt = await chain.client.getTransactionReceipt({ hash }).catch((error: unknown) => {
    if ((error as { name?: string }).name === 'TransactionReceiptNotFoundError') return null
    throw error
  })
  if (receipt) rememberReceipt(chain.id, receipt)
  return receipt
}
