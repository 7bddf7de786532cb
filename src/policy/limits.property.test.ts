// Properties of the limit ledger under random concurrent use: batches of reserves, commits and releases run with
// Promise.all (on PostgreSQL, half the runs split across two stores: two replicas on one database), and after each
// batch the database is held against a sequential model of what each intent's reservations must be.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Store } from '../store/openStore.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { createLimitLedger, type LimitLedger } from './limits.js'
import type { LimitCharge } from './types.js'

const day = 86_400

/** One operation of a batch: reserve for a new intent (on one or two budgets), or settle an earlier intent. */
type Op =
  | { kind: 'reserve'; a: bigint; b: bigint | null }
  | { kind: 'settle'; pick: number; to: 'committed' | 'released' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      a: fc.bigInt({ min: 0n, max: 12n }),
      b: fc.option(fc.bigInt({ min: 0n, max: 8n }), { freq: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      to: fc.constantFrom('committed' as const, 'released' as const),
    }),
  },
)

const runArb = fc.record({
  maxA: fc.bigInt({ min: 0n, max: 30n }),
  maxB: fc.bigInt({ min: 0n, max: 15n }),
  batches: fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
  twoStores: fc.boolean(),
})

/** The model's live usage of a budget: reserved + committed. */
function liveOf(model: Map<string, Modelled>, key: string): bigint {
  let live = 0n
  for (const m of model.values())
    if (m.state === 'reserved' || m.state === 'committed') live += m.amounts.get(key) ?? 0n
  return live
}

/** What the model says an intent holds: one amount per budget key, and its state (or refused: nothing). */
type Modelled = { amounts: Map<string, bigint>; state: 'reserved' | 'committed' | 'released' | 'refused' }

