import { requestContext } from '../src/context/requestContext.js'
import { fundAccount, setMarket } from '../src/devnet/market.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import { evaluateOrder, utcDay } from '../src/orders/evaluate.js'
import { createOrderStore } from '../src/orders/orderStore.js'
import { createGateway, type Operator } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { openStore } from '../src/store/openStore.js'
import { summarize, time } from './stats.js'
import type { WriteBenchReport } from './writes.js'

const goalEvaluationMs = 100
const ms = (v: number) => `${v.toFixed(1)} ms`

/** Runs the standing-order figures; returns them for the results JSON (table rows through `report.row`). */
export async function benchOrders(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { log, quick, row } = report
  log('(o) starting the orders devnet')
  const devnet = await startDevnet()
  const f = devnet.fixtures
  const store = await openStore({ memory: true })
  const signer = await createSigner({ backend: 'devnet', accountIndex: 5, chainId: f.chainId })
  const gateway = createGateway({
    config: { rpc: { publicFallback: false }, orders: { enabled: false } },
    devnet: f,
    writes: { store, signer },
  })
  try {
    await gateway.ready
    const operator = (await gateway.operator) as Operator
    await fundAccount(f, signer.address, { weth: 10n ** 18n, wbtc: 5_000_000n }) // 50/50 at 3,000 / 60,000
    const ctx = requestContext({ transport: 'memory' })
    const created = await gateway.call(
      'create_standing_order',
      {
        chain: 'devnet',
        trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
        action: {
          kind: 'rebalance',
          weights: [
            { token: 'WETH', percent: '50' },
            { token: 'WBTC', percent: '50' },
          ],
        },
        budgetUsd: '2000',
        guards: { cooldownSeconds: 0, maxFiresPerDay: 96 },
      },
      ctx,
    )
    if (created.isError) throw new Error(`create_standing_order: ${created.content[0]?.text}`)
    const { orderId } = created.structuredContent as { orderId: string }
    await operator.orders.evaluate() // takes the reference price

    // (2) price move → rebalance mined, alternately up and down 0.6 % (each a move from the re-based reference).
    const rounds = quick ? 6 : 20
    log(`(o) ${rounds} price moves of 0.6 %, each rebalanced`)
    const latencies: number[] = []
    let eth = 3000
    const orders = createOrderStore(store)
    for (let i = 0; i < rounds; i++) {
      eth = i % 2 === 0 ? eth * 1.006 : eth / 1.006
      await setMarket(f, { ethUsd: eth.toFixed(2) })
      const before = (await orders.get(orderId))!.fires
      latencies.push(await time(() => operator.orders.evaluate()))
      const after = await orders.get(orderId)
      const [fire] = await orders.fires(orderId, 1)
      if (after!.fires !== before + 1 || fire?.status !== 'done')
        throw new Error(
          `round ${i}: the move did not fire a rebalance (${fire?.status} ${fire?.error ?? ''})`,
        )
    }
    const move = summarize(latencies)
    row(
      '(o) price move on the devnet → rebalance mined (evaluate, fire, approve + swap through the pipeline), median (p95)',
      `${ms(move.median)} (${ms(move.p95)}), plus up to one evaluation interval (2 s default)`,
      'report',
      null,
    )

    // (1) 10,000 active orders, all referenced, evaluated at one block with nothing to fire.
    const count = 10_000
    const template = (await orders.get(orderId))!
    await gateway.call('cancel_standing_order', { orderId }, ctx)
    log(`(o) inserting ${count} orders`)
    for (let i = 0; i < count; i += 1000) {
      await store.db
        .insertInto('standing_orders')
        .values(
          Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({
            id: `ord_bench${i + j}`,
            owner: template.owner,
            caller: JSON.stringify(template.caller),
            chain_id: template.spec.chainId,
            spec: JSON.stringify(template.spec),
            state: JSON.stringify({ ...template.state, armed: true }),
            budget: template.budget.toString(),
            intent_id: template.intentId,
            expires_at: template.expiresAt,
          })),
        )
        .execute()
    }
    const passes: number[] = []
    for (let i = 0; i < (quick ? 5 : 15); i++) passes.push(await time(() => operator.orders.evaluate()))
    const fired = (await orders.list({ status: 'active', limit: count })).reduce((n, o) => n + o.fires, 0)
    const pass = summarize(passes.slice(2))
    // The pure part: each order's evaluation at one observation, no I/O.
    const active = await orders.active()
    const now = Math.floor(Date.now() / 1000)
    const obs = {
      blockNumber: 1n,
      time: now,
      day: utcDay(now),
      sources: [
        {
          name: 'a',
          value: BigInt(template.state.reference ?? '50000000000000000'),
          updatedAt: Math.floor(Date.now() / 1000),
        },
        {
          name: 'b',
          value: BigInt(template.state.reference ?? '50000000000000000'),
          updatedAt: Math.floor(Date.now() / 1000),
        },
      ],
    }
    const pure = summarize(
      await Promise.all(
        Array.from({ length: 10 }, async () =>
          time(async () => {
            for (const o of active)
              evaluateOrder(o.spec.trigger, o.spec.guards, o.state, o.spec.expiresAt, obs)
          }),
        ),
      ),
    )
    row(
      `(o) ${count.toLocaleString('en')} active orders evaluated at one block (store read, one multicall, evaluation), median (p95)`,
      `${ms(pass.median)} (${ms(pass.p95)})${fired ? `, ${fired} fired` : ''}`,
      `≤ ${goalEvaluationMs} ms`,
      pass.median <= goalEvaluationMs && fired === 0,
    )
    row(
      `(o) … of which the evaluation itself (pure, ${count.toLocaleString('en')} orders)`,
      ms(pure.median),
      'report',
      null,
    )
    return {
      move_to_mined_ms: move,
      evaluation_10k_ms: pass,
      evaluation_10k_pure_ms: pure,
    }
  } finally {
    await gateway.close()
    await store.close()
    await devnet.stop()
  }
}
