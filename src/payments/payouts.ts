import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { type Address, formatUnits, getAddress } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import type { Caller } from '../context/caller.js'
import { requestContext } from '../context/requestContext.js'
import type { ToolResult } from '../context/tool.js'
import type { Store } from '../store/openStore.js'

/** Who payouts act as: the operator's payout service (`operator:payouts` in intents and the audit). */
export const payoutCaller: Caller = Object.freeze({ kind: 'operator', id: 'payouts' })

/** What one payout did. */
export type PayoutOutcome = {
  id: string
  payee: string
  network: string
  asset: string
  amount: string
  status: 'pending' | 'paid' | 'failed'
  intentId?: string | undefined
  error?: string | undefined
}

/** Options of {@link createPayouts}. */
export type CreatePayoutsParameters = {
  store: Store
  /** The wallet charges are paid to: its own share stays there and is never "paid out". */
  treasury: Address
  /** Runs a tool call through the whole pipeline (the gateway's `call`). */
  call(
    name: string,
    args: Record<string, unknown>,
    ctx: ReturnType<typeof requestContext>,
  ): Promise<ToolResult>
  audit?: AuditLog | undefined
}

/**
 * Revenue-share payouts (DESIGN §9): every payee's unpaid shares, per network and asset, become one ordinary
 * `transfer` from the treasury through the pipeline — policy, limits, approval, kill switch, audit — as the
 * operator's payout service (origin `payout`). Shares are taken under row locks and bound to a payout row before
 * the transfer starts, and the transfer's idempotency key is the payout's id: a crash, a second run or a second
 * replica never pays a share twice; a refused transfer (denied, over a limit) gives its shares back for a later run.
 *
 * @example const outcomes = await createPayouts({ store, treasury, call: gateway.call }).run()
 */
