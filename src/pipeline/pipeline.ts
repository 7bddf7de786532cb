import { ChainFamilyError } from '../chains/errors.js'
import type { RequestContext } from '../context/requestContext.js'
import type { ToolListing, ToolResult } from '../context/tool.js'
import { BaseError, toBaseError } from '../errors/index.js'
import type { Charging } from '../payments/charging.js'
import type { ToolContext } from '../tools/context.js'
import type { ToolDefinition } from '../tools/defineTool.js'
import { toolListing } from '../tools/listing.js'
import type { WriteToolDefinition } from '../tools/shared/write.js'
import { solanaTools } from '../tools/solanaTools.js'
import { type AuditSink, auditCall } from './steps/audit.js'
import { identify } from './steps/identify.js'
import { type Charge, price } from './steps/price.js'
import { runTool } from './steps/run.js'
import { settlePayment } from './steps/settlePayment.js'
import { validate } from './steps/validate.js'
import type { WritePath } from './write.js'

/** The one path every tool call takes (DESIGN §1). */
export type Pipeline = {
  /** `tools/list` entries, built once, in a fixed order. */
  readonly tools: readonly ToolListing[]
  /** Whether a tool of this name is served (an unknown name is a protocol error, not a tool result). */
  has(name: string): boolean
  /** Whether the tool builds a draft (a write): only a write can be held for a human. */
  isWrite(name: string): boolean
  /**
   * Runs a tool call end to end and always returns a result; throws only for an unknown tool. `run` replaces the
   * run step for a call that continues an earlier one (the human's answer to a held write): the arguments are still
   * validated, the caller identified and the call audited.
   */
  call(
    name: string,
    args: unknown,
    ctx: RequestContext,
    run?: ((input: Record<string, unknown>) => Promise<unknown>) | undefined,
  ): Promise<ToolResult>
}

/**
 * Builds the pipeline over a set of tools: `validate → identify → price → run → settle payment → audit`, each a
 * step in `src/pipeline/steps/`, over the request context the transport built. A write tool's draft is carried by
 * the write path inside the run step.
 *
 * @example
 * const pipeline = createPipeline(tools, context, writes, audit)
 * await pipeline.call('get_balance', { chain: 'devnet', address }, requestContext({ transport: 'stdio' }))
 */
export function createPipeline(
  definitions: readonly (ToolDefinition | WriteToolDefinition)[],
  context: ToolContext,
  writes?: WritePath | undefined,
  /** Receives one audit entry per tool call (tool, actor, arguments, outcome); must not throw. */
  audit?: AuditSink | undefined,
  /** Per-call prices (x402), when the gateway charges for tools. */
  charging?: Charging | undefined,
): Pipeline {
  const byName = new Map<string, ToolDefinition | WriteToolDefinition>()
  for (const d of definitions) {
    if (byName.has(d.name)) throw new Error(`Duplicate tool ${d.name}`)
    byName.set(d.name, d)
  }
  const tools = definitions.map((d) => {
    const listing = toolListing(d)
    const priced = charging?.listing(d.name)
    return priced ? { ...listing, _meta: { 'x402/price': priced } } : listing
  })
  const caip2Of = (ref: string | number) => {
    try {
      return context.chains.resolveAny(ref).caip2
    } catch {
      return undefined
    }
  }

  /** An EVM-only tool given a Solana cluster (or simulate with an EVM-only write): the family, named. */
  const solanaFamilyError = (name: string, args: unknown): BaseError | undefined => {
    const a = args as { chain?: unknown; tool?: unknown; arguments?: { chain?: unknown } } | null
    const chain = name === 'simulate' ? a?.arguments?.chain : a?.chain
    const inner = a?.tool
    const tool = name === 'simulate' && typeof inner === 'string' ? inner : name
    if ((typeof chain !== 'string' && typeof chain !== 'number') || solanaTools.has(tool)) return undefined
    try {
      if (context.chains.resolveAny(chain).family !== 'solana') return undefined
    } catch {
      return undefined
    }
    return new ChainFamilyError({ chain: String(chain), family: 'solana', expected: 'evm', tool })
  }

  return {
    tools,
    has: (name) => byName.has(name),
    isWrite: (name) => {
      const tool = byName.get(name)
      return tool !== undefined && 'kind' in tool
    },
    async call(name, args, ctx, run) {
      const tool = byName.get(name)
      if (!tool)
        throw new BaseError(
          'INVALID_INPUT',
          `Unknown tool "${String(name).slice(0, 64)}". Call tools/list for the available tools.`,
        )
      // Audited at once (not in the next batch): writes, and every tool with effects (signing, paying, cancelling).
      const write = 'kind' in tool || tool.annotations.readOnlyHint === false
      const family = solanaFamilyError(name, args)
      const valid = family ? { ok: false as const, error: family } : validate(tool, args)
      if (!valid.ok) {
        auditCall(audit, ctx, name, args, valid.error.code, write)
        return errorResult(valid.error)
      }
      let charge: Charge | undefined
      try {
        identify(ctx, name, valid.input, caip2Of)
        const priced = await price(charging, name, ctx)
        if (priced && 'result' in priced) {
          auditCall(audit, ctx, name, valid.input, 'PAYMENT_REQUIRED', write)
          return priced.result
        }
        charge = priced?.charge
        const output = (await (run
          ? run(valid.input)
          : runTool(tool, valid.input, context, writes, ctx))) as Record<string, unknown>
        const answer: ToolResult = {
          content: [{ type: 'text', text: JSON.stringify(output) }],
          structuredContent: output,
        }
        const paid = charge && charging ? await settlePayment(charging, charge, answer, ctx) : answer
        auditCall(audit, ctx, name, valid.input, paid.isError ? 'PAYMENT_REQUIRED' : undefined, write)
        return paid
      } catch (error) {
        // A tool that failed is not charged: its payment may be used again.
        if (charge && charging && !charge.settled) await charging.release(charge).catch(() => {})
        const e = toBaseError(error)
        auditCall(audit, ctx, name, valid.input, e.code, write)
        return errorResult(e)
      }
    },
  }
}

/**
 * A failure as a tool result the model can read: `{ error: { code, message, hints?, field? } }`, `isError`.
 *
 * @example errorResult(toBaseError(error))
 */
export function errorResult(error: BaseError): ToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: error.toJSON() }) }] }
}
