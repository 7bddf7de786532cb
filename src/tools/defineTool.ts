import type { z } from 'zod'
import type { RequestContext } from '../context/requestContext.js'
import type { ToolAnnotations } from '../context/tool.js'
import type { ToolContext } from './context.js'

/** A tool: zod input and output schemas (the single source of truth), annotations, and a handler. */
export type ToolDefinition<
  I extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>,
  O extends z.ZodObject = z.ZodObject,
> = {
  /** snake_case name on the wire. */
  name: string
  title: string
  description: string
  annotations: ToolAnnotations
  input: I
  output: O
  /** Builds the result of a read. Throws a `BaseError` for anything the caller should see. */
  run(input: z.output<I>, context: ToolContext, request: RequestContext): Promise<z.input<O>>
}

/**
 * Declares a tool. The pipeline validates input with `input` (strict) before `run` sees it.
 *
 * @example
 * export const getBalance = defineTool({ name: 'get_balance', input, output, annotations, async run(args, ctx) { … } })
 */
export function defineTool<I extends z.ZodType<Record<string, unknown>>, O extends z.ZodObject>(
  definition: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  if (!/^[a-z][a-z0-9_]{1,63}$/.test(definition.name))
    throw new Error(`Tool name "${definition.name}" must be snake_case`)
  return definition
}
