import type { DevnetFixtures } from '../devnet/fixtures.js'
import {
  type DevnetFeed,
  type DevnetPool,
  devnetPoolQuotes,
  type SetFeedPriceReturnType,
  type SetPoolPriceReturnType,
  setFeedPrice,
  setMarket,
  setPoolPrice,
} from '../devnet/market.js'
import { InvalidInputError } from '../errors/index.js'
import { onShutdown, readFixtures } from './boot.js'
import type { CliOptions } from './options.js'

const feeds: readonly DevnetFeed[] = ['ETH/USD', 'BTC/USD']
const pools: readonly DevnetPool[] = ['USDC/WETH', 'USDC/WBTC', 'WETH/WBTC']

/**
 * `airlock devnet`: the embedded devnet alone; `--json` prints the fixtures as JSON on stdout.
 * `airlock devnet price NAME PRICE` and `airlock devnet market --eth-usd P --btc-usd P` move prices on a devnet
 * that is already running (started by `airlock devnet` or `npm start`).
 */
export async function devnet(options: CliOptions): Promise<number> {
  const [sub, ...rest] = options.args
  if (sub === 'price') return price(options, rest)
  if (sub === 'market') return market(options, rest)
  if (sub !== undefined)
    throw new InvalidInputError(`Unknown devnet command "${sub.slice(0, 40)}".`, {
      metaMessages: [
        'Commands: airlock devnet [--json], airlock devnet price NAME PRICE, airlock devnet market.',
      ],
    })
  const { startDevnet } = await import('../devnet/startDevnet.js')
  const started = await startDevnet({
    ...(options.devnetPort ? { port: options.devnetPort } : {}),
    ...(typeof options.config.devnet === 'object' && options.config.devnet.chainId
      ? { chainId: options.config.devnet.chainId }
      : {}),
  })
  // The Solana devnet beside it: its fixtures go under `solana` (a gateway attached to the file serves both).
  const { startSolanaDevnet } = await import('../devnet/solana/startSolanaDevnet.js')
  const solana = await startSolanaDevnet().catch(async (error: unknown) => {
    await started.stop()
    throw error
  })
  onShutdown(async () => {
    await Promise.all([started.stop(), solana.stop()])
  })
  const all = { ...started.fixtures, solana: solana.fixtures }
  if (options.json) process.stdout.write(`${JSON.stringify(all)}\n`)
  else
    process.stdout.write(
      `Devnet running at ${started.rpcUrl} (chain id ${started.fixtures.chainId}); Solana devnet (solana-local) at ${solana.rpcUrl}. Fixtures:\n${JSON.stringify(all, null, 2)}\nPress Ctrl+C to stop.\n`,
    )
  return new Promise<number>(() => {})
}

/** `airlock devnet price NAME PRICE`: one feed (USD) or one pool (quote per base). */
async function price(options: CliOptions, args: readonly string[]): Promise<number> {
  const [name, value, ...extra] = args
  const names = [...feeds, ...pools]
  if (name === undefined || value === undefined || extra.length)
    throw new InvalidInputError('Usage: airlock devnet price NAME PRICE [--rpc-url URL].', {
      metaMessages: [`NAME: ${names.join(', ')}. For example: airlock devnet price ETH/USD 3018`],
    })
  const upper = name.toUpperCase()
  if (!names.includes(upper as DevnetFeed))
    throw new InvalidInputError(`No devnet feed or pool is named "${name.slice(0, 20)}".`, {
      metaMessages: [`Feeds (USD): ${feeds.join(', ')}. Pools: ${pools.map(describePool).join(', ')}.`],
    })
  const fixtures = await connect(options)
  if (feeds.includes(upper as DevnetFeed)) {
    const moved = await setFeedPrice(fixtures, upper as DevnetFeed, value)
    write(options, moved, [feedLine(moved)])
  } else {
    const moved = await setPoolPrice(fixtures, upper as DevnetPool, value)
    write(options, moved, [poolLine(moved)])
  }
  return 0
}

/** `airlock devnet market --eth-usd P --btc-usd P`: the feeds given, and every pool moved to agree with them. */
async function market(options: CliOptions, args: readonly string[]): Promise<number> {
  if (args.length || (options.ethUsd === undefined && options.btcUsd === undefined))
    throw new InvalidInputError('Usage: airlock devnet market [--eth-usd P] [--btc-usd P] [--rpc-url URL].', {
      metaMessages: [
        'Give at least one price (USD); an absent one keeps its feed. For example: airlock devnet market --eth-usd 3018',
      ],
    })
  const fixtures = await connect(options)
  const moved = await setMarket(fixtures, { ethUsd: options.ethUsd, btcUsd: options.btcUsd })
  write(options, moved, [...moved.feeds.map(feedLine), ...moved.pools.map(poolLine)])
  return 0
}

/**
 * The running devnet's fixtures: `--rpc-url`, else the config's `devnet.fixtures` file, else `--devnet-port`.
 * Its addresses are the ones every fresh devnet has; `fixturesAt` checks that the chain holds them.
 */
async function connect(options: CliOptions): Promise<DevnetFixtures> {
  const attached = typeof options.config.devnet === 'object' ? options.config.devnet.fixtures : undefined
  const rpcUrl =
    options.rpcUrl ??
    (attached ? readFixtures(attached).rpcUrl : undefined) ??
    (options.devnetPort ? `http://127.0.0.1:${options.devnetPort}` : undefined)
  if (!rpcUrl)
    throw new InvalidInputError('Which devnet? Give its RPC URL with --rpc-url.', {
      metaMessages: [
        '`npm start` prints it ("chain devnet (chain id 31337) at http://127.0.0.1:…"), and so does `airlock devnet`.',
        'Or start the devnet on a known port (--devnet-port P) and pass the same --devnet-port here.',
      ],
    })
  const { fixturesAt } = await import('../devnet/fixturesAt.js')
  return fixturesAt(rpcUrl)
}

function write(options: CliOptions, result: unknown, lines: readonly string[]): void {
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${lines.join('\n')}\n`)
}

function feedLine({ feed, previous, price }: SetFeedPriceReturnType): string {
  return `${feed.padEnd(9)} feed  ${previous} → ${price} USD`
}

function poolLine({ pool, previous, price, hashes }: SetPoolPriceReturnType): string {
  const { base, quote } = devnetPoolQuotes[pool]
  return `${pool.padEnd(9)} pool  ${previous} → ${price} ${quote} per ${base}${hashes.length ? '' : ' (already there)'}`
}

function describePool(pool: DevnetPool): string {
  const { base, quote } = devnetPoolQuotes[pool]
  return `${pool} (${quote} per ${base})`
}
