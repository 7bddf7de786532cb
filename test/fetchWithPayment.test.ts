import { createPublicClient, erc20Abi, formatUnits, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestContext } from '../src/context/requestContext.js'
import { type DevnetFacilitator, startDevnetFacilitator } from '../src/payments/devnetFacilitator.js'
import { createGateway, type Gateway, type Operator } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { openMemoryStore, testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { err, ok } from './mcp.js'
import { type Shop, startShop } from './x402Shop.js'

// DESIGN §9, ADVERSARIAL 58: the agent buys from an x402 server (the official @x402/hono middleware, settled by the
// official facilitator on the devnet); every payment is a `pay` intent through policy, limits, approval and audit.
// Each refusal is checked on chain: the gateway wallet's USDC did not move and the shop was not paid.
const fixtures = useDevnet({ isolate: true })
const [wallet, , , , , , seller, stranger] = fixtures.accounts as `0x${string}`[]
const usdc = fixtures.tokens.USDC.address
const viem = createPublicClient({ transport: http(fixtures.rpcUrl) })
const usdcOf = (address: `0x${string}`) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] })

const policy = {
  version: 1,
  rules: [
    {
      id: 'hold-pricey',
      effect: 'require_approval',
      match: { operation: ['pay'], host: ['shop.test'], amount: { gt: '0.08', lte: '0.1' } },
    },
    {
      id: 'shop',
      effect: 'allow',
      match: {
        operation: ['pay'],
        chain: ['devnet'],
        host: ['shop.test'],
        to: [seller!],
        token: [usdc],
        amount: { lte: '0.1' },
      },
      limits: [{ id: 'daily', metric: 'outflow', token: usdc, window: '24h', max: '0.2' }],
    },
  ],
}

