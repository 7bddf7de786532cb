import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  encodeErrorResult,
  type PublicClient,
  parseAbi,
  parseEther,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { startAnvil } from '../devnet/anvil.js'
import { ChainIdMismatchError, InvalidConfigError, RpcUnavailableError } from '../errors/index.js'
import { createRpcTransport, type RpcTransport } from './transport.js'
import type { RpcTransportOptions } from './transportOptions.js'

type Rpc = { jsonrpc: string; id: number; method: string; params?: unknown[] }
type Handler = (rpc: Rpc, res: ServerResponse, req: IncomingMessage) => void
type TestServer = {
  url: string
  port: number
  /** Every JSON-RPC method received, in order. */
  calls: string[]
  /** Headers and path of the last request. */
  last: { path: string; authorization: string | undefined } | undefined
  count(method: string): number
}

const CHAIN_ID: number = foundry.id // 31337 = 0x7a69
const ADDRESS = '0x00000000000000000000000000000000000000a1'
const servers: Server[] = []
const transports: RpcTransport[] = []

afterEach(async () => {
  vi.useRealTimers()
  for (const t of transports.splice(0)) t.close()
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections()
          s.close(() => resolve())
        }),
    ),
  )
})

function reply(res: ServerResponse, rpc: Rpc, result: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result }))
}

/** A well-behaved node for chain 31337 whose balances are all `balance`. */
function healthy(balance: bigint, chainId = CHAIN_ID): Handler {
  return (rpc, res) => {
    if (rpc.method === 'eth_chainId') return reply(res, rpc, toHex(chainId))
    if (rpc.method === 'eth_getBalance') return reply(res, rpc, toHex(balance))
    if (rpc.method === 'eth_sendRawTransaction') return reply(res, rpc, `0x${'ab'.repeat(32)}`)
    return reply(res, rpc, '0x1')
  }
}

/** Answers `eth_chainId` like a healthy node and hands every other method to `other`. */
function chainIdThen(other: Handler): Handler {
  const base = healthy(0n)
  return (rpc, res, req) => (rpc.method === 'eth_chainId' ? base(rpc, res, req) : other(rpc, res, req))
}

