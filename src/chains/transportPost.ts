import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/** A JSON-RPC error object as an endpoint sent it (untrusted: message and data are passed on, never obeyed). */
export type JsonRpcErrorObject = { code: number; message: string; data?: unknown }

/** Where and how one endpoint is reached; built once per endpoint, shared by every request to it. */
export type HttpTarget = {
  readonly request: typeof httpRequest
  /** Pooled keep-alive connections: reads. */
  readonly options: HttpTargetOptions & { readonly agent: HttpAgent }
  /** A new connection per request: state-changing methods, so a stale pooled socket never makes a send ambiguous. */
  readonly freshOptions: HttpTargetOptions & { readonly agent: false }
  /** The literal secrets in the URL (userinfo, long path segments, query values), to scrub from echoed text. */
  readonly secrets: readonly string[]
}

type HttpTargetOptions = {
  readonly agent: HttpAgent | false
  readonly hostname: string
  readonly port: number
  readonly path: string
  readonly method: 'POST'
  readonly headers: Readonly<Record<string, string>>
}

/** Receives the single outcome of one POST. Exactly one method is called, at most once. */
export interface PostHandler {
  /** A well-formed JSON-RPC response with `result` (which may be `null`). */
  onResult(result: unknown): void
  /** A well-formed JSON-RPC response with `error`; `status` is the HTTP status. */
  onRpcError(error: JsonRpcErrorObject, status: number): void
  /**
   * The endpoint failed: network error, bad status, malformed or oversized body. `delivered` is false only when
   * the request provably never reached the endpoint (the connection was never established).
   */
  onFailure(reason: string, delivered: boolean): void
}

/** Statuses that say "this endpoint, not this request": never surfaced as a JSON-RPC error. */
function endpointStatus(status: number): boolean {
  return (
    status >= 500 ||
    status === 429 ||
    status === 401 ||
    status === 403 ||
    status === 404 ||
    status === 408 ||
    status === 413
  )
}

// Errors raised before a TCP connection exists: the request cannot have reached the endpoint.
const notDeliveredCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
])

const networkReasons: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
}

/** A short, secret-free cause for a socket-level error: the code, never the message (it can carry a host). */
function networkReason(error: unknown): { reason: string; delivered: boolean } {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return { reason: 'network error', delivered: true }
  return {
    reason: networkReasons[code] ?? `network error (${code})`,
    delivered: !notDeliveredCodes.has(code),
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Builds the reusable request target for an endpoint URL: a keep-alive agent per endpoint, the path with its
 * query, and basic auth from the URL's userinfo (the convention viem's http transport also follows).
 *
 * @example const target = createHttpTarget(new URL('https://user:pw@rpc.example/v2/key')) // sends Basic auth
 */
export function createHttpTarget(url: URL): HttpTarget {
  const https = url.protocol === 'https:'
  const agentOptions = { keepAlive: true, scheduling: 'lifo' as const, maxSockets: 256, maxFreeSockets: 64 }
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
  if (url.username || url.password) {
    const user = safeDecode(url.username)
    const password = safeDecode(url.password)
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  }
  const options = {
    agent: https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions),
    // node:http wants IPv6 literals without the brackets URL keeps.
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port ? Number(url.port) : https ? 443 : 80,
    path: `${url.pathname}${url.search}`,
    method: 'POST' as const,
    headers,
  }
  const secrets = [
    safeDecode(url.username),
    safeDecode(url.password),
    ...url.pathname.split('/').filter((segment) => segment.length >= 8),
    ...[...url.searchParams.values()].filter((value) => value.length >= 3),
  ].filter((secret) => secret.length > 0)
  return {
    request: https ? httpsRequest : httpRequest,
    options,
    freshOptions: { ...options, agent: false as const },
    secrets,
  }
}

/**
 * Validates a JSON-RPC 2.0 response body for request `id` and reports it to `handler`.
 * Anything but a well-formed single response (version, id, exactly one of result/error) is an endpoint failure.
 */
function deliverBody(text: string, id: number, status: number, handler: PostHandler): void {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    handler.onFailure(status === 200 ? 'invalid JSON in response' : `HTTP ${status}`, true)
    return
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    handler.onFailure(status === 200 ? 'response is not a JSON-RPC object' : `HTTP ${status}`, true)
    return
  }
  const message = body as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: unknown }
  let problem: string | undefined
  if (message.jsonrpc !== '2.0') problem = 'response is not JSON-RPC 2.0'
  else if (message.id !== id) problem = 'response has the wrong JSON-RPC id'
  else {
    const hasResult = 'result' in message
    const error = message.error
    const hasError = error !== undefined && error !== null
    if (hasResult === hasError) problem = 'response must carry exactly one of result and error'
    else if (hasResult) {
      if (status === 200) {
        handler.onResult(message.result)
        return
      }
      problem = `HTTP ${status}`
    } else {
      const e = error as { code?: unknown; message?: unknown; data?: unknown }
      if (typeof e !== 'object' || !Number.isInteger(e.code) || typeof e.message !== 'string')
        problem = 'response has a malformed error object'
      else if (status === 200 || !endpointStatus(status)) {
        const rpcError: JsonRpcErrorObject = { code: e.code as number, message: e.message }
        if ('data' in e) rpcError.data = e.data
        handler.onRpcError(rpcError, status)
        return
      } else problem = `HTTP ${status}`
    }
  }
  handler.onFailure(status === 200 ? problem : `HTTP ${status}`, true)
}

/**
 * POSTs one JSON-RPC request over a keep-alive connection and streams the answer with a size cap: a body over
 * `maxBytes` is abandoned (the connection destroyed) as soon as the cap is crossed, never buffered whole.
 * Timeouts belong to the caller, which destroys the returned request. `fresh` skips the connection pool.
 *
 * @example
 * const req = postJsonRpc(target, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', 1, 10_485_760, handler)
 * setTimeout(() => req.destroy(), 8_000)
 */
export function postJsonRpc(
  target: HttpTarget,
  body: string,
  id: number,
  maxBytes: number,
  handler: PostHandler,
  fresh = false,
): ClientRequest {
  let done = false
  const req = target.request(fresh ? target.freshOptions : target.options)
  const fail = (reason: string, delivered: boolean) => {
    if (done) return
    done = true
    req.destroy()
    handler.onFailure(reason, delivered)
  }
  req.on('error', (error) => {
    if (done) return
    const { reason, delivered } = networkReason(error)
    fail(reason, delivered)
  })
  req.on('response', (res: IncomingMessage) => {
    const status = res.statusCode ?? 0
    const declared = res.headers['content-length']
    if (declared !== undefined && Number(declared) > maxBytes) {
      fail(`response over ${maxBytes} bytes`, true)
      return
    }
    let first: Buffer | undefined
    let chunks: Buffer[] | undefined
    let size = 0
    res.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > maxBytes) {
        fail(`response over ${maxBytes} bytes`, true)
        return
      }
      if (first === undefined) first = chunk
      else if (chunks) chunks.push(chunk)
      else chunks = [first, chunk]
    })
    res.on('end', () => {
      if (done) return
      done = true
      const text = chunks ? Buffer.concat(chunks, size).toString('utf8') : (first?.toString('utf8') ?? '')
      deliverBody(text, id, status, handler)
    })
    res.on('error', (error) => fail(`${networkReason(error).reason} mid-response`, true))
    res.on('close', () => fail('connection closed mid-response', true))
  })
  req.end(body)
  return req
}
