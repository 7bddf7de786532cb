import { type Kysely, sql } from 'kysely'
import { InvalidInputError, NonceConflictError, NotFoundError, RpcError } from '../errors/index.js'
import type { Database } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { appendIntentEvent } from './appendIntentEvent.js'
import type { IntentStatus } from './intentStatus.js'
import { walletKey } from './walletKey.js'

/** The wallet's pending nonce as the chain sees it (`eth_getTransactionCount(wallet, 'pending')`). */
export type ChainNonce = (chainId: number, wallet: string) => Promise<number>

/** Options of {@link createNonceManager}. */
export type CreateNonceManagerParameters = {
  /** Reads the pending nonce from the chain; called once per reserve and resync, outside any lock. */
  chainNonce: ChainNonce
}

/** Options of {@link NonceManager.reserve}. */
export type ReserveNonceOptions = {
  /**
   * The intent this one replaces (speed-up, or cancel with a 0-value self-transfer): this one gets that
   * intent's nonce, which must be `broadcast` or `dropped`, instead of a new one.
   */
  replaces?: string | undefined
}

/** Result of {@link NonceManager.resync}. */
export type ResyncNonceReturnType = {
  /** The chain's pending nonce that was read. */
  chainNonce: number
  /** The next nonce the database hands out now (never lower than before). */
  nextNonce: number
  /** `created` intents whose nonce the chain had already used: their nonce is cleared; reserve again. */
  cleared: string[]
  /**
   * `signed` intents whose nonce the chain has used: their transaction may be the one that used it (sent before
   * a crash) or may be dead. Look their `txHash` up on the chain before deciding; never re-sign them blind.
   */
  stale: string[]
}

/** The nonce manager over a store. */
export type NonceManager = {
  /**
   * The nonce for `intentId` (status `created`): the lowest given-back nonce, else max(the database's next, the
   * chain's pending); idempotent (an intent that has a nonce gets the same one back). Decided in one transaction
   * under the (chain, wallet) row lock, and written onto the intent in that transaction: concurrent callers,
   * in one process or many sharing PostgreSQL, get consecutive nonces with no gap and no duplicate.
   * @throws {NonceConflictError} the intent is not `created`, is for another chain or wallet, or (with
   *   `replaces`) the replaced intent is not in flight
   * @throws {NotFoundError} no such intent
   */
  reserve(chainId: number, wallet: string, intentId: string, options?: ReserveNonceOptions): Promise<number>
  /**
   * Gives a nonce back whose intent is still `created` (never signed): it goes to the gap list and is handed out
   * again before any new nonce. Intents that fail before broadcast give theirs back by themselves (the
   * journal's `→ failed|cancelled|completed`). Giving back a nonce that is already free does nothing.
   * @throws {NonceConflictError} the nonce is held by a signed or sent intent, or by none
   */
  release(chainId: number, wallet: string, nonce: number): Promise<void>
  /**
   * Gives `intentId` the lowest open gap, or nothing when there is none: for a filler intent (a 0-value
   * self-transfer) that closes a gap a later, already-sent nonce is waiting on.
   * @throws {NonceConflictError} as {@link NonceManager.reserve}
   */
  fillGap(chainId: number, wallet: string, intentId: string): Promise<number | undefined>
  /** The open gaps (given-back nonces not yet handed out again), lowest first. */
  gaps(chainId: number, wallet: string): Promise<number[]>
  /**
   * Re-reads the chain after a node said "nonce too low" or "replacement underpriced" for a transaction that is
   * not ours: the database's next nonce moves up to the chain's (never down), gaps the chain has used are
   * dropped, and `created` intents holding used nonces lose them.
   */
  resync(chainId: number, wallet: string): Promise<ResyncNonceReturnType>
}