async function startServer(handler: Handler): Promise<TestServer> {
  const calls: string[] = []
  const state: TestServer = {
    url: '',
    port: 0,
    calls,
    last: undefined,
    count: (method) => calls.filter((m) => m === method).length,
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const rpc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Rpc
      calls.push(rpc.method)
      state.last = { path: req.url ?? '', authorization: req.headers.authorization }
      handler(rpc, res, req)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  state.url = `http://127.0.0.1:${state.port}`
  return state
}

/** A node that answers eth_chainId and never anything else; `arrived` resolves when such a request came in. */
async function hangingServer(): Promise<{ server: TestServer; arrived: Promise<void> }> {
  let came!: () => void
  const arrived = new Promise<void>((resolve) => {
    came = resolve
  })
  return { server: await startServer(chainIdThen(() => came())), arrived }
}

/** A port nothing listens on: bound, then released. */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

function rpcFor(
  urls: string[],
  options: Partial<RpcTransportOptions> = {},
): { rpc: RpcTransport; client: PublicClient } {
  const rpc = createRpcTransport({
    chainName: 'devnet',
    chainId: CHAIN_ID,
    urls,
    timeoutMs: 200,
    hedgeDelayMs: 0,
    ...options,
  })
  transports.push(rpc)
  return { rpc, client: createPublicClient({ chain: foundry, transport: rpc.transport }) }
}

/** The first error of class `cls` in the cause chain (viem wraps transport errors). */
function causeOf<T>(error: unknown, cls: abstract new (...args: never[]) => T): T | undefined {
  let e: unknown = error
  for (let depth = 0; e && depth < 10; depth++) {
    if (e instanceof cls) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Every message in the cause chain, for leak checks. */
function allText(error: unknown): string {
  const parts: string[] = []
  let e: unknown = error
  for (let depth = 0; e && depth < 10; depth++) {
    parts.push(
      String(e),
      (e as Error).message ?? '',
      JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
    e = (e as { cause?: unknown }).cause
  }
  return parts.join('\n')
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the promise to reject')
}

// The first HTTP request of a process pays for module loading and JIT; keep that out of the 200 ms timeouts.
beforeAll(async () => {
  const server = await startServer(healthy(0n))
  const { client } = rpcFor([server.url])
  for (let i = 0; i < 20; i++) await client.getBalance({ address: ADDRESS })
})

describe('failover', () => {
  test('an endpoint that hangs is abandoned after the timeout and the request fails over', async () => {
    const hang = await startServer(chainIdThen(() => {}))
    const good = await startServer(healthy(7n))
    const { rpc, client } = rpcFor([hang.url, good.url])

    const started = performance.now()
    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(7n)
    const elapsed = performance.now() - started

    expect(elapsed).toBeGreaterThanOrEqual(190)
    // The hanging endpoint never answers: that the read resolved at all proves it was abandoned. The bound only
    // says "not much later"; it is wide, so a loaded machine's scheduling does not decide the test.
    expect(elapsed).toBeLessThan(10_000)
    expect(hang.count('eth_getBalance')).toBe(1)
    const [first, second] = rpc.endpoints()
    expect(first).toMatchObject({ state: 'degraded', failures: 1, lastError: 'timed out after 200 ms' })
    expect(second).toMatchObject({ state: 'healthy', chainIdVerified: true })
  })

  test.each([
    [
      'non-JSON garbage',
      (_rpc: Rpc, res: ServerResponse) => res.end('<html>bad gateway</html>'),
      'invalid JSON',
    ],
    [
      'a wrong JSON-RPC id',
      (rpc: Rpc, res: ServerResponse) =>
        res.end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id + 1, result: '0x5' })),
      'wrong JSON-RPC id',
    ],
    [
      'a missing jsonrpc version',
      (rpc: Rpc, res: ServerResponse) => res.end(JSON.stringify({ id: rpc.id, result: '0x5' })),
      'not JSON-RPC 2.0',
    ],
    [
      'both result and error',
      (rpc: Rpc, res: ServerResponse) =>
        res.end(
          JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: '0x5', error: { code: 1, message: 'x' } }),
        ),
      'exactly one of result and error',
    ],
    ['HTTP 500', (_rpc: Rpc, res: ServerResponse) => res.writeHead(500).end('oops'), 'HTTP 500'],
    ['HTTP 429', (_rpc: Rpc, res: ServerResponse) => res.writeHead(429).end(), 'HTTP 429'],
    [
      'a 200 with a JSON-RPC rate-limit error',
      (rpc: Rpc, res: ServerResponse) =>
        res.end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, error: { code: 429, message: 'slow down' } })),
      'rate limited',
    ],
  ])('an endpoint answering %s is marked and the request fails over', async (_name, handler, cause) => {
    const bad = await startServer(chainIdThen(handler))
    const good = await startServer(healthy(9n))
    const { rpc, client } = rpcFor([bad.url, good.url])

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(9n)

    const [first] = rpc.endpoints()
    expect(first?.state).toBe('degraded')
    expect(first?.failures).toBe(1)
    expect(first?.lastError).toContain(cause)
    expect(good.count('eth_getBalance')).toBe(1)
  })

  test('an oversized response is cut off while streaming, never buffered whole, and the request fails over', async () => {
    let written = 0
    let aborted = false
    let closed!: () => void
    const hugeClosed = new Promise<void>((resolve) => {
      closed = resolve
    })
    const huge = await startServer(
      chainIdThen((_rpc, res) => {
        // A 100 MB body, chunked (no content-length), written as fast as the client reads it.
        res.writeHead(200, { 'content-type': 'application/json' })
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        res.on('close', () => {
          aborted = !res.writableFinished
          closed()
        })
        const pump = () => {
          while (written < 100 * 1024 * 1024 && !res.destroyed) {
            written += chunk.length
            if (!res.write(chunk)) return void res.once('drain', pump)
          }
          if (!res.destroyed) res.end()
        }
        pump()
      }),
    )
    const good = await startServer(healthy(3n))
    const { rpc, client } = rpcFor([huge.url, good.url], { maxResponseBytes: 1024, timeoutMs: 2_000 })

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(3n)
    await hugeClosed

    expect(rpc.endpoints()[0]?.lastError).toBe('response over 1024 bytes')
    expect(aborted).toBe(true)
    // Only what sat in socket buffers when the cap was crossed was written, not the 100 MB.
    expect(written).toBeLessThan(32 * 1024 * 1024)
  })

  test('a declared content-length over the cap fails before reading the body', async () => {
    const big = await startServer(
      chainIdThen((_rpc, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(5_000) })
        res.write('{')
      }),
    )
    const good = await startServer(healthy(4n))
    const { rpc, client } = rpcFor([big.url, good.url], { maxResponseBytes: 1024 })

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(4n)
    expect(rpc.endpoints()[0]?.lastError).toBe('response over 1024 bytes')
  })

  test('every endpoint down → RpcUnavailableError (RPC_UNAVAILABLE) summarizing each endpoint', async () => {
    const a = await deadUrl()
    const b = await startServer(chainIdThen((_rpc, res) => res.writeHead(503).end()))
    const { client } = rpcFor([a, b.url])

    const error = await failure(client.getBalance({ address: ADDRESS }))
    const unavailable = causeOf(error, RpcUnavailableError)

    expect(unavailable?.code).toBe('RPC_UNAVAILABLE')
    expect(unavailable?.status).toBe(503)
    expect(unavailable?.shortMessage).toContain(`${a}: chain id check failed: connection refused`)
    expect(unavailable?.shortMessage).toContain(`${b.url}: HTTP 503`)
  })
})

