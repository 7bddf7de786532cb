import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { Gateway } from './createGateway.js'
import { createMcpServer } from './createMcpServer.js'

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
  /** No sessions: each POST is served by a fresh server (replicas behind a load balancer). */
  stateless?: boolean | undefined
  /** Most concurrent sessions kept (default 1000); the least recently used is closed beyond that. */
  maxSessions?: number | undefined
  /** Idle time after which a session is closed (default 30 min). */
  sessionIdleMs?: number | undefined
}

/** A running HTTP server. */
export type HttpServer = { url: string; port: number; sessions(): number; close(): Promise<void> }

const maxBodyBytes = 1024 * 1024

/**
 * Serves MCP over Streamable HTTP at `/mcp` (and `GET /healthz`), with Host/Origin checks against DNS rebinding,
 * many concurrent sessions, and an optional stateless mode.
 *
 * @example
 * const http = await startHttpServer({ gateway, port: 8402 })
 * console.log(http.url) // http://127.0.0.1:8402/mcp
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1'
  const maxSessions = options.maxSessions ?? 1000
  const idleMs = options.sessionIdleMs ?? 30 * 60_000
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; lastSeen: number }>()
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
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase()))
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

    let body: unknown
    if (req.method === 'POST') {
      const parsed = await readJson(req)
      if (!parsed.ok) return reply(res, parsed.status, jsonRpcError(parsed.code, parsed.message))
      body = parsed.value
    }

    if (options.stateless) {
      if (req.method !== 'POST')
        return reply(
          res,
          405,
          jsonRpcError(-32000, 'Method not allowed: this server is stateless; use POST.'),
        )
      const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true })
      const mcp = createMcpServer(options.gateway, { kind: 'local', transport: 'http' })
      res.on('close', () => {
        void transport.close()
        void mcp.close()
      })
      await mcp.connect(transport)
      return transport.handleRequest(req, res, body)
    }

    const id = req.headers['mcp-session-id']
    if (typeof id === 'string') {
      const session = sessions.get(id)
      if (!session)
        return reply(res, 404, jsonRpcError(-32001, 'Session not found: initialize a new session.'))
      session.lastSeen = Date.now()
      return session.transport.handleRequest(req, res, body)
    }
    if (req.method !== 'POST' || !isInitialize(body))
      return reply(
        res,
        400,
        jsonRpcError(-32000, 'Bad request: no mcp-session-id header; start with an initialize request.'),
      )
    evictSessions()
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: true,
      onsessioninitialized: (sid) => {
        sessions.set(sid, { transport, lastSeen: Date.now() })
      },
      onsessionclosed: (sid) => {
        sessions.delete(sid)
      },
    })
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId)
    }
    const mcp = createMcpServer(options.gateway, { kind: 'local', transport: 'http' })
    await mcp.connect(transport)
    return transport.handleRequest(req, res, body)
  }

  function evictSessions(): void {
    const now = Date.now()
    for (const [sid, s] of sessions)
      if (now - s.lastSeen > idleMs) void s.transport.close().finally(() => sessions.delete(sid))
    while (sessions.size >= maxSessions) {
      const oldest = [...sessions.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0]
      if (!oldest) break
      sessions.delete(oldest[0])
      void oldest[1].transport.close()
    }
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
    sessions: () => sessions.size,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close()))
      sessions.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function isInitialize(body: unknown): boolean {
  const first = Array.isArray(body) ? body[0] : body
  return (
    typeof first === 'object' && first !== null && (first as { method?: unknown }).method === 'initialize'
  )
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
