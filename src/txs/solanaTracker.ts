import type { Base64EncodedWireTransaction, Signature } from '@solana/kit'
import type { SolanaChainContext } from '../chains/solana/chain.js'
import { IntentConflictError } from '../errors/index.js'
import type { Intent, IntentJournal } from './intentJournal.js'

/** What the tracker keeps of a Solana transaction in the intent's `tx`. */
type SolanaTx = { solana?: { lastValidBlockHeight?: string } }

/**
 * Where a sent Solana transaction stands, by signature (DESIGN §8): confirmed (ok or failed), still pending, or
 * gone. Solana has no nonces: a transaction lives until its blockhash expires. So a signature the cluster does not
 * know is re-sent as the same bytes while the blockhash is valid, and once it has expired (the cluster's block
 * height past the transaction's last valid one) the intent fails as never executed — it is never signed again
 * into a second transfer (ADVERSARIAL 63).
 *
 * @example const after = await checkSolanaIntent(journal, chain, intent, { mayBroadcast })
 */
export async function checkSolanaIntent(
  journal: IntentJournal,
  chain: SolanaChainContext,
  intent: Intent,
  options: { mayBroadcast?: (() => Promise<boolean>) | undefined } = {},
): Promise<Intent> {
  if (!intent.txHash || !intent.signedTx) return intent
  const move = async (to: Intent['status'], data?: Parameters<IntentJournal['transition']>[3]) => {
    try {
      return await journal.transition(intent.id, intent.status, to, data)
    } catch (error) {
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }
  const { value } = await chain.rpc
    .getSignatureStatuses([intent.txHash as Signature], { searchTransactionHistory: true })
    .send()
  const status = value[0]
  if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) {
    if (intent.status === 'mined') return intent
    let current = intent
    if (current.status === 'signed') current = await move('broadcast', { detail: { via: 'reconcile' } })
    if (current.status !== 'broadcast' && current.status !== 'dropped') return current
    try {
      return await journal.transition(current.id, current.status, 'mined', {
        detail: {
          slot: String(status.slot),
          status: status.err === null ? 'success' : 'reverted',
        },
      })
    } catch (error) {
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }
  if (status) return intent.status === 'signed' ? move('broadcast', { detail: { via: 'reconcile' } }) : intent
  if (intent.status === 'mined') return intent
  // Unknown to the cluster: expired (never executed), or still sendable as the very same bytes.
  const lastValid = BigInt((intent.tx as SolanaTx | null)?.solana?.lastValidBlockHeight ?? '0')
  const height = await chain.rpc.getBlockHeight({ commitment: 'confirmed' }).send()
  if (BigInt(height) > lastValid)
    return move('failed', {
      error: {
        code: 'BLOCKHASH_EXPIRED',
        message:
          'The transaction was not executed before its blockhash expired; nothing moved. It is not signed again: submit the write anew if it is still wanted.',
      },
    })
  let current = intent
  if (current.status === 'broadcast')
    current = await move('dropped', { detail: { reason: 'not known to the cluster' } })
  if (options.mayBroadcast && !(await options.mayBroadcast().catch(() => false))) return current
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
  if (!sent) return current
  try {
    return await journal.transition(current.id, current.status, 'broadcast', {
      detail: { via: 're-sent the same signed bytes' },
    })
  } catch (error) {
    if (error instanceof IntentConflictError) return journal.get(intent.id)
    throw error
  }
}