/**
 * The nonce manager (DESIGN §5): every nonce is handed out by the database, under a row lock on
 * `nonces (chain_id, wallet)`, never from process memory, so it is correct across processes and replicas that
 * share PostgreSQL.
 *
 * Gaps. A nonce whose intent fails before broadcast goes to `nonce_gaps` in the same transaction as the
 * failure, and `reserve` hands out the lowest gap before a new nonce, so the next write fills it. When no write
 * comes while a later nonce is already sent (and stuck behind the gap), the tracker fills it on purpose: a
 * `fill_nonce_gap` intent (0-value self-transfer) takes it with {@link NonceManager.fillGap}. A nonce that was
 * ever broadcast is never given back (it may still be mined); it is settled by a cancel: a replacement intent
 * with the same nonce (`reserve(…, { replaces })`). Gaps below the chain's pending nonce are dropped: the chain
 * has used them.
 *
 * Recovering. "nonce too low" or "replacement underpriced" from someone else's transaction:
 * `resync`, then move the intent `signed → created` (the journal clears nonce and signature), `reserve` again
 * and sign again.
 *
 * Lock order, everywhere: the `nonces` row, then intent rows. The journal's moves lock one intent row only.
 *
 * @example
 * const nonces = createNonceManager(store, {
 *   chainNonce: (chainId, wallet) => clients.get(chainId).getTransactionCount({ address: wallet, blockTag: 'pending' }),
 * })
 * const nonce = await nonces.reserve(intent.chainId, intent.wallet, intent.id)
 */
