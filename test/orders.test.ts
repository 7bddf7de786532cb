import { type Address, createPublicClient, erc20Abi, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestContext } from '../src/context/requestContext.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { fundAccount, setFeedPrice, setMarket } from '../src/devnet/market.js'
import { agentCaller } from '../src/identity/passportRegistry.js'
import { createOrderStore } from '../src/orders/orderStore.js'
import { createGateway, type Gateway, type Operator } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { passportedAgent } from './passports.js'

// DESIGN §10, issue 15: standing orders fire deterministically, through the whole pipeline, exactly once.
const fixtures = useDevnet({ isolate: true })
const { WETH, WBTC } = fixtures.tokens
const client = createPublicClient({ transport: http(fixtures.rpcUrl) })
const ctx = () => requestContext({ transport: 'memory' })
const rebalance = {
  kind: 'rebalance',
  weights: [
    { token: 'WETH', percent: '50' },
    { token: 'WBTC', percent: '50' },
  ],
}

/** Gives `wallet` WETH and WBTC (and USDC) from the deployer: equal dollar values at $3,000 / $60,000. */
const fund = (wallet: Address, weth: bigint, wbtc: bigint, usdc = 0n) =>
  fundAccount(fixtures, wallet, { weth, wbtc, usdc })

/** Mines an empty block (time guards and streaks count blocks). */
const mine = () => jsonRpc(fixtures.rpcUrl, [{ method: 'evm_mine' }])

const balanceOf = (token: Address, wallet: Address) =>
  client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [wallet] })