describe('chain id verification', () => {
  test('an endpoint serving another chain is never used and is marked wrong-chain', async () => {
    const wrong = await startServer(healthy(1n, 1))
    const good = await startServer(healthy(2n))
    const { rpc, client } = rpcFor([wrong.url, good.url])

    for (let i = 0; i < 3; i++) await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(2n)

    expect(wrong.calls).toEqual(['eth_chainId'])
    expect(rpc.endpoints()[0]).toMatchObject({ state: 'wrong-chain', chainIdVerified: false })
    expect(rpc.endpoints()[0]?.lastError).toContain('serves chain id 1, expected 31337')
  })

  test('when every endpoint serves another chain the error is a ChainIdMismatchError', async () => {
    const wrong = await startServer(healthy(1n, 8453))
    const { client } = rpcFor([wrong.url])

    const error = await failure(client.getBalance({ address: ADDRESS }))
    const mismatch = causeOf(error, ChainIdMismatchError)

    expect(mismatch?.code).toBe('CHAIN_ID_MISMATCH')
    expect(mismatch?.shortMessage).toBe(`Endpoint ${wrong.url} serves chain id 8453, expected 31337.`)
  })

  test('concurrent first requests share one eth_chainId check', async () => {
    const server = await startServer(healthy(5n))
    const { rpc, client } = rpcFor([server.url])

    const balances = await Promise.all(
      Array.from({ length: 20 }, () => client.getBalance({ address: ADDRESS })),
    )

    expect(balances).toEqual(Array(20).fill(5n))
    expect(server.count('eth_chainId')).toBe(1)
    expect(server.count('eth_getBalance')).toBe(20)
    expect(rpc.endpoints()[0]).toMatchObject({
      state: 'healthy',
      chainIdVerified: true,
      consecutiveFailures: 0,
    })
  })

  test('a failed check is retried by a later request', async () => {
    let refuse = true
    const base = healthy(6n)
    const server = await startServer((rpc, res, req) => {
      if (rpc.method === 'eth_chainId' && refuse) return void res.writeHead(502).end()
      base(rpc, res, req)
    })
    const { rpc, client } = rpcFor([server.url])

    expect(causeOf(await failure(client.getBalance({ address: ADDRESS })), RpcUnavailableError)).toBeDefined()
    expect(rpc.endpoints()[0]?.chainIdVerified).toBe(false)
    refuse = false

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(6n)
    expect(server.count('eth_chainId')).toBe(2)
    expect(rpc.endpoints()[0]?.chainIdVerified).toBe(true)
  })

  test('verifyChainId: false skips the check', async () => {
    const server = await startServer(healthy(1n, 1))
    const { client } = rpcFor([server.url], { verifyChainId: false })

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(1n)
    expect(server.calls).toEqual(['eth_getBalance'])
  })
})

