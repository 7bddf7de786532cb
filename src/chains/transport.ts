import { createTransport, stringify, type Transport } from 'viem'
import { RpcUnavailableError, redactUrl } from '../errors/index.js'
import { type CallContext, RpcCall } from './transportCall.js'
import { type EndpointHealth, type EndpointSettings, RpcEndpoint } from './transportEndpoint.js'
import { type RpcTransportOptions, resolveRpcTransportOptions } from './transportOptions.js'

export type { EndpointHealth } from './transportEndpoint.js'
export type { RpcTransportOptions } from './transportOptions.js'

/** What {@link createRpcTransport} returns. */
export type RpcTransport = {
  /** A viem transport: `createPublicClient({ chain, transport })`. All clients built on it share the endpoints. */
  transport: Transport<'airlock', { chainName: string; endpoints: () => EndpointHealth[] }>
  /** Health of every endpoint, in configured order. URLs and errors are free of credentials. */
  endpoints(): EndpointHealth[]
  /**
   * One JSON-RPC request through the same failover (what the viem transport calls; the Solana chain context
   * adapts it to `@solana/kit`'s transport). A JSON-RPC error arrives as viem's `RpcRequestError`.
   */
  request(call: { method: string; params?: unknown }, options?: { signal?: AbortSignal }): Promise<unknown>
  /** Ends in-flight requests and destroys every connection; later requests fail with `RPC_UNAVAILABLE`. */
  close(): void
}

/** Display names: redacted URLs, numbered when two endpoints would otherwise look the same. */
function displayNames(urls: readonly URL[]): string[] {
  const names = urls.map((u) => redactUrl(u.href))
  return names.map((name, i) =>
    names.indexOf(name) !== names.lastIndexOf(name) ? `${name} (#${i + 1})` : name,
  )
}

/**
 * Airlock's RPC transport for one EVM chain: keep-alive HTTP to several endpoints with per-attempt timeouts,
 * health-ranked failover, hedged reads, a circuit breaker per endpoint, a one-time `eth_chainId` check, strict
 * JSON-RPC response validation and a streaming response-size cap.
 *
 * - Reads fail over on any endpoint failure and are hedged: after `hedgeDelayMs` without an answer the next endpoint
 *   is asked too, the first valid answer wins and the other request is aborted.
 * - State-changing methods (`eth_send*`, `eth_sign*`, `personal_*`, `wallet_*`, `evm_*`, `anvil_*`, `hardhat_*`)
 *   are never hedged and move to another endpoint only when the first provably never received them (connection
 *   refused, or still connecting at the timeout); otherwise the error is reported and the caller reconciles.
 * - A JSON-RPC `error` in a well-formed answer (a revert with data) is thrown as viem's `RpcRequestError`, exactly as
 *   viem's `http()` does, so viem's error decoding keeps working; it does not count against the endpoint.
 * - Wall time is bounded: each attempt (chain-id check included) gets `timeoutMs`, so a request takes at most
 *   `urls.length × timeoutMs`, less when hedging overlaps slow endpoints. Open circuits fail fast.
 * - Sends use a fresh connection each (no stale pooled socket can make their outcome ambiguous); reads share one
 *   keep-alive pool per endpoint, and a read whose pooled socket was reset is retried once on a new one.
 * - Options are validated here, once. The transport sets viem's `retryCount` to 0: failover happens inside.
 * - viem wraps errors thrown by a transport: `RpcUnavailableError` / `ChainIdMismatchError` arrive as the `cause` of
 *   viem's `UnknownRpcError` (and of the action's error, e.g. `CallExecutionError`); walk `cause` to find them.
 *
 * @example
 * const rpc = createRpcTransport({ chainName: 'base', chainId: 8453, urls: ['https://a.example', 'https://b.example'] })
 * const client = createPublicClient({ chain: base, transport: rpc.transport })
 * await client.getBlockNumber()
 * rpc.endpoints() // [{ url: 'https://a.example', state: 'healthy', chainIdVerified: true, latencyMs: 41.2, … }, …]
 * rpc.close()
 * @throws {InvalidConfigError} when options are invalid (no URL, a non-http(s) URL, a duplicate, a bad number)
 * @throws {RpcUnavailableError} (from requests) every endpoint failed, is open-circuited, or a send's outcome is unknown
 * @throws {ChainIdMismatchError} (from requests) every endpoint serves another chain id
 */
export function createRpcTransport(options: RpcTransportOptions): RpcTransport {
  const o = resolveRpcTransportOptions(options)
  let lastId = 0
  const settings: EndpointSettings = {
    chainId: o.chainId,
    timeoutMs: o.timeoutMs,
    maxResponseBytes: o.maxResponseBytes,
    failureThreshold: o.failureThreshold,
    cooldownMs: o.cooldownMs,
    verifyChainId: o.verifyChainId,
    genesisHash: o.genesisHash,
    // Wraps well before 2^53; ids only need to be unique among requests in flight.
    nextId: () => (lastId = lastId >= 0x7fffffff ? 1 : lastId + 1),
  }
  const names = displayNames(o.urls)
  const endpoints = o.urls.map((url, i) => new RpcEndpoint(i, url, names[i] ?? '<endpoint>', settings))
  const ctx: CallContext = {
    chainName: o.chainName,
    chainId: o.chainId,
    endpoints,
    timeoutMs: o.timeoutMs,
    hedgeDelayMs: o.hedgeDelayMs,
    maxResponseBytes: o.maxResponseBytes,
    live: new Set(),
  }
  let closed = false

  const endpointHealth = (): EndpointHealth[] => {
    const now = Date.now()
    return endpoints.map((ep) => ep.health(now))
  }

  const request = (
    { method, params }: { method: string; params?: unknown },
    opts?: { signal?: AbortSignal },
  ) => {
    if (closed)
      return Promise.reject(
        new RpcUnavailableError({ chain: o.chainName, reason: 'the transport has been closed' }),
      )
    const id = settings.nextId()
    let encoded: string
    try {
      encoded = params === undefined ? '' : JSON.stringify(params)
    } catch {
      // bigint and friends: viem's stringify knows them; the plain path stays allocation-light.
      encoded = stringify(params)
    }
    const body =
      params === undefined
        ? `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}}`
        : `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${encoded}}`
    return new RpcCall(ctx, method, params, body, id, opts?.signal).promise
  }

  const value = { chainName: o.chainName, endpoints: endpointHealth }
  const transport: RpcTransport['transport'] = () =>
    createTransport(
      {
        key: 'airlock',
        name: `Airlock RPC (${o.chainName})`,
        type: 'airlock',
        // Failover and timeouts live in this transport; viem's own retries would multiply the wall time.
        retryCount: 0,
        timeout: o.timeoutMs,
        request: request as Parameters<typeof createTransport>[0]['request'],
      },
      value,
    )

  return {
    transport,
    endpoints: endpointHealth,
    request,
    close() {
      if (closed) return
      closed = true
      const error = new RpcUnavailableError({ chain: o.chainName, reason: 'the transport has been closed' })
      for (const call of [...ctx.live]) call.cancel(error)
      for (const ep of endpoints) ep.destroy()
    },
  }
}
