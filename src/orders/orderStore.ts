import type { Kysely, Selectable } from 'kysely'
import { sql } from 'kysely'
import type { Caller } from '../context/caller.js'
import type { Database, StandingOrdersTable } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import type { OrderState } from './evaluate.js'
import type { OrderSpec } from './spec.js'

/** Where an order stands. */
export type OrderStatus = 'active' | 'paused' | 'cancelled' | 'expired'

/** A standing order as the store keeps it. */
export type StandingOrder = {
  id: string
  owner: string
  caller: Caller
  spec: OrderSpec
  status: OrderStatus
  statusReason?: string | undefined
  state: OrderState
  /** micro-USD. */
  budget: bigint
  spent: bigint
  reserved: bigint
  fires: number
  version: number
  intentId: string
  expiresAt: Date
  createdAt: Date
  updatedAt: Date
}

/** One action of a fire as recorded: what it was, its intent(s) and how it ended. */
export type FireAction = {
  kind: 'swap' | 'transfer'
  summary: string
  /** micro-USD charged to the order's budget while under way / once done. */
  value: string
  status: 'planned' | 'done' | 'failed' | 'stopped'
  /** Its value is reserved from the order's budget (written with the reservation, in one transaction). */
  reserved?: boolean | undefined
  intents: { tool: string; intentId?: string | undefined; status?: string | undefined }[]
  error?: string | undefined
  /** The tool arguments, as planned (a resumed fire sends exactly these, with the same idempotency keys). */
  calls: { tool: string; args: Record<string, unknown> }[]
}

/** One fire. */
export type OrderFire = {
  orderId: string
  seq: number
  status: 'pending' | 'done' | 'failed' | 'stopped'
  blockNumber: bigint
  blockTime: number
  price?: string | undefined
  actions: FireAction[]
  planned: boolean
  error?: string | undefined
  createdAt: Date
}

/** An evaluation that changed an order's state. */
export type OrderEvent = {
  kind: string
  reason?: string | undefined
  blockNumber?: string | undefined
  detail?: unknown
  at: Date
}

/**
 * The standing orders' rows (migration 0010): every change of state is one conditional statement (on `version` or
 * on the budget), so replicas sharing PostgreSQL never both fire one evaluation or overspend a budget.
 */
