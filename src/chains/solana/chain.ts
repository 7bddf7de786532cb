import { createSolanaRpcFromTransport, type Rpc, type RpcTransport, type SolanaRpcApi } from '@solana/kit'
import { RpcRequestError } from 'viem'
import type { ChainContext as FamilyChainContext } from '../../context/chain.js'
import { redactUrl } from '../../errors/index.js'
import type { EndpointSource } from '../chains.js'
import { createRpcTransport, type EndpointHealth, type RpcTransportOptions } from '../transport.js'
import { solanaCaip2, solNativeAssetId } from './clusters.js'

/**
 * A Solana cluster as the tools see it: the family-neutral chain context plus its genesis hash, its store key and a
 * `@solana/kit` RPC client over Airlock's transport (failover, timeouts, health, response caps; an endpoint is used
 * only after its `getGenesisHash` matched).
 */
export type SolanaChainContext = FamilyChainContext & {
  readonly family: 'solana'
  /** The cluster's key in the store (see `clusters.ts`); never part of a transaction. */
  readonly id: number
  readonly genesisHash: string
  readonly source: EndpointSource
  /** kit's RPC client; built on first use. */
  readonly rpc: Rpc<SolanaRpcApi>
  endpoints(): EndpointHealth[]
}

/** What {@link createSolanaChain} needs. */
export type CreateSolanaChainOptions = {
  name: string
  id: number
  genesisHash: string
  testnet: boolean
  urls: readonly string[]
  source: EndpointSource
  transport?: Omit<RpcTransportOptions, 'chainName' | 'chainId' | 'urls' | 'genesisHash'> | undefined
  /** Called with each transport built, so the chain set can close it. */
  onTransport?: ((transport: { close(): void }) => void) | undefined
  /** Thrown when the cluster has no endpoint and a request is made. */
  noEndpoint: () => Error
}

/**
 * A Solana cluster's context. Requests go through {@link createRpcTransport} with the genesis-hash check; kit's
 * client sees a JSON-RPC error as the node sent it (code, message, data), so its own error decoding works.
 *
 * @example
 * const chain = createSolanaChain({ name: 'solana-local', id, genesisHash, testnet: true, urls: [url], source: 'devnet', noEndpoint })
 * await chain.rpc.getBalance(address).send()
 */
export function createSolanaChain(options: CreateSolanaChainOptions): SolanaChainContext {
  const caip2 = solanaCaip2(options.genesisHash)
  let rpc: Rpc<SolanaRpcApi> | undefined
  let transport: ReturnType<typeof createRpcTransport> | undefined
  const build = (): Rpc<SolanaRpcApi> => {
    if (!options.urls.length) throw options.noEndpoint()
    const t = createRpcTransport({
      ...options.transport,
      chainName: options.name,
      chainId: options.id,
      urls: [...options.urls],
      genesisHash: options.genesisHash,
    })
    transport = t
    options.onTransport?.(t)
    const kitTransport: RpcTransport = (async ({
      payload,
      signal,
    }: {
      payload: unknown
      signal?: AbortSignal
    }) => {
      const { id, method, params } = payload as { id: unknown; method: string; params?: unknown }
      try {
        const result = await t.request({ method, params }, signal ? { signal } : undefined)
        return { jsonrpc: '2.0', id, result }
      } catch (error) {
        if (error instanceof RpcRequestError)
          return {
            jsonrpc: '2.0',
            id,
            error: { code: error.code, message: error.details || error.shortMessage, data: error.data },
          }
        throw error
      }
    }) as RpcTransport
    rpc = createSolanaRpcFromTransport(kitTransport) as unknown as Rpc<SolanaRpcApi>
    return rpc
  }
  return {
    family: 'solana',
    name: options.name,
    id: options.id,
    caip2,
    genesisHash: options.genesisHash,
    testnet: options.testnet,
    native: { symbol: 'SOL', decimals: 9, assetId: solNativeAssetId(caip2) },
    source: options.source,
    get rpc() {
      return rpc ?? build()
    },
    endpoints: () =>
      transport?.endpoints() ??
      options.urls.map((url) => ({
        url: redactUrl(url),
        state: 'unknown' as const,
        chainIdVerified: false,
        latencyMs: null,
        successes: 0,
        failures: 0,
        consecutiveFailures: 0,
        lastError: null,
      })),
  }
}
