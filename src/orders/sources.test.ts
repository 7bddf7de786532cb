import { createPublicClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import type { ChainContext } from '../chains/chains.js'
import { devnetChain } from '../devnet/devnetChain.js'
import { jsonRpc } from '../devnet/jsonRpc.js'
import { setMarket } from '../devnet/market.js'
import { startDevnet } from '../devnet/startDevnet.js'
import { devnetCatalog, latestBlock, type OrderCatalog, type PriceSource, readPairs } from './sources.js'

type PoolSource = Extract<PriceSource, { kind: 'pool' }>

import { wad } from './spec.js'

const fixtures = useDevnet({ isolate: true })
const chain = {
  client: createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) }),
} as unknown as ChainContext
const catalog = devnetCatalog(fixtures)!
/** |a/b − 1| in basis points. */
const bpsOff = (a: bigint, b: bigint) => Number(((a > b ? a - b : b - a) * 10_000_000n) / b) / 1000

describe('price sources', () => {
  it('reads every pair of the devnet catalog in one call: feeds (and their ratio) and pools agree', async () => {
    await setMarket(fixtures, { ethUsd: '3018', btcUsd: '60000' })
    const block = await latestBlock(chain)
    const read = await readPairs(chain, catalog, ['ETH/USD', 'BTC/USD', 'ETH/BTC'], block)
    const [feed, pool] = read.get('ETH/BTC')!
    // The feed ratio is exact: 3018 / 60000 = 0.0503.
    expect(feed).toMatchObject({ name: 'feeds ETH/USD ÷ BTC/USD', value: (503n * wad) / 10_000n })
    expect(pool!.name).toBe('pool WETH/WBTC')
    expect(bpsOff(pool!.value, feed!.value)).toBeLessThan(1)
    expect(pool!.updatedAt).toBe(block.time)
    expect(read.get('ETH/USD')![0]!.value).toBe(3018n * wad)
    expect(bpsOff(read.get('ETH/USD')![1]!.value, 3018n * wad)).toBeLessThan(1)
    expect(bpsOff(read.get('BTC/USD')![1]!.value, 60_000n * wad)).toBeLessThan(1)
  })

  it("a pool's time-weighted price lags a move; an unknown pool leaves its pair without sources", async () => {
    // A devnet of its own: its clock is moved forward, which a snapshot's revert would not take back.
    const own = await startDevnet()
    try {
      const f = own.fixtures
      const local = {
        client: createPublicClient({ chain: devnetChain(f), transport: http(f.rpcUrl) }),
      } as unknown as ChainContext
      const base = devnetCatalog(f)!
      const twap: OrderCatalog = {
        ...base,
        pairs: {
          'ETH/BTC': base.pairs['ETH/BTC']!.map((s) => (s.kind === 'pool' ? { ...s, twapSeconds: 100 } : s)),
          'BAD/USD': [
            { kind: 'feed', name: 'feed ETH/USD', feed: f.feeds['ETH/USD'] },
            { ...(base.pairs['ETH/USD']![1] as PoolSource), pool: f.accounts[9]! },
          ],
        },
      }
      await setMarket(f, { ethUsd: '3000', btcUsd: '60000' })
      await jsonRpc(f.rpcUrl, [{ method: 'evm_increaseTime', params: [120] }, { method: 'evm_mine' }])
      await setMarket(f, { ethUsd: '3018' })
      await jsonRpc(f.rpcUrl, [{ method: 'evm_increaseTime', params: [60] }, { method: 'evm_mine' }])
      const block = await latestBlock(local)
      const read = await readPairs(local, twap, ['ETH/BTC', 'BAD/USD'], block)
      const [feed, pool] = read.get('ETH/BTC')!
      // Over the last 100 s the pool was at 0.05 for about 40 s and at 0.0503 for about 60 s.
      expect(feed!.value).toBe((503n * wad) / 10_000n)
      expect(pool!.value).toBeGreaterThan((5005n * wad) / 100_000n)
      expect(pool!.value).toBeLessThan((5028n * wad) / 100_000n)
      expect(read.get('BAD/USD')).toBeUndefined()
      expect(read.has('BAD/USD')).toBe(true)
    } finally {
      await own.stop()
    }
  })
})