export function createPayouts(parameters: CreatePayoutsParameters) {
  const { store, treasury } = parameters
  const treasuryKey = treasury.toLowerCase()

  /** Takes every unpaid share (not the treasury's own) into new pending payouts, one per payee, network and asset. */
  async function claim(): Promise<
    { id: string; payee: string; network: string; asset: string; amount: bigint; decimals: number }[]
  > {
    return store.db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('payment_shares as s')
        .innerJoin('payment_charges as c', 'c.id', 's.charge_id')
        .select(['s.charge_id', 's.payee', 's.amount', 'c.network', 'c.asset', 'c.decimals'])
        .where('s.payout_id', 'is', null)
        .where('s.payee', '<>', treasuryKey)
        // Only charges paid to this wallet: shares are never paid from a wallet the charge did not reach.
        .where('c.pay_to', '=', treasuryKey)
        .where(sql<boolean>`s.amount > 0`)
        .forUpdate('s')
        .skipLocked()
        .execute()
      const groups = new Map<
        string,
        { payee: string; network: string; asset: string; decimals: number; amount: bigint; charges: string[] }
      >()
      for (const r of rows) {
        const key = `${r.payee}|${r.network}|${r.asset}`
        const g = groups.get(key) ?? {
          payee: r.payee,
          network: r.network,
          asset: r.asset,
          decimals: r.decimals,
          amount: 0n,
          charges: [],
        }
        g.amount += BigInt(r.amount)
        g.charges.push(r.charge_id)
        groups.set(key, g)
      }
      const out = []
      for (const g of groups.values()) {
        const id = `payout_${randomUUID().replaceAll('-', '').slice(0, 24)}`
        await tx
          .insertInto('payment_payouts')
          .values({
            id,
            payee: g.payee,
            network: g.network,
            asset: g.asset,
            amount: g.amount.toString(),
            intent_id: null,
            error: null,
          })
          .execute()
        // Exactly the rows locked and summed above, a thousand at a time (a long gap leaves many).
        for (let i = 0; i < g.charges.length; i += 1000)
          await tx
            .updateTable('payment_shares')
            .set({ payout_id: id })
            .where('payee', '=', g.payee)
            .where('charge_id', 'in', g.charges.slice(i, i + 1000))
            .execute()
        out.push({
          id,
          payee: g.payee,
          network: g.network,
          asset: g.asset,
          amount: g.amount,
          decimals: g.decimals,
        })
      }
      return out
    })
  }

  /** Carries one payout: the transfer (idempotent by the payout's id), then its outcome recorded. */
  async function carry(p: {
    id: string
    payee: string
    network: string
    asset: string
    amount: bigint
    decimals: number
  }): Promise<PayoutOutcome> {
    const ctx = requestContext({ transport: 'internal', caller: payoutCaller, origin: 'payout' })
    const result = await parameters.call(
      'transfer',
      {
        chain: p.network,
        to: getAddress(p.payee),
        token: getAddress(p.asset),
        amount: formatUnits(p.amount, p.decimals),
        idempotencyKey: p.id,
        wait: true,
      },
      ctx,
    )
    const base = { id: p.id, payee: p.payee, network: p.network, asset: p.asset, amount: p.amount.toString() }
    if (result.isError) {
      const text = result.content[0]?.text ?? ''
      let message = 'refused'
      try {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error
        message = `${e?.code ?? 'ERROR'}: ${e?.message ?? ''}`.slice(0, 500)
      } catch {}
      // An error may come after the transfer was signed or sent (a store error, a receipt wait): the shares are
      // given back only when its intent never got that far, else the payout stays pending and the next run
      // follows the same intent (same idempotency key).
      const intent = await store.db
        .selectFrom('intents')
        .select(['id', 'status', 'tx_hash'])
        .where('agent', '=', 'operator:payouts')
        .where('idempotency_key', '=', p.id)
        .executeTakeFirst()
      if (intent && !(['failed', 'cancelled'].includes(intent.status) && !intent.tx_hash))
        return { ...base, status: 'pending', intentId: intent.id, error: message }
      await release(p.id, message, intent?.id)
      return { ...base, status: 'failed', error: message }
    }
    const intent = result.structuredContent as { intentId: string; status: string }
    return settle(p.id, base, intent)
  }

  /** Records where a payout's transfer stands: paid once mined, failed (shares back) when it ended otherwise. */
  async function settle(
    id: string,
    base: Omit<PayoutOutcome, 'status'>,
    intent: { intentId: string; status: string; receipt?: { status?: string } },
  ): Promise<PayoutOutcome> {
    if (intent.status === 'replaced') intent = await followReplacement(intent.intentId)
    const mined = intent.status === 'mined' && intent.receipt?.status !== 'reverted'
    const ended =
      ['failed', 'cancelled', 'dropped'].includes(intent.status) || (intent.status === 'mined' && !mined)
    if (ended) {
      await release(id, `the transfer ${intent.intentId} ended ${intent.status}`, intent.intentId)
      return { ...base, status: 'failed', intentId: intent.intentId, error: `transfer ${intent.status}` }
    }
    await store.db
      .updateTable('payment_payouts')
      .set({ status: mined ? 'paid' : 'pending', intent_id: intent.intentId, updated_at: new Date() })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute()
    if (mined)
      await parameters.audit?.append({
        kind: 'payment.payout',
        actor: 'operator:payouts',
        data: {
          payout: id,
          payee: base.payee,
          amount: base.amount,
          asset: base.asset,
          intent: intent.intentId,
        } as never,
      })
    return { ...base, status: mined ? 'paid' : 'pending', intentId: intent.intentId }
  }

  /**
   * Where a replaced transfer stands: a speed-up carries the same transfer (its outcome is the payout's), a mined
   * cancel means the transfer did not happen; still in flight, the payout stays pending.
   */
  async function followReplacement(
    intentId: string,
  ): Promise<{ intentId: string; status: string; receipt?: { status?: string } }> {
    let id = intentId
    for (let hops = 0; hops < 16; hops++) {
      const row = await store.db
        .selectFrom('intents')
        .select(['id', 'status', 'operation', 'replaced_by'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      if (row.status === 'replaced' && row.replaced_by) {
        id = row.replaced_by
        continue
      }
      if (row.operation === 'cancel_intent')
        return { intentId, status: row.status === 'mined' ? 'cancelled' : 'pending' }
      return { intentId: row.id, status: row.status }
    }
    return { intentId, status: 'pending' }
  }

  /** A payout that did not happen gives its shares back (a later run pays them), and says why. */
  async function release(id: string, error: string, intentId?: string | undefined) {
    await store.db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('payment_payouts')
        .set({ status: 'failed', error, intent_id: intentId ?? null, updated_at: new Date() })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst()
      if (updated)
        await tx.updateTable('payment_shares').set({ payout_id: null }).where('payout_id', '=', id).execute()
    })
  }

  return {
    /**
     * One payout run: payouts still pending from an earlier run are carried on first (same idempotency key, so the
     * same transfer), then every payee's unpaid shares are paid. Returns what each payout did.
     */
    async run(): Promise<PayoutOutcome[]> {
      const pending = await store.db
        .selectFrom('payment_payouts as p')
        .select(['p.id', 'p.payee', 'p.network', 'p.asset', 'p.amount'])
        .select((eb) =>
          eb
            .selectFrom('payment_charges as c')
            .innerJoin('payment_shares as s', 's.charge_id', 'c.id')
            .select('c.decimals')
            .whereRef('s.payout_id', '=', 'p.id')
            .limit(1)
            .as('decimals'),
        )
        .where('p.status', '=', 'pending')
        .execute()
      const outcomes: PayoutOutcome[] = []
      for (const p of pending) {
        if (p.decimals === null || p.decimals === undefined)
          throw new Error(`Payout ${p.id} has no charge to take its decimals from.`)
        outcomes.push(await carry({ ...p, amount: BigInt(p.amount), decimals: Number(p.decimals) }))
      }
      for (const p of await claim()) outcomes.push(await carry(p))
      return outcomes
    },
  }
}

/** The payout service's levers. */
export type Payouts = ReturnType<typeof createPayouts>
