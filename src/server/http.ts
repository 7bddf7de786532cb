import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AuthInfo, createMcpHandler } from '@modelcontextprotocol/server'
import type { Caller } from '../context/caller.js'
import { InvalidConfigError, toBaseError } from '../errors/index.js'
import { AuthError } from '../identity/authenticate.js'
import type { Gateway } from './createGateway.js'
import { headersOf } from './headersOf.js'
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
  const { gateway } = options
  const auth = gateway.auth
  const authenticator = gateway.authenticator
  // Without passports anyone who reaches the port is the operator: only this machine may (DESIGN §7).
  if (auth.mode === 'none' && !isLoopback(host))
    throw new InvalidConfigError(
      `Binding ${host} needs passports: set "auth": "passport" in the config, or bind 127.0.0.1.`,
      { field: 'auth', metaMessages: ['Without passports every HTTP caller would be the operator.'] },
    )
  if (auth.mode === 'passport' && !authenticator)
    throw new InvalidConfigError(
      '"auth": "passport" needs the store (a wallet or the devnet): passports live there.',
      {
        field: 'auth',
      },
    )
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

  const readOnlyTools = new Set(
    gateway.pipeline.tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name),
  )
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
    if (authenticator && path !== undefined && path !== '/mcp') return serveIdentity(req, res, path)
    if (path !== '/mcp') return reply(res, 404, jsonRpcError(-32000, 'Not found: the MCP endpoint is /mcp.'))

    let parsedBody: unknown
    let raw: Uint8Array = new Uint8Array()
    if (req.method === 'POST') {
      const parsed = await readJson(req)
      if (!parsed.ok) return reply(res, parsed.status, jsonRpcError(parsed.code, parsed.message))
      parsedBody = parsed.value
      raw = parsed.raw
    }
    // An agent: its token, its request signature and its passport's status, before the MCP layer sees anything.
    let authInfo: AuthInfo | undefined
    // Whether the request's nonce is still being recorded while it runs: only for requests without effects.
    let fresh: Promise<void> | undefined
    if (req.headers.authorization !== undefined || auth.mode === 'passport') {
      if (!authenticator)
        return reply(
          res,
          401,
          jsonRpcError(-32001, 'This gateway has no store, so it cannot verify passports.'),
        )
      try {
        const verified = await authenticator.authenticateDeferred({
          method: req.method ?? 'GET',
          url: targetUri(hostHeader, req.url ?? '/mcp'),
          headers: headersOf(req),
          body: raw,
        })
        const caller: Caller = verified.caller
        // A write waits until its nonce is recorded as unused on every replica; a read runs meanwhile and its
        // answer is withheld if the nonce turns out to be a replay (the store round trip then costs it nothing).
        if (withoutEffects(parsedBody)) fresh = verified.fresh
        else await verified.fresh
        authInfo = {
          token: (req.headers.authorization ?? '').slice('Bearer '.length),
          clientId: caller.id,
          scopes: ['mcp'],
          extra: { caller },
        }
      } catch (error) {
        return refuseAuth(res, error)
      }
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
    const answered = handler.fetch(request, {
      ...(parsedBody === undefined ? {} : { parsedBody }),
      ...(authInfo ? { authInfo } : {}),
    })
    if (fresh) {
      try {
        await fresh
      } catch (error) {
        abort.abort()
        await answered.then((r) => r.body?.cancel()).catch(() => {})
        return refuseAuth(res, error)
      }
    }
    const response = await answered
    await send(res, response)
  }

  /**
   * The URL the client addressed, as it signed it: behind a proxy, the configured public URL (which may carry a
   * path prefix the proxy strips) followed by the path this server sees.
   */
  function targetUri(hostHeader: string, path: string): string {
    return auth.publicUrl ? `${auth.publicUrl}${path}` : `http://${hostHeader}${path}`
  }

  /**
   * Whether a request has no effect beyond its answer: anything but `tools/call`, or a call of a tool annotated
   * read-only (a read; never a write, an intent tool or the answer to a held write, which are write tools).
   */
  function withoutEffects(body: unknown): boolean {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return false
    const { method, params } = body as { method?: unknown; params?: { name?: unknown } }
    if (typeof method !== 'string') return false
    if (method !== 'tools/call') return true
    const name = params?.name
    return typeof name === 'string' && readOnlyTools.has(name)
  }

  /** A refused agent: 401/403 with the challenge naming the metadata (RFC 9728 §5.1); a store outage is a 503. */
  function refuseAuth(res: ServerResponse, error: unknown): void {
    if (!(error instanceof AuthError)) {
      reply(res, 503, jsonRpcError(-32603, toBaseError(error).shortMessage))
      return
    }
    const status = error.status === 403 ? 403 : 401
    const text = JSON.stringify(jsonRpcError(-32001, `${error.shortMessage}`))
    res
      .writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'www-authenticate': authenticator!.challenge(error),
      })
      .end(text)
  }

  /** RFC 9728 and RFC 8414 metadata, the token endpoint and the status lists. */
  async function serveIdentity(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const a = authenticator!
    const get = req.method === 'GET'
    if (
      get &&
      (path === '/.well-known/oauth-protected-resource' ||
        path === '/.well-known/oauth-protected-resource/mcp')
    )
      return reply(res, 200, a.resourceMetadata())
    if (get && path === '/.well-known/oauth-authorization-server')
      return reply(res, 200, a.authorizationServerMetadata())
    if (get && (path === '/status/revocation' || path === '/status/suspension')) {
      const registry = await gateway.operator!.then((o) => o.passports)
      const jwt = await registry.statusList(path.endsWith('revocation') ? 'revocation' : 'suspension')
      res.writeHead(200, { 'content-type': 'application/vc+jwt', 'cache-control': 'max-age=60' }).end(jwt)
      return
    }
    if (path === '/oauth/token') {
      const noStore = { 'cache-control': 'no-store' }
      if (req.method !== 'POST')
        return reply(
          res,
          405,
          { error: 'invalid_request', error_description: 'POST the token request.' },
          noStore,
        )
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        return reply(
          res,
          400,
          { error: 'invalid_request', error_description: 'The token request is form-urlencoded.' },
          noStore,
        )
      const body = await readBody(req, 128 * 1024)
      if (!body)
        return reply(
          res,
          413,
          { error: 'invalid_request', error_description: 'Request body larger than 128 KiB.' },
          noStore,
        )
      try {
        return reply(
          res,
          200,
          await a.exchange(new URLSearchParams(Buffer.from(body).toString('utf8'))),
          noStore,
        )
      } catch (error) {
        if (!(error instanceof AuthError))
          return reply(
            res,
            503,
            { error: 'temporarily_unavailable', error_description: toBaseError(error).shortMessage },
            noStore,
          )
        return reply(
          res,
          error.status === 400 ? 400 : error.status === 403 ? 403 : 400,
          { error: error.oauthError, error_description: error.shortMessage },
          noStore,
        )
      }
    }
    return reply(res, 404, jsonRpcError(-32000, 'Not found: the MCP endpoint is /mcp.'))
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
  // Tokens are minted for, and requests signed over, the URL clients use: the configured one, or this address.
  if (!auth.publicUrl)
    gateway.publicUrl = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${port}`
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

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    })
    .end(text)
}

/** Whether binding `host` keeps the server on this machine. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The body, or undefined past `cap` bytes. */
async function readBody(req: IncomingMessage, cap: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > cap) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

async function readJson(
  req: IncomingMessage,
): Promise<
  { ok: true; value: unknown; raw: Uint8Array } | { ok: false; status: number; code: number; message: string }
> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBodyBytes)
      return { ok: false, status: 413, code: -32600, message: 'Request body larger than 1 MiB.' }
    chunks.push(chunk)
  }
  const raw = Buffer.concat(chunks)
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')), raw }
  } catch {
    return { ok: false, status: 400, code: -32700, message: 'Parse error: the body is not valid JSON.' }
  }
}
