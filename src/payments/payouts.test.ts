import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ToolResult } from '../context/tool.js'
import type { Store } from '../store/openStore.js'
import { openMemoryStore } from '../store/useTestStore.js'
import { createPayouts } from './payouts.js'

// The payout service's bookkeeping around the transfer it asks the pipeline for (the whole path, on chain, is in
// test/payments.test.ts): here `call` stands for the pipeline, answering as it would after each kind of failure.
const treasury = '0x00000000000000000000000000000000000000aa'
const author = '0x00000000000000000000000000000000000000bb'
const usdc = '0x00000000000000000000000000000000000000cc'

describe('payouts', () => {
  let store: Store
  beforeAll(async () => {
    store = await openMemoryStore()
  })
  afterAll(async () => {
    await store?.close()
  })

  async function charge(id: string, payTo = treasury) {
    await store.db
      .insertInto('payment_charges')
      .values({
        id,
        tool: 'get_block',
        actor: 'operator:local',
        payer: '0x00000000000000000000000000000000000000dd',
        pay_to: payTo,
        network: 'eip155:31337',
        asset: usdc,
        decimals: 6,
        amount: '10000',
        transaction: `0x${'11'.repeat(32)}`,
      })
      .execute()
    await store.db
      .insertInto('payment_shares')
      .values([
        { charge_id: id, payee: payTo, amount: '8000', payout_id: null },
        { charge_id: id, payee: author, amount: '2000', payout_id: null },
      ])
      .execute()
  }
  const unpaid = async () =>
    (
      await store.db
        .selectFrom('payment_shares')
        .select('charge_id')
        .where('payee', '=', author)
        .where('payout_id', 'is', null)
        .execute()
    ).length
  const failure = (code: string): ToolResult => ({
    isError: true,
    content: [{ type: 'text', text: JSON.stringify({ error: { code, message: 'no' } }) }],
  })

  it('an error after the transfer was sent keeps the payout pending on the same intent: never paid twice', async () => {
    await charge('c1')
    await charge('c2')
    const asked: Record<string, unknown>[] = []
    let answer: 'sent-then-error' | 'mined' = 'sent-then-error'
    const payouts = createPayouts({
      store,
      treasury,
      async call(_name, args) {
        asked.push(args)
        const key = String(args.idempotencyKey)
        await store.db
          .insertInto('intents')
          .values({
            id: `int_${key}`,
            idempotency_key: key,
            chain_id: 31337,
            wallet: treasury,
            operation: 'transfer',
            status: answer === 'mined' ? 'mined' : 'broadcast',
            request: '{}',
            tx_hash: `0x${'22'.repeat(32)}`,
            agent: 'operator:payouts',
            origin: 'payout',
          })
          .onConflict((oc) => oc.columns(['agent', 'idempotency_key']).doUpdateSet({ status: 'mined' }))
          .execute()
        if (answer === 'sent-then-error') return failure('STORE_UNAVAILABLE')
        return { content: [], structuredContent: { intentId: `int_${key}`, status: 'mined' } }
      },
    })
    const [first] = await payouts.run()
    // One payout for both charges' shares, 2 × 2000; the transfer was sent, so the shares stay bound to it.
    expect(first).toMatchObject({ status: 'pending', payee: author, amount: '4000' })
    expect(await unpaid()).toBe(0)
    answer = 'mined'
    const [again, ...more] = await payouts.run()
    expect(more).toEqual([])
    // The same payout, the same idempotency key: the same transfer, now paid.
    expect(again).toMatchObject({ id: first!.id, status: 'paid', amount: '4000' })
    expect(asked.map((a) => a.idempotencyKey)).toEqual([first!.id, first!.id])
    expect(String(asked[0]?.to).toLowerCase()).toBe(author)
    expect(asked[0]).toMatchObject({ amount: '0.004', token: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/) })
    expect(await payouts.run()).toEqual([])
  })

  it('a refusal before anything was signed gives the shares back for a later run', async () => {
    await charge('c3')
    const payouts = createPayouts({ store, treasury, call: async () => failure('POLICY_DENIED') })
    const [refused] = await payouts.run()
    expect(refused).toMatchObject({ status: 'failed', amount: '2000' })
    expect(refused!.error).toMatch(/^POLICY_DENIED/)
    expect(await unpaid()).toBe(1)
  })

  it('shares of charges paid to another wallet are not paid from this one', async () => {
    await store.db.updateTable('payment_shares').set({ payout_id: null }).execute()
    await store.db.deleteFrom('payment_shares').execute()
    await store.db.deleteFrom('payment_charges').execute()
    await charge('c4', '0x00000000000000000000000000000000000000ee')
    const payouts = createPayouts({
      store,
      treasury,
      call: async () => {
        throw new Error('must not be called')
      },
    })
    expect(await payouts.run()).toEqual([])
  })
})
