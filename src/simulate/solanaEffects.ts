import type { SolanaChainContext } from '../chains/solana/chain.js'
import { splAssetId } from '../chains/solana/clusters.js'
import { readTransaction } from '../chains/solana/reads.js'
import type { ReceiptEffects } from './receiptEffects.js'
import type { AssetDelta } from './types.js'

/**
 * What a confirmed Solana transaction moved out of the wallet (DESIGN §11), from the cluster's own record of it:
 * the wallet's SOL before and after (the fee added back when the wallet paid it, as EVM deltas leave out gas) and
 * the token balances the wallet owns, per mint. `undefined` while the cluster does not know the transaction.
 *
 * @example const effects = await readSolanaEffects(chain, signature, wallet)
 */
export async function readSolanaEffects(
  chain: SolanaChainContext,
  signature: string,
  wallet: string,
): Promise<ReceiptEffects | undefined> {
  const tx = await readTransaction(chain, signature)
  if (!tx) return undefined
  const deltas: AssetDelta[] = []
  const i = tx.accountKeys.indexOf(wallet)
  if (i >= 0) {
    const native = (tx.postBalances[i] ?? 0n) - (tx.preBalances[i] ?? 0n) + (i === 0 ? tx.fee : 0n)
    if (native !== 0n) deltas.push({ kind: 'native', raw: native, assetId: chain.native.assetId })
  }
  for (const t of tx.tokenChanges)
    if (t.owner === wallet)
      deltas.push({ kind: 'spl', token: t.mint, raw: t.raw, assetId: splAssetId(chain.caip2, t.mint) })
  return {
    blockNumber: tx.slot,
    status: tx.err === null ? 'success' : 'reverted',
    deltas,
    approvals: [],
    balancesRead: true,
    walletEvents: [],
  }
}
