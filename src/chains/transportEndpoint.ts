import { scrubSecrets } from '../errors/index.js'
import { createHttpTarget, type HttpTarget, type JsonRpcErrorObject, postJsonRpc } from './transportPost.js'

/** Health of one endpoint as `endpoints()` and `airlock://chains` report it. URLs and errors are secret-free. */
export type EndpointHealth = {
  /** The endpoint with credentials, API-key paths and queries removed (`https://host:port/…`). */
  url: string
  /**
   * `unknown`: not used yet; `healthy`: last request succeeded; `degraded`: recent failures (or a half-open circuit
   * waiting for its probe); `open`: circuit open, skipped; `wrong-chain`: `eth_chainId` differs, never used.
   */
  state: 'unknown' | 'healthy' | 'degraded' | 'open' | 'wrong-chain'
  /** Whether `eth_chainId` has been checked against the configured chain (always true with verification off). */
  chainIdVerified: boolean
  /** Exponentially weighted moving average of successful request latency, in ms; null before the first success. */
  latencyMs: number | null
  /** Requests answered validly (a JSON-RPC error such as a revert counts; so does the `eth_chainId` check). */
  successes: number
  /** Requests that failed: timeout, network error, bad status, malformed or oversized answer, wrong chain. */
  failures: number
  /** Failures since the last success; the circuit opens when this reaches the breaker's threshold. */
  consecutiveFailures: number
  /** Short cause of the last failure, scrubbed of secrets. */
  lastError: string | null
}

/** Settings an endpoint needs, shared by every endpoint of one transport. */
export type EndpointSettings = {
  readonly chainId: number
  readonly timeoutMs: number
  readonly maxResponseBytes: number
  readonly failureThreshold: number
  readonly cooldownMs: number
  readonly verifyChainId: boolean
  /** A Solana cluster's genesis hash: checked with `getGenesisHash` instead of `eth_chainId`. */
  readonly genesisHash?: string | undefined
  /** Allocates JSON-RPC ids, unique per transport. */
  nextId(): number
}

/** Rank of an endpoint that must not be used now (open circuit, probe already out, wrong chain). */
export const UNAVAILABLE = 9

const EWMA_WEIGHT = 0.2

/**
 * One upstream endpoint: connection target, circuit breaker, latency EWMA and the one-time `eth_chainId` check.
 * Only the transport uses this; it is not exported from the package.
 *
 * @example
 * const ep = new RpcEndpoint(0, new URL('http://127.0.0.1:8545'), 'http://127.0.0.1:8545', settings)
 * if (await ep.verify()) ep.health(Date.now()).chainIdVerified // true
 */
export class RpcEndpoint {
  readonly index: number
  readonly bit: number
  readonly url: string
  readonly target: HttpTarget
  readonly settings: EndpointSettings
  verified: boolean
  /** The chain id (a Solana endpoint: the genesis hash) it reported when it differs from the configured one. */
  wrongChainId: number | string | null = null
  successes = 0
  failures = 0
  consecutiveFailures = 0
  latencyMs: number | null = null
  lastError: string | null = null
  lastFailureAt = 0
  openUntil = 0
  probing = false
  private verifying: Promise<boolean> | null = null

  constructor(index: number, url: URL, display: string, settings: EndpointSettings) {
    this.index = index
    this.bit = 1 << index
    this.url = display
    this.target = createHttpTarget(url)
    this.settings = settings
    this.verified = !settings.verifyChainId
  }

  /**
   * Where this endpoint stands in the failover order now: lower ranks are tried first, equal ranks keep the
   * configured order. 0 healthy, unknown, or due another chance (its last failure is older than the cooldown);
   * 1 degraded (recent failures below the threshold); {@link UNAVAILABLE} open, wrong chain, or probe already out.
   * A half-open circuit (cooldown over) ranks 0 for reads, which then carry its one probe, and 2 for writes,
   * which should not be the ones to find out.
   */
  rank(now: number, write: boolean): number {
    if (this.consecutiveFailures === 0) return this.wrongChainId === null ? 0 : UNAVAILABLE
    if (this.wrongChainId !== null) return UNAVAILABLE
    if (this.consecutiveFailures < this.settings.failureThreshold)
      return now - this.lastFailureAt < this.settings.cooldownMs ? 1 : 0
    if (now < this.openUntil || this.probing) return UNAVAILABLE
    return write ? 2 : 0
  }

  /** True when the circuit is half-open: picking this endpoint makes the request its probe. */
  halfOpen(): boolean {
    return this.consecutiveFailures >= this.settings.failureThreshold
  }