describe('circuit breaker', () => {
  test('opens after N consecutive failures, skips the endpoint while open, and a probe after the cooldown closes it', async () => {
    let broken = true
    const base = healthy(8n)
    const flaky = await startServer((rpc, res, req) => {
      if (broken && rpc.method !== 'eth_chainId') return void res.writeHead(500).end()
      base(rpc, res, req)
    })
    const good = await startServer(healthy(9n))
    // The cooldown is measured on Date: the test moves it on instead of sleeping through it, and while it does
    // not, no cooldown can pass however slowly the steps run.
    vi.useFakeTimers({ toFake: ['Date'] })
    const { rpc, client } = rpcFor([flaky.url, good.url], {
      breaker: { failureThreshold: 2, cooldownMs: 150 },
    })

    for (let i = 0; i < 2; i++) await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(9n)
    expect(rpc.endpoints()[0]).toMatchObject({ state: 'open', consecutiveFailures: 2, lastError: 'HTTP 500' })

    // Open: skipped without a request.
    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(9n)
    expect(flaky.count('eth_getBalance')).toBe(2)

    vi.setSystemTime(Date.now() + 200)
    expect(rpc.endpoints()[0]?.state).toBe('degraded') // half-open: the next read is its probe
    broken = false

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(8n)
    expect(flaky.count('eth_getBalance')).toBe(3)
    expect(rpc.endpoints()[0]).toMatchObject({ state: 'healthy', consecutiveFailures: 0 })
  })

  test('with every circuit open, requests fail fast without touching the endpoints', async () => {
    const down = await startServer(chainIdThen((_rpc, res) => res.writeHead(500).end()))
    const { rpc, client } = rpcFor([down.url], { breaker: { failureThreshold: 1, cooldownMs: 10_000 } })
    await failure(client.getBalance({ address: ADDRESS }))
    expect(rpc.endpoints()[0]?.state).toBe('open')
    const before = down.calls.length

    const started = performance.now()
    const error = causeOf(await failure(client.getBalance({ address: ADDRESS })), RpcUnavailableError)

    // No request, so no timeout to wait for; the bound is far under the 10 s cooldown it must not wait out.
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(error?.shortMessage).toMatch(/circuit open for 10 s after: HTTP 500/)
    expect(down.calls.length).toBe(before)
  })

  test('a half-open endpoint admits exactly one probe at a time', async () => {
    let broken = true
    const base = healthy(8n)
    const pending: (() => void)[] = []
    let probeArrived!: () => void
    const probing = new Promise<void>((resolve) => {
      probeArrived = resolve
    })
    const flaky = await startServer((rpc, res, req) => {
      if (rpc.method === 'eth_chainId') return base(rpc, res, req)
      if (broken) return void res.writeHead(500).end()
      pending.push(() => base(rpc, res, req))
      probeArrived()
    })
    vi.useFakeTimers({ toFake: ['Date'] })
    const { rpc, client } = rpcFor([flaky.url], {
      timeoutMs: 30_000,
      breaker: { failureThreshold: 1, cooldownMs: 50 },
    })
    await failure(client.getBalance({ address: ADDRESS }))
    vi.setSystemTime(Date.now() + 80)
    broken = false

    const probe = client.getBalance({ address: ADDRESS })
    await probing
    const second = causeOf(await failure(client.getBalance({ address: ADDRESS })), RpcUnavailableError)
    expect(second?.shortMessage).toContain('probe')
    expect(rpc.endpoints()[0]?.state).toBe('open')

    for (const release of pending.splice(0)) release()
    await expect(probe).resolves.toBe(8n)
    expect(rpc.endpoints()[0]?.state).toBe('healthy')
  })
})

