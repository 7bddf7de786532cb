import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'

// Denials explain themselves (issue: what a new user tripped on): a write over a per-transfer cap names the
// nearest rule, the cap and what is left; get_limits lists per-write caps beside the windows; simulate shows
// amounts in display units. Through a real MCP client on the devnet, with the outcome checked on chain.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const [, alice] = fixtures.accounts as [`0x${string}`, `0x${string}`]
const policy = {
  version: 1,
  rules: [
    {
      id: 'small-usdc',
      effect: 'allow',
      match: { operation: ['transfer'], chain: ['devnet'], token: [usdc], amount: { lte: '100' } },
      limits: [{ id: 'small-daily', metric: 'outflow', token: usdc, window: '24h', max: '250' }],
    },
  ],
}
let signer: Signer
let store: Store
let g: Awaited<ReturnType<typeof connectInMemory>>

beforeAll(async () => {
  signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  store = await openMemoryStore()
  g = await connectInMemory({
    config: { policy, rpc: { publicFallback: false } },
    devnet: fixtures,
    writes: { store, signer, trackerIntervalMs: 100, maintainIntervalMs: 100 },
  })
  await g.gateway.ready
})
afterAll(async () => {
  await g?.close()
  await store?.close()
})

const nonceNow = () => viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })
const transfer = (amount: string, wait = false) =>
  g.call('transfer', { chain: 'devnet', to: alice, amount, token: usdc, ...(wait ? { wait } : {}) })

describe('a denial says which rule and cap, and what is left', () => {
  it('over the per-transfer cap: POLICY_DENIED names the rule, the cap, the match field and the budget left', async () => {
    const before = await nonceNow()
    const over = err(await transfer('150'))
    expect(over.code).toBe('POLICY_DENIED')
    expect(over.message).toContain(
      "the nearest allow rule is small-usdc: amount 150 is above rule small-usdc's cap of 100 (match.amount.lte)",
    )
    expect(over.message).toContain(
      `Left under rule small-usdc: 250 of 250 (limit small-daily on token ${usdc}, 24h)`,
    )
    expect(await nonceNow()).toBe(before)

    // After 200 is spent, the same denial says 50 is left; over the window it is LIMIT_EXCEEDED with the rule.
    expect(ok(await transfer('100', true)).status).toBe('mined')
    expect(ok(await transfer('100', true)).status).toBe('mined')
    expect(err(await transfer('150')).message).toContain('Left under rule small-usdc: 50 of 250')
    const window = err(await transfer('60'))
    expect(window.code).toBe('LIMIT_EXCEEDED')
    expect(window.message).toMatch(
      /needs 60 of limit "small-daily" \(rule small-usdc\), which has 50 left of 250/,
    )
    expect(await nonceNow()).toBe(before + 2)
  })

  it('get_limits lists the per-transfer cap beside the windowed budget', async () => {
    const limits = ok(await g.call('get_limits', { chain: 'devnet' }))
    expect(limits.limits).toEqual([
      expect.objectContaining({
        limit: 'small-daily',
        rule: 'small-usdc',
        max: '250',
        remaining: '50',
        assetId: `eip155:${fixtures.chainId}/erc20:${usdc.toLowerCase()}`,
      }),
    ])
    expect(limits.perWrite).toEqual([
      {
        rule: 'small-usdc',
        operations: ['transfer'],
        field: 'match.amount',
        tokens: [usdc],
        bounds: { lte: '100' },
        limits: ['small-daily'],
        description: `amount ≤ 100 per transfer of token ${usdc} (rule small-usdc)`,
      },
    ])
  })

  it('simulate shows amounts in display units, and says when a token has no usable decimals', async () => {
    const preview = ok(
      await g.call('simulate', {
        tool: 'transfer',
        arguments: { chain: 'devnet', to: alice, amount: '20.5', token: usdc },
      }),
    )
    expect(preview.effects.deltas).toEqual([
      {
        kind: 'erc20',
        token: usdc,
        assetId: `eip155:${fixtures.chainId}/erc20:${usdc.toLowerCase()}`,
        amount: {
          raw: '-20500000',
          formatted: '-20.5',
          decimals: 6,
          symbol: { value: 'USDC', untrusted: true, sanitized: false, truncated: false },
        },
      },
    ])
    const rdec = fixtures.adversarial.revertingDecimals
    const opaque = ok(
      await g.call('simulate', {
        tool: 'write_contract',
        arguments: {
          chain: 'devnet',
          address: rdec,
          function: 'transfer(address to, uint256 amount) returns (bool)',
          args: [alice, '1000'],
        },
      }),
    )
    expect(opaque.effects.deltas).toEqual([
      {
        kind: 'erc20',
        token: rdec,
        assetId: `eip155:${fixtures.chainId}/erc20:${rdec.toLowerCase()}`,
        amount: { raw: '-1000', note: expect.stringMatching(/no usable decimals\(\): raw base units only/) },
      },
    ])
  })
})
