import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createMcpHandler } from '@modelcontextprotocol/server'
import type { Gateway } from '../src/server/createGateway.js'
import { createMcpServerFactory } from '../src/server/mcpServer.js'

/**
 * A 2026-07-28 client (SDK v2) served in process through the real HTTP handler (`createMcpHandler`'s `fetch`): no
 * port and no socket, so a figure measures the gateway, not the loopback.
 *
 * @example const { client, close } = await connectInProcess(gateway, 'agent-1')
 */
export async function connectInProcess(
  gateway: Gateway,
  name = 'bench',
): Promise<{ client: Client; close(): Promise<void> }> {
  const handler = createMcpHandler(createMcpServerFactory(gateway, { transport: 'memory' }))
  const client = new Client(
    { name, version: '0.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  )
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), {
      fetch: (url, init) => handler.fetch(new Request(url, init)),
    }),
  )
  return {
    client,
    async close() {
      await client.close()
      await handler.close()
    },
  }
}