describe('hedging', () => {
  test('a slow first endpoint is hedged: the fast second answers long before the first would', async () => {
    // The slow endpoint never answers (within the 30 s timeout): the answer can only come from the hedge.
    let slowClosed!: (aborted: boolean) => void
    const slowAborted = new Promise<boolean>((resolve) => {
      slowClosed = resolve
    })
    const slow = await startServer(
      chainIdThen((_rpc, res) => {
        res.on('close', () => slowClosed(!res.writableFinished))
      }),
    )
    const fast = await startServer(healthy(2n))
    const { rpc, client } = rpcFor([slow.url, fast.url], { timeoutMs: 30_000, hedgeDelayMs: 50 })

    const started = performance.now()
    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(2n)
    const elapsed = performance.now() - started

    expect(elapsed).toBeGreaterThanOrEqual(45) // not before the hedge delay
    expect(await slowAborted).toBe(true) // the loser was cancelled
    // The cancelled loser is not judged a failure.
    expect(rpc.endpoints()[0]).toMatchObject({ failures: 0, state: 'healthy' })
  })

  test('when the hedge fails while the first is still slow, the next endpoint joins the race at once', async () => {
    const hang = await startServer(chainIdThen(() => {}))
    const broken = await startServer(chainIdThen((_rpc, res) => res.writeHead(500).end()))
    const good = await startServer(healthy(3n))
    // Nothing times out within the test: the answer can only come from the endpoints joining the race.
    const { client } = rpcFor([hang.url, broken.url, good.url], { timeoutMs: 30_000, hedgeDelayMs: 50 })

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(3n)

    expect(broken.count('eth_getBalance')).toBe(1)
  })

  test('no hedge when the first endpoint answers within the delay', async () => {
    const a = await startServer(healthy(1n))
    const b = await startServer(healthy(2n))
    // A delay far beyond a local answer, however loaded the machine: a hedge here would be the bug.
    const { client } = rpcFor([a.url, b.url], { hedgeDelayMs: 5_000 })

    for (let i = 0; i < 5; i++) await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(1n)
    expect(b.calls).toEqual([])
  })
})

describe('non-idempotent methods', () => {
  const signedTx =
    '0x02f86b827a6980843b9aca00843b9aca0082520894000000000000000000000000000000000000000180c080a0' as const

  test('eth_sendRawTransaction is never hedged: one request in total, even when the endpoint is slow', async () => {
    const slow = await startServer(
      chainIdThen((rpc, res) => {
        setTimeout(() => reply(res, rpc, `0x${'cd'.repeat(32)}`), 200)
      }),
    )
    const other = await startServer(healthy(0n))
    const { client } = rpcFor([slow.url, other.url], { timeoutMs: 1_000, hedgeDelayMs: 20 })

    const hash = await client.request({ method: 'eth_sendRawTransaction', params: [signedTx] })

    expect(hash).toBe(`0x${'cd'.repeat(32)}`)
    expect(slow.count('eth_sendRawTransaction')).toBe(1)
    expect(other.count('eth_sendRawTransaction')).toBe(0)
  })

  test('a timed-out eth_sendRawTransaction is reported, not re-sent elsewhere', async () => {
    const hang = await startServer(chainIdThen(() => {}))
    const other = await startServer(healthy(0n))
    const { client } = rpcFor([hang.url, other.url], { hedgeDelayMs: 20 })

    const error = causeOf(
      await failure(client.request({ method: 'eth_sendRawTransaction', params: [signedTx] })),
      RpcUnavailableError,
    )

    expect(error?.shortMessage).toContain('may or may not have been received')
    expect(hang.count('eth_sendRawTransaction')).toBe(1)
    expect(other.count('eth_sendRawTransaction')).toBe(0)
  })

  test('a refused connection (never delivered) fails over once', async () => {
    const dead = await deadUrl()
    const good = await startServer(healthy(0n))
    const { client } = rpcFor([dead, good.url], { verifyChainId: false })

    await expect(client.request({ method: 'eth_sendRawTransaction', params: [signedTx] })).resolves.toBe(
      `0x${'ab'.repeat(32)}`,
    )
    expect(good.count('eth_sendRawTransaction')).toBe(1)
  })
})

