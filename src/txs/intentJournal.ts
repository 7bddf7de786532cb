import { randomBytes } from 'node:crypto'
import { type Selectable, sql, type Transaction } from 'kysely'
import { z } from 'zod'
import { actorOf, type Caller, localOperator } from '../context/caller.js'
import type { Origin } from '../context/requestContext.js'
import {
  IdempotencyKeyReusedError,
  IllegalTransitionError,
  IntentConflictError,
  InvalidInputError,
  NotFoundError,
} from '../errors/index.js'
import type { Database, IntentEventsTable, IntentsTable, JsonObject, JsonValue } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { appendIntentEvent } from './appendIntentEvent.js'
import {
  canTransition,
  type IntentStatus,
  intentTransitions,
  isIntentStatus,
  unfinishedStatuses,
} from './intentStatus.js'
import { walletKey } from './walletKey.js'

/** A write the gateway means to make, as the journal holds it. */
export type Intent = {
  id: string
  idempotencyKey: string | null
  chainId: number
  /** EIP-55 for EVM addresses (see {@link walletKey}). */
  wallet: string
  /** What kind of write (`transfer`, `approve`, `fill_nonce_gap`, …). */
  operation: string
  status: IntentStatus
  /** The tool input that asked for it. */
  request: JsonValue
  /** The unsigned transaction fields, once built (amounts as decimal strings). */
  tx: JsonObject | null
  nonce: number | null
  /** The intent whose nonce this one reuses (speed-up or cancel). */
  replaces: string | null
  txHash: string | null
  /** The signed raw transaction: what a restart re-broadcasts. */
  signedTx: string | null
  replacedBy: string | null
  error: JsonObject | null
  createdAt: Date
  updatedAt: Date
  /** Who asked for it, as one string (`operator:local`): the `actor` of its audit entries. Null: written by hand. */
  agent: string | null
  /** What started it: a tool call, a standing order firing, a revenue payout. */
  origin: Origin | null
  /** The whole caller, so a held intent resumes as the one who asked (null: written by hand). */
  caller: Caller | null
}

/** One row of an intent's history. `from` is `null` for the creation; `from === to` for a non-move (a nonce given back). */
export type IntentEvent = {
  intentId: string
  seq: number
  from: IntentStatus | null
  to: IntentStatus
  data: JsonObject | null
  at: Date
}

/** Why an intent failed or was cancelled: an Airlock error code and a message, plus any JSON detail. */
export type IntentError = { code: string; message: string; [key: string]: JsonValue }

const CreateIntentSchema = z.object({
  idempotencyKey: z.string().min(1).max(200).optional(),
  chainId: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  wallet: z.string().min(1).max(128),
  operation: z.string().min(1).max(64),
  request: z.json(),
})

/** Input of {@link IntentJournal.create}. */
export type CreateIntentParameters = {
  /** The caller's key for this request: the same key always yields the same intent, never a second one. */
  idempotencyKey?: string | undefined
  chainId: number
  wallet: string
  operation: string
  /** The tool input (JSON). Compared on a repeated key: a different request under the same key is refused. */
  request: JsonValue
  /**
   * Who asks for it (DESIGN §1). The write path always says; left out (store tools, tests) it is the local
   * operator. A repeated key from another caller is refused like a different request.
   */
  caller?: Caller | undefined
  /** What started it; default `tool`. */
  origin?: Origin | undefined
}

/** Result of {@link IntentJournal.create}: `created` is false when the idempotency key already had an intent. */
export type CreateIntentReturnType = { intent: Intent; created: boolean }

/** What a move writes besides the status. Column fields land on the intent; all of it (but `signedTx`) in the event. */
export type TransitionData = {
  /** Unsigned transaction fields. */
  tx?: JsonObject | undefined
  /** Required for `→ signed`. */
  txHash?: string | undefined
  signedTx?: string | undefined
  /** Required for `→ replaced`: the intent that took this one's place. */
  replacedBy?: string | undefined
  /** Required for `→ failed` and `→ cancelled`. */
  error?: IntentError | undefined
  /** Anything else worth keeping in the history: a receipt, a block number, a node's message. */
  detail?: JsonObject | undefined
}

/** Filters of {@link IntentJournal.list}. */
export type ListIntentsParameters = {
  wallet?: string | undefined
  /** Only intents this caller asked for (`intents.agent`, e.g. `agent:did:key:z…`). */
  agent?: string | undefined
  chainId?: number | undefined
  status?: IntentStatus | readonly IntentStatus[] | undefined
  /** 1–1000, default 100. Newest first. */
  limit?: number | undefined
}

