import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMcpHandler } from '@modelcontextprotocol/server'
import type { Gateway } from './createGateway.js'
import { approvalCodec, createMcpServerFactory } from './mcpServer.js'

/** Options of {@link startHttpServer}. */
export type HttpServerOptions = {
  gateway: Gateway
  /** Interface to bind; loopback by default. */
  host?: string | undefined
  /** 0 picks a free port. */
  port?: number | undefined
  /** Host header values accepted besides loopback names (needed when binding a public interface). */
  allowedHosts?: readonly string[] | undefined
  /** Browser Origins accepted besides the loopback origins of this server. */
  allowedOrigins?: readonly string[] | undefined
  /**
   * Accepted for compatibility and ignored: every request is served on its own (MCP 2026-07-28 is stateless, and
   * 2025-era clients are served without sessions), so any replica behind a load balancer can answer any request.
   */
  stateless?: boolean | undefined
}

/** A running HTTP server. */
export type HttpServer = { url: string; port: number; close(): Promise<void> }

const maxBodyBytes = 1024 * 1024

/**
 * Serves MCP over Streamable HTTP at `/mcp` (and `GET /healthz`) for both protocol eras from one server factory:
 * 2026-07-28 requests (per-request `_meta`, `server/discover`) and 2025-era ones (`initialize`, answered without a
 * session). Host and Origin are checked first, against DNS rebinding; the body is capped at 1 MiB.
 *
 * @example
 * const http = await startHttpServer({ gateway, port: 8402 })
 * console.log(http.url) // http://127.0.0.1:8402/mcp
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1'
  let port = options.port ?? 8402
  const hosts = () =>
    new Set(
      [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, ...(options.allowedHosts ?? [])].map((h) =>
        h.toLowerCase(),
      ),
    )
  const origins = () =>
    new Set([
      `http://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://[::1]:${port}`,
      ...(options.allowedOrigins ?? []),
    ])
  let allowedHosts = hosts()
  let allowedOrigins = origins()

  const codec = await approvalCodec(options.gateway)
  const handler = createMcpHandler(createMcpServerFactory(options.gateway, { transport: 'http', codec }), {
    legacy: 'stateless',
    maxRequestBodySize: maxBodyBytes,
    onerror: () => {}, // rejected requests are answered to their client; nothing to log per request
  })

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, jsonRpcError(-32603, 'Internal error'))
      else res.destroy()
      process.emitWarning(`airlock http: ${(error as Error).message}`)
    })
  })
  server.keepAliveTimeout = 65_000

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    const hostHeader = (req.headers.host ?? '').toLowerCase()
    if (!allowedHosts.has(hostHeader))
      return reply(
        res,
        403,
        jsonRpcError(-32000, 'Forbidden: Host header not allowed (DNS-rebinding protection).'),
      )
    const origin = req.headers.origin
    if (origin !== undefined && !allowedOrigins.has(origin))
      return reply(res, 403, jsonRpcError(-32000, 'Forbidden: Origin not allowed.'))
    if (path === '/healthz' && req.method === 'GET') return reply(res, 200, { ok: true })
    if (path !== '/mcp') return reply(res, 404, jsonRpcError(-32000, 'Not found: the MCP endpoint is /mcp.'))

    let parsedBody: unknown
    if (req.method === 'POST') {
      const parsed = await readJson(req)
      if (!parsed.ok) return reply(res, parsed.status, jsonRpcError(parsed.code, parsed.message))
      parsedBody = parsed.value
    }
    // A client that goes away mid-request cancels it; a response that was written has nothing left to cancel.
    const abort = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    const request = new Request(`http://${hostHeader}${req.url ?? '/mcp'}`, {
      method: req.method ?? 'GET',
      headers: req.headers as Record<string, string>,
      signal: abort.signal,
    })
    const response = await handler.fetch(request, parsedBody === undefined ? undefined : { parsedBody })
    await send(res, response)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  allowedHosts = hosts()
  allowedOrigins = origins()
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${port}/mcp`,
    port,
    async close() {
      await handler.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Writes a web `Response` to a Node response, streaming an SSE body as it comes. */
async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  if (!response.body) {
    res.writeHead(response.status, headers).end()
    return
  }
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const body = await response.text()
    headers['content-length'] = String(Buffer.byteLength(body))
    res.writeHead(response.status, headers).end(body)
    return
  }
  res.writeHead(response.status, headers)
  res.flushHeaders()
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (res.destroyed) break
      res.write(chunk)
    }
  } finally {
    res.end()
  }
}

function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text)
}

async function readJson(
  req: IncomingMessage,
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; code: number; message: string }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBodyBytes)
      return { ok: false, status: 413, code: -32600, message: 'Request body larger than 1 MiB.' }
    chunks.push(chunk)
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) }
  } catch {
    return { ok: false, status: 400, code: -32700, message: 'Parse error: the body is not valid JSON.' }
  }
}
