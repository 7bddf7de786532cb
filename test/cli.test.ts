import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Client as ModernClient } from '@modelcontextprotocol/client'
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterEach, describe, expect, it } from 'vitest'
import { type CallToolResult, modernRevision, ok } from './mcp.js'
import { tempDir } from './tempDir.js'

// These run the built CLI (`npm test` builds first), exactly as a user or an MCP client starts it.
const cli = join(import.meta.dirname, '..', 'dist', 'airlock.mjs')
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})
// Demo gateways take their data directory (for admin.json): one of their own, never the user's ~/.airlock, which a
// gateway the developer runs may hold. Nothing else from the test's environment: with DATABASE_URL (CI sets it) a
// demo would keep its state in that database's public schema, shared by every run.
const demoDir = tempDir('cli-demo')
const demoEnv = { PATH: process.env.PATH ?? '', HOME: demoDir, AIRLOCK_DATA_DIR: demoDir }
/** The environment of a gateway with a config of its own in `dir`: nothing from the test's, no ~/.airlock. */
const envIn = (dir: string) => ({ PATH: process.env.PATH ?? '', HOME: dir })
// Each test starts the built gateway as a process, most with their own devnet (anvil, fixtures deployed) and
// embedded database, and waits for it to stop: seconds of CPU, which on a loaded 2-core machine come near the
// default 20 s. The work is what is under test, so these get a longer limit.
const processTimeout = 60_000
const fixturesAddress = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

function waitFor(
  child: ChildProcess,
  pattern: RegExp,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = ''
    // Before the test's own limit, to say what was seen.
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}: ${text}`)),
      processTimeout - 5_000,
    )
    child[stream]!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const m = pattern.exec(text)
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code}: ${text}`))
    })
  })
}

describe('airlock start (npm start)', () => {
  it(
    'starts on the embedded devnet without config, prints how to connect, answers an MCP client, and stops cleanly',
    async () => {
      const child = spawn(process.execPath, [cli, 'start', '--port', '0'], {
        env: demoEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      const [, url] = await waitFor(
        child,
        /MCP endpoint \(Streamable HTTP\): (http:\/\/127\.0\.0\.1:\d+\/mcp)/,
      )
      const client = new Client({ name: 'cli-test', version: '0.0.0' })
      await client.connect(new StreamableHTTPClientTransport(new URL(url!)))
      const fixtures = JSON.parse(
        ((await client.readResource({ uri: 'airlock://devnet/fixtures' })).contents[0] as { text: string })
          .text,
      )
      const out = ok(
        (await client.callTool({
          name: 'get_token_balances',
          arguments: { chain: 'devnet', address: fixtures.accounts[0] },
        })) as CallToolResult,
      )
      expect(
        out.tokens.find((t: { token: string }) => t.token === fixtures.tokens.USDC.address).balance.formatted,
      ).toBe('1000000')
      await client.close()
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(143)
      // the devnet child died with the gateway
      await expect(fetch(fixtures.rpcUrl, { method: 'POST', body: '{}' })).rejects.toThrow()
    },
    processTimeout,
  )

  it('fails fast with a clear message when the port is taken or the config is bad', async () => {
    const dir = tempDir('cli')
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ chains: { base: { rpc: ['ftp://nope'] } } }))
    const child = spawn(process.execPath, [cli, 'start', '--config', bad], {
      env: envIn(dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c))
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
    expect(code).toBe(2)
    expect(stderr).toMatch(/chains\.base\.rpc\.0/)
  })
})