/** The intent journal over a store. */
export type IntentJournal = {
  /**
   * Records a new intent in `created`, with its first history row, in one transaction. With an idempotency key
   * that already has an intent: the same request returns that intent (`created: false`); a different one is
   * refused. Concurrent creates with one key yield one intent.
   * @throws {IdempotencyKeyReusedError} the key belongs to a different request
   * @throws {InvalidInputError} a field is out of range, or the request is not JSON
   */
  create(parameters: CreateIntentParameters): Promise<CreateIntentReturnType>
  /**
   * Moves an intent `from → to`, only if it is still in `from` (row lock, then check), writing the history row
   * in the same transaction. Of concurrent moves from one status exactly one wins. A move out of `created` or
   * `signed` to `failed`, `cancelled` or `completed` gives the intent's nonce back (see createNonceManager);
   * `signed → created` clears nonce and signature so the intent can take a fresh nonce and be signed again.
   * @throws {IllegalTransitionError} the state machine does not allow `from → to`
   * @throws {IntentConflictError} the intent is no longer in `from`
   * @throws {NotFoundError} no such intent
   * @throws {InvalidInputError} data the move requires is missing
   */
  transition(id: string, from: IntentStatus, to: IntentStatus, data?: TransitionData): Promise<Intent>
  /**
   * Amends what an intent keeps without moving it (an x402 payment's outcome, known only after it completed): the
   * new `tx`, only while it is still in `status`, with a history row `status → status` in the same transaction.
   * @throws {IntentConflictError} the intent is no longer in `status`
   * @throws {NotFoundError} no such intent
   */
  amend(
    id: string,
    status: IntentStatus,
    data: { tx: JsonObject; detail?: JsonObject | undefined },
  ): Promise<Intent>
  /** @throws {NotFoundError} no such intent */
  get(id: string): Promise<Intent>
  /** Intents, newest first. */
  list(parameters?: ListIntentsParameters): Promise<Intent[]>
  /** Intents a restart must reconcile (created, signed, broadcast, dropped), oldest first. */
  unfinished(): Promise<Intent[]>
  /** An intent's history, in order. */
  events(id: string): Promise<IntentEvent[]>
}

/**
 * The intent journal (DESIGN §1, §5): every write is recorded as an intent before anything is signed, and every
 * move of it is persisted with its history, decided inside the database so several gateways can share it.
 *
 * @example
 * const journal = createIntentJournal(store)
 * const { intent } = await journal.create({ idempotencyKey, chainId: 8453, wallet, operation: 'transfer', request })
 * await journal.transition(intent.id, 'created', 'signed', { txHash, signedTx })
 * await journal.transition(intent.id, 'signed', 'broadcast')
 */