describe('JSON-RPC errors', () => {
  const abi = parseAbi(['function balanceOf(address) view returns (uint256)'])

  test('an execution-reverted error with data reaches viem intact and decodes to the revert reason', async () => {
    const data = encodeErrorResult({
      abi: parseAbi(['error Error(string)']),
      errorName: 'Error',
      args: ['Insufficient vibes'],
    })
    const server = await startServer(
      chainIdThen((rpc, res) =>
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: rpc.id,
            error: { code: 3, message: 'execution reverted', data },
          }),
        ),
      ),
    )
    const secretUrl = `http://user:secret@127.0.0.1:${server.port}/v2/SECRETKEY1234567890abcd?apikey=xyz`
    const { rpc, client } = rpcFor([secretUrl])

    const error = await failure(
      client.readContract({ address: ADDRESS, abi, functionName: 'balanceOf', args: [ADDRESS] }),
    )
    const reverted = causeOf(error, ContractFunctionRevertedError)

    expect(reverted?.reason).toBe('Insufficient vibes')
    expect(allText(error)).not.toMatch(/secret|SECRETKEY|xyz|user:/i)
    // A revert is a correct answer: the endpoint stays healthy and is not failed over.
    expect(rpc.endpoints()[0]).toMatchObject({ state: 'healthy', failures: 0 })
  })

  test('a JSON-RPC error surfaces as viem does it, with the code intact', async () => {
    const server = await startServer(
      chainIdThen((rpc, res) =>
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: rpc.id,
            error: { code: -32602, message: 'invalid argument 0' },
          }),
        ),
      ),
    )
    const other = await startServer(healthy(0n))
    const { client } = rpcFor([server.url, other.url])

    const error = await failure(client.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] }))

    expect((error as { code?: number }).code).toBe(-32602)
    expect((error as Error).name).toBe('InvalidParamsRpcError')
    expect(other.count('eth_getBalance')).toBe(0)
  })
})

describe('secrets', () => {
  test('credentials in URLs never appear in errors or endpoints(), yet are sent to the endpoint', async () => {
    const garbage = await startServer(chainIdThen((_rpc, res) => res.end('nope')))
    const dead = await deadUrl()
    const withSecrets = (base: string) =>
      `${base.replace('http://', 'http://user:secret@')}/v2/SECRETKEY1234567890abcd?apikey=xyz`
    const { rpc, client } = rpcFor([withSecrets(garbage.url), withSecrets(dead)])

    const error = await failure(client.getBalance({ address: ADDRESS }))

    expect(causeOf(error, RpcUnavailableError)).toBeDefined()
    const text = `${allText(error)}\n${JSON.stringify(rpc.endpoints())}`
    expect(text).not.toMatch(/secret|SECRETKEY|xyz|user:/i)
    expect(rpc.endpoints().map((e) => e.url)).toEqual([`${garbage.url}/…`, `${dead}/…`])
    expect(garbage.last).toEqual({
      path: '/v2/SECRETKEY1234567890abcd?apikey=xyz',
      authorization: `Basic ${Buffer.from('user:secret').toString('base64')}`,
    })
  })

  test('an endpoint echoing its own key in a JSON-RPC error message has the key scrubbed', async () => {
    const server = await startServer(
      chainIdThen((rpc, res) =>
        res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: rpc.id,
            error: { code: -32000, message: 'key SECRETKEY1234567890abcd is over quota (apikey=xyz1)' },
          }),
        ),
      ),
    )
    const { client } = rpcFor([`http://127.0.0.1:${server.port}/v2/SECRETKEY1234567890abcd?apikey=xyz1`])

    const error = await failure(client.getBalance({ address: ADDRESS }))

    expect((error as { code?: number }).code).toBe(-32000)
    expect(allText(error)).toContain('key *** is over quota')
    expect(allText(error)).not.toMatch(/SECRETKEY|xyz1/)
  })

  test('invalid options are refused when built, naming the problem without the credentials', () => {
    const build = (urls: string[]) => () => createRpcTransport({ chainName: 'base', chainId: 8453, urls })

    expect(build([])).toThrow(InvalidConfigError)
    expect(build([])).toThrow(/urls/)
    expect(build(['ws://user:pw@example.com/v2/SECRETKEY1234567890abcd'])).toThrow(/is not an http\(s\) URL/)
    expect(build(['ws://user:pw@example.com/v2/SECRETKEY1234567890abcd'])).not.toThrow(/pw|SECRETKEY/)
    expect(build(['not a url'])).toThrow(/endpoint 1 of chain "base" \(not a URL\)/)
    expect(build(['http://a.example', 'http://a.example'])).toThrow(/listed twice/)
    expect(() =>
      createRpcTransport({ chainName: 'base', chainId: 8453, urls: ['http://a.example'], timeoutMs: -1 }),
    ).toThrow(/timeoutMs/)
  })
})

