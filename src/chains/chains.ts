import {
  type CcipRequestParameters,
  type Chain,
  createPublicClient,
  type Hex,
  type PublicClient,
  type Transport,
} from 'viem'
import type { ChainContext as FamilyChainContext } from '../context/chain.js'
import { ChainNotFoundError, InvalidConfigError, redactUrl } from '../errors/index.js'
import { evmNativeAssetId } from './caip19.js'
import { ChainFamilyError } from './errors.js'
import { builtinChains, type RegistryEntry, rpcEnvName } from './registry.js'
import { createSolanaChain, type SolanaChainContext } from './solana/chain.js'
import { solanaClusters, solanaLocal } from './solana/clusters.js'
import { createRpcTransport, type EndpointHealth, type RpcTransportOptions } from './transport.js'

/** Where a chain's endpoint list came from. */
export type EndpointSource = 'config' | 'env' | 'devnet' | 'public-default' | 'none'

/**
 * An EVM chain as the tools see it: the family-neutral {@link FamilyChainContext} (name, CAIP-2, native coin with
 * its CAIP-19 id) plus the chain id, viem's definition and a lazily built viem client behind Airlock's RPC
 * transport.
 */
export type EvmChainContext = FamilyChainContext & {
  readonly family: 'evm'
  readonly id: number
  readonly chain: Chain
  readonly source: EndpointSource
  /**
   * viem public client; built on first use so that listing 50 chains costs nothing. It never follows EIP-3668
   * off-chain lookups (CCIP-Read): a contract read must not make the gateway fetch URLs the contract names.
   */
  readonly client: PublicClient<Transport, Chain>
  /**
   * The client for ENS resolution: the same endpoints, following off-chain lookups only through
   * {@link CreateChainsOptions.ccipRead} (the SSRF guard); without it, the same as `client`.
   */
  readonly ensClient: PublicClient<Transport, Chain>
  endpoints(): EndpointHealth[]
  /**
   * One client per endpoint, in the order of {@link ChainContext.endpoints}, each with the same transport settings
   * but no failover, so that answers can be cross-checked (the write simulation asks two endpoints). Built on first
   * use; closed with the chain set.
   */
  endpointClients?(): PublicClient<Transport, Chain>[]
}

/**
 * The EVM chain context under its older name: what `Chains.resolve` returns while every served chain is EVM.
 * Family-neutral code takes `ChainContext` from `src/context/chain.ts` instead.
 */
export type ChainContext = EvmChainContext

/** Per-chain settings from the config file. */
export type ChainSettings = {
  rpc?: readonly string[] | undefined
  timeoutMs?: number | undefined
  hedgeDelayMs?: number | undefined
}

/** Options of {@link createChains}. */
export type CreateChainsOptions = {
  /** Settings keyed by registry name. A key that is not a chain is a config error. */
  settings?: Readonly<Record<string, ChainSettings>> | undefined
  /** Extra chains (the devnet, or a custom chain from the config) with their endpoints. */
  extra?: readonly (RegistryEntry & { rpc: readonly string[] })[] | undefined
  /** The embedded Solana devnet (`solana-local`), when it runs. */
  solanaExtra?: readonly SolanaExtra[] | undefined
  /** Environment to read `AIRLOCK_RPC_<NAME>` from. */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** Use viem's public default endpoint when nothing is configured (default true). */
  publicFallback?: boolean | undefined
  /**
   * How the ENS client makes EIP-3668 gateway requests (viem's `ccipRead.request`); the gateway passes one that
   * goes through the SSRF guard. Without it, no client follows off-chain lookups.
   */
  ccipRead?: ((parameters: CcipRequestParameters) => Promise<Hex>) | undefined
  /** Transport defaults for every chain. */
  transport?:
    | Pick<RpcTransportOptions, 'timeoutMs' | 'hedgeDelayMs' | 'maxResponseBytes' | 'breaker'>
    | undefined
}

/** Any chain the gateway serves: an EVM chain or a Solana cluster. */
export type AnyChainContext = EvmChainContext | SolanaChainContext

/** A Solana cluster the gateway serves besides the built-in ones: the embedded devnet, with its genesis hash. */
export type SolanaExtra = { name: string; genesisHash: string; rpc: readonly string[] }

