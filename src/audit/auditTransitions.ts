import type { Transaction } from 'kysely'
import type { Database } from '../store/database.js'
import type { Intent, TransitionData } from '../txs/intentJournal.js'
import type { AuditLog } from './auditLog.js'

/**
 * The journal's `onTransition` hook: each status change of an intent (signed, broadcast, mined, failed, …) is an
 * audit entry written inside the change's own transaction, with the intent's caller as its actor.
 *
 * @example const journal = createIntentJournal(store, { onTransition: auditTransitions(audit) })
 */
export function auditTransitions(audit: AuditLog) {
  return (
    trx: Transaction<Database>,
    { intent, from, to, data }: { intent: Intent; from: string; to: string; data: TransitionData },
  ) =>
    audit.appendWithin(trx, {
      // A change that is not a move (an outcome amended onto a completed intent) is `intent.<status>.amended`.
      kind: from === to ? `intent.${to}.amended` : `intent.${to}`,
      actor: intent.agent ?? undefined,
      intentId: intent.id,
      data: {
        from,
        chainId: intent.chainId,
        operation: intent.operation,
        ...(intent.txHash ? { txHash: intent.txHash } : {}),
        ...(intent.nonce !== null ? { nonce: intent.nonce } : {}),
        ...(data.error ? { error: data.error } : {}),
        ...(data.detail ? { detail: data.detail } : {}),
      },
    })
}
