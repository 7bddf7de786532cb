import { type Address, getAddress, parseAbi } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import { pow10 } from '../policy/decimal.js'
import type { Observation } from './evaluate.js'
import { wad } from './spec.js'

/** A Chainlink-style feed (AggregatorV3Interface): USD (or any quote) per base unit. */
export type FeedRef = { address: Address; decimals: number }

/**
 * One price source of a pair (DESIGN §10). `feed`: an aggregator's answer; `feeds`: the ratio of two aggregators
 * (ETH/BTC = ETH/USD ÷ BTC/USD); `pool`: a Uniswap v3 pool's price of `base` in the other token, time-weighted over
 * `twapSeconds` (0 = the current price, which a single block can move: only for devnets).
 */
export type PriceSource =
  | { kind: 'feed'; name: string; feed: FeedRef }
  | { kind: 'feeds'; name: string; numerator: FeedRef; denominator: FeedRef }
  | {
      kind: 'pool'
      name: string
      pool: Address
      base: { address: Address; decimals: number }
      quote: { address: Address; decimals: number }
      twapSeconds: number
    }

/** A token orders may name: its USD price comes from a pair (`ETH/USD`) or is one dollar (`USD`). */
export type CatalogToken = {
  symbol: string
  /** `native` for the chain's coin. */
  address: Address | 'native'
  decimals: number
  usd: string
}

/** What orders can watch and trade on one chain. */
export type OrderCatalog = {
  chainId: number
  pairs: Readonly<Record<string, readonly PriceSource[]>>
  tokens: readonly CatalogToken[]
}

const aggregatorAbi = parseAbi([
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
])
const poolAbi = parseAbi([
  'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked)',
  'function observe(uint32[] secondsAgos) view returns (int56[] tickCumulatives, uint160[] secondsPerLiquidityCumulativeX128s)',
])

/**
 * The devnet's catalog (DESIGN §4): ETH/USD, BTC/USD and ETH/BTC, each from the devnet feed(s) and the matching
 * Uniswap pool (current price: devnet markets are staged by tests and `airlock devnet market`); USDC at $1, WETH
 * and ETH at ETH/USD, WBTC at BTC/USD.
 *
 * @example devnetCatalog(fixtures).pairs['ETH/BTC'].length // 2
 */
export function devnetCatalog(fixtures: DevnetFixtures): OrderCatalog | undefined {
  const { USDC, WETH } = fixtures.tokens
  const WBTC = (fixtures.tokens as { WBTC?: { address: Address; decimals: number } }).WBTC
  const btcFeed = (fixtures.feeds as { 'BTC/USD'?: FeedRef })['BTC/USD']
  const pools = fixtures.uniswapV3.pools as Record<string, Address | undefined>
  if (!WBTC || !btcFeed || !pools['USDC/WBTC'] || !pools['WETH/WBTC']) return undefined
  const ethFeed = fixtures.feeds['ETH/USD']
  const pool = (name: string, address: Address, base: typeof WETH, quote: typeof WETH): PriceSource => ({
    kind: 'pool',
    name,
    pool: address,
    base,
    quote,
    twapSeconds: 0,
  })
  return {
    chainId: fixtures.chainId,
    pairs: {
      'ETH/USD': [
        { kind: 'feed', name: 'feed ETH/USD', feed: ethFeed },
        pool('pool USDC/WETH', fixtures.uniswapV3.pools['USDC/WETH'], WETH, USDC),
      ],
      'BTC/USD': [
        { kind: 'feed', name: 'feed BTC/USD', feed: btcFeed },
        pool('pool USDC/WBTC', pools['USDC/WBTC'], WBTC, USDC),
      ],
      'ETH/BTC': [
        { kind: 'feeds', name: 'feeds ETH/USD ÷ BTC/USD', numerator: ethFeed, denominator: btcFeed },
        pool('pool WETH/WBTC', pools['WETH/WBTC'], WETH, WBTC),
      ],
    },
    tokens: [
      { symbol: 'USDC', address: USDC.address, decimals: USDC.decimals, usd: 'USD' },
      { symbol: 'WETH', address: WETH.address, decimals: WETH.decimals, usd: 'ETH/USD' },
      { symbol: 'WBTC', address: WBTC.address, decimals: WBTC.decimals, usd: 'BTC/USD' },
      { symbol: 'ETH', address: 'native', decimals: 18, usd: 'ETH/USD' },
    ],
  }
}

/** The latest block's number and time, read once per pass: every order on the chain is evaluated at it. */
export async function latestBlock(chain: ChainContext): Promise<{ number: bigint; time: number }> {
  const block = await chain.client.getBlock({ blockTag: 'latest' })
  return { number: block.number, time: Number(block.timestamp) }
}

/**
 * Reads every source of the given pairs at one block, in one multicall (one RPC call however many pairs). A source
 * that fails leaves its pair without sources (the evaluation then says so).
 *
 * @example const prices = await readPairs(chain, catalog, ['ETH/BTC'], block)
 */
