import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hono } from 'hono'
import { type AdminOperator, adminBasePath, createAdminApp } from './admin/createAdminApp.js'
import { headersOf } from './headersOf.js'

/** Options of {@link startAdminServer}. */
export type AdminServerOptions = {
  operator: Promise<AdminOperator> | AdminOperator
  /** Loopback by default; the admin API is for the operator's machine. */
  host?: string | undefined
  /** 0 (default) picks a free port. */
  port?: number | undefined
  /** The bearer token; a random one (32 bytes) when absent. */
  token?: string | undefined
}

/** A running admin API. */
export type AdminServer = { url: string; token: string; close(): Promise<void> }

const maxBody = 64 * 1024

/**
 * Serves the operator's HTTP API ({@link createAdminApp}: approvals, the kill switch, the audit log and the
 * address book) on node:http, on 127.0.0.1 and a free port unless told otherwise, with its own bearer token.
 * Agents never hold this token.
 *
 * @example const admin = await startAdminServer({ operator: gateway.operator! }) // admin.url, admin.token
 * @throws {InvalidConfigError} a token the admin API cannot use (see {@link createAdminApp})
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  // Hex, never base64url: a token starting with '-' would read as an option in `airlock … --token T`.
  const token = options.token ?? randomBytes(32).toString('hex')
  const app = createAdminApp({ operator: options.operator, token, maxBodyBytes: maxBody })
  const server = createServer((req, res) => {
    serve(app, req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}${adminBasePath}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** One node:http exchange through the app: the request as a fetch `Request`, the answer streamed back. */
async function serve(app: Hono, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = headersOf(req)
  const method = req.method ?? 'GET'
  // Read up to one byte past the app's limit: the app refuses what is over it, with its own error.
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readCapped(req, maxBody + 1)
  const response = await app.fetch(
    new Request(new URL(req.url ?? '/', 'http://admin.invalid'), {
      method,
      headers,
      ...(body?.length ? { body } : {}),
    }),
  )
  res.writeHead(response.status, Object.fromEntries(response.headers))
  if (!response.body) return void res.end()
  const reader = response.body.getReader()
  res.once('close', () => void reader.cancel().catch(() => {}))
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (!res.write(value))
      await new Promise((resolve) => {
        res.once('drain', resolve)
        res.once('close', resolve)
      })
  }
  res.end()
}

/** The body's first `cap` bytes; the rest is read and dropped, so the connection can still carry the answer. */
async function readCapped(req: IncomingMessage, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    if (size >= cap) continue
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return Buffer.concat(chunks).subarray(0, cap)
}
