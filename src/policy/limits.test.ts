import { randomBytes } from 'node:crypto'
import { type KyselyPlugin, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { InvalidInputError, NotFoundError, StoreUnavailableError } from '../errors/index.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import {
  createLimitLedger,
  describeCharge,
  type LimitLedger,
  LimitReservationConflictError,
  withBudgetAssetIds,
} from './limits.js'
import type { LimitCharge } from './types.js'

const day = 86_400
const usdc = 1_000_000n // 1 USDC in base units

/** A fresh budget key, so tests never share a budget. */
const newKey = (limit = 'daily') => `usdc-to-known/${limit}-${randomBytes(4).toString('hex')}/31337/0xWallet`

function charge(key: string, amount: bigint, max: bigint, extra: Partial<LimitCharge> = {}): LimitCharge {
  return {
    key,
    ruleId: 'usdc-to-known',
    limitId: 'usdc-daily',
    metric: 'outflow',
    windowSeconds: day,
    max,
    amount,
    decimals: 6,
    ...extra,
  }
}

describe.each(testStoreDrivers)('limit ledger on %s', (driver) => {
  const t = useTestStore(driver)

  const journal = () => createIntentJournal(t.store)
  const wallet = `0x${randomBytes(20).toString('hex')}`

  async function intent(): Promise<string> {
    const request = { to: wallet, amount: '1' }
    return (await journal().create({ chainId: 31337, wallet, operation: 'transfer', request })).intent.id
  }

  async function intents(count: number): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i++) ids.push(await intent())
    return ids
  }

  async function rows(intentId: string) {
    return t.store.db
      .selectFrom('limit_usage')
      .select(['limit_key', 'amount', 'state', 'created_at', 'updated_at'])
      .where('intent_id', '=', intentId)
      .orderBy('limit_key')
      .execute()
  }

  async function used(ledger: LimitLedger, key: string, max = 0n): Promise<bigint> {
    const [budget] = await ledger.usage([{ key, windowSeconds: day, max }])
    return budget?.used as bigint
  }

  /** Two ledgers: on PostgreSQL over two stores (two replicas), on PGlite over the one store. */
  async function replicas(): Promise<[LimitLedger, LimitLedger]> {
    const other = driver === 'postgres' ? await t.openAnother() : t.store
    return [createLimitLedger(t.store), createLimitLedger(other)]
  }

  it('exactly at the cap reserves; one base unit more is refused with used and remaining right (ADVERSARIAL 10)', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const max = 2_500n * usdc
    const a = await intent()
    const b = await intent()
    const c = await intent()
    expect(await ledger.reserve(a, [charge(key, 2_400n * usdc, max)])).toEqual({ ok: true })

    const over = charge(key, 100n * usdc + 1n, max)
    expect(await ledger.reserve(b, [over])).toEqual({
      ok: false,
      charge: over,
      used: 2_400n * usdc,
      remaining: 100n * usdc,
    })
    expect(await rows(b)).toEqual([])

    expect(await ledger.reserve(b, [charge(key, 100n * usdc, max)])).toEqual({ ok: true })
    const one = charge(key, 1n, max)
    expect(await ledger.reserve(c, [one])).toEqual({
      ok: false,
      charge: one,
      used: max,
      remaining: 0n,
    })
    expect(await ledger.usage([{ key, windowSeconds: day, max }])).toEqual([
      { key, used: max, max, remaining: 0n },
    ])
  })

  it('reserves all charges or none: when the second does not fit, neither is recorded', async () => {
    const ledger = createLimitLedger(t.store)
    const [fits, full] = [newKey('a'), newKey('b')]
    const filler = await intent()
    const id = await intent()
    await ledger.reserve(filler, [charge(full, 9n, 10n)])

    const second = charge(full, 2n, 10n)
    const result = await ledger.reserve(id, [charge(fits, 5n, 10n), second])
    expect(result).toEqual({ ok: false, charge: second, used: 9n, remaining: 1n })
    expect(await rows(id)).toEqual([])
    expect(await used(ledger, fits)).toBe(0n)
    // The refusal rolled back the whole transaction, down to the lock row it created.
    const locks = await t.store.db
      .selectFrom('limit_locks')
      .selectAll()
      .where('limit_key', '=', fits)
      .execute()
    expect(locks).toEqual([])
  })

  it('reports the first charge, in the caller’s order, that does not fit', async () => {
    const ledger = createLimitLedger(t.store)
    const [z, a] = [`z/${newKey()}`, `a/${newKey()}`]
    const id = await intent()
    const first = charge(z, 11n, 10n)
    const result = await ledger.reserve(id, [first, charge(a, 12n, 10n)])
    expect(result).toEqual({ ok: false, charge: first, used: 0n, remaining: 10n })
  })

  it('release gives the budget back, commit keeps it, and neither undoes the other', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const released = await intent()
    const committed = await intent()
    const next = await intent()
    await ledger.reserve(released, [charge(key, 6n, 10n)])
    await ledger.reserve(committed, [charge(key, 4n, 10n)])
    expect(await used(ledger, key)).toBe(10n)

    await ledger.release(released)
    await ledger.release(released) // idempotent
    expect(await used(ledger, key)).toBe(4n)
    await ledger.commit(committed)
    await ledger.commit(committed)
    expect(await used(ledger, key)).toBe(4n)

    await ledger.release(committed) // a committed reservation is never released
    await ledger.commit(released) // a released one is never committed
    expect((await rows(committed)).map((r) => r.state)).toEqual(['committed'])
    expect((await rows(released)).map((r) => r.state)).toEqual(['released'])
    expect(await used(ledger, key)).toBe(4n)

    // The settled row says when it was settled (microseconds: a later transaction's now()).
    const moved = await t.store.db
      .selectFrom('limit_usage')
      .select(sql<boolean>`updated_at > created_at`.as('moved'))
      .where('intent_id', '=', committed)
      .executeTakeFirstOrThrow()
    expect(moved.moved).toBe(true)
    expect(await ledger.reserve(next, [charge(key, 6n, 10n)])).toEqual({ ok: true })
  })

  it('counts only rows inside the window, by the database clock', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const old = await intent()
    const recent = await intent()
    const next = await intent()
    await ledger.reserve(old, [charge(key, 7n, 10n)])
    await ledger.commit(old)
    await ledger.reserve(recent, [charge(key, 3n, 10n)])
    await t.store.db
      .updateTable('limit_usage')
      .set({ created_at: sql<Date>`now() - make_interval(secs => ${day + 1})` })
      .where('intent_id', '=', old)
      .execute()

    expect(await used(ledger, key)).toBe(3n)
    // A longer window still sees the old row.
    const [week] = await ledger.usage([{ key, windowSeconds: 7 * day, max: 10n }])
    expect(week).toEqual({ key, used: 10n, max: 10n, remaining: 0n })
    expect(await ledger.reserve(next, [charge(key, 7n, 10n)])).toEqual({ ok: true })
  })

  it('reserving again for the same intent and key never counts twice', async () => {
    const ledger = createLimitLedger(t.store)
    const [key, other] = [newKey('a'), newKey('b')]
    const id = await intent()
    expect(await ledger.reserve(id, [charge(key, 10n, 10n)])).toEqual({ ok: true })
    // A retry after a crash: the budget is full, but it is this intent's own reservation.
    expect(await ledger.reserve(id, [charge(key, 10n, 10n)])).toEqual({ ok: true })
    // A recomputed amount (a price moved) does not replace the first reservation.
    expect(await ledger.reserve(id, [charge(key, 3n, 10n), charge(other, 2n, 5n)])).toEqual({
      ok: true,
    })
    expect(await used(ledger, key)).toBe(10n)
    expect(await used(ledger, other)).toBe(2n)
    const held = Object.fromEntries((await rows(id)).map((r) => [r.limit_key, [r.amount, r.state]]))
    expect(held).toEqual({ [key]: ['10', 'reserved'], [other]: ['2', 'reserved'] })
  })

  it('a released intent does not reserve again', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const id = await intent()
    await ledger.reserve(id, [charge(key, 4n, 10n)])
    await ledger.release(id)
    const error = await ledger.reserve(id, [charge(key, 4n, 10n)]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LimitReservationConflictError)
    expect((error as LimitReservationConflictError).code).toBe('CONFLICT')
    expect((await rows(id)).map((r) => r.state)).toEqual(['released'])
    expect(await used(ledger, key)).toBe(0n)
  })

  it('force (a human approved) reserves past the cap, and the budget shows it', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const a = await intent()
    const b = await intent()
    const c = await intent()
    await ledger.reserve(a, [charge(key, 8n, 10n)])
    expect(await ledger.reserve(b, [charge(key, 5n, 10n)], { force: true })).toEqual({ ok: true })
    expect(await ledger.usage([{ key, windowSeconds: day, max: 10n }])).toEqual([
      { key, used: 13n, max: 10n, remaining: 0n },
    ])
    const one = charge(key, 1n, 10n)
    expect(await ledger.reserve(c, [one])).toEqual({
      ok: false,
      charge: one,
      used: 13n,
      remaining: 0n,
    })
  })

  it('two concurrent reserves, each under the limit but over it together: exactly one succeeds (ADVERSARIAL 32)', async () => {
    const [first, second] = await replicas()
    for (let round = 0; round < 5; round++) {
      const key = newKey()
      const a = await intent()
      const b = await intent()
      const results = await Promise.all([
        first.reserve(a, [charge(key, 60n, 100n)]),
        second.reserve(b, [charge(key, 60n, 100n)]),
      ])
      expect(results.filter((r) => r.ok)).toHaveLength(1)
      expect(results.find((r) => !r.ok)).toMatchObject({ used: 60n, remaining: 40n })
      expect(await used(first, key)).toBe(60n)
    }
  })

  it('50 concurrent reserves of 1 against a max of 20: exactly 20 succeed', async () => {
    const ledgers = await replicas()
    const key = newKey()
    const ids = await intents(50)
    const results = await Promise.all(
      ids.map((id, i) => (ledgers[i % 2] as LimitLedger).reserve(id, [charge(key, 1n, 20n)])),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(20)
    expect(await used(ledgers[0], key)).toBe(20n)
    const held = await t.store.db
      .selectFrom('limit_usage')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('limit_key', '=', key)
      .executeTakeFirstOrThrow()
    expect(Number(held.n)).toBe(20)
  })

  it('concurrent reserves naming the same keys in opposite orders never deadlock', async () => {
    const [first, second] = await replicas()
    const [a, b] = [newKey('a'), newKey('b')]
    const ids = await intents(20)
    const results = await Promise.all(
      ids.map((id, i) =>
        i % 2 === 0
          ? first.reserve(id, [charge(a, 1n, 100n), charge(b, 1n, 100n)])
          : second.reserve(id, [charge(b, 1n, 100n), charge(a, 1n, 100n)]),
      ),
    )
    expect(results.every((r) => r.ok)).toBe(true)
    expect(await used(first, a)).toBe(20n)
    expect(await used(first, b)).toBe(20n)
  })

  it('refuses an unknown intent as NOT_FOUND and leaves nothing behind', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const error = await ledger.reserve('int_missing', [charge(key, 1n, 10n)]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotFoundError)
    const locks = await t.store.db
      .selectFrom('limit_locks')
      .selectAll()
      .where('limit_key', '=', key)
      .execute()
    expect(locks).toEqual([])
  })

  it('refuses malformed charges before touching the database', async () => {
    const ledger = createLimitLedger(t.store)
    const key = newKey()
    const id = await intent()
    const cases: [LimitCharge[], string][] = [
      [[charge(key, -1n, 10n)], 'charges.0.amount'],
      [[charge(key, 1n, -1n)], 'charges.0.max'],
      [[charge(key, 1n, 10n, { windowSeconds: 0 })], 'charges.0.windowSeconds'],
      [[charge(key, 1n, 10n, { windowSeconds: 1.5 })], 'charges.0.windowSeconds'],
      [[charge('', 1n, 10n)], 'charges.0.key'],
      [[charge(key, 1n, 10n), charge(key, 2n, 10n)], 'charges'],
    ]
    for (const [charges, field] of cases) {
      const error = await ledger.reserve(id, charges).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidInputError)
      expect((error as InvalidInputError).field).toBe(field)
    }
    expect(await rows(id)).toEqual([])
    expect(await ledger.reserve(id, [])).toEqual({ ok: true })
  })

  it('a database failure mid-reservation surfaces as STORE_UNAVAILABLE, with nothing half-written', async () => {
    // Fails the statement that writes the reservation rows, after the lock rows were written.
    const failing: KyselyPlugin = {
      transformQuery({ node }) {
        if (node.kind === 'InsertQueryNode' && JSON.stringify(node).includes('"limit_usage"'))
          throw new Error('connection terminated unexpectedly')
        return node
      },
      transformResult: async ({ result }) => result,
    }
    const ledger = createLimitLedger({ ...t.store, db: t.store.db.withPlugin(failing) })
    const key = newKey()
    const id = await intent()
    const error = await ledger.reserve(id, [charge(key, 1n, 10n)]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE')
    expect(await rows(id)).toEqual([])
    const locks = await t.store.db
      .selectFrom('limit_locks')
      .selectAll()
      .where('limit_key', '=', key)
      .execute()
    expect(locks).toEqual([])
  })

  it.runIf(driver === 'postgres')('a closed pool surfaces as STORE_UNAVAILABLE', async () => {
    const store = await t.openAnother()
    const ledger = createLimitLedger(store)
    await store.close()
    for (const call of [
      () => ledger.reserve('int_x', [charge(newKey(), 1n, 10n)]),
      () => ledger.commit('int_x'),
      () => ledger.usage([{ key: newKey(), windowSeconds: day, max: 1n }]),
    ]) {
      expect(await call().catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError)
    }
  })

  it('reports usage in the order asked, unknown budgets as unused', async () => {
    const ledger = createLimitLedger(t.store)
    const [key, unknown] = [newKey('a'), newKey('b')]
    const id = await intent()
    await ledger.reserve(id, [charge(key, 7n, 10n)])
    expect(
      await ledger.usage([
        { key: unknown, windowSeconds: day, max: 5n },
        { key, windowSeconds: day, max: 10n },
        { key, windowSeconds: 60, max: 3n },
      ]),
    ).toEqual([
      { key: unknown, used: 0n, max: 5n, remaining: 5n },
      { key, used: 7n, max: 10n, remaining: 3n },
      { key, used: 7n, max: 3n, remaining: 0n },
    ])
  })
})

