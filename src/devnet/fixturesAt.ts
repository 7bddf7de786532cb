import { decodeFunctionResult, encodeFunctionData, getAddress, type Hex, parseAbi } from 'viem'
import { guardAddress } from '../chains/evm/guard.js'
import { DevnetError, redactUrl } from '../errors/index.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'
import { planFixtures } from './planFixtures.js'

/** Options of {@link fixturesAt}. */
export type FixturesAtOptions = {
  /** Registry name written into the fixtures. Default `devnet`. */
  chainName?: string | undefined
}

const feedAbi = parseAbi(['function description() view returns (string)'])

/**
 * The fixtures of a devnet that is already running (started by `airlock devnet` or `npm start`): the addresses
 * follow from the node's accounts alone ({@link planFixtures}), and the chain is checked to hold them (code at
 * every token, feed, pool and Uniswap contract; the feeds named as deployed).
 *
 * @example
 * const fixtures = await fixturesAt('http://127.0.0.1:8545')
 * await setMarket(fixtures, { ethUsd: '3018' })
 * @throws {DevnetError} the node is unreachable, has fewer than 10 unlocked accounts, or lacks the fixtures
 */
export async function fixturesAt(
  rpcUrl: string,
  { chainName = 'devnet' }: FixturesAtOptions = {},
): Promise<DevnetFixtures> {
  const [chainIdHex, accountList] = (await jsonRpc(rpcUrl, [
    { method: 'eth_chainId' },
    { method: 'eth_accounts' },
  ])) as [Hex, string[]]
  if (accountList.length < 10)
    throw new DevnetError(
      `The node at ${redactUrl(rpcUrl)} has ${accountList.length} unlocked accounts, not a devnet's 10.`,
      {
        metaMessages: ['Point at the devnet that `airlock devnet` or `npm start` printed.'],
      },
    )
  const { fixtures } = planFixtures(accountList.slice(0, 10).map((a) => getAddress(a)))
  const { tokens, feeds, uniswapV3 } = fixtures
  const expected = [
    ...Object.entries(tokens).map(([name, t]) => [name, t.address] as const),
    ...Object.entries(feeds).map(([name, f]) => [`${name} feed`, f.address] as const),
    ...Object.entries(uniswapV3.pools).map(([name, pool]) => [`${name} pool`, pool] as const),
    ['Uniswap factory', uniswapV3.factory] as const,
    ['Uniswap router', uniswapV3.router] as const,
    ['Uniswap quoter', uniswapV3.quoter] as const,
  ]
  const feedNames = Object.keys(feeds) as (keyof typeof feeds)[]
  const results = (await jsonRpc(rpcUrl, [
    ...expected.map(([, address]) => ({ method: 'eth_getCode', params: [address, 'latest'] })),
    { method: 'eth_getCode', params: [guardAddress, 'latest'] },
    ...feedNames.map((name) => ({
      method: 'eth_call',
      params: [
        { to: feeds[name].address, data: encodeFunctionData({ abi: feedAbi, functionName: 'description' }) },
        'latest',
      ],
    })),
  ])) as Hex[]
  const missing = expected.filter((_, i) => results[i] === '0x').map(([name]) => name)
  const descriptions = results
    .slice(expected.length + 1)
    .map((data) =>
      data === '0x' ? '' : decodeFunctionResult({ abi: feedAbi, functionName: 'description', data }),
    )
  feedNames.forEach((name, i) => {
    if (descriptions[i] !== name.replace('/', ' / ') && !missing.includes(`${name} feed`))
      missing.push(`${name} feed`)
  })
  if (missing.length)
    throw new DevnetError(`The node at ${redactUrl(rpcUrl)} does not hold Airlock's devnet fixtures.`, {
      details: `missing: ${missing.join(', ')}`,
      metaMessages: [
        'Point at a devnet started by `airlock devnet` or `npm start` (its RPC URL is printed at start).',
        'A devnet started by an older Airlock lacks the WBTC fixtures: start a fresh one.',
      ],
    })
  const hasGuard = results[expected.length] !== '0x'
  return {
    chain: chainName,
    chainId: Number(chainIdHex),
    rpcUrl,
    ...fixtures,
    ...(hasGuard ? { guard: guardAddress } : {}),
  }
}
