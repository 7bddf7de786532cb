import { createServer } from 'node:http'
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
