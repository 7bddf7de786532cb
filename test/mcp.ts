import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport as LegacyInMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { createMcpHandler } from '@modelcontextprotocol/server'
import { type CreateGatewayOptions, createGateway, type Gateway } from '../src/server/createGateway.js'
import { approvalCodec, createMcpServerFactory } from '../src/server/mcpServer.js'

/** The current MCP revision (stateless, `server/discover`, per-request `_meta`). */
export const modernRevision = '2026-07-28'

/** A tool result as both SDK clients return it. */
export type CallToolResult = {
  content: { type: string; text?: string }[]
  structuredContent?: Record<string, unknown> | undefined
  isError?: boolean | undefined
}

/** What {@link connectInMemory} and {@link connectLegacyInMemory} give a test. */
export type Connected = {
  client: Client | LegacyClient
  gateway: Gateway
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>
  close(): Promise<void>
}

/** The previous MCP revision, as 2025-era clients speak it. */
export const legacyRevision = '2025-11-25'

/**
 * An MCP SDK v2 client (protocol 2026-07-28) connected in process to a fresh gateway through the real HTTP handler
 * (`createMcpHandler`'s `fetch`; no port, no socket). With `AIRLOCK_TEST_ERA=2025-11-25` (see
 * `test/legacyEra.test.ts`), a 2025-era client (SDK v1) on an in-memory connection instead, so the same test file
 * proves the same behaviour on both revisions.
 */
export async function connectInMemory(
  options: CreateGatewayOptions,
  clientOptions: ConstructorParameters<typeof Client>[1] = {},
): Promise<Connected & { client: Client }> {
  const gateway = createGateway(options)
  if (process.env.AIRLOCK_TEST_ERA === legacyRevision) {
    const legacy = await connectLegacyInMemory(gateway, clientOptions as never)
    return {
      ...legacy,
      client: legacy.client as unknown as Client,
      async close() {
        await legacy.close()
        await gateway.close()
      },
    }
  }
  return connectModern(gateway, clientOptions, async () => gateway.close())
}

/** A v2 client over the in-process HTTP handler of an existing gateway (closing it leaves the gateway open). */
export async function connectModern(
  gateway: Gateway,
  clientOptions: ConstructorParameters<typeof Client>[1] = {},
  onClose: () => Promise<void> = async () => {},
): Promise<Connected & { client: Client }> {
  const codec = await approvalCodec(gateway)
  const handler = createMcpHandler(createMcpServerFactory(gateway, { transport: 'memory', codec }))
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), {
    fetch: (url, init) => handler.fetch(new Request(url, init)),
  })
  const client = new Client(
    { name: 'airlock-test', version: '0.0.0' },
    { versionNegotiation: { mode: { pin: modernRevision } }, ...clientOptions },
  )
  await client.connect(transport)
  if (client.getProtocolEra() !== 'modern') throw new Error('the v2 client did not negotiate 2026-07-28')
  return {
    client,
    gateway,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close()
      await handler.close()
      await onClose()
    },
  }
}

/**
 * A 2025-era client (the v1 SDK) connected in process to a gateway over an in-memory pair, pinned to the legacy
 * era as a 2025-era stdio connection is.
 */
export async function connectLegacyInMemory(
  gateway: Gateway,
  clientOptions: ConstructorParameters<typeof LegacyClient>[1] = {},
): Promise<Connected & { client: LegacyClient }> {
  const codec = await approvalCodec(gateway)
  const server = await createMcpServerFactory(gateway, { transport: 'memory', codec })({ era: 'legacy' })
  const [clientSide, serverSide] = LegacyInMemoryTransport.createLinkedPair()
  const client = new LegacyClient({ name: 'airlock-test-2025', version: '0.0.0' }, clientOptions)
  await Promise.all([server.connect(serverSide as never), client.connect(clientSide)])
  return {
    client,
    gateway,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close()
      await server.close()
    },
  }
}

/** The structured output of a successful call; fails the test with the error text otherwise. */
// biome-ignore lint/suspicious/noExplicitAny: tests read structured results loosely; the client validated them against outputSchema
export function ok<T = Record<string, any>>(result: CallToolResult): T {
  if (result.isError) throw new Error(`tool failed: ${JSON.stringify(result.content)}`)
  return result.structuredContent as T
}

/** The `{ code, message, hints, field }` of a failed call; fails the test if the call succeeded. */
export function err(result: CallToolResult): {
  code: string
  message: string
  hints?: string[]
  field?: string
} {
  if (!result.isError) throw new Error(`expected an error, got ${JSON.stringify(result.structuredContent)}`)
  const first = result.content[0]
  return JSON.parse(first && first.type === 'text' ? (first.text ?? '{}') : '{}').error
}
