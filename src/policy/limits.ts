import { type Kysely, sql } from 'kysely'
import { formatUnits, maxUint256 } from 'viem'
import { evmAssetId } from '../chains/caip19.js'
import type { AssetId } from '../context/chain.js'
import {
  BaseError,
  type BaseErrorParameters,
  InvalidInputError,
  NotFoundError,
  StoreUnavailableError,
  scrubSecrets,
} from '../errors/index.js'
import type { Database } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import type { LimitCharge } from './types.js'

/** Options of {@link LimitLedger.reserve}. */
export type ReserveLimitsOptions = {
  /**
   * A human approved the intent: reserve even past the cap. The reservation is still recorded, so the budget
   * shows it and later intents see less (or nothing) remaining.
   */
  force?: boolean | undefined
}

/** Result of {@link LimitLedger.reserve}: every charge reserved, or the first charge that did not fit. */
export type ReserveResult =
  | { ok: true }
  | {
      ok: false
      /** The first charge (in the caller's order) whose budget cannot take its amount. */
      charge: LimitCharge
      /** The budget's live usage (reserved + committed within the window) before this intent. */
      used: bigint
      /** `max - used`, never below 0. */
      remaining: bigint
    }

/** A budget as {@link LimitLedger.usage} reports it. */
export type LimitUsage = { key: string; used: bigint; max: bigint; remaining: bigint }

/** The limit reservation ledger over a store. */
export type LimitLedger = {
  /**
   * Reserves every charge for the intent, all or none, atomically in one database transaction. A charge fits
   * when `used + amount <= max` (exactly at the cap fits). Reserving again for the same intent and key is
   * idempotent: the first reservation stands (a retry after a crash never counts twice, even if a price moved
   * the recomputed amount).
   * @throws {LimitReservationConflictError} a charge's key was already released for this intent
   * @throws {NotFoundError} no such intent
   * @throws {InvalidInputError} a charge is malformed (negative amount, bad window, duplicate key, …)
   * @throws {StoreUnavailableError} the database failed; nothing was reserved
   */
  reserve(
    intentId: string,
    charges: readonly LimitCharge[],
    options?: ReserveLimitsOptions,
  ): Promise<ReserveResult>
  /**
   * The intent's transaction was mined: its reservations count for good (until they leave the window). Moves
   * only `reserved` rows; a released reservation is never committed. Idempotent.
   * @throws {StoreUnavailableError} the database failed; nothing was changed
   */
  commit(intentId: string): Promise<void>
  /**
   * The intent failed, was cancelled or denied before mining: its reservations stop counting. Moves only
   * `reserved` rows; a committed reservation is never released. Idempotent.
   * @throws {StoreUnavailableError} the database failed; nothing was changed
   */
  release(intentId: string): Promise<void>
  /**
   * Used (reserved + committed within the window) and remaining for each budget, in the order asked; reserves
   * nothing and takes no lock.
   * @throws {InvalidInputError} a key or window is malformed
   * @throws {StoreUnavailableError} the database failed
   */
  usage(charges: readonly Pick<LimitCharge, 'key' | 'windowSeconds' | 'max'>[]): Promise<LimitUsage[]>
}

/**
 * A reservation for this intent and limit was already released (the intent failed or was cancelled): a
 * released intent does not take budget again.
 */
export class LimitReservationConflictError extends BaseError {
  override name = 'LimitReservationConflictError'
  constructor({
    intentId,
    key,
    ...rest
  }: Pick<BaseErrorParameters, 'cause'> & { intentId: string; key: string }) {
    super(
      'CONFLICT',
      `Intent ${intentId.slice(0, 80)} already released its reservation on limit ${key.slice(0, 200)}.`,
      {
        ...rest,
        metaMessages: [
          'A failed or cancelled intent does not reserve again: record a new intent for a new attempt.',
          'Nothing was reserved.',
        ],
      },
    )
  }
}

/**
 * The limit reservation ledger (DESIGN §5): every budget lives in `limit_usage` and is decided inside the
 * database, so gateways sharing PostgreSQL enforce one cap together.
 *
 * A budget (one `key`) is the sum of its rows that are not `released` and were created within the last
 * `windowSeconds`, by the database clock (`now()`), so replicas agree. `reserve` locks each key's
 * `limit_locks` row (`select … for update`, keys in sorted order, so two reservations never deadlock), sums the
 * live usage after it holds the lock, and writes `reserved` rows only when every charge fits.
 *
 * Life of a reservation: `reserve` before signing → `commit` when mined, or `release` when the intent failed,
 * was cancelled or denied. Speed-up and cancel replacements never reserve (ADVERSARIAL 36): they share the
 * original's nonce and spend its budget, so the pipeline charges the original intent only, and settles the
 * original's reservation (commit when any of them is mined with the transfer, release when a cancel wins).
 *
 * @example
 * const limits = createLimitLedger(store)
 * const result = await limits.reserve(intent.id, decision.limits)
 * if (!result.ok) return deny(describeCharge(result.charge, result.used, result.remaining))
 * // … sign, send, and later:
 * await limits.commit(intent.id) // or limits.release(intent.id)
 */
