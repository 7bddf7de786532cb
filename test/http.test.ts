import { request } from 'node:http'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { type HttpServer, startHttpServer } from '../src/server/http.js'
import { useDevnet } from './devnet.js'
import { type CallToolResult, err, modernRevision, ok } from './mcp.js'

const fixtures = useDevnet()
let gateway: Gateway
let server: HttpServer

/** A 2026-07-28 client (SDK v2, pinned to the revision: no fallback). */
async function connect(url: string): Promise<Client> {
  const client = new Client(
    { name: 'http-test', version: '0.0.0' },
    { versionNegotiation: { mode: { pin: modernRevision } } },
  )
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  expect(client.getProtocolEra()).toBe('modern')
  return client
}

/** A 2025-era client (SDK v1: `initialize`, then a session if the server offers one). */
async function connectLegacy(url: string): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'http-test-2025', version: '0.0.0' })
  const transport = new LegacyHttpTransport(new URL(url))
  await client.connect(transport)
  expect(transport.sessionId).toBeUndefined() // nothing depends on a session
  return client
}

const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

/** A raw 2026-07-28 request: the envelope in `_meta` and the routing headers, each overridable. */
function modern(
  method: string,
  params: Record<string, unknown>,
  options: { version?: string; headers?: Record<string, string>; meta?: Record<string, unknown> } = {},
) {
  const version = options.version ?? modernRevision
  const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {}
  return fetch(server.url, {
    method: 'POST',
    headers: {
      ...headers,
      'mcp-protocol-version': version,
      'mcp-method': method,
      ...name,
      ...options.headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': version,
          'io.modelcontextprotocol/clientCapabilities': {},
          ...options.meta,
        },
      },
    }),
  })
}

beforeAll(async () => {
  gateway = createGateway({ devnet: fixtures })
  server = await startHttpServer({ gateway, port: 0 })
})
afterAll(async () => {
  await server.close()
  await gateway.close()
})

describe('Streamable HTTP transport, both MCP revisions on one endpoint', () => {
  it('serves a 2026-07-28 client and a 2025-era client at once, each getting its own correct answers', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const [a, b] = await Promise.all([connect(server.url), connectLegacy(server.url)])
    const accounts = fixtures.accounts
    const calls = Array.from({ length: 40 }, (_, i) => {
      const address = accounts[i % accounts.length]!
      const args = { name: 'get_balance', arguments: { chain: 'devnet', address } }
      const call = i % 2 ? a.callTool(args) : b.callTool(args)
      return call.then((r) => ({ address, out: ok(r as CallToolResult) }))
    })
    for (const { address, out } of await Promise.all(calls)) expect(out.address).toBe(address)
    const legacyTokens = ok(
      (await b.callTool({
        name: 'get_token_balances',
        arguments: { chain: 'devnet', address: accounts[1] },
      })) as CallToolResult,
    )
    // The devnet's known tokens: USDC, WETH, DAI and WBTC (added for standing orders).
    expect(legacyTokens.tokens).toHaveLength(4)
    await Promise.all([a.close(), b.close()])
  })

  it('answers server/discover, and lists tools in a fixed order with cache hints', async () => {
    const discover = await modern('server/discover', {})
    expect(discover.status).toBe(200)
    const found = (await discover.json()) as { result: Record<string, unknown> }
    expect(found.result.supportedVersions).toContain(modernRevision)
    expect(found.result.resultType).toBe('complete')
    expect(found.result._meta).toMatchObject({ 'io.modelcontextprotocol/serverInfo': { name: 'airlock' } })
    expect(found.result.capabilities).toHaveProperty('tools')
    const lists = await Promise.all([modern('tools/list', {}), modern('tools/list', {})])
    const [one, two] = (await Promise.all(lists.map((r) => r.json()))) as {
      result: { tools: { name: string }[]; ttlMs: number; cacheScope: string; resultType?: string }
    }[]
    expect(one!.result.tools.map((t) => t.name)).toEqual(gateway.pipeline.tools.map((t) => t.name))
    expect(two!.result.tools.map((t) => t.name)).toEqual(one!.result.tools.map((t) => t.name))
    expect(one!.result.ttlMs).toBeGreaterThan(0)
    expect(one!.result.cacheScope).toBe('public')
  })

  it('rejects a foreign Host or Origin header (DNS rebinding) with 403 on either revision', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} })
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
    const modernOrigin = await modern(
      'tools/call',
      { name: 'get_balance', arguments: { chain: 'devnet', address: fixtures.accounts[1] } },
      { headers: { origin: 'https://evil.example' } },
    )
    expect(modernOrigin.status).toBe(403)
  })

  it('1,100 unauthenticated initializes hold nothing: no session is kept, and a client carries on', async () => {
    const client = await connect(server.url)
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
    const answers: { status: number; session: string | null }[] = []
    const worker = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const res = await fetch(server.url, { method: 'POST', body: initialize, headers })
        answers.push({ status: res.status, session: res.headers.get('mcp-session-id') })
        await res.arrayBuffer()
      }
    }
    await Promise.all(Array.from({ length: 10 }, () => worker(110)))
    expect(answers).toHaveLength(1100)
    expect(answers.every((a) => a.status === 200 && a.session === null)).toBe(true)
    expect(ok((await balance()) as CallToolResult).address).toBe(address)
    await client.close()
  })

  it('answers malformed messages with protocol errors and keeps serving, on both revisions (ADVERSARIAL 44)', async () => {
    const garbage = await fetch(server.url, { method: 'POST', body: '{"jsonrpc":', headers })
    expect(garbage.status).toBe(400)
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700)
    expect((await fetch(server.url.replace('/mcp', '/other'))).status).toBe(404)
    const tooBig = await fetch(server.url, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1), headers })
    expect(tooBig.status).toBe(413)

    // 2026-07-28: a revision the server does not speak, a header that disagrees with the body.
    const unsupported = await modern('tools/list', {}, { version: '2099-01-01' })
    const unsupportedBody = (await unsupported.json()) as { error: { code: number; message: string } }
    expect(unsupportedBody.error.code).toBe(-32022)
    const mismatch = await modern(
      'tools/call',
      { name: 'get_balance', arguments: { chain: 'devnet', address: fixtures.accounts[1] } },
      { headers: { 'mcp-name': 'transfer' } },
    )
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020)
    const methodMismatch = await modern('tools/list', {}, { headers: { 'mcp-method': 'tools/call' } })
    expect(((await methodMismatch.json()) as { error: { code: number } }).error.code).toBe(-32020)

    // Both revisions: an unknown tool is a protocol error; extra properties are a tool error naming the field.
    const client = await connect(server.url)
    const legacy = await connectLegacy(server.url)
    for (const c of [client, legacy]) {
      await expect(c.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool/)
      const extra = err(
        (await c.callTool({
          name: 'get_balance',
          arguments: { chain: 'devnet', address: fixtures.accounts[1], sneaky: true },
        })) as CallToolResult,
      )
      expect(extra.code).toBe('INVALID_INPUT')
      expect(extra.message).toMatch(/sneaky/)
      expect((await c.listTools()).tools.length).toBe(gateway.pipeline.tools.length)
    }
    await Promise.all([client.close(), legacy.close()])
  })
})