describe('connections', () => {
  test('reads reuse one keep-alive connection', async () => {
    const sockets = new Set<unknown>()
    const base = healthy(1n)
    const server = await startServer((rpc, res, req) => {
      sockets.add(req.socket)
      base(rpc, res, req)
    })
    const { client } = rpcFor([server.url])

    for (let i = 0; i < 10; i++) await client.getBalance({ address: ADDRESS })

    expect(sockets.size).toBe(1)
  })

  test('a read on a pooled connection the server resets is retried once on a new one, without blame', async () => {
    let resets = 0
    const base = healthy(2n)
    const server = await startServer((rpc, res, req) => {
      if (rpc.method === 'eth_getBalance' && resets === 0) {
        resets++
        return void req.socket.destroy()
      }
      base(rpc, res, req)
    })
    const { rpc, client } = rpcFor([server.url])

    await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(2n)
    expect(server.count('eth_getBalance')).toBe(2)
    expect(rpc.endpoints()[0]).toMatchObject({ failures: 0, state: 'healthy' })
  })

  test('a send whose connection is reset after delivery is not retried', async () => {
    const server = await startServer(chainIdThen((_rpc, _res, req) => void req.socket.destroy()))
    const other = await startServer(healthy(0n))
    const { client } = rpcFor([server.url, other.url])

    const error = causeOf(
      await failure(client.request({ method: 'eth_sendRawTransaction', params: ['0x02'] })),
      RpcUnavailableError,
    )

    expect(error?.shortMessage).toContain(
      'connection reset; eth_sendRawTransaction may or may not have been received',
    )
    expect(server.count('eth_sendRawTransaction')).toBe(1)
    expect(other.count('eth_sendRawTransaction')).toBe(0)
  })
})

describe('lifecycle', () => {
  test('close() ends in-flight requests and refuses new ones', async () => {
    const { server: hang, arrived } = await hangingServer()
    const { rpc, client } = rpcFor([hang.url], { timeoutMs: 30_000 })

    const pending = failure(client.getBalance({ address: ADDRESS }))
    await arrived
    rpc.close()

    expect(causeOf(await pending, RpcUnavailableError)?.shortMessage).toContain('closed')
    expect(causeOf(await failure(client.getBlockNumber()), RpcUnavailableError)).toBeDefined()
  })

  test('a caller abort signal cancels the request without blaming the endpoint', async () => {
    const { server: hang, arrived } = await hangingServer()
    const { rpc } = rpcFor([hang.url], { timeoutMs: 30_000 })
    const controller = new AbortController()
    const request = rpc.transport({ chain: foundry }).request

    const pending = failure(request({ method: 'eth_blockNumber' }, { signal: controller.signal }))
    await arrived
    controller.abort()

    expect(((await pending) as Error).name).toBe('AbortError')
    expect(rpc.endpoints()[0]?.failures).toBe(0)
  })
})

describe('against a real anvil', () => {
  test('reads, a signed send and its receipt go through the transport', async () => {
    // Resolves once anvil listens (it reads anvil's own output), however long that takes.
    const anvil = await startAnvil({ chainId: CHAIN_ID })
    try {
      const { rpc, client } = rpcFor([anvil.rpcUrl], { timeoutMs: 2_000 })
      // anvil's first dev account, from the public test mnemonic.
      const account = privateKeyToAccount(
        '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
      )
      const wallet = createWalletClient({ account, chain: foundry, transport: rpc.transport })

      const hash = await wallet.sendTransaction({ to: ADDRESS, value: parseEther('1.5') })
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 })

      expect(receipt.status).toBe('success')
      await expect(client.getBalance({ address: ADDRESS })).resolves.toBe(parseEther('1.5'))
      expect(rpc.endpoints()[0]).toMatchObject({ state: 'healthy', chainIdVerified: true, failures: 0 })
    } finally {
      await anvil.stop()
    }
  })
})
