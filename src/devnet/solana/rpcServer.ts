import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { JsonRpcError } from './jsonRpcError.js'

/** The largest request body the server reads; anything longer is answered with an error. */
export const MAX_BODY_BYTES = 1024 * 1024

/** Answers one JSON-RPC call; throw a {@link JsonRpcError} for an error response. */
export type JsonRpcMethods = Record<string, (params: readonly unknown[]) => unknown>

/** Options of {@link startJsonRpcServer}. */
export type StartJsonRpcServerParameters = {
  methods: JsonRpcMethods
  /** Interface to bind. Default 127.0.0.1. */
  host?: string | undefined
  /** Port; 0 (default) picks a free one. */
  port?: number | undefined
}

/** A listening JSON-RPC server. */
export type JsonRpcServer = {
  url: string
  port: number
  /** Closes the server and its connections. Safe to call more than once. */
  close(): Promise<void>
}

type JsonRpcResponse = {
  jsonrpc: '2.0'
  id: unknown
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/**
 * JSON with bigints as bare numbers, the way the Solana RPC sends u64 values (kit's client parses them back
 * into bigints). Undefined members are left out, as JSON.stringify does.
 *
 * @example
 * toJson({ lamports: 18446744073709551615n }) // '{"lamports":18446744073709551615}'
 */
export function toJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString()
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map((item) => toJson(item)).join(',')}]`
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => `${JSON.stringify(key)}:${memberJson(key, member)}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

// The RPC's one float, `uiAmount`, is written as a float ("10000.0") the way serde writes an f64, so that
// clients that read integer literals as bigints (kit) still see a number.
function memberJson(key: string, member: unknown): string {
  if (key === 'uiAmount' && typeof member === 'number' && Number.isInteger(member)) return member.toFixed(1)
  return toJson(member)
}

function errorResponse(id: unknown, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } }
}

async function answer(methods: JsonRpcMethods, call: unknown): Promise<JsonRpcResponse> {
  if (typeof call !== 'object' || call === null || Array.isArray(call)) {
    return errorResponse(null, -32600, 'Invalid request')
  }
  const { id = null, method, params: rawParams, jsonrpc } = call as Record<string, unknown>
  const params = rawParams ?? []
  if (jsonrpc !== '2.0' || typeof method !== 'string') return errorResponse(id, -32600, 'Invalid request')
  if (!Array.isArray(params)) return errorResponse(id, -32602, 'Invalid params: params must be an array')
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined
  if (!handler) return errorResponse(id, -32601, 'Method not found')
  try {
    return { jsonrpc: '2.0', id, result: await handler(params) }
  } catch (error) {
    if (error instanceof JsonRpcError) return errorResponse(id, error.code, error.message, error.data)
    return errorResponse(
      id,
      -32603,
      `Internal error: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}

/** Reads the body, or answers null when it passes the limit (the rest is drained, not kept). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : toJson(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(text)
}

async function handle(methods: JsonRpcMethods, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
    return
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' })
    res.end()
    return
  }
  const body = await readBody(req)
  if (body === null) {
    send(res, 413, errorResponse(null, -32600, `Invalid request: the body is over ${MAX_BODY_BYTES} bytes`))
    return
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    send(res, 200, errorResponse(null, -32700, 'Parse error'))
    return
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) {
      send(res, 200, errorResponse(null, -32600, 'Invalid request'))
      return
    }
    // In order, one after another: a batch may send a transaction and then ask for its status.
    const responses: JsonRpcResponse[] = []
    for (const call of parsed) responses.push(await answer(methods, call))
    send(res, 200, responses)
    return
  }
  send(res, 200, await answer(methods, parsed))
}

/**
 * Starts a JSON-RPC 2.0 server over HTTP POST (single calls and batches) on 127.0.0.1. A request it cannot read
 * (too big, not JSON, not JSON-RPC, an unknown method, a throwing handler) gets a JSON-RPC error; the server keeps
 * serving.
 *
 * @example
 * const server = await startJsonRpcServer({ methods: { getHealth: () => 'ok' } })
 * await server.close()
 * @throws {Error} the port cannot be bound
 */
export async function startJsonRpcServer(parameters: StartJsonRpcServerParameters): Promise<JsonRpcServer> {
  const host = parameters.host ?? '127.0.0.1'
  const server = createServer((req, res) => {
    handle(parameters.methods, req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        send(
          res,
          500,
          errorResponse(null, -32603, `Internal error: ${error instanceof Error ? error.message : error}`),
        )
      } else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(parameters.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
