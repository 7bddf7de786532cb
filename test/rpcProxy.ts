import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A loopback JSON-RPC proxy that counts the calls it forwards, by method. */
export async function startCountingProxy(target: string): Promise<{
  url: string
  calls: Map<string, number>
  total(method?: string): number
  reset(): void
  close(): Promise<void>
}> {
  const calls = new Map<string, number>()
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    try {
      const parsed = JSON.parse(body) as { method: string } | { method: string }[]
      for (const m of Array.isArray(parsed) ? parsed : [parsed])
        calls.set(m.method, (calls.get(m.method) ?? 0) + 1)
    } catch {}
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    const text = await upstream.text()
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    total: (method) => (method ? (calls.get(method) ?? 0) : [...calls.values()].reduce((a, b) => a + b, 0)),
    reset: () => calls.clear(),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** What {@link startRewritingProxy} does: forward, hide eth_simulateV1, hide every simulation method, or lie. */
export type ProxyMode = 'pass' | 'no-simulate' | 'nothing' | 'tamper'
/** A loopback JSON-RPC proxy in front of `target` that hides methods or alters eth_simulateV1 answers. */
export async function startRewritingProxy(
  target: string,
  mode: ProxyMode,
): Promise<{ url: string; server: Server }> {
  const refused = new Set(
    mode === 'no-simulate'
      ? ['eth_simulateV1']
      : mode === 'nothing'
        ? ['eth_simulateV1', 'debug_traceCall', 'eth_call']
        : [],
  )
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string }
    if (refused.has(body.method)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: body.id,
          error: { code: -32601, message: 'Method not found' },
        }),
      )
      return
    }
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const answer = (await upstream.json()) as { result?: unknown }
    if (mode === 'tamper' && body.method === 'eth_simulateV1' && Array.isArray(answer.result)) {
      // Every 32-byte read after the transaction (the "after" balances) grows by 1000: a lie about the effects.
      const calls = (answer.result[0] as { calls: { returnData: string; logs: unknown[] }[] }).calls
      const tx = calls.findIndex((c) => c.logs.length > 0)
      for (const c of calls.slice(tx + 1))
        if (c.returnData.length === 66)
          c.returnData = `0x${(BigInt(c.returnData) + 1000n).toString(16).padStart(64, '0')}`
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
