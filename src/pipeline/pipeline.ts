import { type CallToolResult, ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { BaseError, toBaseError } from '../errors/index.js'
import type { ToolContext } from '../tools/context.js'
import type { ToolDefinition } from '../tools/defineTool.js'
import type { WriteToolDefinition } from '../tools/shared/write.js'
import { inputError } from './inputError.js'
import type { WritePath } from './write.js'

/** A question put to the human through the MCP client (elicitation), when the client supports it. */
export type Elicit = (request: {
  message: string
  requestedSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[] }
}) => Promise<{ action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> | undefined }>

/** Who is calling. Passports replace `local` when the identity issue lands. */
export type Caller = {
  kind: 'local'
  transport: 'stdio' | 'http' | 'memory'
  /** Present when the client declared the elicitation capability. */
  elicit?: Elicit | undefined
}

/** The one path every tool call takes (DESIGN §1). */
export type Pipeline = {
  /** `tools/list` entries, built once. */
  readonly tools: readonly Tool[]
  /** Runs a tool call end to end and always returns a result; throws only for protocol misuse (unknown tool). */
  call(name: string, args: unknown, caller: Caller): Promise<CallToolResult>
}

/**
 * Builds the pipeline over a set of tools and their context.
 *
 * Steps for a read: find the tool (unknown → protocol error) → validate the arguments strictly (→ a clear
 * `isError` result naming the field) → identify the caller → run the handler → return `structuredContent`.
 * Write intents (simulation, policy, approval, kill switch, signing, audit) join this file with the write path.
 *
 * @example
 * const pipeline = createPipeline(tools, context)
 * await pipeline.call('get_balance', { chain: 'devnet', address }, { kind: 'local', transport: 'stdio' })
 */
export function createPipeline(
  definitions: readonly (ToolDefinition | WriteToolDefinition)[],
  context: ToolContext,
  writes?: WritePath | undefined,
  /** Receives one audit entry per tool call (name, caller, arguments, outcome); must not throw. */
  audit?: ((entry: { kind: string; data: Record<string, unknown> }) => void) | undefined,
): Pipeline {
  const byName = new Map<string, ToolDefinition | WriteToolDefinition>()
  for (const d of definitions) {
    if (byName.has(d.name)) throw new Error(`Duplicate tool ${d.name}`)
    byName.set(d.name, d)
  }
  const accepted = new Map(definitions.map((d) => [d.name, acceptedFields(d.input)]))
  const tools = definitions.map(listing)

  return {
    tools,
    async call(name, args, caller) {
      const tool = byName.get(name)
      if (!tool)
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool "${String(name).slice(0, 64)}". Call tools/list for the available tools.`,
        )
      const parsed = tool.input.safeParse(args ?? {})
      if (!parsed.success) {
        const error = inputError(parsed.error, accepted.get(name) ?? [])
        record(name, args, caller, error.code)
        return errorResult(error)
      }
      try {
        const output =
          'kind' in tool
            ? await runWrite(tool, parsed.data as Record<string, unknown>, caller)
            : await tool.run(parsed.data, context)
        record(name, parsed.data, caller, undefined)
        return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output }
      } catch (error) {
        const e = toBaseError(error)
        record(name, parsed.data, caller, e.code)
        return errorResult(e)
      }
    },
  }

  /** Every call, its arguments (capped) and its outcome go to the audit log; reads do not wait for it. */
  function record(name: string, args: unknown, caller: Caller, code: string | undefined) {
    if (!audit) return
    // Long strings are cut before they are serialized: a 1 MiB argument costs no more than a short one.
    let text = JSON.stringify(args ?? {}, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : typeof v === 'string' && v.length > 4096 ? v.slice(0, 4096) : v,
    )
    if (text.length > 4096) text = `${text.slice(0, 4096)}…`
    audit({
      kind: 'tool.call',
      data: {
        tool: name,
        transport: caller.transport,
        caller: caller.kind,
        args: text,
        outcome: code ?? 'ok',
      },
    })
  }

  function runWrite(tool: WriteToolDefinition, input: Record<string, unknown>, caller: Caller) {
    if (!writes)
      throw new BaseError(
        'WALLET_NOT_CONFIGURED',
        'This gateway has no write path (no wallet or no store).',
        {
          metaMessages: ['Start it with a wallet (see the README, "Wallets and writes"), or on the devnet.'],
        },
      )
    return writes.execute(tool, input, caller)
  }
}

function errorResult(error: ReturnType<typeof toBaseError>): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: error.toJSON() }) }] }
}

function acceptedFields(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : []
}

function listing(tool: ToolDefinition | WriteToolDefinition): Tool {
  const schema = (s: z.ZodType, io: 'input' | 'output') => {
    const { $schema: _, ...json } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<
      string,
      unknown
    >
    return json as Tool['inputSchema']
  }
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schema(tool.input, 'input'),
    outputSchema: schema(tool.output, 'output') as NonNullable<Tool['outputSchema']>,
    annotations: { title: tool.title, ...tool.annotations },
  }
}
