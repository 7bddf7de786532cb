import { createServer } from 'node:http'

/**
 * A JSON-RPC proxy in front of a node that counts requests by method (a batch counts each request in it), so a
 * figure can say how many RPC calls an operation made and which.
 *
 * @example const counter = await rpcCounter(devnet.rpcUrl); …; counter.total()
 */
export async function rpcCounter(target: string) {
  let methods: Record<string, number> = {}
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString()
    try {
      const parsed = JSON.parse(body) as { method?: string } | { method?: string }[]
      for (const r of Array.isArray(parsed) ? parsed : [parsed])
        methods[r.method ?? '?'] = (methods[r.method ?? '?'] ?? 0) + 1
    } catch {}
    try {
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text())
    } catch {
      res.writeHead(502).end()
    }
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    /** Calls per method since the last reset. */
    methods: () => ({ ...methods }),
    total: () => Object.values(methods).reduce((a, b) => a + b, 0),
    reset: () => {
      methods = {}
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