describe('describeCharge', () => {
  it('formats amounts with the charge’s decimals and the window in words', () => {
    const c = charge('k', 200n * usdc, 2_500n * usdc)
    expect(describeCharge(c, 2_400n * usdc, 100n * usdc)).toEqual({
      limit: 'usdc-daily',
      rule: 'usdc-to-known',
      window: '24h',
      used: '2400',
      max: '2500',
      remaining: '100',
      needs: '200',
    })
    const windows = [7 * day, 3_600, 1_800, 90, 2 * day + 3_600].map(
      (windowSeconds) => describeCharge(charge('k', 1n, 2n, { windowSeconds }), 0n, 2n).window,
    )
    expect(windows).toEqual(['7d', '1h', '30m', '90s', '49h'])
    expect(describeCharge(charge('k', 1n, 5n, { metric: 'count', decimals: 0 }), 4n, 1n)).toMatchObject({
      used: '4',
      max: '5',
      remaining: '1',
      needs: '1',
    })
  })
})

describe('get_limits budgets with CAIP-19 asset ids', () => {
  const chain = { caip2: 'eip155:1', native: { assetId: 'eip155:1/slip44:60' } }
  const common = { limit: 'l', rule: 'r', window: '24h', max: '1', used: '0', remaining: '1' }

  it('gives outflow budgets their asset’s id, and USD or count budgets none; other fields unchanged', () => {
    const budgets = [
      { ...common, metric: 'outflow' as const, token: 'native' },
      { ...common, metric: 'outflow' as const, token: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' },
      { ...common, metric: 'outflowUsd' as const },
      { ...common, metric: 'count' as const },
    ]
    expect(withBudgetAssetIds(chain, budgets)).toEqual([
      { ...budgets[0], assetId: 'eip155:1/slip44:60' },
      { ...budgets[1], assetId: 'eip155:1/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' },
      budgets[2],
      budgets[3],
    ])
  })
})