export function createNonceManager(store: Store, parameters: CreateNonceManagerParameters): NonceManager {
  const { db } = store

  async function readChainNonce(chainId: number, wallet: string): Promise<number> {
    const nonce = await parameters.chainNonce(chainId, wallet)
    if (!Number.isSafeInteger(nonce) || nonce < 0)
      throw new RpcError({ message: `the pending nonce of ${wallet} is not a non-negative integer` })
    return nonce
  }

  /** Locks the counter row (creating it at the chain's pending nonce) and returns the database's next nonce. */
  async function lockCounter(trx: Kysely<Database>, chainId: number, wallet: string, pending: number) {
    const row = await trx
      .insertInto('nonces')
      .values({ chain_id: chainId, wallet, next_nonce: pending })
      // A no-op update takes the row lock and returns the row in the same round trip.
      .onConflict((oc) =>
        oc.columns(['chain_id', 'wallet']).doUpdateSet({ next_nonce: (eb) => eb.ref('nonces.next_nonce') }),
      )
      .returning('next_nonce')
      .executeTakeFirstOrThrow()
    return row.next_nonce
  }

  async function lockIntent(trx: Kysely<Database>, intentId: string, chainId: number, wallet: string) {
    const intent = await trx
      .selectFrom('intents')
      .select(['id', 'chain_id', 'wallet', 'status', 'nonce', 'replaces'])
      .where('id', '=', intentId)
      .forUpdate()
      .executeTakeFirst()
    if (!intent)
      throw new NotFoundError(`No intent ${intentId.slice(0, 80)}.`, {
        metaMessages: ['Record the intent with the journal before reserving its nonce.'],
      })
    if (intent.chain_id !== chainId || intent.wallet !== wallet)
      throw new NonceConflictError({
        reason: `intent ${intentId} is for ${intent.wallet} on chain ${intent.chain_id}, not ${wallet} on chain ${chainId}`,
      })
    return intent
  }

  function notCreated(intentId: string, status: string): NonceConflictError {
    return new NonceConflictError({
      reason: `intent ${intentId} is "${status}"; only a "created" intent takes a nonce`,
      metaMessages: [
        'Nothing was changed. A signed intent that needs a new nonce moves signed → created first.',
      ],
    })
  }

  /** Reserve (or, with `gapOnly`, fill a gap) in one transaction. */
  async function take(chainId: number, wallet: string, intentId: string, gapOnly: boolean) {
    checkChainId(chainId)
    const key = walletKey(wallet)
    const pending = await readChainNonce(chainId, key)
    return db.transaction().execute(async (trx): Promise<number | undefined> => {
      const next = await lockCounter(trx, chainId, key, pending)
      const intent = await lockIntent(trx, intentId, chainId, key)
      if (intent.nonce !== null) return intent.nonce
      if (intent.status !== 'created') throw notCreated(intentId, intent.status)
      // Gaps the chain has used are stale; of the rest, the lowest is taken. One statement for both.
      const removed = await trx
        .deleteFrom('nonce_gaps')
        .where('chain_id', '=', chainId)
        .where('wallet', '=', key)
        .where((eb) =>
          eb.or([
            eb('nonce', '<', pending),
            eb(
              'nonce',
              '=',
              eb
                .selectFrom('nonce_gaps')
                .select((s) => s.fn.min<number>('nonce').as('lowest'))
                .where('chain_id', '=', chainId)
                .where('wallet', '=', key)
                .where('nonce', '>=', pending),
            ),
          ]),
        )
        .returning('nonce')
        .execute()
      let nonce = removed.find((r) => r.nonce >= pending)?.nonce
      if (nonce === undefined) {
        if (gapOnly) return undefined
        nonce = Math.max(next, pending)
        await trx
          .updateTable('nonces')
          .set({ next_nonce: nonce + 1, updated_at: sql<Date>`now()` })
          .where('chain_id', '=', chainId)
          .where('wallet', '=', key)
          .execute()
      }
      await trx
        .updateTable('intents')
        .set({ nonce, updated_at: sql<Date>`now()` })
        .where('id', '=', intentId)
        .execute()
      return nonce
    })
  }

  async function takeReplaced(chainId: number, wallet: string, intentId: string, replaces: string) {
    checkChainId(chainId)
    const key = walletKey(wallet)
    return db.transaction().execute(async (trx) => {
      const intent = await lockIntent(trx, intentId, chainId, key)
      if (intent.nonce !== null && intent.replaces === replaces) return intent.nonce
      if (intent.status !== 'created' || intent.nonce !== null)
        throw intent.status !== 'created'
          ? notCreated(intentId, intent.status)
          : new NonceConflictError({ reason: `intent ${intentId} already holds nonce ${intent.nonce}` })
      const original = await trx
        .selectFrom('intents')
        .select(['id', 'chain_id', 'wallet', 'status', 'nonce'])
        .where('id', '=', replaces)
        .forShare()
        .executeTakeFirst()
      const inFlight: readonly string[] = ['broadcast', 'dropped'] satisfies IntentStatus[]
      if (
        !original ||
        original.chain_id !== chainId ||
        original.wallet !== key ||
        original.nonce === null ||
        !inFlight.includes(original.status)
      ) {
        throw new NonceConflictError({
          reason: original
            ? `intent ${replaces} is "${original.status}" on chain ${original.chain_id} for ${original.wallet}; only a broadcast or dropped intent of the same wallet can be replaced`
            : `no intent ${replaces.slice(0, 80)} to replace`,
        })
      }
      await trx
        .updateTable('intents')
        .set({ nonce: original.nonce, replaces, updated_at: sql<Date>`now()` })
        .where('id', '=', intentId)
        .execute()
      return original.nonce
    })
  }

  return {
    async reserve(chainId, wallet, intentId, options = {}) {
      if (options.replaces !== undefined) return takeReplaced(chainId, wallet, intentId, options.replaces)
      return (await take(chainId, wallet, intentId, false)) as number
    },

    fillGap(chainId, wallet, intentId) {
      return take(chainId, wallet, intentId, true)
    },

    async release(chainId, wallet, nonce) {
      checkChainId(chainId)
      if (!Number.isSafeInteger(nonce) || nonce < 0)
        throw new InvalidInputError('nonce must be a non-negative integer.', { field: 'nonce' })
      const key = walletKey(wallet)
      await db.transaction().execute(async (trx) => {
        const holder = await trx
          .selectFrom('intents')
          .select(['id', 'status'])
          .where('chain_id', '=', chainId)
          .where('wallet', '=', key)
          .where('nonce', '=', nonce)
          .where('replaces', 'is', null)
          .forUpdate()
          .executeTakeFirst()
        if (!holder) {
          const free = await trx
            .selectFrom('nonce_gaps')
            .select('nonce')
            .where('chain_id', '=', chainId)
            .where('wallet', '=', key)
            .where('nonce', '=', nonce)
            .executeTakeFirst()
          if (free) return
          throw new NonceConflictError({
            reason: `no intent holds nonce ${nonce} of ${key} on chain ${chainId}`,
            metaMessages: [
              'Nothing was changed: a nonce no intent holds was never handed out, or the chain used it.',
            ],
          })
        }
        if (holder.status !== 'created') {
          throw new NonceConflictError({
            reason: `nonce ${nonce} is held by intent ${holder.id}, which is "${holder.status}"`,
            metaMessages: [
              holder.status === 'signed'
                ? 'If a node refused it, move the intent signed → failed: that gives the nonce back.'
                : 'It may be mined. Settle the nonce with a cancel instead: a replacement intent with this nonce.',
              'Nothing was changed.',
            ],
          })
        }
        await trx
          .updateTable('intents')
          .set({ nonce: null, updated_at: sql<Date>`now()` })
          .where('id', '=', holder.id)
          .execute()
        await appendIntentEvent(trx, holder.id, 'created', 'created', { releasedNonce: nonce })
        await trx
          .insertInto('nonce_gaps')
          .values({ chain_id: chainId, wallet: key, nonce, released_by: holder.id })
          .onConflict((oc) => oc.doNothing())
          .execute()
      })
    },

    async gaps(chainId, wallet) {
      const rows = await db
        .selectFrom('nonce_gaps')
        .select('nonce')
        .where('chain_id', '=', chainId)
        .where('wallet', '=', walletKey(wallet))
        .orderBy('nonce')
        .execute()
      return rows.map((r) => r.nonce)
    },

    async resync(chainId, wallet) {
      checkChainId(chainId)
      const key = walletKey(wallet)
      const pending = await readChainNonce(chainId, key)
      return db.transaction().execute(async (trx) => {
        const next = await lockCounter(trx, chainId, key, pending)
        const nextNonce = Math.max(next, pending)
        if (nextNonce !== next) {
          await trx
            .updateTable('nonces')
            .set({ next_nonce: nextNonce, updated_at: sql<Date>`now()` })
            .where('chain_id', '=', chainId)
            .where('wallet', '=', key)
            .execute()
        }
        await trx
          .deleteFrom('nonce_gaps')
          .where('chain_id', '=', chainId)
          .where('wallet', '=', key)
          .where('nonce', '<', pending)
          .execute()
        const cleared = await trx
          .selectFrom('intents')
          .select(['id', 'nonce'])
          .where('chain_id', '=', chainId)
          .where('wallet', '=', key)
          .where('status', '=', 'created')
          .where('replaces', 'is', null)
          .where('nonce', '<', pending)
          .orderBy('nonce')
          .forUpdate()
          .execute()
        if (cleared.length > 0) {
          await trx
            .updateTable('intents')
            .set({ nonce: null, updated_at: sql<Date>`now()` })
            .where(
              'id',
              'in',
              cleared.map((r) => r.id),
            )
            .execute()
        }
        for (const row of cleared) {
          await appendIntentEvent(trx, row.id, 'created', 'created', {
            clearedNonce: row.nonce,
            reason: `the chain's pending nonce is ${pending}`,
          })
        }
        const stale = await trx
          .selectFrom('intents')
          .select('id')
          .where('chain_id', '=', chainId)
          .where('wallet', '=', key)
          .where('status', '=', 'signed')
          .where('nonce', '<', pending)
          .orderBy('nonce')
          .execute()
        return {
          chainNonce: pending,
          nextNonce,
          cleared: cleared.map((r) => r.id),
          stale: stale.map((r) => r.id),
        }
      })
    },
  }
}

function checkChainId(chainId: number): void {
  if (!Number.isInteger(chainId) || chainId < 1 || chainId > 2 ** 31 - 1)
    throw new InvalidInputError('chainId must be a positive 32-bit integer.', { field: 'chainId' })
}
