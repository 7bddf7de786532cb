import { type AnvilInstance, startAnvil } from './anvil.js'
import { deployFixtures } from './deployFixtures.js'
import type { DevnetFixtures } from './fixtures.js'

/** Options of {@link startDevnet}. */
export type StartDevnetParameters = {
  /** Port; 0 (default) picks a free one. */
  port?: number | undefined
  /** Chain id. Default 31337. */
  chainId?: number | undefined
  /** Interface to bind. Default 127.0.0.1. */
  host?: string | undefined
  /** Registry name in the fixtures. Default `devnet`, whatever the chain id. */
  chainName?: string | undefined
}

/** A running devnet: anvil plus deployed fixtures. */
export type Devnet = {
  rpcUrl: string
  chainId: number
  port: number
  fixtures: DevnetFixtures
  /** Stops anvil. Safe to call more than once. */
  stop(): Promise<void>
}

/**
 * Starts the embedded devnet (DESIGN §4): anvil on 127.0.0.1 with the test mnemonic, then the fixtures.
 *
 * @example
 * const devnet = await startDevnet({ port: 8545 })
 * console.log(devnet.fixtures.tokens.USDC.address)
 * await devnet.stop()
 * @throws {DevnetError} anvil cannot start (binary missing, port taken, early exit) or a fixture fails to deploy
 */
export async function startDevnet(parameters: StartDevnetParameters = {}): Promise<Devnet> {
  const anvil: AnvilInstance = await startAnvil({
    host: parameters.host,
    port: parameters.port,
    chainId: parameters.chainId,
  })
  try {
    const fixtures = await deployFixtures(anvil.rpcUrl, anvil.chainId, { chainName: parameters.chainName })
    return { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, port: anvil.port, fixtures, stop: anvil.stop }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}
