import { type Chain, defineChain } from 'viem'
import type { DevnetFixtures } from './fixtures.js'

/**
 * The viem chain definition of a running devnet: its id and RPC URL, Multicall3 and the ENS Universal Resolver.
 *
 * @example const client = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
 */
export function devnetChain(fixtures: DevnetFixtures): Chain {
  return defineChain({
    id: fixtures.chainId,
    name: 'Airlock devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [fixtures.rpcUrl] } },
    contracts: {
      multicall3: { address: fixtures.multicall3 },
      ensUniversalResolver: { address: fixtures.ensUniversalResolver },
    },
    testnet: true,
  })
}
