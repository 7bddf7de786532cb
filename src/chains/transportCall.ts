import type { ClientRequest } from 'node:http'
import { RpcRequestError } from 'viem'
import { ChainIdMismatchError, RpcUnavailableError } from '../errors/index.js'
import { ClusterMismatchError } from './errors.js'
import { type RpcEndpoint, UNAVAILABLE } from './transportEndpoint.js'
import type { JsonRpcErrorObject, PostHandler } from './transportPost.js'
import { postJsonRpc } from './transportPost.js'

/** What every call of one transport shares. */
export type CallContext = {
  readonly chainName: string
  readonly chainId: number
  readonly endpoints: readonly RpcEndpoint[]
  readonly timeoutMs: number
  readonly hedgeDelayMs: number
  readonly maxResponseBytes: number
  readonly live: Set<RpcCall>
}

/**
 * Methods that change state or sign. They are never hedged and never re-sent after they may have reached an
 * endpoint: a duplicate `eth_sendRawTransaction` (or `evm_mine`, `anvil_*` on a devnet) is not harmless.
 *
 * @example isNonIdempotent('eth_sendRawTransaction') // true; isNonIdempotent('eth_call') // false
 */
export function isNonIdempotent(method: string): boolean {
  return (
    method.startsWith('eth_send') ||
    method.startsWith('eth_sign') ||
    method.startsWith('personal_') ||
    method.startsWith('wallet_') ||
    method.startsWith('evm_') ||
    method.startsWith('anvil_') ||
    method.startsWith('hardhat_') ||
    // Solana: a second send of the same bytes is deduplicated by signature, but never counted on.
    method === 'sendTransaction' ||
    method === 'requestAirdrop' ||
    method.startsWith('airlock_')
  )
}

// Rate limiting is a property of the endpoint, not of the request: fail over instead of surfacing it.
function isRateLimit(code: number): boolean {
  return code === 429 || code === -32007
}

/** One attempt of a call at one endpoint: optional chain-id wait, then the POST, under one timer. */
class Attempt implements PostHandler {
  done = false
  req: ClientRequest | null = null
  timer: NodeJS.Timeout | undefined
  started = 0
  retried = false
  hedgePending: boolean

  constructor(
    readonly call: RpcCall,
    readonly ep: RpcEndpoint,
    readonly probe: boolean,
  ) {
    const ctx = call.ctx
    this.hedgePending = call.hedgeable && ctx.hedgeDelayMs > 0 && ctx.hedgeDelayMs < ctx.timeoutMs
    this.timer = setTimeout(this.onTimer, this.hedgePending ? ctx.hedgeDelayMs : ctx.timeoutMs)
    if (ep.verified) this.send()
    else
      ep.verify().then((ok) => {
        if (this.done) return
        if (ok) this.send()
        // The check recorded its own failure; this attempt just moves on, nothing was sent.
        else
          this.fail(
            ep.wrongChainId === null ? (ep.lastError ?? 'chain id check failed') : ep.skipReason(0),
            false,
            false,
          )
      })
  }

  send(): void {
    this.started = performance.now()
    const call = this.call
    try {
      this.req = postJsonRpc(
        this.ep.target,
        call.body,
        call.id,
        call.ctx.maxResponseBytes,
        this,
        !call.hedgeable,
      )
    } catch {
      // node:http refused to build the request (it validates options synchronously); nothing left the process.
      this.fail('the request could not be built', false, true)
    }
  }

  // Arrow so it can be handed to setTimeout without a bind per attempt.
  onTimer = (): void => {
    if (this.done) return
    if (this.hedgePending) {
      this.hedgePending = false
      const ctx = this.call.ctx
      this.timer = setTimeout(this.onTimer, ctx.timeoutMs - ctx.hedgeDelayMs)
      this.call.hedge()
      return
    }
    const req = this.req
    const socket = req?.socket
    // Still connecting (or not even sent): the endpoint cannot have seen the request.
    const delivered = req !== null && socket !== null && socket !== undefined && !socket.connecting
    const reason = `timed out after ${this.call.ctx.timeoutMs} ms`
    // While waiting on the shared chain-id check, the check itself records the endpoint's outcome.
    this.fail(reason, delivered, req !== null)
  }