describe.each(testStoreDrivers)('fetch_with_payment (%s)', (driver) => {
  const t = useTestStore(driver)
  let facilitator: DevnetFacilitator
  let shop: Shop
  let gateway: Gateway
  let operator: Operator
  const url = (path: string, host = 'shop.test') => `https://${host}:${shop.port}${path}`
  const call = (args: Record<string, unknown>, ctx = requestContext({ transport: 'memory' })) =>
    gateway.call('fetch_with_payment', { chain: 'devnet', maxAmount: '1', ...args }, ctx)

  beforeAll(async () => {
    facilitator = await startDevnetFacilitator(fixtures)
    shop = await startShop({
      facilitatorUrl: facilitator.url,
      network: `eip155:${fixtures.chainId}`,
      usdc,
      payee: seller!,
      otherPayee: stranger!,
    })
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
    gateway = createGateway({
      config: { policy, rpc: { publicFallback: false } },
      devnet: fixtures,
      paymentFetcher: shop.fetcher,
      writes: { store: t.store, signer, trackerIntervalMs: 100, maintainIntervalMs: 60_000 },
    })
    await gateway.ready
    operator = (await gateway.operator) as Operator
  })
  afterAll(async () => {
    await gateway?.close()
    await shop?.close()
    await facilitator?.close()
  })

  it('buys within policy: the shop is paid on chain, the response comes back as untrusted data', async () => {
    const [walletBefore, sellerBefore] = await Promise.all([usdcOf(wallet!), usdcOf(seller!)])
    const bought = ok(await call({ url: url('/report'), maxAmount: '0.06', idempotencyKey: 'report-1' }))
    expect(bought.paid).toBe(true)
    expect(bought.intent).toMatchObject({ operation: 'pay', status: 'completed', chain: 'devnet' })
    expect(bought.intent.summary).toMatch(
      /^Pay 0\.05 of token "USDC".* for https:\/\/shop\.test:\d+\/report \(x402\)\.$/,
    )
    expect(bought.paymentReceipt).toMatchObject({ success: true, network: `eip155:${fixtures.chainId}` })
    expect(bought.response).toMatchObject({ status: 200, contentType: 'application/json' })
    expect(bought.response.body).toMatchObject({ untrusted: true, value: { eth: 3000 } })
    // On chain: exactly the price went from the gateway wallet to the shop, in the receipt's transaction.
    expect(await usdcOf(wallet!)).toBe(walletBefore - 50_000n)
    expect(await usdcOf(seller!)).toBe(sellerBefore + 50_000n)
    const mined = await viem.getTransactionReceipt({ hash: bought.paymentReceipt.transaction })
    expect(mined.status).toBe('success')
    // The same idempotency key answers with the same intent and pays nothing more.
    const again = ok(await call({ url: url('/report'), maxAmount: '0.06', idempotencyKey: 'report-1' }))
    expect(again.intent.intentId).toBe(bought.intent.intentId)
    expect(await usdcOf(wallet!)).toBe(walletBefore - 50_000n)
    // The audit has the decision and the completed payment.
    await operator.audit.flush()
    const entries = await operator.audit.read({ limit: 200 })
    expect(JSON.stringify(entries)).toContain(bought.intent.intentId)
  })

  it('returns a resource that asks for no payment without paying', async () => {
    const before = await usdcOf(wallet!)
    const free = ok(await call({ url: url('/free') }))
    expect(free).toMatchObject({ paid: false, response: { status: 200, body: { value: { free: true } } } })
    expect(free.intent).toBeUndefined()
    expect(await usdcOf(wallet!)).toBe(before)
  })

  it('does not follow a redirect: the agent gets the 3xx, and a payment is only ever sent to the host checked', async () => {
    const before = await usdcOf(wallet!)
    const reports = shop.hits.get('/report') ?? 0
    const moved = ok(await call({ url: url('/moved') }))
    expect(moved).toMatchObject({ paid: false, response: { status: 302 } })
    expect(shop.hits.get('/report') ?? 0).toBe(reports)
    expect(await usdcOf(wallet!)).toBe(before)
  })

  describe('ADVERSARIAL 58: refused, and nothing is paid', () => {
    const refusals: [string, () => Record<string, unknown>, string, RegExp][] = [
      [
        'a 402 asking more than the maximum',
        () => ({ url: url('/report'), maxAmount: '0.01' }),
        'PAYMENT_REQUIRED',
        /more than your maximum/,
      ],
      ['more than the policy allows', () => ({ url: url('/expensive') }), 'POLICY_DENIED', /shop/],
      ['a payee the policy does not allow', () => ({ url: url('/elsewhere') }), 'POLICY_DENIED', /payee/],
      [
        'a host no rule lets the gateway pay (refused before any request)',
        () => ({ url: url('/report', 'evil.test') }),
        'POLICY_DENIED',
        /No policy rule lets the gateway pay "evil\.test" on devnet: nothing was requested/,
      ],
      [
        'a GET with a body',
        () => ({ url: url('/report'), method: 'GET', body: '{}' }),
        'INVALID_INPUT',
        /A GET request takes no body/,
      ],
      [
        'a malformed PAYMENT-REQUIRED header',
        () => ({ url: url('/malformed') }),
        'PAYMENT_REQUIRED',
        /malformed/,
      ],
      [
        'an asset the gateway does not know',
        () => ({ url: url('/report'), asset: 'NOPE' }),
        'TOKEN_NOT_SUPPORTED',
        /NOPE/,
      ],
    ]
    it.each(refusals)('%s', async (_name, args, code, message) => {
      const before = await usdcOf(wallet!)
      const paidBefore = await usdcOf(seller!)
      const hits = [...shop.hits.values()].reduce((a, b) => a + b, 0)
      const e = err(await call(args()))
      expect(e.code).toBe(code)
      expect(e.message).toMatch(message)
      expect(await usdcOf(wallet!)).toBe(before)
      expect(await usdcOf(seller!)).toBe(paidBefore)
      // A host no rule allows is never asked at all.
      if (/nothing was requested/.test(e.message))
        expect([...shop.hits.values()].reduce((a, b) => a + b, 0)).toBe(hits)
    })

    it('a private address, with the production fetcher: the SSRF guard refuses before any request', async () => {
      const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
      // Paying any host is allowed here, so only the SSRF guard stands in the way.
      const anyHost = {
        version: 1,
        rules: [{ id: 'any-host', effect: 'allow', match: { operation: ['pay'], chain: ['devnet'] } }],
      }
      const plain = createGateway({
        config: { policy: anyHost, rpc: { publicFallback: false } },
        devnet: fixtures,
        writes: { store: t.store, signer },
      })
      try {
        const hits = shop.hits.get('/report') ?? 0
        const e = err(
          await plain.call(
            'fetch_with_payment',
            { chain: 'devnet', maxAmount: '1', url: `https://127.0.0.1:${shop.port}/report` },
            requestContext({ transport: 'memory' }),
          ),
        )
        expect(e.code).toBe('UNTRUSTED_FETCH_BLOCKED')
        expect(shop.hits.get('/report') ?? 0).toBe(hits)
      } finally {
        await plain.close()
      }
    })

    it("a payee outside the agent's grant", async () => {
      const before = await usdcOf(wallet!)
      const agent = {
        kind: 'agent' as const,
        id: 'did:key:z6MkShopperAgent',
        grant: {
          tools: ['fetch_with_payment'],
          chains: [`eip155:${fixtures.chainId}`],
          payees: [stranger!.toLowerCase()],
          budget: { currency: 'USD' as const, max: '10', windowSeconds: 86_400 },
          amountRange: { currency: 'USD' as const, min: '0', max: '1' },
          expiry: Math.floor(Date.now() / 1000) + 3600,
          hash: `0x${'22'.repeat(32)}`,
        },
      }
      const e = err(
        await call({ url: url('/report') }, requestContext({ transport: 'memory', caller: agent })),
      )
      expect(e.code).toBe('POLICY_DENIED')
      expect(await usdcOf(wallet!)).toBe(before)
    })
  })

  it('a payment above the threshold waits for a human, and is paid once approved', async () => {
    const before = await usdcOf(seller!)
    const held = ok(await call({ url: url('/pricey') }))
    expect(held.paid).toBe(false)
    expect(held.intent).toMatchObject({ status: 'held', operation: 'pay' })
    expect(held.intent.approval.reasons.join(' ')).toMatch(/hold-pricey/)
    expect(await usdcOf(seller!)).toBe(before)
    await operator.approvals.decide(held.intent.intentId, 'approved', 'test', {
      expectHash: held.intent.approval.intentHash,
    })
    await operator.maintain()
    const done = ok(
      await gateway.call(
        'get_intent',
        { intentId: held.intent.intentId },
        requestContext({ transport: 'memory' }),
      ),
    )
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'completed', operation: 'pay' })
    expect(done.details.delivered).toBe(true)
    expect(await usdcOf(seller!)).toBe(before + 90_000n)
  })

  it('the daily limit holds to the base unit: four 0.05 purchases fill 0.2, the fifth is refused', async () => {
    // One 0.05 purchase so far counts under `shop/daily`; the approved 0.09 does not (a human decided it, as for
    // every held write, only the agent's grant budget applies to it).
    const before = await usdcOf(wallet!)
    for (let i = 0; i < 3; i++) expect(ok(await call({ url: url('/report') })).paid).toBe(true)
    const e = err(await call({ url: url('/report') }))
    expect(e.code).toBe('LIMIT_EXCEEDED')
    expect(await usdcOf(wallet!)).toBe(before - 150_000n)
  })

  it('a server that takes the authorization and then fails: nothing moved, but the amount stays counted', async () => {
    // A gateway on a store of its own, so this file's daily limit does not decide it.
    const store = await openMemoryStore()
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
    const fresh = createGateway({
      config: { policy, rpc: { publicFallback: false } },
      devnet: fixtures,
      paymentFetcher: shop.fetcher,
      writes: { store, signer },
    })
    try {
      const before = await usdcOf(wallet!)
      const ctx = requestContext({ transport: 'memory' })
      const broken = ok(
        await fresh.call('fetch_with_payment', { url: url('/broken'), chain: 'devnet', maxAmount: '1' }, ctx),
      )
      expect(broken).toMatchObject({
        paid: false,
        response: { status: 500 },
        intent: { status: 'completed', details: { delivered: false, status: 500 } },
      })
      expect(await usdcOf(wallet!)).toBe(before)
      // The server holds a signed authorization until it expires: the daily limit counts it as spent.
      const limits = ok(await fresh.call('get_limits', { chain: 'devnet' }, ctx))
      expect(limits.limits).toContainEqual(
        expect.objectContaining({ rule: 'shop', limit: 'daily', used: '0.05' }),
      )
      const events = await store.db
        .selectFrom('intent_events')
        .selectAll()
        .where('intent_id', '=', broken.intent.intentId)
        .orderBy('seq')
        .execute()
      expect(events.map((e) => `${e.from_status ?? ''}→${e.to_status}`)).toEqual([
        '→created',
        'created→completed',
        'completed→completed',
      ])
    } finally {
      await fresh.close()
      await store.close()
    }
  })

  it('reports what was spent, per agent, host and payee', async () => {
    const pays = await t.store.db
      .selectFrom('intents')
      .select('tx')
      .where('operation', '=', 'pay')
      .where('status', '=', 'completed')
      .execute()
    const total = pays.reduce(
      (sum, p) => sum + BigInt((p.tx as { details: { amount: { raw: string } } }).details.amount.raw),
      0n,
    )
    // Every completed purchase of this file: /report and /pricey, all paid from the gateway wallet to the shop.
    expect(pays.length).toBeGreaterThan(0)
    const { spending } = await operator.payments.report({ days: 1 })
    const amounts = [
      {
        network: `eip155:${fixtures.chainId}`,
        asset: usdc.toLowerCase(),
        raw: total.toString(),
        formatted: formatUnits(total, 6),
      },
    ]
    const count = pays.length
    expect(spending.total).toEqual({ key: 'total', count, amounts })
    expect(spending.byHost).toEqual([{ key: 'shop.test', count, amounts }])
    expect(spending.byPayee).toEqual([{ key: seller!.toLowerCase(), count, amounts }])
    expect(spending.byAgent).toEqual([{ key: 'operator:local', count, amounts }])
  })
})