describe('airlock start: port taken / airlock devnet --json', () => {
  it(
    'says the port is taken, stops its devnet, and exits 2',
    async () => {
      const blocker = createServer()
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
      const port = String((blocker.address() as AddressInfo).port)
      const child = spawn(process.execPath, [cli, 'start', '--port', port], {
        env: demoEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => (stderr += c))
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
      blocker.close()
      expect(code).toBe(2)
      expect(stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} \\(the port is already in use\\)`))
      expect(stderr).toMatch(/--port or AIRLOCK_PORT/)
      const rpc = /devnet: chain id 31337 at (\S+),/.exec(stderr)?.[1]
      expect(rpc).toBeDefined()
      await expect(fetch(rpc!, { method: 'POST', body: '{}' })).rejects.toThrow()
    },
    processTimeout,
  )

  it(
    'prints the fixtures as JSON on stdout',
    async () => {
      const child = spawn(process.execPath, [cli, 'devnet', '--json'], {
        env: demoEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      children.push(child)
      const [line] = await waitFor(child, /^\{.*\}\n/)
      const fixtures = JSON.parse(line!)
      expect(fixtures).toMatchObject({
        chain: 'devnet',
        chainId: 31337,
        multicall3: '0xcA11bde05977b3631167028862bE2a173976CA11',
      })
      expect(fixtures.accounts).toHaveLength(10)
      const chainId = await fetch(fixtures.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }),
      }).then((r) => r.json() as Promise<{ result: string }>)
      expect(chainId.result).toBe('0x7a69')
    },
    processTimeout,
  )
})

describe('airlock stdio', () => {
  for (const era of ['2026-07-28', '2025-11-25'] as const)
    it(
      `writes nothing but JSON-RPC to stdout and serves an MCP client (${era})`,
      async () => {
        const dir = tempDir('stdio')
        const config = join(dir, 'airlock.json')
        // No devnet: a config with one chain that is not reachable proves startup needs no network.
        writeFileSync(config, JSON.stringify({ rpc: { publicFallback: false } }))
        const parameters = {
          command: process.execPath,
          args: [cli, 'stdio', '--config', config],
          env: envIn(dir),
          stderr: 'pipe' as const,
        }
        const nonProtocol: string[] = []
        let client: Pick<Client, 'listTools' | 'callTool' | 'close'>
        if (era === '2026-07-28') {
          const transport = new ModernStdioTransport(parameters)
          transport.onerror = (e) => nonProtocol.push(String(e))
          const modern = new ModernClient(
            { name: 'stdio-test', version: '0.0.0' },
            { versionNegotiation: { mode: { pin: modernRevision } } },
          )
          await modern.connect(transport)
          expect(modern.getProtocolEra()).toBe('modern')
          client = modern as unknown as typeof client
        } else {
          const transport = new StdioClientTransport(parameters)
          transport.onerror = (e) => nonProtocol.push(String(e))
          const legacy = new Client({ name: 'stdio-test', version: '0.0.0' })
          await legacy.connect(transport)
          client = legacy
        }
        const { tools } = await client.listTools()
        expect(tools.length).toBeGreaterThanOrEqual(16)
        const chains = ok((await client.callTool({ name: 'list_chains', arguments: {} })) as CallToolResult)
        expect(chains.chains.length).toBeGreaterThanOrEqual(40)
        const err = (await client.callTool({
          name: 'get_balance',
          arguments: { chain: 'base', address: '0x12' },
        })) as CallToolResult
        expect(err.isError).toBe(true)
        await client.close()
        expect(nonProtocol).toEqual([])
      },
      processTimeout,
    )

  it(
    'answers malformed 2026-07-28 messages on stdio with protocol errors and keeps serving (ADVERSARIAL 44)',
    async () => {
      const dir = tempDir('stdio-bad')
      const config = join(dir, 'airlock.json')
      writeFileSync(config, JSON.stringify({ rpc: { publicFallback: false } }))
      const child = spawn(process.execPath, [cli, 'stdio', '--config', config], {
        env: envIn(dir),
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      children.push(child)
      const answers = new Map<number, { result?: Record<string, unknown>; error?: { code: number } }>()
      const waiting = new Map<number, () => void>()
      let buffer = ''
      child.stdout!.on('data', (c: Buffer) => {
        buffer += c.toString()
        const parts = buffer.split('\n')
        buffer = parts.pop()!
        for (const line of parts) {
          const m = JSON.parse(line) // stdout carries nothing but JSON-RPC
          if (typeof m.id === 'number') {
            answers.set(m.id, m)
            waiting.get(m.id)?.()
          }
        }
      })
      const meta = (version = modernRevision) => ({
        'io.modelcontextprotocol/protocolVersion': version,
        'io.modelcontextprotocol/clientCapabilities': {},
      })
      const ask = (id: number, method: string, params: Record<string, unknown>) => {
        const answered = new Promise<void>((resolve) => waiting.set(id, resolve))
        child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
        return answered.then(() => answers.get(id)!)
      }
      // The opening message picks the era: a 2026-07-28 discover.
      expect((await ask(1, 'server/discover', { _meta: meta() })).result?.supportedVersions).toContain(
        modernRevision,
      )
      child.stdin!.write('{"jsonrpc": "2.0", "id": \n') // not JSON: answered or dropped, never fatal
      expect((await ask(2, 'tools/list', { _meta: meta('2099-01-01') })).error?.code).toBe(-32022)
      expect(
        (await ask(3, 'tools/call', { name: 'no_such_tool', arguments: {}, _meta: meta() })).error,
      ).toBeDefined()
      const extra = await ask(4, 'tools/call', {
        name: 'get_balance',
        arguments: { chain: 'base', address: fixturesAddress, sneaky: 1 },
        _meta: meta(),
      })
      expect(extra.result?.isError).toBe(true)
      expect(JSON.stringify(extra.result)).toMatch(/sneaky/)
      const listed = await ask(5, 'tools/list', { _meta: meta() })
      expect((listed.result?.tools as unknown[] | undefined)?.length).toBeGreaterThanOrEqual(16)
      child.stdin!.end()
      expect(await new Promise((r) => child.once('exit', r))).toBe(0)
    },
    processTimeout,
  )

  it(
    'in demo mode, logs the devnet on stderr only and answers reads on it',
    async () => {
      const child = spawn(process.execPath, [cli, 'stdio'], { env: demoEnv, stdio: ['pipe', 'pipe', 'pipe'] })
      children.push(child)
      await waitFor(child, /devnet: chain id 31337/, 'stderr')
      const lines: string[] = []
      let buffer = ''
      let answered!: () => void
      const threeLines = new Promise<void>((resolve) => {
        answered = resolve
      })
      child.stdout!.on('data', (c: Buffer) => {
        buffer += c.toString()
        const parts = buffer.split('\n')
        buffer = parts.pop()!
        lines.push(...parts)
        if (lines.length >= 3) answered()
      })
      const send = (m: object) => child.stdin!.write(`${JSON.stringify(m)}\n`)
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '0' },
        },
      })
      send({ jsonrpc: '2.0', method: 'notifications/initialized' })
      send({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'get_price', arguments: { chain: 'devnet', pair: 'ETH/USD' } },
      })
      send({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'get_balance', arguments: { chain: 'devnet', address: '0x00', extra: 1 } },
      })
      // The answers to initialize and the two calls.
      await threeLines
      const messages = lines.map((l) => JSON.parse(l))
      for (const m of messages) expect(m.jsonrpc).toBe('2.0')
      expect(messages.find((m) => m.id === 2).result.structuredContent.price).toBe('3000')
      expect(messages.find((m) => m.id === 3).result.isError).toBe(true)
      child.stdin!.end()
      expect(await new Promise((r) => child.once('exit', r))).toBe(0)
    },
    processTimeout,
  )
})