  recordSuccess(latencyMs: number): void {
    this.successes++
    this.consecutiveFailures = 0
    this.openUntil = 0
    this.probing = false
    this.latencyMs =
      this.latencyMs === null ? latencyMs : this.latencyMs + EWMA_WEIGHT * (latencyMs - this.latencyMs)
  }

  recordFailure(reason: string): void {
    this.failures++
    this.consecutiveFailures++
    this.lastError = scrubSecrets(reason)
    this.probing = false
    if (this.consecutiveFailures >= this.settings.failureThreshold)
      this.openUntil = Date.now() + this.settings.cooldownMs
  }

  /** Why this endpoint is skipped right now, for error summaries. */
  skipReason(now: number): string {
    if (this.wrongChainId !== null)
      return typeof this.wrongChainId === 'string'
        ? `wrong cluster (genesis hash ${this.wrongChainId.slice(0, 44)})`
        : `wrong chain (serves chain id ${this.wrongChainId})`
    if (now < this.openUntil)
      return `circuit open for ${Math.ceil((this.openUntil - now) / 1000)} s after: ${this.lastError ?? 'failures'}`
    if (this.probing) return 'recovering (a probe request is in flight)'
    return 'not tried'
  }

  health(now: number): EndpointHealth {
    let state: EndpointHealth['state']
    if (this.wrongChainId !== null) state = 'wrong-chain'
    else if (this.consecutiveFailures >= this.settings.failureThreshold)
      state = now < this.openUntil || this.probing ? 'open' : 'degraded'
    else if (this.consecutiveFailures > 0) state = 'degraded'
    else state = this.successes > 0 ? 'healthy' : 'unknown'
    return {
      url: this.url,
      state,
      chainIdVerified: this.verified,
      latencyMs: this.latencyMs === null ? null : Math.round(this.latencyMs * 1000) / 1000,
      successes: this.successes,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
    }
  }

  /**
   * Resolves true once `eth_chainId` matched. Concurrent callers share one in-flight check; a failed check is
   * recorded and retried by the next caller; a mismatch marks the endpoint wrong-chain for good.
   */
  verify(): Promise<boolean> {
    if (this.verified) return Promise.resolve(true)
    if (this.wrongChainId !== null) return Promise.resolve(false)
    this.verifying ??= new Promise<boolean>((resolve) => this.checkChainId(resolve))
    return this.verifying
  }

  private checkChainId(resolve: (ok: boolean) => void): void {
    const id = this.settings.nextId()
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    const finish = (ok: boolean) => {
      clearTimeout(timer)
      this.verifying = null
      resolve(ok)
    }
    const failed = (reason: string) => {
      this.recordFailure(`chain id check failed: ${reason}`)
      finish(false)
    }
    const settings = this.settings
    let done = false
    const genesis = settings.genesisHash
    const method = genesis ? 'getGenesisHash' : 'eth_chainId'
    const req = postJsonRpc(
      this.target,
      `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":[]}`,
      id,
      settings.maxResponseBytes,
      {
        onResult: (result) => {
          if (done) return
          done = true
          if (genesis) {
            if (typeof result !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(result))
              return failed('getGenesisHash returned a malformed value')
            if (result !== genesis) {
              this.wrongChainId = result
              this.failures++
              this.lastError = `wrong cluster: genesis hash ${result}, expected ${genesis}`
              return finish(false)
            }
            this.verified = true
            this.recordSuccess(performance.now() - started)
            return finish(true)
          }
          const actual =
            typeof result === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(result) ? Number(result) : Number.NaN
          if (!Number.isSafeInteger(actual)) return failed('eth_chainId returned a malformed value')
          if (actual !== settings.chainId) {
            this.wrongChainId = actual
            this.failures++
            this.lastError = `wrong chain: serves chain id ${actual}, expected ${settings.chainId}`
            return finish(false)
          }
          this.verified = true
          this.recordSuccess(performance.now() - started)
          finish(true)
        },
        onRpcError: (error: JsonRpcErrorObject) => {
          if (done) return
          done = true
          failed(`${method} returned error ${error.code}`)
        },
        onFailure: (reason) => {
          if (done) return
          done = true
          failed(reason)
        },
      },
    )
    timer = setTimeout(() => {
      if (done) return
      done = true
      req.destroy()
      failed(`timed out after ${settings.timeoutMs} ms`)
    }, settings.timeoutMs)
    timer.unref()
  }

  /** Destroys every pooled and in-use socket of this endpoint. */
  destroy(): void {
    this.target.options.agent.destroy()
  }
}