export function createLimitLedger(store: Store): LimitLedger {
  const { db } = store

  return {
    async reserve(intentId, charges, options = {}) {
      checkIntentId(intentId)
      checkCharges(charges, true)
      if (new Set(charges.map((c) => c.key)).size !== charges.length)
        throw new InvalidInputError('Each limit may be charged once per intent: two charges share a key.', {
          field: 'charges',
        })
      if (charges.length === 0) return { ok: true }
      const sorted = [...charges].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      try {
        await db.transaction().execute(async (trx) => {
          for (const { key } of sorted) {
            // Insert-if-missing, then lock: the row exists for every later reservation of this budget, and
            // holding it serializes them across connections and replicas. One key at a time, in sorted order:
            // a transaction waiting for a key holds only smaller keys, so no two can wait on each other.
            await trx
              .insertInto('limit_locks')
              .values({ limit_key: key })
              .onConflict((oc) => oc.column('limit_key').doNothing())
              .execute()
            await trx
              .selectFrom('limit_locks')
              .select('limit_key')
              .where('limit_key', '=', key)
              .forUpdate()
              .executeTakeFirstOrThrow()
          }
          // Summed only now, under the locks: each statement reads what earlier holders committed.
          const budgets = await liveUsage(trx, sorted, intentId)
          const fresh: LimitCharge[] = []
          for (const charge of charges) {
            const budget = budgets[sorted.indexOf(charge)] as Budget
            if (budget.own === 'released')
              throw new LimitReservationConflictError({ intentId, key: charge.key })
            if (budget.own !== null) continue // already held by this intent: the first reservation stands
            if (!options.force && budget.used + charge.amount > charge.max) {
              throw new Refused({
                ok: false,
                charge,
                used: budget.used,
                remaining: charge.max > budget.used ? charge.max - budget.used : 0n,
              })
            }
            fresh.push(charge)
          }
          if (fresh.length === 0) return
          await trx
            .insertInto('limit_usage')
            .values(
              fresh.map((c) => ({
                limit_key: c.key,
                intent_id: intentId,
                amount: c.amount.toString(),
                state: 'reserved',
              })),
            )
            .execute()
        })
      } catch (error) {
        // A refusal rolls the transaction back too: not even the lock rows are left behind.
        if (error instanceof Refused) return error.result
        throw storeError(store, error, intentId)
      }
      return { ok: true }
    },

    async commit(intentId) {
      checkIntentId(intentId)
      await settle(intentId, 'committed')
    },

    async release(intentId) {
      checkIntentId(intentId)
      await settle(intentId, 'released')
    },

    async usage(charges) {
      checkCharges(charges, false)
      if (charges.length === 0) return []
      try {
        const budgets = await liveUsage(db, charges, undefined)
        return charges.map((c, i) => {
          const used = (budgets[i] as Budget).used
          return { key: c.key, used, max: c.max, remaining: c.max > used ? c.max - used : 0n }
        })
      } catch (error) {
        throw storeError(store, error, undefined)
      }
    },
  }

  async function settle(intentId: string, state: 'committed' | 'released'): Promise<void> {
    try {
      // One statement: all of the intent's reservations move, or none.
      await db
        .updateTable('limit_usage')
        .set({ state, updated_at: sql<Date>`now()` })
        .where('intent_id', '=', intentId)
        .where('state', '=', 'reserved')
        .execute()
    } catch (error) {
      throw storeError(store, error, intentId)
    }
  }
}

/** One budget's live usage, and (when an intent is given) that intent's own row state for the key. */
type Budget = { used: bigint; own: string | null }

/**
 * Live usage of each charge's budget, in the charges' order; one round trip. The window is measured by the
 * database clock; `amount` is summed as numeric and read back as text (exact, on both drivers).
 */
async function liveUsage(
  db: Kysely<Database>,
  charges: readonly Pick<LimitCharge, 'key' | 'windowSeconds'>[],
  intentId: string | undefined,
): Promise<Budget[]> {
  const values = sql.join(
    charges.map((c, i) => sql`(${i}::integer, ${c.key}::text, ${c.windowSeconds}::float8)`),
  )
  const own =
    intentId === undefined
      ? sql<null>`null::text`
      : sql<string | null>`(select u.state from limit_usage u
          where u.limit_key = c.limit_key and u.intent_id = ${intentId})`
  const { rows } = await sql<{ ordinal: number; used: string; own: string | null }>`
    select c.ordinal,
      (select coalesce(sum(u.amount), 0)::text from limit_usage u
        where u.limit_key = c.limit_key and u.state <> 'released'
          and u.created_at > now() - make_interval(secs => c.window_seconds)) as used,
      ${own} as own
    from (values ${values}) as c (ordinal, limit_key, window_seconds)`.execute(db)
  const budgets: Budget[] = []
  for (const row of rows) budgets[Number(row.ordinal)] = { used: BigInt(row.used), own: row.own }
  return budgets
}

