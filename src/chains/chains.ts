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
import { ChainNotServedError, solanaChainNames } from './errors.js'
import { builtinChains, type RegistryEntry, rpcEnvName } from './registry.js'
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

/** The chain registry with endpoints: resolve a `chain` argument, list chains, close transports. */
export type Chains = {
  /**
   * The chain a `chain` argument names.
   * @throws {ChainNotFoundError} no such chain in the registry
   * @throws {ChainNotServedError} CHAIN_NOT_FOUND: a Solana cluster (`solana`, `solana-devnet`, `solana-local`,
   *   `solana:…`), which is not served yet
   */
  resolve(ref: string | number): EvmChainContext
  list(): EvmChainContext[]
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

  for (const name of Object.keys(options.settings ?? {}))
    if (!entries.some((e) => e.name === name))
      throw new InvalidConfigError(
        solanaChainNames.includes(name)
          ? `Config field "chains.${name}" names a Solana cluster; Solana is not served yet (it lands in a later release).`
          : `Config field "chains.${name}" names no known chain.`,
        {
          field: `chains.${name}`,
          metaMessages: ['Use a registry name such as ethereum, base, arbitrum (see list_chains).'],
        },
      )

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

  return {
    resolve(ref) {
      const found = lookup(ref)
      if (found) return found
      const shown = String(ref).slice(0, 80)
      if (isSolanaRef(ref)) throw new ChainNotServedError({ chain: shown, field: 'chain' })
      throw new ChainNotFoundError({ chain: shown, field: 'chain' })
    },
    list: () => [...byName.values()],
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

/** A reference to a Solana cluster: a registry name of one, or the CAIP-2 `solana` namespace. */
function isSolanaRef(ref: string | number): boolean {
  if (typeof ref !== 'string') return false
  const text = ref.trim().toLowerCase()
  return solanaChainNames.includes(text) || /^solana:[-_a-z0-9]{1,32}$/.test(text)
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
