import { type Address, createPublicClient, http, parseAbi } from 'viem'
import { describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'
import {
  type DevnetPool,
  devnetPoolQuotes,
  readFeedPrice,
  readPoolPrice,
  setFeedPrice,
  setMarket,
  setPoolPrice,
} from './market.js'
import { startDevnet } from './startDevnet.js'

const fx: DevnetFixtures = useDevnet({ isolate: true })
const client = createPublicClient({ transport: http(fx.rpcUrl) })

const feedAbi = parseAbi([
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
])
const poolAbi = parseAbi([
  'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked)',
  'function token0() view returns (address)',
  'function observe(uint32[] secondsAgos) view returns (int56[] tickCumulatives, uint160[] secondsPerLiquidityCumulativeX128s)',
])

const latestAnswer = async (feed: 'ETH/USD' | 'BTC/USD') =>
  (
    await client.readContract({
      address: fx.feeds[feed].address,
      abi: feedAbi,
      functionName: 'latestRoundData',
    })
  )[1]

/** The pool's spot price from slot0, quote per base, computed here independently of market.ts (floats suffice). */
async function spot(pool: DevnetPool): Promise<number> {
  const address = fx.uniswapV3.pools[pool]
  const [[sqrtPriceX96], token0] = await Promise.all([
    client.readContract({ address, abi: poolAbi, functionName: 'slot0' }),
    client.readContract({ address, abi: poolAbi, functionName: 'token0' }),
  ])
  const base = fx.tokens[devnetPoolQuotes[pool].base]
  const quote = fx.tokens[devnetPoolQuotes[pool].quote]
  const [t0, t1] = token0 === base.address ? [base, quote] : [quote, base]
  const oneInZero = (Number(sqrtPriceX96) / 2 ** 96) ** 2 * 10 ** (t0.decimals - t1.decimals)
  return token0 === base.address ? oneInZero : 1 / oneInZero
}

const expectNear = (actual: number, expected: number, tolerance = 0.001) =>
  expect(Math.abs(actual / expected - 1), `${actual} vs ${expected}`).toBeLessThan(tolerance)

describe('setFeedPrice', () => {
  it('updates a feed to the exact decimal price, in a new round, once mined', async () => {
    const moved = await setFeedPrice(fx, 'ETH/USD', '3018.25')
    expect(moved).toMatchObject({ feed: 'ETH/USD', previous: '3000', price: '3018.25' })
    expect(await latestAnswer('ETH/USD')).toBe(301_825_000_000n)
    expect((await client.getTransactionReceipt({ hash: moved.hash })).status).toBe('success')
    await setFeedPrice(fx, 'BTC/USD', '61234.12345678')
    expect(await latestAnswer('BTC/USD')).toBe(6_123_412_345_678n)
    expect(await readFeedPrice(fx, 'BTC/USD')).toBe('61234.12345678')
  })

  it('refuses prices that are not positive decimals or need more digits than the feed keeps', async () => {
    for (const bad of ['0', '-1', '1e3', '3,018', ' 3018', '3018.', '.5', '1.123456789', ''])
      await expect(setFeedPrice(fx, 'ETH/USD', bad), bad).rejects.toThrow(
        /positive decimal|more than 8 decimals/,
      )
  })
})

describe('setPoolPrice', () => {
  it('moves each pool up and down to within 0.1% of the target (quote per base)', async () => {
    const targets: [DevnetPool, string][] = [
      ['USDC/WETH', '3210.5'],
      ['USDC/WETH', '2750'],
      ['USDC/WBTC', '65000'],
      ['USDC/WBTC', '58000.25'],
      ['WETH/WBTC', '0.0612'],
      ['WETH/WBTC', '0.0401'],
    ]
    for (const [pool, price] of targets) {
      const moved = await setPoolPrice(fx, pool, price)
      expect(moved.pool).toBe(pool)
      expectNear(await spot(pool), Number(price))
      expect(await readPoolPrice(fx, pool)).toBe(price)
      expect(moved.price).toBe(price)
      expect(moved.hashes.length).toBeGreaterThan(0)
    }
  })

  it('does nothing when the pool is already at the price', async () => {
    const price = await readPoolPrice(fx, 'USDC/WETH')
    const moved = await setPoolPrice(fx, 'USDC/WETH', price)
    expect(moved).toMatchObject({ previous: price, price, hashes: [] })
  })

  it('refuses a price no pool can hold', async () => {
    // 1e-40 USDC per WETH: a raw price past TickMath's bounds whichever token sorts first.
    await expect(setPoolPrice(fx, 'USDC/WETH', `0.${'0'.repeat(39)}1`)).rejects.toThrow(/out of range/)
    await expect(setPoolPrice(fx, 'USDC/WETH', 'abc')).rejects.toThrow(/positive decimal/)
  })
})

describe('setMarket', () => {
  it('sets both feeds and moves all three pools to the prices they imply', async () => {
    const moved = await setMarket(fx, { ethUsd: '3000', btcUsd: '60000' })
    expect(moved.feeds.map((f) => [f.feed, f.price])).toEqual([
      ['ETH/USD', '3000'],
      ['BTC/USD', '60000'],
    ])
    expect(moved.pools.map((p) => [p.pool, p.price])).toEqual([
      ['USDC/WETH', '3000'],
      ['USDC/WBTC', '60000'],
      ['WETH/WBTC', '0.05'],
    ])
    expect(await latestAnswer('ETH/USD')).toBe(3000n * 10n ** 8n)
    expect(await latestAnswer('BTC/USD')).toBe(60_000n * 10n ** 8n)
    expectNear(await spot('USDC/WETH'), 3000)
    expectNear(await spot('USDC/WBTC'), 60_000)
    expectNear(await spot('WETH/WBTC'), 0.05)
  })

  it('reflects a 0.6% ETH move in the ETH/USD feed, the USDC/WETH pool and the ETH/BTC ratio, BTC unchanged', async () => {
    await setMarket(fx, { ethUsd: '3000', btcUsd: '60000' })
    const ratioBefore = await spot('WETH/WBTC')
    const moved = await setMarket(fx, { ethUsd: '3018' })
    expect(moved.feeds.map((f) => f.feed)).toEqual(['ETH/USD'])
    expect(await latestAnswer('ETH/USD')).toBe(3018n * 10n ** 8n)
    expect(await latestAnswer('BTC/USD')).toBe(60_000n * 10n ** 8n)
    expectNear(await spot('USDC/WETH'), 3018)
    expectNear(await spot('USDC/WBTC'), 60_000)
    expectNear(await spot('WETH/WBTC'), 3018 / 60_000)
    expectNear((await spot('WETH/WBTC')) / ratioBefore, 1.006, 0.0005)
    expect(moved.pools.find((p) => p.pool === 'USDC/WBTC')?.hashes).toEqual([])
  })

  it('leaves a time-weighted price to read: the pools record observations as they move', async () => {
    // A devnet of its own: moving its clock forward would leave the shared one ahead of the files after this one
    // (a snapshot's revert does not take the offset back).
    const own = await startDevnet()
    try {
      const f = own.fixtures
      const local = createPublicClient({ transport: http(f.rpcUrl) })
      await setMarket(f, { ethUsd: '3000', btcUsd: '60000' })
      const address: Address = f.uniswapV3.pools['WETH/WBTC']
      await jsonRpc(f.rpcUrl, [{ method: 'evm_increaseTime', params: [120] }, { method: 'evm_mine' }])
      await setMarket(f, { ethUsd: '3018' })
      await jsonRpc(f.rpcUrl, [{ method: 'evm_increaseTime', params: [60] }, { method: 'evm_mine' }])
      const [, , , cardinality] = await local.readContract({ address, abi: poolAbi, functionName: 'slot0' })
      expect(cardinality).toBe(64)
      const [ticks] = await local.readContract({
        address,
        abi: poolAbi,
        functionName: 'observe',
        args: [[100, 0]],
      })
      // The mean tick over the last 100 s sits between the two prices (0.05 for ~40 s, 0.0503 for ~60 s).
      const meanTick = Number(ticks[1]! - ticks[0]!) / 100
      const [, tickNow] = await local.readContract({ address, abi: poolAbi, functionName: 'slot0' })
      const tickMoved = Math.log(1.006) / Math.log(1.0001) // ~60 ticks
      expect(Math.abs(meanTick - tickNow)).toBeGreaterThan(tickMoved * 0.2)
      expect(Math.abs(meanTick - tickNow)).toBeLessThan(tickMoved * 0.6)
    } finally {
      await own.stop()
    }
  })
})
