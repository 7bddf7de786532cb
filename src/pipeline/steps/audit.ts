import { actorOf } from '../../context/caller.js'
import { bigintReplacer } from '../../context/json.js'
import type { RequestContext } from '../../context/requestContext.js'

/**
 * Where {@link auditCall} writes; must not throw. `write` says whether the call was a write tool's: a write's entry
 * is written at once, a read's may be batched off the request path.
 */
export type AuditSink = (
  entry: { kind: string; actor: string; data: Record<string, unknown> },
  write: boolean,
) => void

/**
 * Step 6: one `tool.call` audit entry per call: the tool, the caller as actor, how it came in, the arguments (long
 * strings cut before serializing, so a 1 MiB argument costs no more than a short one) and the outcome. No call
 * waits for it.
 *
 * @example auditCall(sink, ctx, 'get_balance', args, undefined, false)
 */
export function auditCall(
  sink: AuditSink | undefined,
  ctx: RequestContext,
  tool: string,
  args: unknown,
  code: string | undefined,
  write: boolean,
): void {
  if (!sink) return
  let text = JSON.stringify(args ?? {}, (key, v) =>
    typeof v === 'string' && v.length > 4096 ? v.slice(0, 4096) : bigintReplacer(key, v),
  )
  if (text.length > 4096) text = `${text.slice(0, 4096)}…`
  sink(
    {
      kind: 'tool.call',
      actor: actorOf(ctx.caller),
      data: {
        tool,
        transport: ctx.transport,
        caller: ctx.caller.kind,
        era: ctx.era,
        requestId: ctx.requestId,
        ...(ctx.trace?.traceparent ? { traceparent: ctx.trace.traceparent } : {}),
        args: text,
        outcome: code ?? 'ok',
      },
    },
    write,
  )
}
