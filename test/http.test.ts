import { request } from 'node:http'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { type HttpServer, startHttpServer } from '../src/server/http.js'
import { useDevnet } from './devnet.js'
import { ok } from './mcp.js'

const fixtures = useDevnet()
let gateway: Gateway
let server: HttpServer
let stateless: HttpServer

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '0.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  return client
}

beforeAll(async () => {
  gateway = createGateway({ devnet: fixtures })
  server = await startHttpServer({ gateway, port: 0 })
  stateless = await startHttpServer({ gateway, port: 0, stateless: true })
})
afterAll(async () => {
  await server.close()
  await stateless.close()
  await gateway.close()
})

describe('Streamable HTTP transport', () => {
  it('binds to loopback and serves two concurrent clients, each getting its own correct answers', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)])
    expect(server.sessions()).toBe(2)
    const accounts = fixtures.accounts
    const calls = Array.from({ length: 40 }, (_, i) => {
      const client = i % 2 ? a : b
      const address = accounts[i % accounts.length]!
      return client
        .callTool({ name: 'get_balance', arguments: { chain: 'devnet', address } })
        .then((r) => ({ address, out: ok(r as CallToolResult) }))
    })
    for (const { address, out } of await Promise.all(calls)) expect(out.address).toBe(address)
    await Promise.all([a.close(), b.close()])
  })

  it('serves stateless requests (no session) for replicas behind a load balancer', async () => {
    const client = await connect(stateless.url)
    const out = ok(
      (await client.callTool({
        name: 'get_token_balances',
        arguments: { chain: 'devnet', address: fixtures.accounts[1] },
      })) as CallToolResult,
    )
    expect(out.tokens).toHaveLength(3)
    expect(stateless.sessions()).toBe(0)
    await client.close()
  })

  it('rejects a foreign Host or Origin header (DNS rebinding) with 403 and executes nothing', async () => {
    const before = server.sessions()
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} })
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    // fetch() will not send a foreign Host header; node:http will, as a rebinding browser would.
    const rebound = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url)
      request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { ...headers, host: 'evil.example' },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
        .on('error', reject)
        .end(body)
    })
    expect(rebound).toBe(403)
    const origin = await fetch(server.url, {
      method: 'POST',
      body,
      headers: { ...headers, origin: 'https://evil.example' },
    })
    expect(origin.status).toBe(403)
    expect(server.sessions()).toBe(before)
  })

  it('1,100 unauthenticated session openings do not cost an active client its session', async () => {
    const flooded = await startHttpServer({ gateway, port: 0 })
    try {
      const client = await connect(flooded.url)
      const address = fixtures.accounts[1]!
      const balance = () => client.callTool({ name: 'get_balance', arguments: { chain: 'devnet', address } })
      expect(ok((await balance()) as CallToolResult).address).toBe(address)

      const initialize = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'flood', version: '0' },
        },
      })
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
      const statuses: number[] = []
      const worker = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const res = await fetch(flooded.url, { method: 'POST', body: initialize, headers })
          statuses.push(res.status)
          await res.arrayBuffer()
        }
      }
      await Promise.all(Array.from({ length: 10 }, () => worker(110)))
      expect(statuses).toHaveLength(1100)
      expect(statuses.every((s) => s === 200)).toBe(true)
      expect(flooded.sessions()).toBeLessThanOrEqual(1000)

      // The client that was using its session still has it.
      expect(ok((await balance()) as CallToolResult).address).toBe(address)
      await client.close()
    } finally {
      await flooded.close()
    }
  })

  it('at the session cap, a new session is refused rather than closing one in active use', async () => {
    const full = await startHttpServer({ gateway, port: 0, maxSessions: 2 })
    try {
      const [a, b] = [await connect(full.url), await connect(full.url)]
      await expect(connect(full.url)).rejects.toThrow(/503|Too many active sessions/)
      for (const c of [a, b]) expect((await c.listTools()).tools.length).toBeGreaterThan(0)
      await Promise.all([a.close(), b.close()])
    } finally {
      await full.close()
    }
  })

  it('answers malformed messages with protocol errors and keeps serving (ADVERSARIAL 44)', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    const garbage = await fetch(server.url, { method: 'POST', body: '{"jsonrpc":', headers })
    expect(garbage.status).toBe(400)
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700)
    const noSession = await fetch(server.url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      headers,
    })
    expect(noSession.status).toBe(400)
    const unknownSession = await fetch(server.url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      headers: { ...headers, 'mcp-session-id': 'nope' },
    })
    expect(unknownSession.status).toBe(404)
    expect((await fetch(server.url.replace('/mcp', '/other'))).status).toBe(404)
    const client = await connect(server.url)
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool/)
    expect((await client.listTools()).tools.length).toBeGreaterThanOrEqual(16)
    await client.close()
  })
})
