import { type Chains, createChains } from '../chains/chains.js'
import { type KnownContracts, knownContracts } from '../chains/knownContracts.js'
import { createTokenFacts } from '../chains/tokenFacts.js'
import { devnetChain } from '../devnet/devnetChain.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import { type Caller, createPipeline, type Pipeline } from '../pipeline/pipeline.js'
import type { MetadataFetcher, ToolContext } from '../tools/context.js'
import type { ToolDefinition } from '../tools/defineTool.js'
import { readTools } from '../tools/index.js'
import { createSafeFetcher } from '../untrusted/safeFetch.js'
import type { Config } from './config.js'

/** Options of {@link createGateway}. */
export type CreateGatewayOptions = {
  config?: Config | undefined
  /** Fixtures of a running devnet: adds the `devnet` chain, its tokens, pools and feeds. */
  devnet?: DevnetFixtures | undefined
  /** More devnet-like chains (distinct names and chain ids), e.g. ten chains for the portfolio bench. */
  extraDevnets?: readonly DevnetFixtures[] | undefined
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** Replace the metadata fetcher (tests). */
  fetcher?: MetadataFetcher | undefined
  tools?: readonly ToolDefinition[] | undefined
}

/** The transport-independent core: chains, tools and the pipeline. One per process, shared by all MCP sessions. */
export type Gateway = {
  readonly pipeline: Pipeline
  readonly chains: Chains
  readonly devnet: DevnetFixtures | undefined
  /** Runs a tool call through the pipeline. */
  call(name: string, args: unknown, caller: Caller): ReturnType<Pipeline['call']>
  close(): void
}

/**
 * Builds the gateway core from a validated config (and devnet fixtures in devnet mode).
 *
 * @example
 * const gateway = createGateway({ config, devnet: fixtures, env: process.env })
 * const server = createMcpServer(gateway, 'stdio')
 */
export function createGateway(options: CreateGatewayOptions = {}): Gateway {
  const config = options.config ?? {}
  const devnet = options.devnet
  const registry: Record<number, KnownContracts> = { ...knownContracts }
  const extra = []
  for (const d of [...(devnet ? [devnet] : []), ...(options.extraDevnets ?? [])]) {
    extra.push({ name: d.chain, chain: devnetChain(d), testnet: true, rpc: [d.rpcUrl] })
    registry[d.chainId] = devnetContracts(d)
  }
  const chains = createChains({
    settings: config.chains,
    extra,
    env: options.env,
    publicFallback: config.rpc?.publicFallback,
    transport: {
      ...(config.rpc?.timeoutMs === undefined ? {} : { timeoutMs: config.rpc.timeoutMs }),
      ...(config.rpc?.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: config.rpc.hedgeDelayMs }),
    },
  })
  const context: ToolContext = {
    chains,
    tokens: createTokenFacts(registry),
    fetcher:
      options.fetcher ?? createSafeFetcher(config.ipfsGateway ? { ipfsGateway: config.ipfsGateway } : {}),
    ensChain: devnet ? devnet.chain : 'ethereum',
    devnet,
  }
  const pipeline = createPipeline(options.tools ?? readTools, context)
  return {
    pipeline,
    chains,
    devnet,
    call: (name, args, caller) => pipeline.call(name, args, caller),
    close: () => chains.close(),
  }
}

function devnetContracts(f: DevnetFixtures): KnownContracts {
  return {
    tokens: [
      { symbol: 'USDC', name: 'USD Coin', address: f.tokens.USDC.address, decimals: f.tokens.USDC.decimals },
      {
        symbol: 'WETH',
        name: 'Wrapped Ether',
        address: f.tokens.WETH.address,
        decimals: f.tokens.WETH.decimals,
      },
      {
        symbol: 'DAI',
        name: 'Dai Stablecoin',
        address: f.tokens.DAI.address,
        decimals: f.tokens.DAI.decimals,
      },
    ],
    uniswapV3: { quoter: f.uniswapV3.quoter, factory: f.uniswapV3.factory },
    feeds: f.feeds,
  }
}
