import {
  type Address,
  decodeFunctionResult,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  maxUint256,
  numberToHex,
  parseAbi,
} from 'viem'
import { DevnetError, InvalidInputError } from '../errors/index.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'
import { fixturePoolFee, sqrtBigInt } from './planFixtures.js'

/** What the market helpers need of the fixtures: where the node, the deployer, tokens, feeds and pools are. */
export type MarketFixtures = Pick<DevnetFixtures, 'rpcUrl' | 'deployer' | 'tokens' | 'feeds' | 'uniswapV3'>

/** A devnet price feed: `ETH/USD` or `BTC/USD`. */
export type DevnetFeed = keyof DevnetFixtures['feeds']

/** A devnet Uniswap v3 pool: `USDC/WETH`, `USDC/WBTC` or `WETH/WBTC`. */
export type DevnetPool = keyof DevnetFixtures['uniswapV3']['pools']

type TokenSymbol = keyof DevnetFixtures['tokens']

/**
 * How each pool's price reads: the amount of `quote` one whole `base` buys, in display units. So `USDC/WETH` is
 * USDC per WETH (~3000), `USDC/WBTC` USDC per WBTC (~60,000) and `WETH/WBTC` WBTC per WETH (~0.05).
 */
export const devnetPoolQuotes = {
  'USDC/WETH': { base: 'WETH', quote: 'USDC' },
  'USDC/WBTC': { base: 'WBTC', quote: 'USDC' },
  'WETH/WBTC': { base: 'WETH', quote: 'WBTC' },
} as const satisfies Record<DevnetPool, { base: TokenSymbol; quote: TokenSymbol }>

/** What {@link setFeedPrice} moved. Prices are decimal strings in USD. */
export type SetFeedPriceReturnType = { feed: DevnetFeed; previous: string; price: string; hash: Hex }

/** What {@link setPoolPrice} moved. Prices are decimal strings, quote per base ({@link devnetPoolQuotes}). */
export type SetPoolPriceReturnType = { pool: DevnetPool; previous: string; price: string; hashes: Hex[] }

/** Parameters of {@link setMarket}: new USD prices; an absent one keeps its feed's current answer. */
export type SetMarketParameters = { ethUsd?: string | undefined; btcUsd?: string | undefined }

/** What {@link setMarket} moved: the feeds it was given, and all three pools. */
export type SetMarketReturnType = { feeds: SetFeedPriceReturnType[]; pools: SetPoolPriceReturnType[] }

