/**
 * The shapes of a tool as the MCP layer lists it and as the pipeline answers it. Defined here, below `tools/`,
 * `pipeline/` and `server/`, so none of them imports another for a type (DESIGN §2).
 */

/** Hints a client may show or use to decide how careful to be (MCP tool annotations). */
export type ToolAnnotations = {
  title?: string | undefined
  readOnlyHint?: boolean | undefined
  destructiveHint?: boolean | undefined
  idempotentHint?: boolean | undefined
  openWorldHint?: boolean | undefined
}

/** One `tools/list` entry. */
export type ToolListing = {
  name: string
  title?: string | undefined
  description: string
  inputSchema: { type: 'object'; [key: string]: unknown }
  outputSchema?: { type: 'object'; [key: string]: unknown } | undefined
  annotations?: ToolAnnotations | undefined
  /** `x402/price`: what a call costs, for a priced tool (DESIGN §9). */
  _meta?: Record<string, unknown> | undefined
}

/** A tool call's answer: `structuredContent` on success, an `isError` result with `{ error }` otherwise. */
export type ToolResult = {
  content: { type: 'text'; text: string }[]
  structuredContent?: Record<string, unknown> | undefined
  isError?: boolean | undefined
  /** `x402/payment-response` on a paid call's answer. */
  _meta?: Record<string, unknown> | undefined
}