export function createIntentJournal(
  store: Store,
  options: {
    /**
     * Runs last inside every status change's transaction (the audit log appends there, so a status change and its
     * audit entry commit together or not at all).
     */
    onTransition?:
      | ((
          trx: Transaction<Database>,
          change: { intent: Intent; from: IntentStatus; to: IntentStatus; data: TransitionData },
        ) => Promise<unknown>)
      | undefined
  } = {},
): IntentJournal {
  const { db } = store

  return {
    async create(parameters) {
      const parsed = CreateIntentSchema.safeParse(parameters)
      if (!parsed.success) throw invalid(parsed.error)
      const input = parsed.data
      const wallet = walletKey(input.wallet)
      const key = input.idempotencyKey ?? null
      const caller = parameters.caller ?? localOperator
      const agent = actorOf(caller)
      const origin = parameters.origin ?? 'tool'
      if (!origins.has(origin))
        throw new InvalidInputError(`"${String(origin).slice(0, 20)}" is not an intent origin.`, {
          field: 'origin',
          metaMessages: ['Nothing was recorded.'],
        })
      return db.transaction().execute(async (trx) => {
        const insert = trx.insertInto('intents').values({
          id: newIntentId(),
          idempotency_key: key,
          chain_id: input.chainId,
          wallet,
          operation: input.operation,
          status: 'created',
          request: JSON.stringify(input.request),
          agent,
          origin,
          caller: JSON.stringify(caller),
        })
        const inserted = await (key === null
          ? insert
          : insert.onConflict((oc) => oc.columns(['agent', 'idempotency_key']).doNothing())
        )
          .returningAll()
          .executeTakeFirst()
        if (inserted) {
          await appendIntentEvent(trx, inserted.id, null, 'created', null)
          return { intent: toIntent(inserted), created: true }
        }
        // This caller already used the key (on PostgreSQL the insert above waited for its holder to commit): same
        // request → same intent; anything else → refused. Keys are per caller: another caller's same key is its own.
        const existing = await trx
          .selectFrom('intents')
          .selectAll()
          .where('agent', '=', agent)
          .where('idempotency_key', '=', key as string)
          .executeTakeFirstOrThrow()
        const same =
          existing.chain_id === input.chainId &&
          existing.wallet === wallet &&
          existing.operation === input.operation &&
          canonicalJson(existing.request) === canonicalJson(input.request)
        if (!same) throw new IdempotencyKeyReusedError({ key: key as string, intentId: existing.id })
        return { intent: toIntent(existing), created: false }
      })
    },

    async amend(id, status, data) {
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('intents')
          .set({ tx: JSON.stringify(data.tx), updated_at: sql<Date>`now()` })
          .where('id', '=', id)
          .where('status', '=', status)
          .returningAll()
          .executeTakeFirst()
        if (!updated) {
          const row = await trx.selectFrom('intents').select('status').where('id', '=', id).executeTakeFirst()
          if (!row) throw notFound(id)
          throw new IntentConflictError({ id, expected: status, actual: row.status })
        }
        const logged = data.detail ? { detail: data.detail } : {}
        await appendIntentEvent(trx, id, status, status, logged)
        const intent = toIntent(updated)
        await options.onTransition?.(trx, { intent, from: status, to: status, data: logged })
        return intent
      })
    },

    async transition(id, from, to, data = {}) {
      for (const [field, status] of [
        ['from', from],
        ['to', to],
      ] as const) {
        if (!isIntentStatus(status))
          throw new InvalidInputError(`"${String(status).slice(0, 40)}" is not an intent status.`, { field })
      }
      if (!canTransition(from, to))
        throw new IllegalTransitionError({ id, from, to, allowed: intentTransitions[from] })
      const missing =
        to === 'signed' && !data.txHash
          ? 'txHash'
          : (to === 'failed' || to === 'cancelled') && !data.error
            ? 'error'
            : to === 'replaced' && !data.replacedBy
              ? 'replacedBy'
              : undefined
      if (missing)
        throw new InvalidInputError(`Moving intent ${id} to "${to}" needs ${missing}.`, {
          field: missing,
          metaMessages: ['Nothing was changed.'],
        })
      if (data.replacedBy === id)
        throw new InvalidInputError(`Intent ${id} cannot replace itself.`, { field: 'replacedBy' })
      const givesBackNonce =
        (to === 'failed' || to === 'cancelled' || to === 'completed') &&
        (from === 'created' || from === 'signed')
      if (!givesBackNonce && to !== 'created' && data.replacedBy === undefined)
        return db.transaction().execute(async (trx) => {
          // The common move (signed → broadcast → mined, …) needs nothing from the old row: one conditional
          // update decides it, and only a miss looks at why (no such intent, or another status).
          const updated = await trx
            .updateTable('intents')
            .set({
              status: to,
              updated_at: sql<Date>`now()`,
              ...(data.tx !== undefined ? { tx: JSON.stringify(data.tx) } : {}),
              ...(data.txHash !== undefined ? { tx_hash: data.txHash } : {}),
              ...(data.signedTx !== undefined ? { signed_tx: data.signedTx } : {}),
              ...(data.error !== undefined ? { error: JSON.stringify(data.error) } : {}),
            })
            .where('id', '=', id)
            .where('status', '=', from)
            .returningAll()
            .executeTakeFirst()
          if (!updated) {
            const row = await trx
              .selectFrom('intents')
              .select('status')
              .where('id', '=', id)
              .executeTakeFirst()
            if (!row) throw notFound(id)
            throw new IntentConflictError({ id, expected: from, actual: row.status })
          }
          const { signedTx: _signed, ...logged } = data
          await appendIntentEvent(trx, id, from, to, logged as JsonObject)
          const intent = toIntent(updated)
          await options.onTransition?.(trx, { intent, from, to, data })
          return intent
        })
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('intents')
          .selectAll()
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst()
        if (!row) throw notFound(id)
        if (row.status !== from) throw new IntentConflictError({ id, expected: from, actual: row.status })
        // Refused (or done without a transaction) before any node saw it: the nonce is free again. Only `created`
        // and `signed` lead here, and no path leads back to them from `broadcast`, so it was never broadcast.
        // (A nonce the chain used meanwhile is dropped from the gaps by the next reserve, which sees it is used.)
        const givesBack =
          (to === 'failed' || to === 'cancelled' || to === 'completed') &&
          (from === 'created' || from === 'signed')
        const requeue = to === 'created'
        if (data.replacedBy !== undefined) {
          const replacement = await trx
            .selectFrom('intents')
            .select('id')
            .where('id', '=', data.replacedBy)
            .executeTakeFirst()
          if (!replacement) throw notFound(data.replacedBy)
        }
        const updated = await trx
          .updateTable('intents')
          .set({
            status: to,
            updated_at: sql<Date>`now()`,
            ...(data.tx !== undefined ? { tx: JSON.stringify(data.tx) } : {}),
            ...(data.txHash !== undefined ? { tx_hash: data.txHash } : {}),
            ...(data.signedTx !== undefined ? { signed_tx: data.signedTx } : {}),
            ...(data.replacedBy !== undefined ? { replaced_by: data.replacedBy } : {}),
            ...(data.error !== undefined ? { error: JSON.stringify(data.error) } : {}),
            ...(givesBack || requeue ? { nonce: null } : {}),
            ...(requeue ? { tx_hash: null, signed_tx: null } : {}),
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow()
        const { signedTx: _signed, ...logged } = data
        await appendIntentEvent(trx, id, from, to, {
          ...(logged as JsonObject),
          ...(givesBack && row.nonce !== null ? { releasedNonce: row.nonce } : {}),
          ...(requeue && row.nonce !== null ? { clearedNonce: row.nonce } : {}),
          ...(requeue && row.tx_hash !== null ? { clearedTxHash: row.tx_hash } : {}),
        })
        // A replacement's nonce belongs to the intent it replaces: nothing to give back.
        if (givesBack && row.nonce !== null && row.replaces === null) {
          await trx
            .insertInto('nonce_gaps')
            .values({ chain_id: row.chain_id, wallet: row.wallet, nonce: row.nonce, released_by: id })
            .onConflict((oc) => oc.doNothing())
            .execute()
        }
        const intent = toIntent(updated)
        await options.onTransition?.(trx, { intent, from, to, data })
        return intent
      })
    },

    async get(id) {
      const row = await db.selectFrom('intents').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw notFound(id)
      return toIntent(row)
    },

    async list(parameters = {}) {
      const limit = parameters.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InvalidInputError('limit must be an integer from 1 to 1000.', { field: 'limit' })
      const statuses =
        parameters.status === undefined
          ? undefined
          : typeof parameters.status === 'string'
            ? [parameters.status]
            : [...parameters.status]
      let query = db.selectFrom('intents').selectAll()
      if (parameters.wallet !== undefined) query = query.where('wallet', '=', walletKey(parameters.wallet))
      if (parameters.chainId !== undefined) query = query.where('chain_id', '=', parameters.chainId)
      if (parameters.agent !== undefined) query = query.where('agent', '=', parameters.agent)
      if (statuses !== undefined) {
        if (statuses.length === 0) return []
        query = query.where('status', 'in', statuses)
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
      return rows.map(toIntent)
    },

    async unfinished() {
      const rows = await db
        .selectFrom('intents')
        .selectAll()
        .where('status', 'in', [...unfinishedStatuses])
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute()
      return rows.map(toIntent)
    },

    async events(id) {
      const rows = await db
        .selectFrom('intent_events')
        .selectAll()
        .where('intent_id', '=', id)
        .orderBy('seq', 'asc')
        .execute()
      return rows.map(toEvent)
    },
  }
}

