import type { Abi, Hex } from 'viem'
import artifacts from '../../contracts/artifacts.json' with { type: 'json' }

/** Names of the contracts in `contracts/artifacts.json`. */
export type DevnetContractName =
  | 'AbsurdDecimalsToken'
  | 'DAI'
  | 'DemoMulti'
  | 'DemoNFT'
  | 'ENSRegistry'
  | 'HomoglyphToken'
  | 'Multicall3'
  | 'NonfungiblePositionManager'
  | 'PriceFeed'
  | 'PublicResolver'
  | 'QuoterV2'
  | 'ReverseRegistrar'
  | 'RevertingDecimalsToken'
  | 'SwapRouter'
  | 'USDC'
  | 'UniswapV3Factory'
  | 'UniversalResolver'
  | 'WBTC'
  | 'WETH9'

/** ABI and creation bytecode of one devnet contract. */
export type DevnetArtifact = { abi: Abi; bytecode: Hex }

/**
 * The compiled devnet contracts (built by `npm run contracts`, committed, so running needs no compiler).
 *
 * @example
 * const { abi, bytecode } = devnetArtifacts.contracts.USDC
 */
export const devnetArtifacts = artifacts as unknown as {
  sourceHash: string
  compiler: string
  contracts: Record<DevnetContractName, DevnetArtifact>
}
