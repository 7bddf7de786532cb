// Issue 14's figures: what x402 costs. (1) A paid tool call over the same call unpaid, with the devnet facilitator
// (verify before the tool, settle after it: one devnet transaction), the payer's payload made beforehand (its
// signing time reported apart); (2) fetch_with_payment buying from a local x402 server (the official @x402/hono
// middleware, settled by the same facilitator) end to end, against a free fetch of the same server. Everything runs
// on a devnet of its own, in this process, the MCP client through the real HTTP handler (no socket).
import type { PaymentPayload, PaymentRequired } from '@x402/core/types'
import { requestContext } from '../src/context/requestContext.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import { startDevnetFacilitator } from '../src/payments/devnetFacilitator.js'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { openStore } from '../src/store/openStore.js'
import { payerClient } from '../test/x402.js'
import { startShop } from '../test/x402Shop.js'
import { connectInProcess } from './connectInProcess.js'
import { interleave, summarize, time } from './stats.js'
import type { WriteBenchReport } from './writes.js'

const goalAddedMs = 25
const ms = (v: number) => `${v.toFixed(2)} ms`

/** Runs the payments figures; returns them for the results JSON (the table rows go through `report.row`). */
export async function benchPayments(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { log, quick, row } = report
  const rounds = quick ? 30 : 150
  log('(x) starting the payments devnet')
  const devnet = await startDevnet()
  const f = devnet.fixtures
  const closers: (() => Promise<unknown>)[] = [() => devnet.stop()]
  try {
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: f.chainId })
    const make = async (config: Record<string, unknown>, extra: Parameters<typeof createGateway>[0] = {}) => {
      const store = await openStore({ memory: true })
      const gateway = createGateway({
        config: { rpc: { publicFallback: false }, ...config },
        devnet: f,
        writes: { store, signer },
        ...extra,
      })
      await gateway.ready
      closers.unshift(async () => {
        await gateway.close()
        await store.close()
      })
      return gateway
    }
    const price = { tools: ['get_block'], amount: '0.001', asset: 'USDC', network: 'devnet' }
    const paidGateway = await make({ payments: { prices: [price] } })
    const freeGateway = await make({})
    const paidClient = await connectInProcess(paidGateway, 'paid')
    const freeClient = await connectInProcess(freeGateway, 'free')
    closers.unshift(paidClient.close, freeClient.close)

    // (1) paid vs unpaid get_block. Payloads are signed beforehand, one per call (each settles once).
    const payer = payerClient(2)
    const required = (
      await paidGateway.call('get_block', { chain: 'devnet' }, requestContext({ transport: 'memory' }))
    ).structuredContent as unknown as PaymentRequired
    const signing: number[] = []
    const payloads: PaymentPayload[] = []
    for (let i = 0; i < rounds + 5; i++) {
      let p: PaymentPayload | undefined
      signing.push(await time(async () => (p = await payer.createPaymentPayload(required))))
      payloads.push(p!)
    }
    log(`(x) ${rounds} paid get_block calls against as many free ones`)
    let failed = 0
    const { a: paid, b: free } = await interleave(
      rounds,
      5,
      async () => {
        const r = (await paidClient.client.callTool({
          name: 'get_block',
          arguments: { chain: 'devnet' },
          _meta: { 'x402/payment': payloads.pop()! },
        })) as { isError?: boolean }
        if (r.isError) failed++
      },
      () => freeClient.client.callTool({ name: 'get_block', arguments: { chain: 'devnet' } }),
    )
    const p = summarize(paid)
    const u = summarize(free)
    const added = p.median - u.median
    const sign = summarize(signing)
    row(
      '(x) paid tool call over the same call unpaid (devnet facilitator), median added (p95 paid / unpaid)',
      `${ms(added)} (${ms(p.p95)} / ${ms(u.p95)})${failed ? `, ${failed} failed` : ''}`,
      `≤ ${goalAddedMs} ms`,
      added <= goalAddedMs && failed === 0,
    )
    row(
      '(x) the payer signing its payload (client side, not in the above)',
      `${ms(sign.median)} median`,
      'report',
      null,
    )

    // (2) fetch_with_payment from a local x402 server.
    const facilitator = await startDevnetFacilitator(f)
    closers.unshift(() => facilitator.close())
    const shop = await startShop({
      facilitatorUrl: facilitator.url,
      network: `eip155:${f.chainId}`,
      usdc: f.tokens.USDC.address,
      payee: f.accounts[6]!,
      otherPayee: f.accounts[7]!,
    })
    closers.unshift(() => shop.close())
    const policy = {
      version: 1,
      rules: [
        {
          id: 'shop',
          effect: 'allow',
          match: { operation: ['pay'], chain: ['devnet'], host: ['shop.test'], amount: { lte: '0.1' } },
        },
      ],
    }
    const buyer: Gateway = await make({ policy }, { paymentFetcher: shop.fetcher })
    const buyerClient = await connectInProcess(buyer, 'buyer')
    closers.unshift(buyerClient.close)
    const base = `https://shop.test:${shop.port}`
    const fetchRounds = quick ? 20 : 100
    log(`(x) ${fetchRounds} fetch_with_payment purchases against as many free fetches`)
    let unpaid = 0
    const { a: bought, b: fetched } = await interleave(
      fetchRounds,
      3,
      async () => {
        const r = (await buyerClient.client.callTool({
          name: 'fetch_with_payment',
          arguments: { url: `${base}/report`, chain: 'devnet', maxAmount: '0.06' },
        })) as { structuredContent?: { paid?: boolean } }
        if (r.structuredContent?.paid !== true) unpaid++
      },
      () =>
        buyerClient.client.callTool({
          name: 'fetch_with_payment',
          arguments: { url: `${base}/free`, chain: 'devnet', maxAmount: '0.06' },
        }),
    )
    const b = summarize(bought)
    const fr = summarize(fetched)
    row(
      '(x) fetch_with_payment from a local x402 server, end to end, median (p95); a free fetch of it',
      `${ms(b.median)} (${ms(b.p95)}); free ${ms(fr.median)}${unpaid ? `; ${unpaid} not paid` : ''}`,
      'report',
      unpaid === 0 ? null : false,
    )
    return {
      paidCall: { paid: p, unpaid: u, addedMedianMs: added, failed, payerSigning: sign, goalMs: goalAddedMs },
      fetchWithPayment: { paid: b, free: fr, notPaid: unpaid },
    }
  } finally {
    for (const close of closers) await close().catch(() => {})
  }
}