describe.each(testStoreDrivers)('standing orders on the devnet (%s)', (driver) => {
  const t = useTestStore(driver)
  let gateway: Gateway
  let operator: Operator
  let wallet: Address

  beforeAll(async () => {
    // A wallet of its own (account 5 or 6 per driver) holding 1 WETH and 0.05 WBTC: 50/50 at $3,000 / $60,000.
    const accountIndex = driver === 'pglite' ? 5 : 6
    const signer = await createSigner({ backend: 'devnet', accountIndex, chainId: fixtures.chainId })
    wallet = signer.address
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    await fund(wallet, 10n ** 18n, 5_000_000n)
    gateway = createGateway({
      config: { rpc: { publicFallback: false }, orders: { enabled: false } },
      devnet: fixtures,
      writes: { store: t.store, signer, trackerIntervalMs: 50, maintainIntervalMs: 600_000 },
    })
    await gateway.ready
    operator = (await gateway.operator) as Operator
  })
  afterAll(() => gateway?.close())

  const create = async (args: Record<string, unknown>) =>
    gateway.call('create_standing_order', { chain: 'devnet', budgetUsd: '100', ...args }, ctx())
  const order = async (id: string) =>
    (await gateway.call('get_standing_order', { orderId: id }, ctx())).structuredContent as {
      status: string
      statusReason?: string
      fires: number
      reference?: string
      budget: { spent: string; reserved: string; left: string }
      recentFires: {
        seq: number
        status: string
        actions: { status: string; intents: { tool: string; status?: string; intentId?: string }[] }[]
        error?: string
      }[]
      recentEvaluations: { kind: string; reason?: string }[]
    }
  const evaluate = () => operator.orders.evaluate()

  it('rebalances WETH/WBTC 50/50 exactly once when ETH/BTC moves more than 0.5 %, not for 0.4 %, not back inside the band', async () => {
    const created = await create({
      trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
      action: rebalance,
      guards: { cooldownSeconds: 0 },
    })
    expect(created.isError, created.content[0]?.text).toBeFalsy()
    const { orderId, status, operation } = created.structuredContent as {
      orderId: string
      status: string
      operation: string
    }
    expect({ status, operation }).toEqual({ status: 'completed', operation: 'standing_order' })
    await evaluate()
    expect((await order(orderId)).reference).toBe('0.05')

    await setMarket(fixtures, { ethUsd: '3012' }) // +0.4 %
    await evaluate()
    expect((await order(orderId)).fires).toBe(0)

    const wethBefore = await balanceOf(WETH.address, wallet)
    const wbtcBefore = await balanceOf(WBTC.address, wallet)
    await setMarket(fixtures, { ethUsd: '3018' }) // +0.6 %
    await evaluate()
    let o = await order(orderId)
    expect(o.fires).toBe(1)
    expect(o.recentFires[0]).toMatchObject({ seq: 1, status: 'done' })
    const intents = o.recentFires[0]!.actions[0]!.intents
    expect(intents.map((i) => [i.tool, i.status])).toEqual([
      ['approve', 'mined'],
      ['swap', 'mined'],
    ])
    // On chain: WETH sold for WBTC, about $9 worth (half of the 0.6 % imbalance of $6,018), no more.
    const soldWeth = wethBefore - (await balanceOf(WETH.address, wallet))
    const boughtWbtc = (await balanceOf(WBTC.address, wallet)) - wbtcBefore
    expect(soldWeth).toBeGreaterThan(28n * 10n ** 14n) // > 0.0028 WETH ($8.45)
    expect(soldWeth).toBeLessThan(31n * 10n ** 14n) // < 0.0031 WETH ($9.36)
    expect(boughtWbtc).toBeGreaterThan(0n)
    expect(Number(o.budget.spent)).toBeGreaterThan(8)
    expect(o.budget.reserved).toBe('0')
    // The swap's intent is the order's: origin order, acting for the operator who created it.
    const swap = await gateway.call('get_intent', { intentId: intents[1]!.intentId }, ctx())
    expect(swap.structuredContent).toMatchObject({
      origin: 'order',
      agent: `order:${orderId}`,
      operation: 'swap',
    })

    // Evaluated again at the same prices, and after a move back inside the band: no second fire.
    await evaluate()
    await setMarket(fixtures, { ethUsd: '3010' }) // -0.27 % from the new reference
    await evaluate()
    o = await order(orderId)
    expect(o.fires).toBe(1)
    expect(await balanceOf(WETH.address, wallet)).toBe(wethBefore - soldWeth)

    // Every evaluation that changed the state is audited, the fire with its intents.
    const audit = await operator.audit.read({ limit: 1000 })
    const kinds = audit.filter((e) => (e.data as { order?: string })?.order === orderId).map((e) => e.kind)
    expect(kinds).toEqual(
      expect.arrayContaining(['order.created', 'order.referenced', 'order.fired', 'order.fire-done']),
    )
    expect(kinds.filter((k) => k === 'order.fired')).toHaveLength(1)
    await gateway.call('cancel_standing_order', { orderId }, ctx())
  })

  it('stale or disagreeing sources do not fire; repeated, they pause the order (and its budget is given back)', async () => {
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    const created = await create({
      trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
      action: rebalance,
    })
    const { orderId } = created.structuredContent as { orderId: string }
    await evaluate()
    const weth = await balanceOf(WETH.address, wallet)
    // The feed alone moves 3 %: the pool disagrees beyond the order's 1 %. Counted once per block: passes at the
    // same block do not add up.
    await setFeedPrice(fixtures, 'ETH/USD', '3090')
    await evaluate()
    await evaluate()
    await mine()
    await evaluate()
    expect((await order(orderId)).status).toBe('active')
    expect((await order(orderId)).recentEvaluations.filter((e) => e.kind === 'skipped')).toHaveLength(2)
    await mine()
    await evaluate()
    const o = await order(orderId)
    expect(o.status).toBe('paused')
    expect(o.statusReason).toMatch(/disagree.*3 evaluations in a row/)
    expect(o.fires).toBe(0)
    expect(await balanceOf(WETH.address, wallet)).toBe(weth)
    await setMarket(fixtures, { ethUsd: '3000' })
  })

  it('the kill switch stops all firing; a budget too small stops the fire cleanly and pauses the order', async () => {
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    const created = await create({
      trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
      action: rebalance,
      budgetUsd: '1',
      guards: { cooldownSeconds: 0 },
    })
    const { orderId } = created.structuredContent as { orderId: string }
    await evaluate()
    await operator.killSwitch.engage('test', 'orders test')
    try {
      await setMarket(fixtures, { ethUsd: '3030' })
      await evaluate()
      expect((await order(orderId)).fires).toBe(0)
    } finally {
      await operator.killSwitch.release('orders test')
    }
    const weth = await balanceOf(WETH.address, wallet)
    await evaluate()
    const o = await order(orderId)
    expect(o.fires).toBe(1)
    expect(o.recentFires[0]).toMatchObject({ status: 'stopped' })
    expect(o.recentFires[0]!.actions[0]).toMatchObject({
      status: 'stopped',
      intents: [],
      error: 'the order budget is exhausted',
    })
    expect(o).toMatchObject({ status: 'paused', statusReason: 'the order budget is exhausted' })
    expect(o.budget).toMatchObject({ spent: '0', reserved: '0' })
    expect(await balanceOf(WETH.address, wallet)).toBe(weth)
    await setMarket(fixtures, { ethUsd: '3000' })
  })

  it('refuses orders it could never carry out, with what to fix', async () => {
    const refused = async (args: Record<string, unknown>) => {
      const r = await create(args)
      expect(r.isError).toBe(true)
      return JSON.parse(r.content[0]!.text) as { error: { code: string; message: string } }
    }
    const move = { kind: 'move', pair: 'ETH/BTC', percent: '0.5' }
    expect(
      (
        await refused({
          trigger: move,
          action: {
            kind: 'rebalance',
            weights: [
              { token: 'WETH', percent: '60' },
              { token: 'WBTC', percent: '50' },
            ],
          },
        })
      ).error.message,
    ).toMatch(/sum to 110 %, not 100 %/)
    expect(
      (
        await refused({
          trigger: move,
          action: {
            kind: 'rebalance',
            weights: [
              { token: 'PEPE', percent: '50' },
              { token: 'WBTC', percent: '50' },
            ],
          },
        })
      ).error.message,
    ).toMatch(/Token "PEPE" has no price source/)
    expect(
      (await refused({ trigger: { kind: 'move', pair: 'DOGE/BTC', percent: '0.5' }, action: rebalance }))
        .error.message,
    ).toMatch(/No price sources for pair "DOGE\/BTC"/)
    expect((await refused({ trigger: { kind: 'interval', seconds: 5 }, action: rebalance })).error.code).toBe(
      'INVALID_INPUT',
    )
    // The demo policy lets swaps through the router move at most $500: a $3,000 swap could never fire.
    const denied = await refused({
      trigger: move,
      action: { kind: 'swap', tokenIn: 'USDC', tokenOut: 'WETH', amountIn: '3000' },
    })
    expect(denied.error).toMatchObject({ code: 'POLICY_DENIED' })
    expect(denied.error.message).toMatch(/would deny its swaps selling USDC/)
    // The demo policy allows budgets up to $2,000.
    expect((await refused({ trigger: move, action: rebalance, budgetUsd: '2500' })).error.code).toBe(
      'POLICY_DENIED',
    )
    expect(
      (await gateway.call('list_standing_orders', { status: 'active' }, ctx())).structuredContent,
    ).toMatchObject({ orders: [] })
  })

  it("an agent's order is its own, fires within its grant, and not at all once its passport is revoked", async () => {
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    const tools = [
      'create_standing_order',
      'get_standing_order',
      'cancel_standing_order',
      'list_standing_orders',
      'get_intent',
      'swap',
      'approve',
    ]
    const agent = await passportedAgent(operator.passports, { tools })
    const other = await passportedAgent(operator.passports, { tools })
    const as = (record: typeof agent.record) =>
      requestContext({ transport: 'memory', caller: agentCaller(record) })
    const created = await gateway.call(
      'create_standing_order',
      {
        chain: 'devnet',
        trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
        action: rebalance,
        budgetUsd: '100',
        guards: { cooldownSeconds: 0, expiresInSeconds: 3600 },
      },
      as(agent.record),
    )
    expect(created.isError, created.content[0]?.text).toBeFalsy()
    const { orderId } = created.structuredContent as { orderId: string }
    // Another agent can neither see nor cancel it.
    for (const tool of ['get_standing_order', 'cancel_standing_order']) {
      const r = await gateway.call(tool, { orderId }, as(other.record))
      expect(JSON.parse(r.content[0]!.text).error.code).toBe('NOT_FOUND')
    }
    const listed = (await gateway.call('list_standing_orders', {}, as(other.record))).structuredContent
    expect(listed).toEqual({ orders: [] })
    await evaluate()
    // Within its grant (swap and approve, $0–$50 each), the agent's order fires as the agent's own write would.
    // (Down: the wallet was rebalanced at 3,018 by the first test, so a move down makes work for this one.)
    await setMarket(fixtures, { ethUsd: '2982' })
    await evaluate()
    const fired = await order(orderId)
    expect(fired.fires).toBe(1)
    expect(fired.recentFires[0]).toMatchObject({ status: 'done' })
    const swapId = fired.recentFires[0]!.actions[0]!.intents[1]!.intentId!
    // The agent reads its order's fire like its own write; another agent cannot.
    expect(
      (await gateway.call('get_intent', { intentId: swapId }, as(agent.record))).structuredContent,
    ).toMatchObject({
      status: 'mined',
      origin: 'order',
    })
    const theirs = await gateway.call('get_intent', { intentId: swapId }, as(other.record))
    expect(JSON.parse(theirs.content[0]!.text).error.code).toBe('NOT_FOUND')
    // Its user's grant budget took the fire (approval and swap), as for any write of the agent.
    const who = (await gateway.call('whoami', {}, as(agent.record))).structuredContent as {
      budget?: { used: string }
    }
    expect(Number(who.budget?.used)).toBeGreaterThan(8)
    // Revoked: the next move does not fire at all (a skip, recorded), nothing moves.
    await operator.passports.setStatus(agent.did, 'revoked', { by: 'test', reason: 'test' })
    const weth = await balanceOf(WETH.address, wallet)
    await setMarket(fixtures, { ethUsd: '2940' })
    await evaluate()
    const o = await order(orderId)
    expect(o.fires).toBe(1)
    expect(o.recentEvaluations[0]).toMatchObject({ kind: 'skipped' })
    expect(o.recentEvaluations[0]!.reason).toMatch(
      /the creating agent cannot act: The passport of agent .* is revoked/,
    )
    expect(await balanceOf(WETH.address, wallet)).toBe(weth)
    await gateway.call('cancel_standing_order', { orderId }, ctx())
    await setMarket(fixtures, { ethUsd: '3000' })
  })

  it('two replicas evaluating the same order fire it exactly once', async () => {
    const created = await create({ trigger: { kind: 'interval', seconds: 60 }, action: rebalance })
    const { orderId } = created.structuredContent as { orderId: string }
    const store = createOrderStore(t.store)
    const o = (await store.get(orderId))!
    const at = { blockNumber: 1n, blockTime: 1 }
    const results = await Promise.all([
      store.fire(orderId, o.version, o.state, at),
      store.fire(orderId, o.version, o.state, at),
    ])
    expect(results.filter((r) => r !== undefined)).toEqual([1])
    expect((await store.get(orderId))!.fires).toBe(1)
    await store.saveFire(orderId, 1, { status: 'done' })
    await gateway.call('cancel_standing_order', { orderId }, ctx())
  })
})