export async function readPairs(
  chain: ChainContext,
  catalog: OrderCatalog,
  pairs: readonly string[],
  block: { number: bigint; time: number },
): Promise<Map<string, Observation['sources']>> {
  type Call = {
    address: Address
    abi: typeof aggregatorAbi | typeof poolAbi
    functionName: string
    args?: unknown[]
  }
  const calls: Call[] = []
  const plan: { pair: string; source: PriceSource; at: number[] }[] = []
  for (const pair of pairs) {
    for (const source of catalog.pairs[pair] ?? []) {
      const at: number[] = []
      const feed = (f: FeedRef) => {
        at.push(calls.length)
        calls.push({ address: f.address, abi: aggregatorAbi, functionName: 'latestRoundData' })
      }
      if (source.kind === 'feed') feed(source.feed)
      else if (source.kind === 'feeds') {
        feed(source.numerator)
        feed(source.denominator)
      } else {
        at.push(calls.length)
        calls.push(
          source.twapSeconds > 0
            ? { address: source.pool, abi: poolAbi, functionName: 'observe', args: [[source.twapSeconds, 0]] }
            : { address: source.pool, abi: poolAbi, functionName: 'slot0' },
        )
      }
      plan.push({ pair, source, at })
    }
  }
  const out = new Map<string, Observation['sources']>()
  if (calls.length === 0) return out
  const results = (await chain.client.multicall({
    allowFailure: true,
    batchSize: 0,
    blockNumber: block.number,
    contracts: calls as never,
  })) as unknown as { status: 'success' | 'failure'; result?: unknown }[]
  const failed = new Set<string>()
  for (const { pair, source, at } of plan) {
    const r = at.map((i) => results[i]!)
    if (r.some((x) => x.status !== 'success')) {
      failed.add(pair)
      continue
    }
    const value = r.map((x) => x.result as unknown)
    let price: { value: bigint; updatedAt: number } | undefined
    if (source.kind === 'feed') price = feedPrice(value[0], source.feed)
    else if (source.kind === 'feeds') {
      const n = feedPrice(value[0], source.numerator)
      const d = feedPrice(value[1], source.denominator)
      if (n && d && d.value > 0n)
        price = { value: (n.value * wad) / d.value, updatedAt: Math.min(n.updatedAt, d.updatedAt) }
    } else {
      price = { value: poolPrice(source, value[0]), updatedAt: block.time }
    }
    if (!price) {
      failed.add(pair)
      continue
    }
    const list = out.get(pair) ?? []
    out.set(pair, [...list, { ...price, name: source.name }])
  }
  for (const pair of failed) out.set(pair, undefined)
  return out
}

/** An aggregator answer in WAD with its update time; a non-positive answer is no price. */
function feedPrice(result: unknown, feed: FeedRef): { value: bigint; updatedAt: number } | undefined {
  const [, answer, , updatedAt] = result as [bigint, bigint, bigint, bigint, bigint]
  if (answer <= 0n) return undefined
  const value = feed.decimals <= 18 ? answer * pow10(18 - feed.decimals) : answer / pow10(feed.decimals - 18)
  return { value, updatedAt: Number(updatedAt) }
}

/** Q64.96 and Q192 scales. */
const q192 = 2n ** 192n

/**
 * A pool's price of `base` in `quote` (display units, WAD) from `slot0` (current) or `observe` (time-weighted).
 */
function poolPrice(source: Extract<PriceSource, { kind: 'pool' }>, result: unknown): bigint {
  const baseIsToken0 = BigInt(source.base.address) < BigInt(source.quote.address)
  const [dec0, dec1] = baseIsToken0
    ? [source.base.decimals, source.quote.decimals]
    : [source.quote.decimals, source.base.decimals]
  // raw = token1 per token0 in base units, as numerator / denominator.
  let num: bigint
  let den: bigint
  if (source.twapSeconds > 0) {
    const [ticks] = result as [readonly bigint[], readonly bigint[]]
    const delta = ticks[1]! - ticks[0]!
    let tick = delta / BigInt(source.twapSeconds)
    // Round toward negative infinity, as the pool's own oracle library does.
    if (delta < 0n && delta % BigInt(source.twapSeconds) !== 0n) tick -= 1n
    const p = tickPower(tick < 0n ? -tick : tick)
    ;[num, den] = tick < 0n ? [tickScale, p] : [p, tickScale]
  } else {
    const [sqrtPriceX96] = result as [bigint]
    num = sqrtPriceX96 * sqrtPriceX96
    den = q192
  }
  // token1 per token0 in display units = raw × 10^dec0 / 10^dec1.
  return baseIsToken0
    ? (num * pow10(dec0) * wad) / (den * pow10(dec1))
    : (den * pow10(dec1) * wad) / (num * pow10(dec0))
}

/** 1.0001^t in fixed point with 40 decimals, by squaring (t ≤ 887,272: twenty squarings, rounding each). */
const tickScale = 10n ** 40n
function tickPower(t: bigint): bigint {
  let result = tickScale
  let base = tickScale + tickScale / 10_000n
  let e = t
  while (e > 0n) {
    if (e & 1n) result = (result * base) / tickScale
    base = (base * base) / tickScale
    e >>= 1n
  }
  return result
}

/**
 * A token of the catalog by symbol (any case) or address.
 *
 * @example catalogToken(catalog, 'weth')
 */
export function catalogToken(catalog: OrderCatalog, ref: string): CatalogToken | undefined {
  const lower = ref.toLowerCase()
  return catalog.tokens.find(
    (t) => t.symbol.toLowerCase() === lower || (t.address !== 'native' && t.address.toLowerCase() === lower),
  )
}

/** The catalog's token addresses, checksummed, for messages. */
export function catalogSymbols(catalog: OrderCatalog): string {
  return catalog.tokens
    .map((t) => (t.address === 'native' ? t.symbol : `${t.symbol} (${getAddress(t.address)})`))
    .join(', ')
}
