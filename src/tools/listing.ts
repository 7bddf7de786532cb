import { z } from 'zod'
import type { ToolListing } from '../context/tool.js'
import type { ToolDefinition } from './defineTool.js'
import type { WriteToolDefinition } from './shared/write.js'

/**
 * A tool's `tools/list` entry: name, title, description, JSON Schemas of its input and output, annotations.
 *
 * @example toolListing(getBalance).inputSchema.properties.chain
 */
export function toolListing(tool: ToolDefinition | WriteToolDefinition): ToolListing {
  const schema = (s: z.ZodType, io: 'input' | 'output') => {
    const { $schema: _, ...json } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<
      string,
      unknown
    >
    return json as ToolListing['inputSchema']
  }
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schema(tool.input, 'input'),
    outputSchema: schema(tool.output, 'output'),
    annotations: { title: tool.title, ...tool.annotations },
  }
}