describe('a standing order whose fire a human must approve', () => {
  const t = useTestStore('pglite')
  let gateway: Gateway
  let operator: Operator
  let wallet: Address

  beforeAll(async () => {
    const signer = await createSigner({ backend: 'devnet', accountIndex: 7, chainId: fixtures.chainId })
    wallet = signer.address
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    await fund(wallet, 10n ** 18n, 5_000_000n)
    const router = fixtures.uniswapV3.router
    const policy = {
      version: 1,
      rules: [
        { id: 'orders', effect: 'allow', match: { operation: ['standing_order'], amount: { lte: '1000' } } },
        { id: 'approve-router', effect: 'allow', match: { operation: ['approve'], to: [router] } },
        {
          id: 'order-swaps-held',
          effect: 'require_approval',
          match: { operation: ['swap'], origin: ['order'] },
        },
      ],
    }
    gateway = createGateway({
      config: { policy, rpc: { publicFallback: false }, orders: { enabled: false } },
      devnet: fixtures,
      writes: { store: t.store, signer, trackerIntervalMs: 50, maintainIntervalMs: 600_000 },
    })
    await gateway.ready
    operator = (await gateway.operator) as Operator
  })
  afterAll(() => gateway?.close())

  it('keeps the fire pending with its budget reserved while the swap is held, and settles it once mined', async () => {
    const created = await gateway.call(
      'create_standing_order',
      {
        chain: 'devnet',
        trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
        action: rebalance,
        budgetUsd: '100',
        guards: { cooldownSeconds: 0 },
      },
      ctx(),
    )
    expect(created.isError, created.content[0]?.text).toBeFalsy()
    const { orderId } = created.structuredContent as { orderId: string }
    const store = createOrderStore(t.store)
    await operator.orders.evaluate()
    await setMarket(fixtures, { ethUsd: '3018' })
    await operator.orders.evaluate()
    let [fire] = await store.fires(orderId, 1)
    expect(fire).toMatchObject({ seq: 1, status: 'pending' })
    const swap = fire!.actions[0]!.intents[1]!
    expect(swap).toMatchObject({ tool: 'swap', status: 'held' })
    let o = (await store.get(orderId))!
    expect(o.reserved).toBeGreaterThan(8_000_000n)
    expect(o.spent).toBe(0n)
    // Further passes neither fire again nor release the reservation while the swap may still happen.
    await setMarket(fixtures, { ethUsd: '3040' })
    await operator.orders.evaluate()
    o = (await store.get(orderId))!
    expect(o.fires).toBe(1)
    expect(o.reserved).toBeGreaterThan(8_000_000n)
    // Back where the swap was checked (an approved write is simulated again and must move what the human saw).
    await setMarket(fixtures, { ethUsd: '3018' })
    const wbtc = await balanceOf(WBTC.address, wallet)
    const approval = await operator.approvals.get(swap.intentId!)
    await operator.approvals.decide(swap.intentId!, 'approved', 'test', { expectHash: approval!.intentHash })
    await operator.maintain()
    await operator.orders.evaluate()
    ;[fire] = await store.fires(orderId, 1)
    expect(fire, JSON.stringify(fire?.actions)).toMatchObject({ seq: 1, status: 'done' })
    o = (await store.get(orderId))!
    expect(o.reserved).toBe(0n)
    expect(o.spent).toBeGreaterThan(8_000_000n)
    expect(await balanceOf(WBTC.address, wallet)).toBeGreaterThan(wbtc)
    await setMarket(fixtures, { ethUsd: '3000' })
  })
})