export function createOrderStore(store: Store) {
  const { db } = store
  return {
    /** Records a new active order (idempotent on its id: a second insert does nothing). */
    async insert(order: {
      id: string
      caller: Caller
      owner: string
      spec: OrderSpec
      state: OrderState
      budget: bigint
      intentId: string
    }): Promise<void> {
      await db
        .insertInto('standing_orders')
        .values({
          id: order.id,
          owner: order.owner,
          caller: JSON.stringify(order.caller),
          chain_id: order.spec.chainId,
          spec: JSON.stringify(order.spec),
          state: JSON.stringify(order.state),
          budget: order.budget.toString(),
          intent_id: order.intentId,
          expires_at: new Date(order.spec.expiresAt * 1000),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute()
    },

    async get(id: string): Promise<StandingOrder | undefined> {
      const row = await db.selectFrom('standing_orders').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toOrder(row) : undefined
    },

    /** Orders, newest first: one owner's, or every one (the operator). */
    async list(filter: { owner?: string | undefined; status?: OrderStatus | undefined; limit?: number }) {
      let q = db.selectFrom('standing_orders').selectAll().orderBy('created_at', 'desc').orderBy('id')
      if (filter.owner) q = q.where('owner', '=', filter.owner)
      if (filter.status) q = q.where('status', '=', filter.status)
      const rows = await q.limit(filter.limit ?? 50).execute()
      return rows.map(toOrder)
    },

    /** Every active order (the firing service's pass). */
    async active(): Promise<StandingOrder[]> {
      const rows = await db.selectFrom('standing_orders').selectAll().where('status', '=', 'active').execute()
      return rows.map(toOrder)
    },

    /** The id and version of every active order: what a pass compares its cached orders with. */
    async activeVersions(): Promise<{ id: string; version: number }[]> {
      // One row of `id:version` pairs, not one row per order: the rows, not the scan, are what cost (10,000 rows
      // take ~50 ms through PGlite, one aggregated row a few).
      const { rows } = await sql<{ heads: string | null }>`
        select string_agg(id || ':' || version, ',') as heads from standing_orders where status = 'active'`.execute(
        db,
      )
      const heads = rows[0]?.heads
      if (!heads) return []
      return heads.split(',').map((h) => {
        const at = h.lastIndexOf(':')
        return { id: h.slice(0, at), version: Number(h.slice(at + 1)) }
      })
    },

    /** Orders by id (at most a thousand at a time). */
    async byIds(ids: readonly string[]): Promise<StandingOrder[]> {
      if (ids.length === 0) return []
      const rows = await db
        .selectFrom('standing_orders')
        .selectAll()
        .where('id', 'in', [...ids])
        .execute()
      return rows.map(toOrder)
    },

    /** Writes a new state if the order is still at `version` and active; whether it did. */
    async update(id: string, version: number, state: OrderState): Promise<boolean> {
      const r = await db
        .updateTable('standing_orders')
        .set({ state: JSON.stringify(state), version: version + 1, updated_at: new Date() })
        .where('id', '=', id)
        .where('version', '=', version)
        .where('status', '=', 'active')
        .executeTakeFirst()
      return r.numUpdatedRows > 0n
    },

    /**
     * Records a fire: the order's new state and fire count, and the fire row, in one transaction, only if the order
     * is still at `version` and active. Returns the fire's sequence number, or undefined when another pass won.
     */
    async fire(
      id: string,
      version: number,
      state: OrderState,
      at: { blockNumber: bigint; blockTime: number; price?: bigint | undefined },
    ): Promise<number | undefined> {
      return db.transaction().execute(async (tx) => {
        const r = await tx
          .updateTable('standing_orders')
          .set((eb) => ({
            state: JSON.stringify(state),
            version: version + 1,
            fires: eb('fires', '+', 1),
            updated_at: new Date(),
          }))
          .where('id', '=', id)
          .where('version', '=', version)
          .where('status', '=', 'active')
          .returning('fires')
          .executeTakeFirst()
        if (!r) return undefined
        await tx
          .insertInto('standing_order_fires')
          .values({
            order_id: id,
            seq: r.fires,
            block_number: at.blockNumber.toString(),
            block_time: String(at.blockTime),
            price: at.price?.toString() ?? null,
          })
          .execute()
        return r.fires
      })
    },

    /** Changes the status (pausing, resuming, cancelling, expiring) from one of `from`; whether it did. */
    async setStatus(
      id: string,
      status: OrderStatus,
      reason: string | undefined,
      from: readonly OrderStatus[],
      state?: OrderState | undefined,
    ): Promise<boolean> {
      const r = await db
        .updateTable('standing_orders')
        .set((eb) => ({
          status,
          status_reason: reason ?? null,
          version: eb('version', '+', 1),
          updated_at: new Date(),
          ...(state ? { state: JSON.stringify(state) } : {}),
        }))
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .executeTakeFirst()
      return r.numUpdatedRows > 0n
    },

    /** Sets the order's streak of failed fires (a new version: a pass holding the old one evaluates it again next time). */
    async streak(id: string, failStreak: number): Promise<void> {
      await sql`update standing_orders set state = jsonb_set(state, '{failStreak}', ${JSON.stringify(failStreak)}::jsonb), version = version + 1, updated_at = now() where id = ${id}`.execute(
        db,
      )
    },

    /**
     * Takes `amount` micro-USD of the budget for one action of a fire, if the order is active and that much is left,
     * and saves the fire's actions (which mark it reserved) in the same transaction; whether it did.
     */
    async reserveAction(id: string, seq: number, amount: bigint, actions: FireAction[]): Promise<boolean> {
      return db.transaction().execute(async (tx) => {
        const r =
          await sql`update standing_orders set reserved = reserved + ${amount.toString()}::numeric, updated_at = now()
          where id = ${id} and status = 'active' and spent + reserved + ${amount.toString()}::numeric <= budget`.execute(
            tx,
          )
        if ((r.numAffectedRows ?? 0n) === 0n) return false
        await saveActions(tx, id, seq, actions)
        return true
      })
    },

    /**
     * Ends one action's reservation: `spent` takes what went through, the rest is given back; the fire's actions
     * (which say the action ended) are saved in the same transaction, so it is never settled twice.
     */
    async settleAction(
      id: string,
      seq: number,
      reserved: bigint,
      spent: bigint,
      actions: FireAction[],
    ): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await sql`update standing_orders set reserved = reserved - ${reserved.toString()}::numeric,
          spent = spent + ${spent.toString()}::numeric, updated_at = now() where id = ${id}`.execute(tx)
        await saveActions(tx, id, seq, actions)
      })
    },

    async fires(id: string, limit = 20): Promise<OrderFire[]> {
      const rows = await db
        .selectFrom('standing_order_fires')
        .selectAll()
        .where('order_id', '=', id)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute()
      return rows.map(toFire)
    },

    /** Fires still under way (a crash, a lost lease): the next pass carries them on. */
    async pendingFires(): Promise<OrderFire[]> {
      const rows = await db
        .selectFrom('standing_order_fires')
        .selectAll()
        .where('status', '=', 'pending')
        .orderBy('created_at')
        .execute()
      return rows.map(toFire)
    },

    async saveFire(
      orderId: string,
      seq: number,
      patch: { status?: OrderFire['status']; actions?: FireAction[]; planned?: boolean; error?: string },
    ): Promise<void> {
      await db
        .updateTable('standing_order_fires')
        .set({
          ...(patch.status ? { status: patch.status } : {}),
          ...(patch.actions ? { actions: JSON.stringify(patch.actions) } : {}),
          ...(patch.planned ? { plan: JSON.stringify({ planned: true }) } : {}),
          ...(patch.error !== undefined ? { error: patch.error.slice(0, 500) } : {}),
          updated_at: new Date(),
        })
        .where('order_id', '=', orderId)
        .where('seq', '=', seq)
        .execute()
    },

    async event(
      orderId: string,
      kind: string,
      reason: string | undefined,
      blockNumber?: bigint | undefined,
      detail?: unknown,
    ): Promise<void> {
      await db
        .insertInto('standing_order_events')
        .values({
          order_id: orderId,
          kind,
          reason: reason?.slice(0, 500) ?? null,
          block_number: blockNumber?.toString() ?? null,
          detail: detail === undefined ? null : JSON.stringify(detail),
        })
        .execute()
    },

    async events(orderId: string, limit = 20): Promise<OrderEvent[]> {
      const rows = await db
        .selectFrom('standing_order_events')
        .selectAll()
        .where('order_id', '=', orderId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
      return rows.map((r) => ({
        kind: r.kind,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.block_number ? { blockNumber: String(r.block_number) } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
        at: new Date(r.created_at),
      }))
    },
  }
}

