import { randomUUID } from 'node:crypto'
import { type Caller, localOperator } from './caller.js'

/** How the request reached the gateway. `internal`: the gateway's own services (approval runner, orders). */
export type Transport = 'stdio' | 'http' | 'memory' | 'internal'

/** MCP revision family of the request: `modern` = 2026-07-28, `legacy` = 2025-era, `none` = not over MCP. */
export type ProtocolEra = 'modern' | 'legacy' | 'none'

/** What started an intent (DESIGN §1): a tool call, a standing order firing, or a revenue payout. */
export type Origin = 'tool' | 'order' | 'payout'

/** W3C trace context carried in the request's `_meta` (`traceparent`, `tracestate`), passed through as given. */
export type TraceContext = { traceparent?: string | undefined; tracestate?: string | undefined }

/**
 * Everything the pipeline knows about one request besides its arguments: built once per request by the transport
 * edge, read by every step, stored with every intent (`agent`, `origin`) and written as the audit entry's `actor`.
 */
export type RequestContext = {
  readonly caller: Caller
  /** A fresh id per request, for logs and the audit (not the JSON-RPC id, which clients reuse). */
  readonly requestId: string
  readonly transport: Transport
  readonly era: ProtocolEra
  /** The MCP protocol version the client sent, when known. */
  readonly protocolVersion?: string | undefined
  readonly origin: Origin
  readonly trace?: TraceContext | undefined
  /** The x402 payment the request carries (`_meta["x402/payment"]`), unchecked: the price step checks it. */
  readonly payment?: unknown
}

/**
 * A request context with defaults for the fields a caller leaves out (the local operator, a tool call).
 *
 * @example
 * const ctx = requestContext({ transport: 'stdio', era: 'legacy' })
 */
export function requestContext(fields: Partial<RequestContext> & { transport: Transport }): RequestContext {
  return {
    caller: localOperator,
    requestId: randomUUID(),
    era: 'none',
    origin: 'tool',
    ...fields,
  }
}
