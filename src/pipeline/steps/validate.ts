import { z } from 'zod'
import type { BaseError } from '../../errors/index.js'
import { inputError } from '../../errors/inputError.js'
import type { ToolDefinition } from '../../tools/defineTool.js'
import type { WriteToolDefinition } from '../../tools/shared/write.js'

/** The outcome of {@link validate}: the parsed input, or one clear error naming the field. */
export type Validated = { ok: true; input: Record<string, unknown> } | { ok: false; error: BaseError }

/**
 * Step 1: parse the arguments with the tool's strict zod schema. A failure is a tool result the model can read
 * and correct (not a protocol error), naming the field and, for unknown fields, what the tool accepts.
 *
 * @example validate(getBalance, { chain: 'devnet', address: '0x12' }) // { ok: false, error: INVALID_ADDRESS }
 */
export function validate(tool: ToolDefinition | WriteToolDefinition, args: unknown): Validated {
  const parsed = tool.input.safeParse(args ?? {})
  if (parsed.success) return { ok: true, input: parsed.data as Record<string, unknown> }
  const accepted = tool.input instanceof z.ZodObject ? Object.keys(tool.input.shape) : []
  return { ok: false, error: inputError(parsed.error, accepted) }
}