describe.each(testStoreDrivers)('standing orders across replicas and restarts (%s)', (driver) => {
  const t = useTestStore(driver)
  const gateways: Gateway[] = []
  let wallet: Address
  let signer: Awaited<ReturnType<typeof createSigner>>

  const start = async () => {
    const store = gateways.length === 0 || driver === 'pglite' ? t.store : await t.openAnother()
    const gateway = createGateway({
      config: { rpc: { publicFallback: false }, orders: { enabled: false } },
      devnet: fixtures,
      writes: { store, signer, trackerIntervalMs: 50, maintainIntervalMs: 600_000 },
    })
    await gateway.ready
    gateways.push(gateway)
    return { gateway, operator: (await gateway.operator) as Operator }
  }

  beforeAll(async () => {
    signer = await createSigner({
      backend: 'devnet',
      accountIndex: driver === 'pglite' ? 3 : 4,
      chainId: fixtures.chainId,
    })
    wallet = signer.address
    await setMarket(fixtures, { ethUsd: '3000', btcUsd: '60000' })
    await fund(wallet, 10n ** 18n, 5_000_000n)
  })
  afterAll(async () => {
    for (const g of gateways) await g.close()
  })

  it('two replicas evaluating at once fire once; a kill switch engaged before a restart still holds after it', async () => {
    const a = await start()
    const b = await start()
    const created = await a.gateway.call(
      'create_standing_order',
      {
        chain: 'devnet',
        trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
        action: rebalance,
        budgetUsd: '100',
        guards: { cooldownSeconds: 0 },
      },
      ctx(),
    )
    const { orderId } = created.structuredContent as { orderId: string }
    const both = () => Promise.all([a.operator.orders.evaluate(), b.operator.orders.evaluate()])
    await both()
    const wethBefore = await balanceOf(WETH.address, wallet)
    await setMarket(fixtures, { ethUsd: '3018' })
    await both()
    await both()
    const store = createOrderStore(t.store)
    const fires = await store.fires(orderId, 10)
    expect(fires.map((f) => [f.seq, f.status])).toEqual([[1, 'done']])
    const swaps = await t.store.db
      .selectFrom('intents')
      .select(['status'])
      .where('operation', '=', 'swap')
      .where('origin', '=', 'order')
      .execute()
    expect(swaps).toEqual([{ status: 'mined' }])
    const sold = wethBefore - (await balanceOf(WETH.address, wallet))
    expect(sold).toBeGreaterThan(0n)

    // The kill switch, engaged and then both replicas gone: a new gateway on the store fires nothing.
    await a.operator.killSwitch.engage('orders test', 'test')
    for (const g of [a.gateway, b.gateway]) {
      gateways.splice(gateways.indexOf(g), 1)
      await g.close()
    }
    const c = await start()
    await setMarket(fixtures, { ethUsd: '3040' })
    await c.operator.orders.evaluate()
    expect((await store.get(orderId))!.fires).toBe(1)
    expect(await balanceOf(WETH.address, wallet)).toBe(wethBefore - sold)
    await c.operator.killSwitch.release('test')
    await c.operator.orders.evaluate()
    expect((await store.get(orderId))!.fires).toBe(2)
    await setMarket(fixtures, { ethUsd: '3000' })
  })
})
