import type { Store } from '../store/openStore.js'
import type { LimitLedger } from './limits.js'

/**
 * Settles reservations of intents that have ended: a mined intent's reservation is committed; one that failed or
 * was cancelled is released. A replaced intent follows its replacement: a speed-up that was mined commits the
 * original's reservation (the same transfer, counted once: ADVERSARIAL 36); a mined cancel releases it. Idempotent,
 * safe to run on every replica.
 *
 * @example await settleLimits(store, ledger)
 */
export async function settleLimits(store: Store, ledger: LimitLedger): Promise<void> {
  const rows = await store.db
    .selectFrom('limit_usage as u')
    .innerJoin('intents as i', 'i.id', 'u.intent_id')
    .leftJoin('intents as r', 'r.id', 'i.replaced_by')
    .select([
      'u.intent_id as id',
      'i.status as status',
      'r.status as replacementStatus',
      'r.operation as replacementOperation',
    ])
    .where('u.state', '=', 'reserved')
    .where('i.status', 'in', ['mined', 'failed', 'cancelled', 'replaced'])
    .groupBy(['u.intent_id', 'i.status', 'r.status', 'r.operation'])
    .limit(500)
    .execute()
  for (const row of rows) {
    if (row.status === 'mined') await ledger.commit(row.id)
    else if (row.status === 'failed' || row.status === 'cancelled') await ledger.release(row.id)
    else if (row.replacementStatus === 'mined')
      await (row.replacementOperation === 'cancel_intent' ? ledger.release(row.id) : ledger.commit(row.id))
  }
}
