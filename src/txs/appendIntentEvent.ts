import { type Kysely, sql } from 'kysely'
import type { Database, JsonObject } from '../store/database.js'
import type { IntentStatus } from './intentStatus.js'

/**
 * Appends one row to an intent's history, numbered after the last. Call it inside the transaction that changed
 * the intent, after locking the intent's row: the lock is what keeps two writers from taking the same number.
 * A change that is not a move (a nonce given back) is written with `from === to`.
 *
 * @example await appendIntentEvent(trx, id, 'created', 'signed', { txHash })
 */
export async function appendIntentEvent(
  trx: Kysely<Database>,
  intentId: string,
  from: IntentStatus | null,
  to: IntentStatus,
  data: JsonObject | null,
): Promise<void> {
  await trx
    .insertInto('intent_events')
    .values({
      intent_id: intentId,
      seq:
        from === null
          ? 1
          : sql<number>`(select coalesce(max(seq), 0) + 1 from intent_events where intent_id = ${intentId})`,
      from_status: from,
      to_status: to,
      data: data === null ? null : JSON.stringify(data),
    })
    .execute()
}