  onResult(result: unknown): void {
    if (this.done) return
    this.finish()
    this.ep.recordSuccess(performance.now() - this.started)
    this.call.resolveWith(result)
  }

  onRpcError(error: JsonRpcErrorObject, status: number): void {
    if (this.done) return
    if (isRateLimit(error.code) && this.call.hedgeable) {
      this.fail(`rate limited (${error.code})`, true, true)
      return
    }
    this.finish()
    if (isRateLimit(error.code)) this.ep.recordFailure(`rate limited (${error.code})`)
    // Any other JSON-RPC error (a revert, bad params) is a correct answer from a working endpoint.
    else this.ep.recordSuccess(performance.now() - this.started)
    this.call.rejectWithRpcError(this, error, status)
  }

  onFailure(reason: string, delivered: boolean): void {
    if (this.done) return
    // A pooled connection the server had already closed: the request never got a hearing. Reads try once more
    // on a new connection, within the same timer, without blaming the endpoint.
    if (
      !this.retried &&
      this.req?.reusedSocket &&
      (reason === 'connection reset' || reason === 'connection closed while sending')
    ) {
      this.retried = true
      this.send()
      return
    }
    this.fail(reason, delivered, true)
  }

  fail(reason: string, delivered: boolean, record: boolean): void {
    this.finish()
    if (record) this.ep.recordFailure(reason)
    else if (this.probe) this.ep.probing = false
    this.call.attemptFailed(this, reason, delivered)
  }

  finish(): void {
    this.done = true
    clearTimeout(this.timer)
  }

  /** Abandons the attempt without judging the endpoint (another attempt won, or the caller gave up). */
  abort(): void {
    if (this.done) return
    this.finish()
    this.req?.destroy()
    if (this.probe) this.ep.probing = false
  }
}

/**
 * One JSON-RPC request through the transport: ranked failover, hedging for reads, and one clear error at the end.
 * The promise settles exactly once; losing attempts are aborted. Internal to {@link createRpcTransport}.
 *
 * @example
 * const result = await new RpcCall(ctx, 'eth_blockNumber', undefined, '{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}', 7).promise
 */
export class RpcCall {
  readonly ctx: CallContext
  readonly method: string
  readonly params: unknown
  readonly body: string
  readonly id: number
  readonly hedgeable: boolean
  readonly promise: Promise<unknown>
  private resolve!: (value: unknown) => void
  private reject!: (error: unknown) => void
  private settled = false
  private tried = 0
  private first: Attempt | undefined
  private others: Attempt[] | undefined
  private reasons: (string | undefined)[] | undefined
  private signal: AbortSignal | undefined