const abis = {
  feed: parseAbi([
    'function updateAnswer(int256 answer)',
    'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  ]),
  pool: parseAbi([
    'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked)',
    'function liquidity() view returns (uint128)',
  ]),
  token: parseAbi([
    'function mint(address to, uint256 amount)',
    'function deposit() payable',
    'function transfer(address to, uint256 amount) returns (bool)',
  ]),
  router: parseAbi([
    'struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }',
    'function exactInputSingle(ExactInputSingleParams params) payable returns (uint256 amountOut)',
  ]),
}

const q96 = 1n << 96n
// TickMath's bounds: a pool's price stays strictly between them.
const minSqrtRatio = 4_295_128_739n
const maxSqrtRatio = 1_461_446_703_485_210_103_287_273_052_203_988_822_378_723_970_342n
const maxFeePerGas = 100n * 10n ** 9n
const maxPriorityFeePerGas = 10n ** 9n
const gasPerCall = 300_000n
const gasSwap = 2_000_000n
// Rounds of swaps before giving up: one reaches the target unless someone else's liquidity sits in the way.
const maxRounds = 4

type Rational = { num: bigint; den: bigint }
type Tx = { label: string; to: Address; data: Hex; value?: bigint; gas: bigint }

/**
 * Sets a devnet price feed (`PriceFeed.updateAnswer` from the deployer) to a USD price given as a decimal
 * string, scaled exactly to the feed's decimals. Resolves once the update is mined.
 *
 * @example await setFeedPrice(devnet.fixtures, 'ETH/USD', '3018.25') // { previous: '3000', price: '3018.25', … }
 * @throws {InvalidInputError} the price is not a positive decimal, or has more digits than the feed's decimals
 * @throws {DevnetError} the node is unreachable or the update reverted
 */
export async function setFeedPrice(
  fixtures: MarketFixtures,
  feed: DevnetFeed,
  usd: string,
): Promise<SetFeedPriceReturnType> {
  const answer = feedAnswer(fixtures, feed, usd)
  const previous = await readFeedPrice(fixtures, feed)
  const [hash] = await send(fixtures, [feedUpdate(fixtures, feed, answer)])
  return {
    feed,
    previous,
    price: formatRational(answer, 10n ** BigInt(decimalsOf(fixtures, feed))),
    hash: hash!,
  }
}

/**
 * Moves a devnet pool to `price` (quote per base, see {@link devnetPoolQuotes}; a decimal string): the deployer
 * swaps through the SwapRouter (`exactInputSingle` with the target as `sqrtPriceLimitX96`), minting USDC or
 * WBTC and wrapping ETH for what it sells, so the pool ends exactly at the target's sqrt price. Resolves once
 * mined.
 *
 * @example await setPoolPrice(devnet.fixtures, 'WETH/WBTC', '0.0503') // WBTC per WETH
 * @throws {InvalidInputError} the price is not a positive decimal, or outside what a Uniswap v3 pool can hold
 * @throws {DevnetError} the node is unreachable, a swap reverted, or the pool did not reach the price
 */
export async function setPoolPrice(
  fixtures: MarketFixtures,
  pool: DevnetPool,
  price: string,
): Promise<SetPoolPriceReturnType> {
  const target = parseDecimal(price, `the ${pool} price`)
  const { moved } = await movePools(fixtures, [{ pool, target }])
  return moved[0]!
}

/**
 * Sets the ETH/USD and BTC/USD feeds (those given) and moves all three pools to the prices they imply, so every
 * feed and pool agrees: USDC/WETH = ETH/USD, USDC/WBTC = BTC/USD (USDC at $1), WETH/WBTC = ETH/USD ÷ BTC/USD.
 * An absent price keeps its feed's current answer. Everything goes out together; resolves once mined.
 *
 * @example await setMarket(devnet.fixtures, { ethUsd: '3018' }) // ETH +0.6%, BTC unchanged: ETH/BTC +0.6%
 * @throws {InvalidInputError} a price is not a positive decimal with at most the feed's decimals
 * @throws {DevnetError} the node is unreachable, a transaction reverted, or a pool did not reach its price
 */
export async function setMarket(
  fixtures: MarketFixtures,
  { ethUsd, btcUsd }: SetMarketParameters,
): Promise<SetMarketReturnType> {
  const given = [
    ['ETH/USD', ethUsd],
    ['BTC/USD', btcUsd],
  ] as const
  const answers = {} as Record<DevnetFeed, { answer: bigint; previous: bigint }>
  const current = await readFeedAnswers(fixtures)
  for (const [feed, usd] of given) {
    answers[feed] = {
      answer: usd === undefined ? current[feed] : feedAnswer(fixtures, feed, usd),
      previous: current[feed],
    }
  }
  const scale = (feed: DevnetFeed) => 10n ** BigInt(decimalsOf(fixtures, feed))
  const eth = { num: answers['ETH/USD'].answer, den: scale('ETH/USD') }
  const btc = { num: answers['BTC/USD'].answer, den: scale('BTC/USD') }
  const feedTxs = given.filter(([, usd]) => usd !== undefined).map(([feed]) => feed)
  const pools = await movePools(
    fixtures,
    [
      { pool: 'USDC/WETH', target: eth },
      { pool: 'USDC/WBTC', target: btc },
      { pool: 'WETH/WBTC', target: { num: eth.num * btc.den, den: eth.den * btc.num } },
    ],
    feedTxs.map((feed) => feedUpdate(fixtures, feed, answers[feed].answer)),
  )
  return {
    feeds: feedTxs.map((feed, i) => ({
      feed,
      previous: formatRational(answers[feed].previous, scale(feed)),
      price: formatRational(answers[feed].answer, scale(feed)),
      hash: pools.feedHashes[i]!,
    })),
    pools: pools.moved,
  }
}

/**
 * Gives `to` devnet tokens from the deployer: WETH (wrapped from the deployer's ETH, then sent), WBTC and USDC
 * (minted), in base units. Resolves once everything is mined.
 *
 * @example await fundAccount(devnet.fixtures, wallet, { weth: 10n ** 18n, wbtc: 5_000_000n }) // 1 WETH, 0.05 WBTC
 * @throws {DevnetError} the node is unreachable or a transaction reverted
 */
export async function fundAccount(
  fixtures: MarketFixtures,
  to: Address,
  amounts: { weth?: bigint | undefined; wbtc?: bigint | undefined; usdc?: bigint | undefined },
): Promise<void> {
  const { WETH, WBTC, USDC } = fixtures.tokens
  const txs: Tx[] = []
  const mint = (label: string, token: Address, amount: bigint) =>
    txs.push({
      label,
      to: token,
      data: encodeFunctionData({ abi: abis.token, functionName: 'mint', args: [to, amount] }),
      gas: gasPerCall,
    })
  if (amounts.weth) {
    const deposit = encodeFunctionData({ abi: abis.token, functionName: 'deposit' })
    txs.push({ label: 'wrap ETH', to: WETH.address, data: deposit, value: amounts.weth, gas: gasPerCall })
    txs.push({
      label: 'send WETH',
      to: WETH.address,
      data: encodeFunctionData({ abi: abis.token, functionName: 'transfer', args: [to, amounts.weth] }),
      gas: gasPerCall,
    })
  }
  if (amounts.wbtc) mint('mint WBTC', WBTC.address, amounts.wbtc)
  if (amounts.usdc) mint('mint USDC', USDC.address, amounts.usdc)
  await send(fixtures, txs)
}

/**
 * A devnet pool's spot price (from `slot0`), quote per base ({@link devnetPoolQuotes}), as a decimal string
 * rounded to the quote token's decimals.
 *
 * @example await readPoolPrice(devnet.fixtures, 'USDC/WETH') // '3000'
 * @throws {DevnetError} the node is unreachable or has no such pool
 */
export async function readPoolPrice(fixtures: MarketFixtures, pool: DevnetPool): Promise<string> {
  const [state] = await readPools(fixtures, [pool])
  return formatPoolPrice(fixtures, pool, state!.sqrtPriceX96)
}

/**
 * A devnet feed's latest answer in USD, as a decimal string.
 *
 * @example await readFeedPrice(devnet.fixtures, 'BTC/USD') // '60000'
 * @throws {DevnetError} the node is unreachable or has no such feed
 */
export async function readFeedPrice(fixtures: MarketFixtures, feed: DevnetFeed): Promise<string> {
  const answers = await readFeedAnswers(fixtures)
  return formatRational(answers[feed], 10n ** BigInt(decimalsOf(fixtures, feed)))
}

/** Swaps every pool to its target (plus `extra` transactions in the same batch), repeating until all are there. */
async function movePools(
  fixtures: MarketFixtures,
  targets: readonly { pool: DevnetPool; target: Rational }[],
  extra: readonly Tx[] = [],
): Promise<{ moved: SetPoolPriceReturnType[]; feedHashes: Hex[] }> {
  const goals = targets.map(({ pool, target }) => ({ pool, sqrt: targetSqrtPrice(fixtures, pool, target) }))
  const before = await readPools(
    fixtures,
    goals.map((g) => g.pool),
  )
  const hashes = goals.map(() => [] as Hex[])
  let feedHashes: Hex[] = []
  let states = before
  for (let round = 0; ; round++) {
    const pending = goals
      .map((goal, i) => ({ ...goal, i, state: states[i]! }))
      .filter((g) => g.state.sqrtPriceX96 !== g.sqrt)
    if (!pending.length && (round > 0 || !extra.length)) break
    if (round >= maxRounds) {
      const stuck = pending.map((g) => g.pool).join(', ')
      throw new DevnetError(`The devnet pool ${stuck} did not reach its target price.`, {
        metaMessages: ['Other liquidity may sit in the way; try again, or start a fresh devnet.'],
      })
    }
    const balances = await readBalances(fixtures)
    const txs: Tx[] = round === 0 ? [...extra] : []
    const owners: number[] = []
    for (const goal of pending) {
      const swap = swapTxs(fixtures, goal.pool, goal.state, goal.sqrt, balances)
      txs.push(...swap)
      owners.push(...swap.map(() => goal.i))
    }
    const sent = await send(fixtures, txs)
    if (round === 0) feedHashes = sent.slice(0, extra.length)
    for (const [k, hash] of sent.slice(round === 0 ? extra.length : 0).entries())
      hashes[owners[k]!]!.push(hash)
    states = await readPools(
      fixtures,
      goals.map((g) => g.pool),
    )
  }
  return {
    moved: goals.map((goal, i) => ({
      pool: goal.pool,
      previous: formatPoolPrice(fixtures, goal.pool, before[i]!.sqrtPriceX96),
      price: formatPoolPrice(fixtures, goal.pool, states[i]!.sqrtPriceX96),
      hashes: hashes[i]!,
    })),
    feedHashes,
  }
}

type PoolState = { sqrtPriceX96: bigint; liquidity: bigint }

/** What the deployer holds and has approved to the router; swaps planned in one batch draw on it in turn. */
type Balances = Record<TokenSymbol, { balance: bigint; allowance: bigint }>

/** The transactions that move one pool from `state` to `sqrtTarget`: get the input token, approve, swap. */
function swapTxs(
  fixtures: MarketFixtures,
  pool: DevnetPool,
  state: PoolState,
  sqrtTarget: bigint,
  balances: Balances,
): Tx[] {
  const { token0, token1 } = poolTokens(fixtures, pool)
  const zeroForOne = sqrtTarget < state.sqrtPriceX96
  const [tokenIn, tokenOut] = zeroForOne ? [token0, token1] : [token1, token0]
  const current = state.sqrtPriceX96
  // What the full-range liquidity needs to reach the target (SqrtPriceMath), grossed up for the 0.3% fee, plus 1%
  // for liquidity that changes on the way. A swap with a price limit stops there and leaves the rest unspent.
  const net = zeroForOne
    ? ceilDiv(state.liquidity * q96 * (current - sqrtTarget), current * sqrtTarget)
    : ceilDiv(state.liquidity * (sqrtTarget - current), q96)
  const gross = ceilDiv(net * 1_000_000n, 1_000_000n - BigInt(fixturePoolFee))
  const amountIn = gross + gross / 100n + 1n
  const txs: Tx[] = []
  const held = balances[tokenIn.symbol]
  const shortfall = amountIn > held.balance ? amountIn - held.balance : 0n
  if (shortfall > 0n) {
    if (tokenIn.symbol === 'WETH') {
      txs.push({
        label: `wrap ${shortfall} wei for ${pool}`,
        to: tokenIn.address,
        data: encodeFunctionData({ abi: abis.token, functionName: 'deposit' }),
        value: shortfall,
        gas: gasPerCall,
      })
    } else {
      txs.push({
        label: `mint ${tokenIn.symbol} for ${pool}`,
        to: tokenIn.address,
        data: encodeFunctionData({
          abi: abis.token,
          functionName: 'mint',
          args: [fixtures.deployer, shortfall],
        }),
        gas: gasPerCall,
      })
    }
    held.balance += shortfall
  }
  if (held.allowance < amountIn) {
    txs.push({
      label: `approve ${tokenIn.symbol} to the router`,
      to: tokenIn.address,
      data: encodeFunctionData({
        abi: erc20Abi,
        functionName: 'approve',
        args: [fixtures.uniswapV3.router, maxUint256],
      }),
      gas: gasPerCall,
    })
    held.allowance = maxUint256
  }
  txs.push({
    label: `swap ${tokenIn.symbol} for ${tokenOut.symbol} on ${pool}`,
    to: fixtures.uniswapV3.router,
    data: encodeFunctionData({
      abi: abis.router,
      functionName: 'exactInputSingle',
      args: [
        {
          tokenIn: tokenIn.address,
          tokenOut: tokenOut.address,
          fee: fixturePoolFee,
          recipient: fixtures.deployer,
          deadline: maxUint256,
          amountIn,
          amountOutMinimum: 0n,
          sqrtPriceLimitX96: sqrtTarget,
        },
      ],
    }),
    gas: gasSwap,
  })
  // At most amountIn is spent; what is left stays with the deployer for the next swap.
  held.balance -= amountIn
  if (held.allowance !== maxUint256) held.allowance -= amountIn
  return txs
}

/** The pool's tokens in Uniswap order (token0 has the lower address). */
function poolTokens(fixtures: MarketFixtures, pool: DevnetPool) {
  const { base, quote } = devnetPoolQuotes[pool]
  const b = { symbol: base, ...fixtures.tokens[base] }
  const q = { symbol: quote, ...fixtures.tokens[quote] }
  const baseIsToken0 = BigInt(b.address) < BigInt(q.address)
  return baseIsToken0 ? { token0: b, token1: q, baseIsToken0 } : { token0: q, token1: b, baseIsToken0 }
}

/**
 * The sqrtPriceX96 at which the pool quotes `price` (quote per base, display units): token1 per token0 in raw
 * units, square-rooted in Q64.96.
 */
function targetSqrtPrice(fixtures: MarketFixtures, pool: DevnetPool, price: Rational): bigint {
  const { base, quote } = devnetPoolQuotes[pool]
  const baseScale = 10n ** BigInt(fixtures.tokens[base].decimals)
  const quoteScale = 10n ** BigInt(fixtures.tokens[quote].decimals)
  // Raw quote units per raw base unit: price × 10^quoteDecimals / 10^baseDecimals.
  const raw = { num: price.num * quoteScale, den: price.den * baseScale }
  const { baseIsToken0 } = poolTokens(fixtures, pool)
  const [num, den] = baseIsToken0 ? [raw.num, raw.den] : [raw.den, raw.num]
  const sqrt = sqrtBigInt((num << 192n) / den)
  if (sqrt <= minSqrtRatio || sqrt >= maxSqrtRatio)
    throw new InvalidInputError(
      `A ${pool} price of ${formatRational(price.num, price.den, 40)} is out of range.`,
      {
        metaMessages: ['A Uniswap v3 pool holds prices between about 1e-38 and 1e38 raw units.'],
      },
    )
  return sqrt
}

/** A sqrtPriceX96 as quote per base in display units, rounded to the quote token's decimals. */
function formatPoolPrice(fixtures: MarketFixtures, pool: DevnetPool, sqrtPriceX96: bigint): string {
  const { base, quote } = devnetPoolQuotes[pool]
  const baseScale = 10n ** BigInt(fixtures.tokens[base].decimals)
  const quoteScale = 10n ** BigInt(fixtures.tokens[quote].decimals)
  const squared = sqrtPriceX96 * sqrtPriceX96
  const q192 = 1n << 192n
  const { baseIsToken0 } = poolTokens(fixtures, pool)
  // token1 per token0 (raw) is squared / 2^192; quote per base in display units scales by 10^base / 10^quote.
  const [num, den] = baseIsToken0 ? [squared, q192] : [q192, squared]
  return formatRational(num * baseScale, den * quoteScale, fixtures.tokens[quote].decimals)
}

async function readPools(fixtures: MarketFixtures, pools: readonly DevnetPool[]): Promise<PoolState[]> {
  const call = (to: Address, functionName: 'slot0' | 'liquidity') => ({
    method: 'eth_call',
    params: [{ to, data: encodeFunctionData({ abi: abis.pool, functionName }) }, 'latest'],
  })
  const results = (await jsonRpc(
    fixtures.rpcUrl,
    pools.flatMap((pool) => {
      const address = fixtures.uniswapV3.pools[pool]
      return [call(address, 'slot0'), call(address, 'liquidity')]
    }),
  )) as Hex[]
  return pools.map((pool, i) => {
    const [slot0, liquidity] = [results[2 * i]!, results[2 * i + 1]!]
    if (slot0 === '0x')
      throw new DevnetError(`The devnet has no ${pool} pool at ${fixtures.uniswapV3.pools[pool]}.`)
    const [sqrtPriceX96] = decodeFunctionResult({ abi: abis.pool, functionName: 'slot0', data: slot0 })
    return {
      sqrtPriceX96,
      liquidity: decodeFunctionResult({ abi: abis.pool, functionName: 'liquidity', data: liquidity }),
    }
  })
}

async function readFeedAnswers(fixtures: MarketFixtures): Promise<Record<DevnetFeed, bigint>> {
  const feeds = Object.keys(fixtures.feeds) as DevnetFeed[]
  const results = (await jsonRpc(
    fixtures.rpcUrl,
    feeds.map((feed) => ({
      method: 'eth_call',
      params: [
        {
          to: fixtures.feeds[feed].address,
          data: encodeFunctionData({ abi: abis.feed, functionName: 'latestRoundData' }),
        },
        'latest',
      ],
    })),
  )) as Hex[]
  const answers = {} as Record<DevnetFeed, bigint>
  feeds.forEach((feed, i) => {
    if (results[i] === '0x')
      throw new DevnetError(`The devnet has no ${feed} feed at ${fixtures.feeds[feed].address}.`)
    const [, answer] = decodeFunctionResult({
      abi: abis.feed,
      functionName: 'latestRoundData',
      data: results[i]!,
    })
    answers[feed] = answer
  })
  return answers
}

async function readBalances(fixtures: MarketFixtures): Promise<Balances> {
  const symbols = Object.keys(fixtures.tokens) as TokenSymbol[]
  const call = (to: Address, data: Hex) => ({ method: 'eth_call', params: [{ to, data }, 'latest'] })
  const results = (await jsonRpc(
    fixtures.rpcUrl,
    symbols.flatMap((symbol) => {
      const token = fixtures.tokens[symbol].address
      return [
        call(
          token,
          encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [fixtures.deployer] }),
        ),
        call(
          token,
          encodeFunctionData({
            abi: erc20Abi,
            functionName: 'allowance',
            args: [fixtures.deployer, fixtures.uniswapV3.router],
          }),
        ),
      ]
    }),
  )) as Hex[]
  const balances = {} as Balances
  symbols.forEach((symbol, i) => {
    balances[symbol] = { balance: BigInt(results[2 * i]!), allowance: BigInt(results[2 * i + 1]!) }
  })
  return balances
}

