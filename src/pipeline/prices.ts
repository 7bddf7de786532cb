import { type Address, getAddress, parseAbi } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'

const aggregatorAbi = parseAbi([
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  'function decimals() view returns (uint8)',
])

/** Stablecoins valued at one dollar (by the registry's address for the chain, never by a token's own symbol). */
const dollarSymbols = new Set(['USDC', 'USDT', 'DAI', 'USDC.e', 'USDbC'])
const cacheMs = 30_000
const maxFeedAgeSeconds = 24 * 3600

/** USD prices (micro-USD per whole unit) for one chain's assets, as far as the gateway knows them. */
export type PriceBook = (asset: Address | 'native') => bigint | undefined

/**
 * Prices for valuing outflows in USD: registry stablecoins at $1, the native coin and WETH from the chain's
 * `ETH/USD` feed, WBTC from its `BTC/USD` feed (a stale or non-positive answer is no price). Anything else has no price, and a rule or limit in
 * USD then does not apply (fail closed). Feed answers are cached for 30 s.
 *
 * @example const price = await prices(chain); price('native') // 3000000000n (= $3,000.000000)
 */
export function createPrices(tokens: TokenFactsService): (chain: ChainContext) => Promise<PriceBook> {
  const cache = new Map<
    number,
    { at: number; ethMicroUsd: bigint | undefined; btcMicroUsd: bigint | undefined }
  >()
  return async (chain) => {
    let hit = cache.get(chain.id)
    if (!hit || Date.now() - hit.at > cacheMs) {
      const [ethMicroUsd, btcMicroUsd] = await Promise.all([
        feedPrice(chain, tokens, 'ETH/USD'),
        feedPrice(chain, tokens, 'BTC/USD'),
      ])
      hit = { at: Date.now(), ethMicroUsd, btcMicroUsd }
      cache.set(chain.id, hit)
    }
    const eth = hit.ethMicroUsd
    const btc = hit.btcMicroUsd
    const known = new Map(tokens.known(chain.id).map((t) => [t.address.toLowerCase(), t.symbol]))
    const nativeIsEth = chain.chain.nativeCurrency.symbol === 'ETH'
    return (asset) => {
      if (asset === 'native') return nativeIsEth ? eth : undefined
      const symbol = known.get(getAddress(asset).toLowerCase())
      if (symbol && dollarSymbols.has(symbol)) return 1_000_000n
      if (symbol === 'WETH') return eth
      if (symbol === 'WBTC') return btc
      return undefined
    }
  }
}

async function feedPrice(
  chain: ChainContext,
  tokens: TokenFactsService,
  pair: 'ETH/USD' | 'BTC/USD',
): Promise<bigint | undefined> {
  const feed = (
    tokens.contracts(chain.id)?.feeds as Record<string, { address: Address; decimals: number }> | undefined
  )?.[pair]
  if (!feed) return undefined
  try {
    const [, answer, , updatedAt] = await chain.client.readContract({
      address: feed.address,
      abi: aggregatorAbi,
      functionName: 'latestRoundData',
    })
    if (answer <= 0n) return undefined
    if (BigInt(Math.floor(Date.now() / 1000)) - updatedAt > BigInt(maxFeedAgeSeconds) && !chain.testnet)
      return undefined
    const scale = 10n ** BigInt(feed.decimals)
    return (answer * 1_000_000n) / scale
  } catch {
    return undefined
  }
}