describe.each(testStoreDrivers)('limit ledger properties on %s', (driver) => {
  const t = useTestStore(driver)
  let second: Store | undefined

  it('concurrent reserves, commits and releases never exceed a cap and match a sequential model', async () => {
    if (driver === 'postgres') second ??= await t.openAnother()
    const journal = createIntentJournal(t.store)
    const wallet = `0x${randomBytes(20).toString('hex')}`
    const ledgers: [LimitLedger, LimitLedger] = [
      createLimitLedger(t.store),
      createLimitLedger(second ?? t.store),
    ]

    // Not vacuous: across the runs, reservations both fit and were refused.
    const outcomes = { ok: 0, refused: 0 }
    await fc.assert(
      fc.asyncProperty(runArb, async ({ maxA, maxB, batches, twoStores }) => {
        const tag = randomBytes(6).toString('hex')
        const keys = { a: `rule/a-${tag}/31337/${wallet}`, b: `rule/b-${tag}/31337/${wallet}` }
        const max = new Map([
          [keys.a, maxA],
          [keys.b, maxB],
        ])
        const charge = (key: string, amount: bigint): LimitCharge => ({
          key,
          ruleId: 'rule',
          limitId: key.split('/')[1] as string,
          metric: 'outflow',
          windowSeconds: day,
          max: max.get(key) as bigint,
          amount,
          decimals: 0,
        })
        const model = new Map<string, Modelled>()
        let opIndex = 0
        const ledgerFor = () => ledgers[twoStores ? opIndex++ % 2 : 0] as LimitLedger

        for (const batch of batches) {
          const known = [...model.keys()]
          const settled = new Set<string>()
          const work: Promise<() => void>[] = []
          for (const op of batch) {
            const ledger = ledgerFor()
            if (op.kind === 'reserve') {
              const { intent } = await journal.create({
                chainId: 31337,
                wallet,
                operation: 'transfer',
                request: { tag, n: model.size + work.length },
              })
              const charges = [charge(keys.a, op.a), ...(op.b === null ? [] : [charge(keys.b, op.b)])]
              work.push(
                ledger.reserve(intent.id, charges).then((result) => () => {
                  outcomes[result.ok ? 'ok' : 'refused']++
                  if (!result.ok) {
                    // A refusal is justified by the numbers it reports, and those include everything live
                    // before the batch (nothing was released during a batch without settles).
                    expect(charges).toContain(result.charge)
                    expect(result.used + result.charge.amount).toBeGreaterThan(result.charge.max)
                    expect(result.remaining).toBe(
                      result.used < result.charge.max ? result.charge.max - result.used : 0n,
                    )
                    if (!batch.some((o) => o.kind === 'settle'))
                      expect(result.used).toBeGreaterThanOrEqual(liveOf(model, result.charge.key))
                  }
                  if (batch.length === 1) {
                    // Alone in its batch, the outcome is exactly the sequential one.
                    const fits = charges.every((c) => liveOf(model, c.key) + c.amount <= c.max)
                    expect(result.ok).toBe(fits)
                  }
                  model.set(intent.id, {
                    amounts: new Map(charges.map((c) => [c.key, c.amount])),
                    state: result.ok ? 'reserved' : 'refused',
                  })
                }),
              )
            } else {
              // Settle an intent from an earlier batch; at most one settle per intent per batch, so the model
              // knows the order (across batches it is sequential).
              const id = known[op.pick % Math.max(known.length, 1)]
              if (id === undefined || settled.has(id)) continue
              settled.add(id)
              const settle = op.to === 'committed' ? ledger.commit(id) : ledger.release(id)
              work.push(
                settle.then(() => () => {
                  const m = model.get(id) as Modelled
                  if (m.state === 'reserved') m.state = op.to
                }),
              )
            }
          }
          for (const apply of await Promise.all(work)) apply()
          await check(keys, max, model)
        }
      }),
      { numRuns: 25 },
    )
    expect(outcomes.ok).toBeGreaterThan(0)
    expect(outcomes.refused).toBeGreaterThan(0)
  })

  /** The database against the model: caps, per-intent rows, committed totals, and `usage`. */
  async function check(
    keys: { a: string; b: string },
    max: Map<string, bigint>,
    model: Map<string, Modelled>,
  ): Promise<void> {
    const rows = await t.store.db
      .selectFrom('limit_usage')
      .select(['limit_key', 'intent_id', 'amount', 'state'])
      .where('limit_key', 'in', [keys.a, keys.b])
      .execute()
    for (const key of [keys.a, keys.b]) {
      const live = rows.filter((r) => r.limit_key === key && r.state !== 'released')
      const liveSum = live.reduce((sum, r) => sum + BigInt(r.amount), 0n)
      // (1) Reserved + committed never exceed the cap.
      expect(liveSum).toBeLessThanOrEqual(max.get(key) as bigint)

      // (3) The committed total is exactly what the committed intents asked for.
      let committed = 0n
      for (const m of model.values()) if (m.state === 'committed') committed += m.amounts.get(key) ?? 0n
      const dbCommitted = live
        .filter((r) => r.state === 'committed')
        .reduce((s, r) => s + BigInt(r.amount), 0n)
      expect(dbCommitted).toBe(committed)

      const [budget] = await createLimitLedger(t.store).usage([
        { key, windowSeconds: day, max: max.get(key) as bigint },
      ])
      expect(budget?.used).toBe(liveOf(model, key))
    }
    // (2) Each intent's rows are exactly what the model says: a refused intent has none, a released one holds
    // no live usage, and an all-or-none reservation holds every key or none.
    for (const [id, m] of model) {
      const own = rows
        .filter((r) => r.intent_id === id)
        .map((r) => [r.limit_key, BigInt(r.amount), r.state] as const)
        .sort(([x], [y]) => (x < y ? -1 : 1))
      const expected =
        m.state === 'refused'
          ? []
          : [...m.amounts]
              .map(([key, amount]) => [key, amount, m.state] as const)
              .sort(([x], [y]) => (x < y ? -1 : 1))
      expect(own).toEqual(expected)
    }
  }
})