/**
 * Sends the deployer's transactions in one batch with consecutive nonces and explicit gas, mines them when the
 * node does not automine, and waits for every receipt. Tops up the deployer's ETH (anvil_setBalance) when the
 * batch would spend more than it has: it is a devnet account.
 */
async function send(fixtures: MarketFixtures, txs: readonly Tx[]): Promise<Hex[]> {
  if (!txs.length) return []
  const { rpcUrl, deployer } = fixtures
  const [nonceHex, balanceHex, automine] = (await jsonRpc(rpcUrl, [
    { method: 'eth_getTransactionCount', params: [deployer, 'pending'] },
    { method: 'eth_getBalance', params: [deployer, 'latest'] },
    { method: 'anvil_getAutomine' },
  ])) as [Hex, Hex, boolean]
  const spend = txs.reduce((sum, tx) => sum + (tx.value ?? 0n) + tx.gas * maxFeePerGas, 0n)
  if (spend > BigInt(balanceHex))
    await jsonRpc(rpcUrl, [
      { method: 'anvil_setBalance', params: [deployer, numberToHex(spend + 10n ** 21n)] },
    ])
  const hashes = (await jsonRpc(
    rpcUrl,
    txs.map((tx, i) => ({
      method: 'eth_sendTransaction',
      params: [
        {
          from: deployer,
          to: tx.to,
          data: tx.data,
          gas: numberToHex(tx.gas),
          nonce: numberToHex(BigInt(nonceHex) + BigInt(i)),
          maxFeePerGas: numberToHex(maxFeePerGas),
          maxPriorityFeePerGas: numberToHex(maxPriorityFeePerGas),
          ...(tx.value ? { value: numberToHex(tx.value) } : {}),
        },
      ],
    })),
  )) as Hex[]
  if (!automine) await jsonRpc(rpcUrl, [{ method: 'evm_mine' }])
  const deadline = Date.now() + 30_000
  for (;;) {
    const receipts = (await jsonRpc(
      rpcUrl,
      hashes.map((hash) => ({ method: 'eth_getTransactionReceipt', params: [hash] })),
    )) as ({ status: Hex } | null)[]
    if (receipts.every(Boolean)) {
      const failed = receipts.findIndex((r) => r?.status !== '0x1')
      if (failed >= 0)
        throw new DevnetError(`Devnet market step "${txs[failed]?.label}" reverted.`, {
          metaMessages: ['The devnet must carry Airlock fixtures (`airlock devnet`, or `npm start`).'],
        })
      return hashes
    }
    if (Date.now() > deadline)
      throw new DevnetError('Devnet market transactions were never mined.', {
        metaMessages: ['Is the devnet paused? Mine a block (evm_mine) or turn automine back on.'],
      })
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function feedUpdate(fixtures: MarketFixtures, feed: DevnetFeed, answer: bigint): Tx {
  return {
    label: `update ${feed}`,
    to: fixtures.feeds[feed].address,
    data: encodeFunctionData({ abi: abis.feed, functionName: 'updateAnswer', args: [answer] }),
    gas: gasPerCall,
  }
}

/** The feed's answer for a USD price string: exact, or refused when it has more digits than the feed keeps. */
function feedAnswer(fixtures: MarketFixtures, feed: DevnetFeed, usd: string): bigint {
  const decimals = decimalsOf(fixtures, feed)
  const { num, den } = parseDecimal(usd, `the ${feed} price`)
  const scaled = num * 10n ** BigInt(decimals)
  if (scaled % den !== 0n)
    throw new InvalidInputError(`The ${feed} price "${usd}" has more than ${decimals} decimals.`, {
      metaMessages: [`The ${feed} feed keeps ${decimals} decimals.`],
    })
  return scaled / den
}

function decimalsOf(fixtures: MarketFixtures, feed: DevnetFeed): number {
  return fixtures.feeds[feed].decimals
}

/**
 * A positive decimal string ("3018", "0.0503") as an exact fraction.
 * @throws {InvalidInputError} anything else: signs, exponents, separators, zero
 */
function parseDecimal(value: string, what: string): Rational {
  const match = /^(\d{1,40})(?:\.(\d{1,40}))?$/.exec(value)
  const fraction = match?.[2] ?? ''
  const num = match ? BigInt(`${match[1]}${fraction}`) : 0n
  if (!match || num === 0n)
    throw new InvalidInputError(`${what} must be a positive decimal number, got "${value.slice(0, 50)}".`, {
      metaMessages: ['For example 3018 or 0.0503 (a dot for the decimal point, no exponent).'],
    })
  return { num, den: 10n ** BigInt(fraction.length) }
}

/** num / den as a decimal string rounded half up to `digits` fractional digits, trailing zeros dropped. */
function formatRational(num: bigint, den: bigint, digits = 18): string {
  const scale = 10n ** BigInt(digits)
  const scaled = (num * scale * 2n + den) / (den * 2n)
  const whole = scaled / scale
  const fraction = (scaled % scale).toString().padStart(digits, '0').replace(/0+$/, '')
  return fraction ? `${whole}.${fraction}` : `${whole}`
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}