  constructor(
    ctx: CallContext,
    method: string,
    params: unknown,
    body: string,
    id: number,
    signal?: AbortSignal,
  ) {
    this.ctx = ctx
    this.method = method
    this.params = params
    this.body = body
    this.id = id
    this.hedgeable = !isNonIdempotent(method)
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    if (signal) {
      if (signal.aborted) {
        this.settle()
        this.reject(signal.reason)
        return
      }
      this.signal = signal
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
    ctx.live.add(this)
    if (!this.launchNext()) this.giveUp()
  }

  private onAbort = (): void => {
    if (this.settled) return
    this.settle()
    this.reject(this.signal?.reason)
  }

  /** Starts an attempt at the best endpoint not yet tried by this call; false when none is left. */
  private launchNext(): boolean {
    const now = Date.now()
    let best: RpcEndpoint | undefined
    let bestRank = UNAVAILABLE
    for (const ep of this.ctx.endpoints) {
      if (this.tried & ep.bit) continue
      const rank = ep.rank(now, !this.hedgeable)
      if (rank < bestRank) {
        best = ep
        bestRank = rank
        if (rank === 0) break
      }
    }
    if (!best) return false
    this.tried |= best.bit
    const probe = best.halfOpen()
    if (probe) best.probing = true
    const attempt = new Attempt(this, best, probe)
    if (this.first === undefined || this.first.done) this.first = attempt
    else if (this.others) this.others.push(attempt)
    else this.others = [attempt]
    return true
  }

  /** How many attempts are in flight, and whether any of them may still hedge on its own timer. */
  private running(): { count: number; canHedge: boolean } {
    const state = { count: 0, canHedge: false }
    const tally = (a: Attempt | undefined) => {
      if (!a || a.done) return
      state.count++
      if (a.hedgePending) state.canHedge = true
    }
    tally(this.first)
    if (this.others) for (const a of this.others) tally(a)
    return state
  }

  /** An attempt has been quiet for `hedgeDelayMs`: ask the next endpoint too, keeping at most two in flight. */
  hedge(): void {
    if (this.settled) return
    if (this.running().count <= 1) this.launchNext()
  }

  resolveWith(result: unknown): void {
    if (this.settled) return
    this.settle()
    this.resolve(result)
  }

  rejectWithRpcError(from: Attempt, error: JsonRpcErrorObject, status: number): void {
    if (this.settled) return
    this.settle()
    const body =
      this.params === undefined ? { method: this.method } : { method: this.method, params: this.params }
    // Same error viem's http transport throws, so viem's decoding (revert data, error codes) works unchanged,
    // but with the endpoint URL reduced to scheme, host and port.
    // An endpoint may echo its own URL's key back ("invalid key abc…"): scrub the literal secrets we know of.
    const secrets = from.ep.target.secrets
    let message = error.message
    for (const secret of secrets) if (message.includes(secret)) message = message.replaceAll(secret, '***')
    const safe = message === error.message ? error : { ...error, message }
    this.reject(
      new RpcRequestError({ body, error: safe, url: from.ep.url, ...(status === 200 ? {} : { status }) }),
    )
  }

  attemptFailed(attempt: Attempt, reason: string, delivered: boolean): void {
    if (this.settled) return
    this.reasons ??= []
    this.reasons[attempt.ep.index] = reason
    if (!this.hedgeable && delivered) {
      // The endpoint may have acted on it: re-sending elsewhere could duplicate a transaction.
      this.settle()
      this.reject(
        new RpcUnavailableError({
          chain: this.ctx.chainName,
          reason: `${attempt.ep.url}: ${reason}; ${this.method} may or may not have been received, so it was not re-sent`,
        }),
      )
      return
    }
    const { count, canHedge } = this.running()
    if (count > 0) {
      // A racer failed beside a slow attempt that already spent its hedge: put a new one in the race.
      if (this.hedgeable && !canHedge) this.launchNext()
      return
    }
    if (!this.launchNext()) this.giveUp()
  }

  private giveUp(): void {
    if (this.settled) return
    this.settle()
    const now = Date.now()
    const eps = this.ctx.endpoints
    const wrong = eps.filter((ep) => ep.wrongChainId !== null)
    if (wrong.length === eps.length && wrong[0] && typeof wrong[0].wrongChainId === 'string') {
      this.reject(
        new ClusterMismatchError({
          chain: this.ctx.chainName,
          details: wrong.map((ep) => `${ep.url}: ${ep.skipReason(0)}`).join('; '),
        }),
      )
      return
    }
    if (wrong.length === eps.length && wrong[0]) {
      const details = wrong.map((ep) => `${ep.url} serves chain id ${ep.wrongChainId}`).join('; ')
      this.reject(
        new ChainIdMismatchError({
          endpoint: wrong[0].url,
          expected: this.ctx.chainId,
          actual: Number(wrong[0].wrongChainId ?? 0),
          details: `Every endpoint of chain "${this.ctx.chainName}" serves another chain: ${details}.`,
        }),
      )
      return
    }
    const summary = eps.map((ep) => `${ep.url}: ${this.reasons?.[ep.index] ?? ep.skipReason(now)}`).join('; ')
    this.reject(new RpcUnavailableError({ chain: this.ctx.chainName, reason: summary }))
  }

  private settle(): void {
    this.settled = true
    this.ctx.live.delete(this)
    if (this.signal) this.signal.removeEventListener('abort', this.onAbort)
    this.first?.abort()
    if (this.others) for (const a of this.others) a.abort()
  }

  /** Ends the call with `error` (the transport is closing). */
  cancel(error: Error): void {
    if (this.settled) return
    this.settle()
    this.reject(error)
  }
}
