import { createHash } from 'node:crypto'
import {
  inputRequired,
  inputResponse,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server'
import { actorOf } from '../context/caller.js'
import type { RequestContext } from '../context/requestContext.js'
import type { ToolResult } from '../context/tool.js'
import { BaseError } from '../errors/index.js'
import type { Approval } from '../policy/approvals.js'
import type { Gateway, Operator } from './createGateway.js'
import { sortedJson } from './toolManifest.js'

/**
 * What a `requestState` for a held write carries (signed, not encrypted: nothing secret). It binds the answer to
 * the intent and the hash of what the human is shown (call + simulated effects), the caller who asked, and the
 * tool call itself; the codec adds the expiry and the MAC.
 */
export type ApprovalState = {
  kind: 'approval'
  intentId: string
  intentHash: string
  actor: string
  tool: string
  args: string
}

/** The key of the one input request a held write makes. */
const key = 'approve'

/** The form the human answers: one yes/no. */
const approveSchema: {
  type: 'object'
  properties: Record<string, { type: 'boolean'; title: string; description: string }>
  required: string[]
} = {
  type: 'object',
  properties: {
    approve: {
      type: 'boolean',
      title: 'Approve this write',
      description: 'Sign and send it as the gateway simulated it.',
    },
  },
  required: ['approve'],
}

/**
 * When a write is held and the client can ask its user, the answer is an input-required result (MCP 2026-07-28)
 * whose `requestState` binds the intent, its hash, the caller and the call; a 2025-era client on a connection
 * gets the same question as form elicitation (the SDK's legacy shim). Anything else gets the held result as is.
 *
 * @example const asked = await askForApproval(result, { gateway, codec, ctx, server: serverCtx, tool, args })
 */
export async function askForApproval(
  result: ToolResult,
  parameters: {
    operator: Operator
    codec: RequestStateCodec<ApprovalState>
    ctx: RequestContext
    server: ServerContext
    tool: string
    args: unknown
  },
): Promise<ToolResult | ReturnType<typeof inputRequired>> {
  const out = result.structuredContent as { status?: string; intentId?: string } | undefined
  if (result.isError || out?.status !== 'held' || typeof out.intentId !== 'string') return result
  const approval = await parameters.operator.approvals.get(out.intentId)
  if (approval.status !== 'pending') return result
  const state: ApprovalState = {
    kind: 'approval',
    intentId: approval.intentId,
    intentHash: approval.intentHash,
    actor: actorOf(parameters.ctx.caller),
    tool: parameters.tool,
    args: argsHash(parameters.args),
  }
  return inputRequired({
    inputRequests: {
      [key]: inputRequired.elicit({ message: approvalMessage(approval), requestedSchema: approveSchema }),
    },
    requestState: await parameters.codec.mint(state, parameters.server),
  })
}

/**
 * The retry of a held write with the human's answer. The state was verified by the codec before this runs (MAC,
 * expiry, binding); here it must also be this caller's, for this same call, for an approval still pending under
 * the same hash. A yes approves (bound to that hash) and the write carries on; a no cancels it; a dismissed
 * prompt leaves it held for the operator. An answer is accepted once: the approval leaves `pending` atomically,
 * so a replay finds it decided and is refused.
 *
 * Runs as the run step of the retried call, so the call is still validated, its caller identified and audited.
 *
 * @throws {BaseError} FORBIDDEN (another caller's or another call's state, or approvals through the client are
 *   off), CONFLICT (already answered or expired)
 */
export async function answerApproval(
  gateway: Gateway,
  operator: Operator,
  state: ApprovalState,
  parameters: { ctx: RequestContext; server: ServerContext; tool: string; args: unknown },
): Promise<Record<string, unknown>> {
  if (!gateway.askHumans)
    throw new BaseError('FORBIDDEN', 'This gateway does not take approvals through the MCP client.', {
      metaMessages: ['Call get_intent to see where the write stands; the operator decides held writes.'],
    })
  if (
    state.kind !== 'approval' ||
    state.actor !== actorOf(parameters.ctx.caller) ||
    state.tool !== parameters.tool ||
    state.args !== argsHash(parameters.args)
  )
    throw new BaseError('FORBIDDEN', 'This requestState was issued for another call or another caller.', {
      metaMessages: ['Retry with the requestState of this call, or make the call again without one.'],
    })
  const writes = gateway.writes
  if (!writes) throw new BaseError('WALLET_NOT_CONFIGURED', 'This gateway has no write path.')
  const approval = await operator.approvals.get(state.intentId)
  if (approval.status !== 'pending' || approval.intentHash !== state.intentHash)
    throw new BaseError(
      'CONFLICT',
      `The approval of intent ${state.intentId} was already answered or expired.`,
      {
        metaMessages: ['Call get_intent to see where it stands; an answer is accepted once.'],
      },
    )
  const answer = inputResponse(parameters.server.mcpReq.inputResponses, key)
  if (answer.kind === 'elicit' && answer.action !== 'cancel') {
    const yes = answer.action === 'accept' && answer.content?.approve === true
    // Throws when another answer (the operator, a replay) got there first: that one decided.
    await operator.approvals.decide(state.intentId, yes ? 'approved' : 'denied', 'mcp-elicitation', {
      expectHash: state.intentHash,
      reason: yes ? undefined : `the user ${answer.action === 'accept' ? 'did not approve' : 'declined'}`,
    })
    await operator.maintain()
  }
  const options = (parameters.args ?? {}) as { wait?: boolean; confirmations?: number }
  return (await writes.follow(state.intentId, {
    wait: options.wait === true,
    confirmations: options.confirmations,
  })) as unknown as Record<string, unknown>
}

/** The question put to the human: the gateway's own decoding and simulation, never the agent's words. */
export function approvalMessage(approval: Approval): string {
  const r = approval.request
  return [
    `Airlock holds a ${r.operation} on ${r.chain} for your approval.`,
    `What it does (the gateway's own decoding): ${r.summary}`,
    `Simulated effects: ${JSON.stringify(r.simulation)}`,
    `Why it is held: ${r.reasons.join('; ')}`,
    `Intent ${approval.intentId}, hash ${approval.intentHash.slice(0, 16)}…, expires ${approval.expiresAt.toISOString()}.`,
  ].join('\n')
}

/** The call's arguments as one hash, independent of key order (a client may rebuild them for the retry). */
function argsHash(args: unknown): string {
  return createHash('sha256')
    .update(sortedJson(args ?? {}))
    .digest('base64url')
}