/** Writes a fire's actions (inside the transaction that reserves or settles their budget). */
async function saveActions(
  tx: Kysely<Database>,
  id: string,
  seq: number,
  actions: FireAction[],
): Promise<void> {
  await tx
    .updateTable('standing_order_fires')
    .set({ actions: JSON.stringify(actions), updated_at: new Date() })
    .where('order_id', '=', id)
    .where('seq', '=', seq)
    .execute()
}

/** The order store's operations. */
export type OrderStore = ReturnType<typeof createOrderStore>

function toOrder(row: Selectable<StandingOrdersTable>): StandingOrder {
  return {
    id: row.id,
    owner: row.owner,
    caller: row.caller as Caller,
    spec: row.spec as OrderSpec,
    status: row.status as OrderStatus,
    ...(row.status_reason ? { statusReason: row.status_reason } : {}),
    state: row.state as OrderState,
    budget: BigInt(row.budget),
    spent: BigInt(row.spent),
    reserved: BigInt(row.reserved),
    fires: Number(row.fires),
    version: Number(row.version),
    intentId: row.intent_id,
    expiresAt: new Date(row.expires_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

function toFire(row: {
  order_id: string
  seq: number
  status: string
  block_number: string
  block_time: string
  price: string | null
  plan: unknown
  actions: unknown
  error: string | null
  created_at: Date
}): OrderFire {
  return {
    orderId: row.order_id,
    seq: Number(row.seq),
    status: row.status as OrderFire['status'],
    blockNumber: BigInt(row.block_number),
    blockTime: Number(row.block_time),
    ...(row.price ? { price: row.price } : {}),
    actions: (row.actions as FireAction[]) ?? [],
    planned: row.plan !== null && row.plan !== undefined,
    ...(row.error ? { error: row.error } : {}),
    createdAt: new Date(row.created_at),
  }
}