/** Carries a refusal out of the transaction callback, so the transaction rolls back. */
class Refused extends Error {
  constructor(readonly result: Extract<ReserveResult, { ok: false }>) {
    super('limit refused')
  }
}

const maxKeyLength = 512
const maxWindowSeconds = 10 * 366 * 86_400

function checkIntentId(intentId: string): void {
  if (typeof intentId !== 'string' || intentId.length === 0 || intentId.length > 200)
    throw new InvalidInputError('intentId must be a non-empty string of at most 200 characters.', {
      field: 'intentId',
    })
}

function checkCharges(charges: readonly unknown[], withAmount: boolean): void {
  if (!Array.isArray(charges)) throw new InvalidInputError('charges must be an array.', { field: 'charges' })
  charges.forEach((charge, i) => {
    const c = charge as Partial<LimitCharge>
    const bad = (what: string, field: string) =>
      new InvalidInputError(`Limit charge ${i}: ${what}.`, { field: `charges.${i}.${field}` })
    if (typeof c.key !== 'string' || c.key.length === 0 || c.key.length > maxKeyLength)
      throw bad(`key must be a non-empty string of at most ${maxKeyLength} characters`, 'key')
    if (
      typeof c.windowSeconds !== 'number' ||
      !Number.isSafeInteger(c.windowSeconds) ||
      c.windowSeconds < 1 ||
      c.windowSeconds > maxWindowSeconds
    )
      throw bad('windowSeconds must be a whole number of seconds from 1 to 10 years', 'windowSeconds')
    if (typeof c.max !== 'bigint' || c.max < 0n) throw bad('max must be a non-negative bigint', 'max')
    if (withAmount && (typeof c.amount !== 'bigint' || c.amount < 0n || c.amount > maxUint256))
      throw bad('amount must be a bigint from 0 to 2^256 - 1', 'amount')
  })
}

/** A database failure as the store's errors: a missing intent is NOT_FOUND, anything else STORE_UNAVAILABLE. */
function storeError(store: Store, error: unknown, intentId: string | undefined): BaseError {
  if (error instanceof BaseError) return error
  const code = (error as { code?: unknown } | null)?.code
  if (code === '23503' && intentId !== undefined) {
    return new NotFoundError(`No intent ${intentId.slice(0, 80)}.`, {
      metaMessages: ['Record the intent with the journal before reserving its limits. Nothing was reserved.'],
      cause: error,
    })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new StoreUnavailableError({
    target: store.driver === 'postgres' ? `PostgreSQL (schema "${store.schema}")` : 'PGlite',
    reason: scrubSecrets(message.split('\n')[0] ?? '').slice(0, 200) || 'unknown error',
    metaMessages: [
      'Nothing was reserved, committed or released: the change ran in one transaction. Retry when the store is back.',
    ],
    cause: error,
  })
}

/** What the agent (and an approver) sees about one limit: amounts in display units, the window in words. */
export type ChargeDescription = {
  /** The limit's id in the policy. */
  limit: string
  /** The rule that charges it. */
  rule: string
  /** The rolling window, e.g. `24h`, `7d`, `30m`. */
  window: string
  used: string
  max: string
  remaining: string
  /** What this intent would take. */
  needs: string
}

/**
 * Describes a budget for the agent, amounts formatted with the charge's decimals.
 *
 * @example
 * describeCharge(charge, 2_400_000_000n, 100_000_000n)
 * // { limit: 'usdc-daily', rule: 'usdc-to-known', window: '24h', used: '2400', max: '2500', remaining: '100', needs: '200' }
 */
export function describeCharge(charge: LimitCharge, used: bigint, remaining: bigint): ChargeDescription {
  const format = (x: bigint) => formatUnits(x, charge.decimals)
  return {
    limit: charge.limitId,
    rule: charge.ruleId,
    window: formatWindow(charge.windowSeconds),
    used: format(used),
    max: format(charge.max),
    remaining: format(remaining),
    needs: format(charge.amount),
  }
}

function formatWindow(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds > 86_400) return `${seconds / 86_400}d`
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`
  if (seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}

/**
 * Budgets as `get_limits` lists them, each `outflow` budget with the CAIP-19 id of the asset it counts (`token`
 * is a token address or `native`); USD and count budgets count no single asset and get none. Every other field
 * stays as it was.
 *
 * @example
 * withBudgetAssetIds(chains.resolve('ethereum'), [{ metric: 'outflow', token: 'native', … }])[0].assetId // 'eip155:1/slip44:60'
 */
export function withBudgetAssetIds<B extends { metric: string; token?: string | undefined }>(
  chain: { caip2: string; native: { assetId: AssetId } },
  budgets: readonly B[],
): (B & { assetId?: AssetId })[] {
  return budgets.map((b) => {
    if (b.metric !== 'outflow' || !b.token) return b
    if (b.token !== 'native' && !/^0x[0-9a-fA-F]{40}$/.test(b.token)) return b
    return { ...b, assetId: evmAssetId(chain.caip2, b.token, chain.native.assetId) }
  })
}
