import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Caller } from '../src/context/caller.js'
import { requestContext } from '../src/context/requestContext.js'
import { createGateway, type Gateway, type Operator } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { transfer } from '../src/tools/transfer.js'
import { useDevnet } from './devnet.js'

// DESIGN §1: every intent names its caller (`agent`) and what started it (`origin`), and every audit entry about it
// has that caller as its actor; a held intent is carried on, after a human approves it, as the caller who asked.
const fixtures = useDevnet({ isolate: true })
const [, alice, bob, carol] = fixtures.accounts as [string, `0x${string}`, `0x${string}`, `0x${string}`]

const order: Caller = { kind: 'order', id: 'o1', agent: 'operator:local' }

// The operator may send to alice; a standing order (origin "order", here "o1", created by the operator) may send
// anything, once a human approves it. A resumed intent re-checked as the operator's own tool call would be denied
// for bob, so the approval below only goes through when the resume keeps the order as its caller.
const policy = {
  version: 1,
  rules: [
    { id: 'operator-to-alice', effect: 'allow', match: { agent: ['local'], to: [alice] } },
    {
      id: 'orders-need-a-human',
      effect: 'require_approval',
      match: { origin: ['order'], operation: ['transfer'] },
    },
  ],
}

describe.each(testStoreDrivers)('callers on intents and in the audit (%s)', (driver) => {
  const t = useTestStore(driver)
  let gateway: Gateway
  let operator: Operator

  beforeAll(async () => {
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
    gateway = createGateway({
      config: { policy, rpc: { publicFallback: false } },
      devnet: fixtures,
      // Maintenance runs when the test says (operator.maintain), not on a timer.
      writes: { store: t.store, signer, trackerIntervalMs: 100, maintainIntervalMs: 600_000 },
    })
    await gateway.ready
    operator = (await gateway.operator) as Operator
  })
  afterAll(() => gateway.close())

  const row = (id: string) =>
    t.store.db
      .selectFrom('intents')
      .select(['agent', 'origin', 'caller'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  const entriesOf = async (id: string) =>
    (await operator.audit.read({ limit: 1000 })).filter((e) => e.intentId === id)

  it("a tool call's intent and its audit entries name the local operator, and get_intent / list_intents show it", async () => {
    const result = await gateway.call(
      'transfer',
      { chain: 'devnet', to: alice, amount: '0.01', wait: true },
      requestContext({ transport: 'memory' }),
    )
    const sent = result.structuredContent as {
      intentId: string
      status: string
      agent: string
      origin: string
    }
    expect(sent).toMatchObject({ status: 'mined', agent: 'operator:local', origin: 'tool' })
    expect(await row(sent.intentId)).toEqual({
      agent: 'operator:local',
      origin: 'tool',
      caller: { kind: 'operator', id: 'local' },
    })
    const entries = await entriesOf(sent.intentId)
    expect(entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['intent.signed', 'intent.broadcast', 'intent.mined']),
    )
    for (const e of entries) expect(e.actor, e.kind).toBe('operator:local')

    const one = await gateway.call(
      'get_intent',
      { intentId: sent.intentId },
      requestContext({ transport: 'memory' }),
    )
    expect(one.structuredContent).toMatchObject({ agent: 'operator:local', origin: 'tool' })
    const list = await gateway.call('list_intents', { limit: 5 }, requestContext({ transport: 'memory' }))
    const listed = (list.structuredContent as { intents: { intentId: string }[] }).intents
    expect(listed.find((i) => i.intentId === sent.intentId)).toMatchObject({
      agent: 'operator:local',
      origin: 'tool',
    })
  })

  it("a denial is recorded as the caller's, the refused intent too", async () => {
    const writes = gateway.writes!
    const ctx = requestContext({ transport: 'memory' })
    await expect(
      writes.execute(transfer, transfer.input.parse({ chain: 'devnet', to: carol, amount: '0.01' }), ctx),
    ).rejects.toMatchObject({ code: 'POLICY_DENIED' })
    const [intent] = await t.store.db
      .selectFrom('intents')
      .select(['id', 'status', 'agent'])
      .where('status', '=', 'cancelled')
      .orderBy('created_at', 'desc')
      .limit(1)
      .execute()
    expect(intent).toMatchObject({ status: 'cancelled', agent: 'operator:local' })
    const entries = await entriesOf(intent!.id)
    expect(entries.map((e) => e.kind)).toEqual(['policy.denied', 'intent.cancelled'])
    for (const e of entries) expect(e.actor, e.kind).toBe('operator:local')
  })

  it('a held intent, once approved, is re-checked, signed and sent as the caller who asked', async () => {
    const writes = gateway.writes!
    const ctx = requestContext({ transport: 'internal', origin: 'order', caller: order })
    const held = await writes.execute(
      transfer,
      transfer.input.parse({ chain: 'devnet', to: bob, amount: '0.02' }),
      ctx,
    )
    expect(held).toMatchObject({ status: 'held', agent: 'order:o1', origin: 'order' })
    expect(await row(held.intentId)).toEqual({ agent: 'order:o1', origin: 'order', caller: order })
    // The approver sees who asked.
    expect((await operator.approvals.get(held.intentId))?.request.agent).toBe('order:o1')

    await operator.approvals.decide(held.intentId, 'approved', 'test-operator', {
      expectHash: held.approval?.intentHash,
    })
    await operator.maintain()
    const after = await writes.get(held.intentId)
    expect(['broadcast', 'mined']).toContain(after.status)
    expect(after).toMatchObject({ agent: 'order:o1', origin: 'order' })

    const entries = await entriesOf(held.intentId)
    const actors = Object.fromEntries(entries.map((e) => [e.kind, e.actor]))
    expect(actors).toMatchObject({
      'approval.requested': 'order:o1',
      'intent.held': 'order:o1',
      // The human's decision is the human's; everything the gateway did for the intent is the order's.
      'approval.approved': 'test-operator',
      'intent.created': 'order:o1',
      'intent.signed': 'order:o1',
      'intent.broadcast': 'order:o1',
    })
  })

  it('an idempotency key is per caller: another caller with the same key gets an intent of its own, never the first', async () => {
    const writes = gateway.writes!
    const input = transfer.input.parse({
      chain: 'devnet',
      to: bob,
      amount: '0.01',
      idempotencyKey: `k-${driver}`,
    })
    const first = await writes.execute(
      transfer,
      input,
      requestContext({ transport: 'internal', caller: order }),
    )
    expect(first.status).toBe('held')
    // The operator's write with the same key is its own (denied here: the policy lets the operator pay alice only).
    await expect(
      writes.execute(transfer, input, requestContext({ transport: 'memory' })),
    ).rejects.toMatchObject({
      code: 'POLICY_DENIED',
    })
    const rows = await t.store.db
      .selectFrom('intents')
      .select(['id', 'agent'])
      .where('idempotency_key', '=', `k-${driver}`)
      .orderBy('created_at')
      .execute()
    expect(rows.map((r) => r.agent)).toEqual(['order:o1', 'operator:local'])
    expect(rows[1]!.id).not.toBe(first.intentId)
  })
})
