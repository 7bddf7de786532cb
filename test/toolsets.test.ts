import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { toolsets } from '../src/tools/toolsets.js'
import { useDevnet } from './devnet.js'
import { type Connected, connectLegacyInMemory, connectModern, ok } from './mcp.js'

// An operator serves only some toolsets (config `tools`, `--tools`): tools/list shows only theirs, and a tool left
// out is unknown to tools/call, for clients of both protocol eras.
const fixtures = useDevnet()
let gateway: Gateway
const clients: [string, Connected][] = []

beforeAll(async () => {
  gateway = createGateway({
    config: { tools: ['read'], rpc: { publicFallback: false } },
    devnet: fixtures,
    env: { AIRLOCK_RPC_BASE: 'http://127.0.0.1:1' },
  })
  clients.push(['2026-07-28 client', await connectModern(gateway)])
  clients.push(['2025-11-25 client', await connectLegacyInMemory(gateway)])
})
afterAll(async () => {
  for (const [, c] of clients) await c.close()
  await gateway.close()
})

describe('a gateway serving only the read toolset', () => {
  it('lists only the read tools, in order, within the 10 KiB read budget', async () => {
    for (const [label, c] of clients) {
      const { tools } = await c.client.listTools()
      expect(
        tools.map((t) => t.name),
        label,
      ).toEqual(toolsets.read)
      expect(Buffer.byteLength(JSON.stringify(tools)), label).toBeLessThanOrEqual(10 * 1024)
    }
  })

  it('answers a read tool and refuses a write tool by name as unknown', async () => {
    for (const [label, c] of clients) {
      expect(
        ok(await c.call('get_balance', { chain: 'devnet', address: fixtures.accounts[1] })),
        label,
      ).toMatchObject({
        chain: 'devnet',
      })
      await expect(
        c.call('transfer', { chain: 'devnet', to: fixtures.accounts[1], amount: '1' }),
        label,
      ).rejects.toThrow(/Unknown tool "transfer"/)
    }
  })

  it('pins only the tools it serves in the manifest', () => {
    expect(gateway.manifest.tools.map((t) => t.name).sort()).toEqual([...toolsets.read].sort())
  })
})

describe('toolsets and the pinned tool manifest', () => {
  it('turning a toolset off and on again on one store does not engage the kill switch', async () => {
    const { openMemoryStore } = await import('../src/store/useTestStore.js')
    const { createSigner } = await import('../src/signer/signer.js')
    const store = await openMemoryStore()
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
    try {
      for (const tools of [['read'], ['read', 'write'], ['read']] as const) {
        const g = createGateway({
          config: { tools: [...tools], rpc: { publicFallback: false } },
          devnet: fixtures,
          writes: { store, signer },
        })
        await g.ready
        const state = await (await g.operator)!.killSwitch.state()
        await g.close()
        expect([tools.join('+'), state.engaged]).toEqual([tools.join('+'), false])
      }
    } finally {
      await store.close()
    }
  })
})
