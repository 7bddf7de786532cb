import type { Address } from 'viem'
import { type Chains, createChains } from '../chains/chains.js'
import { type KnownContracts, knownContracts } from '../chains/knownContracts.js'
import { createTokenFacts } from '../chains/tokenFacts.js'
import { devnetChain } from '../devnet/devnetChain.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import { type Caller, createPipeline, type Pipeline } from '../pipeline/pipeline.js'
import { createWritePath, type WritePath } from '../pipeline/write.js'
import type { Signer } from '../signer/signer.js'
import type { Store } from '../store/openStore.js'
import type { MetadataFetcher, ToolContext } from '../tools/context.js'
import type { ToolDefinition } from '../tools/defineTool.js'
import { allTools } from '../tools/index.js'
import type { WriteToolDefinition } from '../tools/shared/write.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { createNonceManager } from '../txs/nonceManager.js'
import { createTracker, type Tracker } from '../txs/tracker.js'
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
  tools?: readonly (ToolDefinition | WriteToolDefinition)[] | undefined
  /** The write path's parts: an open store and (optionally) a signer. Without them, write tools say so. */
  writes?:
    | {
        store: Store | Promise<Store>
        signer?: Signer | undefined
        /** Test hook, devnet only: SIGKILL at a named point (crash-safety tests). */
        crashAt?: 'after-sign' | 'after-broadcast' | undefined
        trackerIntervalMs?: number | undefined
      }
    | undefined
}

/** The transport-independent core: chains, tools and the pipeline. One per process, shared by all MCP sessions. */
export type Gateway = {
  readonly pipeline: Pipeline
  readonly chains: Chains
  readonly devnet: DevnetFixtures | undefined
  /** Resolves when restart reconciliation is done (immediately without a write path). */
  readonly ready: Promise<unknown>
  /** The write path, when configured (tests and the CLI use it directly). */
  readonly writes: WritePath | undefined
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
  let writes: WritePath | undefined
  let tracker: Tracker | undefined
  let ready: Promise<unknown> = Promise.resolve()
  if (options.writes) {
    const { signer, crashAt, trackerIntervalMs } = options.writes
    // The store may still be opening (the CLI does not wait for it, so tools/list answers at once); every write
    // and intent call waits for it and for restart reconciliation before it runs.
    const built = Promise.resolve(options.writes.store).then(async (store) => {
      const journal = createIntentJournal(store)
      const nonces = createNonceManager(store, {
        chainNonce: (chainId, wallet) =>
          chains
            .resolve(chainId)
            .client.getTransactionCount({ address: wallet as Address, blockTag: 'pending' }),
      })
      tracker = createTracker({ journal, chains, intervalMs: trackerIntervalMs })
      const report = await tracker.reconcileAll()
      tracker.start()
      const path = createWritePath({
        context,
        journal,
        nonces,
        signer,
        tracker,
        feeCaps: (name) => config.chains?.[name],
        crashAt: devnet ? crashAt : undefined,
      })
      return { path, report }
    })
    ready = built.then((b) => b.report)
    writes = lazyWritePath(built.then((b) => b.path))
    context.writes = writes
  }
  const pipeline = createPipeline(options.tools ?? allTools, context, writes)
  return {
    pipeline,
    chains,
    devnet,
    ready,
    writes,
    call: (name, args, caller) => pipeline.call(name, args, caller),
    close: () => {
      tracker?.stop()
      chains.close()
    },
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
    uniswapV3: { quoter: f.uniswapV3.quoter, factory: f.uniswapV3.factory, router: f.uniswapV3.router },
    feeds: f.feeds,
  }
}

/** A write path whose parts are still being built: every call waits for them (and fails as they failed). */
function lazyWritePath(path: Promise<WritePath>): WritePath {
  path.catch(() => {}) // reported to each caller; an unawaited rejection must not end the process
  return {
    execute: async (...args) => (await path).execute(...args),
    describe: async (...args) => (await path).describe(...args),
    get: async (...args) => (await path).get(...args),
    list: async (...args) => (await path).list(...args),
    cancel: async (...args) => (await path).cancel(...args),
    speedUp: async (...args) => (await path).speedUp(...args),
    signTypedData: async (...args) => (await path).signTypedData(...args),
  }
}