/** The chain registry with endpoints: resolve a `chain` argument, list chains, close transports. */
export type Chains = {
  /**
   * The EVM chain a `chain` argument names (tools that work only on EVM chains).
   * @throws {ChainNotFoundError} no such chain in the registry
   * @throws {ChainFamilyError} INVALID_INPUT: a Solana cluster, for a tool that works only on EVM chains
   */
  resolve(ref: string | number, tool?: string): EvmChainContext
  /**
   * The chain a `chain` argument names, of either family (tools that serve both).
   * @throws {ChainNotFoundError} no such chain in the registry
   */
  resolveAny(ref: string | number): AnyChainContext
  /** The EVM chains. */
  list(): EvmChainContext[]
  /** Every chain, EVM then Solana. */
  listAll(): AnyChainContext[]
  close(): void
}

/**
 * Builds the chain set the gateway serves: the built-in registry, extra chains (devnet), and endpoint lists from
 * config, then `AIRLOCK_RPC_<NAME>`, then (unless disabled) viem's public default.
 *
 * @example
 * const chains = createChains({ env: process.env })
 * chains.resolve('eip155:8453').name // 'base'
 * @throws {InvalidConfigError} a settings key names no chain
 */
export function createChains(options: CreateChainsOptions = {}): Chains {
  const env = options.env ?? {}
  const entries: (RegistryEntry & { rpc?: readonly string[] })[] = [
    ...(options.extra ?? []),
    ...builtinChains,
  ]
  const byName = new Map<string, EvmChainContext>()
  const byId = new Map<number, EvmChainContext>()
  const transports: { close(): void }[] = []

  const solanaNames = new Set([
    ...solanaClusters.map((c) => c.name),
    ...(options.solanaExtra ?? []).map((c) => c.name),
  ])
  for (const name of Object.keys(options.settings ?? {}))
    if (!entries.some((e) => e.name === name) && !solanaNames.has(name))
      throw new InvalidConfigError(`Config field "chains.${name}" names no known chain.`, {
        field: `chains.${name}`,
        metaMessages: [
          'Use a registry name such as ethereum, base, arbitrum, solana, solana-devnet (see list_chains).',
        ],
      })

  for (const entry of entries) {
    if (byName.has(entry.name) || byId.has(entry.chain.id)) continue // extras shadow built-ins
    const settings = options.settings?.[entry.name]
    const fromEnv = env[rpcEnvName(entry.name)]
      ?.split(',')
      .map((u) => u.trim())
      .filter(Boolean)
    let urls: readonly string[] = []
    let source: EndpointSource = 'none'
    if (entry.rpc?.length) [urls, source] = [entry.rpc, 'devnet']
    else if (settings?.rpc?.length) [urls, source] = [settings.rpc, 'config']
    else if (fromEnv?.length) [urls, source] = [fromEnv, 'env']
    else if (options.publicFallback !== false && entry.chain.rpcUrls.default.http.length)
      [urls, source] = [entry.chain.rpcUrls.default.http, 'public-default']

    let rpc: ReturnType<typeof createRpcTransport> | undefined
    let client: PublicClient<Transport, Chain> | undefined
    let ensClient: PublicClient<Transport, Chain> | undefined
    let perEndpoint: PublicClient<Transport, Chain>[] | undefined
    const clientFor = (list: readonly string[]) => {
      if (!list.length)
        throw new InvalidConfigError(`Chain "${entry.name}" has no RPC endpoint configured.`, {
          field: `chains.${entry.name}.rpc`,
          metaMessages: [`Add endpoints in the config file or set ${rpcEnvName(entry.name)}=url1,url2.`],
        })
      const t = createRpcTransport({
        ...options.transport,
        ...(settings?.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
        ...(settings?.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: settings.hedgeDelayMs }),
        chainName: entry.name,
        chainId: entry.chain.id,
        urls: [...list],
      })
      transports.push(t)
      return {
        rpc: t,
        client: createPublicClient({
          chain: entry.chain,
          transport: t.transport,
          batch: { multicall: false },
          ccipRead: false,
        }),
      }
    }
    const build = () => {
      const built = clientFor(urls)
      rpc = built.rpc
      client = built.client
      return built.client
    }
    const caip2 = `eip155:${entry.chain.id}`
    const { symbol, decimals } = entry.chain.nativeCurrency
    const context: EvmChainContext = {
      family: 'evm',
      name: entry.name,
      id: entry.chain.id,
      caip2,
      chain: entry.chain,
      testnet: entry.testnet,
      native: { symbol, decimals, assetId: evmNativeAssetId(caip2, symbol) },
      source,
      get client() {
        return client ?? build()
      },
      get ensClient() {
        if (ensClient) return ensClient
        const base = context.client
        const request = options.ccipRead
        ensClient = request
          ? createPublicClient({
              chain: entry.chain,
              transport: (rpc as NonNullable<typeof rpc>).transport,
              batch: { multicall: false },
              ccipRead: { request },
            })
          : base
        return ensClient
      },
      endpoints: () => rpc?.endpoints() ?? urls.map(unknownEndpoint),
      endpointClients() {
        if (urls.length <= 1) return [context.client]
        perEndpoint ??= urls.map((url) => clientFor([url]).client)
        return perEndpoint
      },
    }
    byName.set(entry.name, context)
    byId.set(entry.chain.id, context)
  }

  const solanaByName = new Map<string, SolanaChainContext>()
  const solanaByCaip2 = new Map<string, SolanaChainContext>()
  const solanaList: {
    name: string
    genesisHash: string
    id: number
    testnet: boolean
    urls: readonly string[]
    source: EndpointSource
  }[] = []
  for (const extra of options.solanaExtra ?? [])
    solanaList.push({
      name: extra.name,
      genesisHash: extra.genesisHash,
      id: extra.name === solanaLocal.name ? solanaLocal.id : solanaLocal.id + 1 + solanaList.length,
      testnet: true,
      urls: extra.rpc,
      source: 'devnet',
    })
  for (const cluster of solanaClusters) {
    if (solanaList.some((c) => c.name === cluster.name || c.genesisHash === cluster.genesisHash)) continue
    const settings = options.settings?.[cluster.name]
    const fromEnv = env[rpcEnvName(cluster.name)]
      ?.split(',')
      .map((u) => u.trim())
      .filter(Boolean)
    let urls: readonly string[] = []
    let source: EndpointSource = 'none'
    if (settings?.rpc?.length) [urls, source] = [settings.rpc, 'config']
    else if (fromEnv?.length) [urls, source] = [fromEnv, 'env']
    else if (options.publicFallback !== false) [urls, source] = [cluster.publicRpc, 'public-default']
    solanaList.push({ ...cluster, urls, source })
  }
  for (const c of solanaList) {
    const settings = options.settings?.[c.name]
    const context = createSolanaChain({
      ...c,
      transport: {
        ...options.transport,
        ...(settings?.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
        ...(settings?.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: settings.hedgeDelayMs }),
      },
      onTransport: (t) => transports.push(t),
      noEndpoint: () =>
        new InvalidConfigError(`Chain "${c.name}" has no RPC endpoint configured.`, {
          field: `chains.${c.name}.rpc`,
          metaMessages: [`Add endpoints in the config file or set ${rpcEnvName(c.name)}=url1,url2.`],
        }),
    })
    solanaByName.set(c.name, context)
    solanaByCaip2.set(context.caip2, context)
  }

  const solanaById = new Map([...solanaByName.values()].map((c) => [c.id, c]))
  const lookupSolana = (ref: string | number): SolanaChainContext | undefined => {
    // A number is a store key (intents keep one per chain), never something an agent writes for Solana.
    if (typeof ref === 'number') return solanaById.get(ref)
    if (/^\d{1,15}$/.test(ref.trim())) return undefined
    const text = ref.trim()
    // CAIP-2 references of Solana are base58: case-sensitive.
    return solanaByName.get(text.toLowerCase()) ?? solanaByCaip2.get(text)
  }

  return {
    resolve(ref, tool) {
      const found = lookup(ref)
      if (found) return found
      const solana = lookupSolana(ref)
      if (solana) throw new ChainFamilyError({ chain: solana.name, family: 'solana', expected: 'evm', tool })
      throw new ChainNotFoundError({ chain: String(ref).slice(0, 80), field: 'chain' })
    },
    resolveAny(ref) {
      const found = lookup(ref) ?? lookupSolana(ref)
      if (found) return found
      throw new ChainNotFoundError({ chain: String(ref).slice(0, 80), field: 'chain' })
    },
    list: () => [...byName.values()],
    listAll: () => [...byName.values(), ...solanaByName.values()],
    close() {
      for (const t of transports.splice(0)) t.close()
    },
  }

  function lookup(ref: string | number): EvmChainContext | undefined {
    if (typeof ref === 'number') return Number.isSafeInteger(ref) ? byId.get(ref) : undefined
    const text = ref.trim().toLowerCase()
    if (/^\d{1,15}$/.test(text)) return byId.get(Number(text))
    const caip = /^eip155:(\d{1,15})$/.exec(text)
    if (caip) return byId.get(Number(caip[1]))
    return byName.get(text)
  }
}

function unknownEndpoint(url: string): EndpointHealth {
  return {
    url: redactUrl(url),
    state: 'unknown',
    chainIdVerified: false,
    latencyMs: null,
    successes: 0,
    failures: 0,
    consecutiveFailures: 0,
    lastError: null,
  }
}