/** A new intent id: `int_`, the creation time (base 36, so ids sort by time), 64 random bits. */
function newIntentId(): string {
  return `int_${Date.now().toString(36)}${randomBytes(8).toString('hex')}`
}

function toIntent(row: Selectable<IntentsTable>): Intent {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    chainId: row.chain_id,
    wallet: row.wallet,
    operation: row.operation,
    status: row.status as IntentStatus,
    request: row.request,
    tx: row.tx,
    nonce: row.nonce,
    replaces: row.replaces,
    txHash: row.tx_hash,
    signedTx: row.signed_tx,
    replacedBy: row.replaced_by,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    agent: row.agent,
    origin: origins.has(row.origin as Origin) ? (row.origin as Origin) : null,
    caller: (row.caller as Caller | null) ?? null,
  }
}

const origins = new Set<Origin>(['tool', 'order', 'payout'])

function toEvent(row: Selectable<IntentEventsTable>): IntentEvent {
  return {
    intentId: row.intent_id,
    seq: row.seq,
    from: row.from_status as IntentStatus | null,
    to: row.to_status as IntentStatus,
    data: row.data,
    at: row.at,
  }
}

/** JSON with object keys sorted, so two equal values compare equal whatever order their keys came in. */
function canonicalJson(value: JsonValue): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`No intent ${id.slice(0, 80)}.`, {
    metaMessages: ['Check the id; list intents to see what the journal holds.'],
  })
}

function invalid(error: z.ZodError): InvalidInputError {
  const issue = error.issues[0]
  const field = issue?.path.map(String).join('.') || undefined
  return new InvalidInputError(`Invalid intent: ${field ?? 'input'}: ${issue?.message ?? 'invalid'}.`, {
    ...(field ? { field } : {}),
    metaMessages: ['Nothing was recorded.'],
  })
}
