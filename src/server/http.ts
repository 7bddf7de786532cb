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
  /**
   * Most concurrent sessions kept (default 1000). At the cap, a new session first closes the oldest session that
   * never made a request after `initialize`, then the least recently used one idle for `activeSessionMs`; when
   * every session is in use, the new one is refused (503) and no existing client loses its session.
   */
  maxSessions?: number | undefined
  /** Idle time after which a session is closed (default 30 min). */
  sessionIdleMs?: number | undefined
  /** A session that made a request within this time is never closed to make room (default 10 min). */
  activeSessionMs?: number | undefined
}

type Session = { transport: StreamableHTTPServerTransport; lastSeen: number }

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
  const activeMs = Math.min(options.activeSessionMs ?? 10 * 60_000, idleMs)
  // Every session is in exactly one of these, each in eviction order (a Map keeps insertion order): `fresh` holds
  // sessions that made no request after initialize, oldest first — what an unauthenticated flood creates;
  // `used` the others, least recently used first (moved to the end on each request). Eviction is O(1).
  const fresh = new Map<string, Session>()
  const used = new Map<string, Session>()
  const sessionCount = () => fresh.size + used.size
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
      const session = fresh.get(id) ?? used.get(id)
      if (!session)
        return reply(res, 404, jsonRpcError(-32001, 'Session not found: initialize a new session.'))
      session.lastSeen = Date.now()
      fresh.delete(id)
      used.delete(id)
      used.set(id, session)
      return session.transport.handleRequest(req, res, body)
    }
    if (req.method !== 'POST' || !isInitialize(body))
      return reply(
        res,
        400,
        jsonRpcError(-32000, 'Bad request: no mcp-session-id header; start with an initialize request.'),
      )
    if (!makeRoom()) {
      res.setHeader('retry-after', '60')
      return reply(
        res,
        503,
        jsonRpcError(-32000, 'Too many active sessions: no new session now; retry later.'),
      )
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: true,
      onsessioninitialized: (sid) => {
        fresh.set(sid, { transport, lastSeen: Date.now() })
      },
      onsessionclosed: forget,
    })
    transport.onclose = () => {
      if (transport.sessionId) forget(transport.sessionId)
    }
    const mcp = createMcpServer(options.gateway, { kind: 'local', transport: 'http' })
    await mcp.connect(transport)
    return transport.handleRequest(req, res, body)
  }

  function forget(sid: string): void {
    fresh.delete(sid)
    used.delete(sid)
  }

  function close(sid: string, session: Session): void {
    forget(sid)
    void session.transport.close()
  }

  /** The oldest entry of an eviction-ordered map. */
  function first(map: Map<string, Session>): [string, Session] | undefined {
    for (const entry of map) return entry
    return undefined
  }

  /**
   * Closes idle sessions, then makes room for one more: the oldest never-used session, else the least recently
   * used one if it has been quiet for `activeMs`. False when every session is in active use.
   */
  function makeRoom(): boolean {
    const now = Date.now()
    for (const map of [fresh, used])
      for (let e = first(map); e && now - e[1].lastSeen > idleMs; e = first(map)) close(e[0], e[1])
    while (sessionCount() >= maxSessions) {
      const oldest = first(fresh) ?? first(used)
      if (!oldest || (!fresh.has(oldest[0]) && now - oldest[1].lastSeen <= activeMs)) return false
      close(oldest[0], oldest[1])
    }
    return true
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
    sessions: sessionCount,
    async close() {
      const all = [...fresh.values(), ...used.values()]
      fresh.clear()
      used.clear()
      await Promise.all(all.map((s) => s.transport.close()))
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
