import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { type CreateGatewayOptions, createGateway, type Gateway } from '../src/server/createGateway.js'
import { createMcpServer } from '../src/server/createMcpServer.js'

/** An MCP SDK client connected in process to a fresh gateway. */
export async function connectInMemory(options: CreateGatewayOptions): Promise<{
  client: Client
  gateway: Gateway
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>
  close(): Promise<void>
}> {
  const gateway = createGateway(options)
  const server = createMcpServer(gateway, { kind: 'local', transport: 'memory' })
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const client = new Client({ name: 'airlock-test', version: '0.0.0' })
  await Promise.all([server.connect(serverSide), client.connect(clientSide)])
  return {
    client,
    gateway,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close()
      await server.close()
      await gateway.close()
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
  return JSON.parse(first && first.type === 'text' ? first.text : '{}').error
}
