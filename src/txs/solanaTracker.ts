import type { Base64EncodedWireTransaction, Signature } from '@solana/kit'
import type { SolanaChainContext } from '../chains/solana/chain.js'
import { IntentConflictError } from '../errors/index.js'
import type { Intent, IntentJournal } from './intentJournal.js'

/** What the tracker keeps of a Solana transaction in the intent's `tx`. */
type SolanaTx = { solana?: { lastValidBlockHeight?: string } }

/**
 * How long a sent transaction may stay unknown to the cluster before it is sent again (as the same bytes): a
 * cluster takes about a second to confirm, and re-sending sooner would only add load.
 */
const resendAfterMs = 2000

/**
 * Where a sent Solana transaction stands, by signature (DESIGN §8): confirmed (ok or failed), still pending, or
 * gone. Solana has no nonces: a transaction lives until its blockhash expires. A signature the cluster does not know
 * is re-sent as the same bytes while the blockhash is valid; the intent fails as never executed only when the
 * cluster's block height, read *before* asking for the status, is past the transaction's last valid one and the
 * status answer comes from a slot at least as recent (so a transaction that landed in the last valid blocks, or an
 * endpoint lagging behind another, is never mistaken for one that did not). It is never signed again into a second
 * transfer (ADVERSARIAL 63).
 *
 * @example const after = await checkSolanaIntent(journal, chain, intent, { mayBroadcast })
 */
export async function checkSolanaIntent(
  journal: IntentJournal,
  chain: SolanaChainContext,
  intent: Intent,
  options: { mayBroadcast?: (() => Promise<boolean>) | undefined } = {},
): Promise<Intent> {
  // Confirmed ones are final here (the gateway waits for `confirmed` commitment); no call needed.
  if (!intent.txHash || !intent.signedTx || intent.status === 'mined') return intent
  const move = async (to: Intent['status'], data?: Parameters<IntentJournal['transition']>[3]) => {
    try {
      return await journal.transition(intent.id, intent.status, to, data)
    } catch (error) {
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }
  const epoch = await chain.rpc.getEpochInfo({ commitment: 'confirmed' }).send()
  const statuses = await chain.rpc
    .getSignatureStatuses([intent.txHash as Signature], { searchTransactionHistory: true })
    .send()
  const status = statuses.value[0]
  if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) {
    let current = intent
    if (current.status === 'signed') current = await move('broadcast', { detail: { via: 'reconcile' } })
    if (current.status !== 'broadcast' && current.status !== 'dropped') return current
    try {
      return await journal.transition(current.id, current.status, 'mined', {
        detail: { slot: String(status.slot), status: status.err === null ? 'success' : 'reverted' },
      })
    } catch (error) {
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }
  if (status) return intent.status === 'signed' ? move('broadcast', { detail: { via: 'reconcile' } }) : intent
  // Unknown to the cluster: expired (never executed), or still sendable as the very same bytes.
  const lastValid = BigInt((intent.tx as SolanaTx | null)?.solana?.lastValidBlockHeight ?? '0')
  const answeredAt = BigInt(statuses.context.slot)
  if (BigInt(epoch.blockHeight) > lastValid && answeredAt >= BigInt(epoch.absoluteSlot))
    return move('failed', {
      error: {
        code: 'BLOCKHASH_EXPIRED',
        message:
          'The transaction was not executed before its blockhash expired; nothing moved. It is not signed again: submit the write anew if it is still wanted.',
      },
    })
  // Just sent: the cluster needs a moment. Later, the same bytes again (the state does not change for it).
  if (intent.status === 'broadcast' && Date.now() - intent.updatedAt.getTime() < resendAfterMs) return intent
  if (options.mayBroadcast && !(await options.mayBroadcast().catch(() => false))) return intent
  const sent = await chain.rpc
    .sendTransaction(intent.signedTx as Base64EncodedWireTransaction, {
      encoding: 'base64',
      // The same bytes again: a cluster that has them answers their signature; a preflight would refuse them.
      skipPreflight: true,
    })
    .send()
    .then(
      () => true,
      () => false,
    )
  if (!sent || intent.status === 'broadcast') return intent
  return move('broadcast', { detail: { via: 're-sent the same signed bytes' } })
}
