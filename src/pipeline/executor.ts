import type { Address } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { actingId, agentIdOf, type Caller, localOperator } from '../context/caller.js'
import type { DraftEnvironment, DraftEvidence, DraftKind, PreparedDraft } from '../context/draft.js'
import { type JsonObject, toJson } from '../context/json.js'
import type { RequestContext } from '../context/requestContext.js'
import { BaseError, IntentConflictError, toBaseError } from '../errors/index.js'
import type { Approval } from '../policy/approvals.js'
import type { WriteOptionsValue, WriteResultValue } from '../tools/shared/write.js'
import type { Intent } from '../txs/intentJournal.js'
import type { GuardOutcome, GuardSubject } from './guard.js'
import { intentHash, simulationJson } from './guard.js'
import type { IntentQueries } from './intents.js'
import { requireSigner, type WriteParts } from './writeParts.js'

/** The executor's types, as the draft kinds it carries see them. */
export type WriteEnvironment = DraftEnvironment & {
  intent: Intent
  chain: ChainContext
  check: Omit<GuardSubject, 'chain' | 'wallet' | 'agent'>
  options: WriteOptionsValue
  result: WriteResultValue
  outcome: GuardOutcome
}

/** A draft kind the executor carries (an EVM transaction, typed data, …). */
export type WriteDraftKind<Request = unknown> = DraftKind<
  WriteEnvironment,
  Request,
  PreparedDraft<WriteEnvironment>
>

/** The generic write executor over draft kinds. */
export type Executor = {
  /**
   * journal → simulate → policy → approval (hold) → kill switch → sign → kill switch → deliver → track → settle,
   * for one request of a draft kind, as the caller in `ctx`.
   */
  execute<R>(
    kind: WriteDraftKind<R>,
    request: R,
    options: WriteOptionsValue,
    ctx: RequestContext,
  ): Promise<WriteResultValue>
  /** Carries on one approved intent: check again (when its kind does), compare with what was approved, deliver. */
  resume(approval: Approval): Promise<void>
  /** What a write would do and what the guard says, as the caller in `ctx`: records, reserves and signs nothing. */
  check<R>(
    kind: WriteDraftKind<R>,
    request: R,
    ctx: RequestContext,
  ): Promise<{ prepared: PreparedDraft<WriteEnvironment>; outcome: GuardOutcome; wallet: Address }>
}

/**
 * The executor (DESIGN §1). Every step's outcome is a journal transition, so a crash at any point leaves an intent
 * a restart can reconcile; the decision and its evidence go into the audit log with the intent's next status
 * change (held, cancelled or signed), in the same transaction, so nothing is signed without the decision that
 * allowed it. Kinds are looked up by `carries` when a held intent is resumed.
 *
 * @example const executor = createExecutor(parts, intents, [evmTransaction, typedData])
 */
export function createExecutor(
  parts: WriteParts,
  intents: IntentQueries,
  kinds: readonly WriteDraftKind<never>[],
): Executor {
  const { journal, guard } = parts

  /** The guard's question about a prepared draft: its own check, the chain, the wallet and the caller's id. */
  function ask(prepared: PreparedDraft<WriteEnvironment>, wallet: Address, caller: Caller) {
    return guard.check({ ...prepared.check, chain: prepared.chain, wallet, agent: actingId(caller), caller })
  }

  /**
   * Holds an intent for a human: the approval row first (bound to the intent's hash: call or message + simulated
   * effects), then `created → held` with what is needed to carry it on once approved.
   */
  async function hold(intent: Intent, outcome: GuardOutcome, prepared: PreparedDraft<WriteEnvironment>) {
    const { bound } = prepared
    const hash = intentHash({
      chainId: intent.chainId,
      from: intent.wallet as Address,
      call: bound.call,
      typedData: bound.typedData,
      simulation: outcome.simulation,
    })
    const details = toJson<JsonObject>(prepared.details)
    const call = bound.call
      ? { to: bound.call.to, data: bound.call.data, value: bound.call.value.toString() }
      : undefined
    await guard.parts.approvals.hold(
      intent.id,
      hash,
      {
        summary: prepared.summary,
        simulation: simulationJson(outcome.simulation),
        reasons: outcome.decision.reasons,
        ruleIds: outcome.decision.ruleIds,
        chain: prepared.chain.name,
        operation: intent.operation,
        ...(intent.agent ? { agent: intent.agent } : {}),
        call,
      },
      guard.parts.approvalTtlSeconds,
    )
    return journal.transition(intent.id, 'created', 'held', {
      detail: { decision: decisionData(outcome) },
      tx: toJson<JsonObject>({
        summary: prepared.summary,
        details,
        call,
        typedData: bound.typedData ?? null,
      }),
    })
  }

  return {
    async execute(kind, request, options, ctx) {
      const signer = { address: kind.wallet ? kind.wallet() : requireSigner(parts).address }
      const { chain, operation, record } = kind.identify(request)
      const guarded = kind.guarded(options)
      // The kill switch first: when engaged (or unreadable: fail closed) nothing is even recorded.
      if (guarded) await guard.assertLive(agentIdOf(ctx.caller))
      const { intent, created } = await journal.create({
        idempotencyKey: options.idempotencyKey,
        chainId: chain.id,
        wallet: signer.address,
        operation,
        request: record,
        caller: ctx.caller,
        origin: ctx.origin,
      })
      if (!created) return kind.answer(intent, options)
      let prepared: PreparedDraft<WriteEnvironment>
      const evidence: DraftEvidence = {}
      let held: Intent | undefined
      let outcome: GuardOutcome | undefined
      try {
        prepared = await kind.prepare(request, signer.address)
        if (guarded) {
          outcome = await ask(prepared, signer.address, ctx.caller)
          evidence.decision = decisionData(outcome)
          evidence.checked = checkedEffects(outcome)
          if (outcome.decision.effect === 'deny') throw await guard.denied(intent.id, outcome)
          if (outcome.decision.effect === 'require_approval') held = await hold(intent, outcome, prepared)
          else await guard.reserve(intent.id, outcome.decision.limits)
        }
        if (!held) kind.ready(prepared, outcome)
      } catch (error) {
        throw await refuse(parts, intent, error, evidence.decision)
      }
      // Held for a human: outside the refusal path above, so nothing said after an approval claims "nothing signed".
      if (held) return intents.describe(held)
      const delivered = await kind.deliver(intent, prepared, evidence, options)
      return delivered.answer ?? kind.answer(delivered.intent, options)
    },

    async check(kind, request, ctx) {
      const wallet = kind.wallet ? kind.wallet() : requireSigner(parts).address
      const prepared = await kind.prepare(request, wallet)
      return { prepared, outcome: await ask(prepared, wallet, ctx.caller), wallet }
    },

    async resume(approval) {
      let intent = await journal.get(approval.intentId)
      if (intent.status !== 'held') return
      try {
        intent = await journal.transition(intent.id, 'held', 'created', {
          detail: { approvedBy: approval.decidedBy },
        })
      } catch (error) {
        if (error instanceof IntentConflictError) return // another replica carries it on
        throw error
      }
      try {
        await guard.assertLive(agentIdOf(intent.caller ?? undefined))
        // An approval is for now, not for whenever a gateway next runs: one decided longer ago than the approval
        // window (e.g. approved while no gateway ran, days before) is not carried out.
        const age = Date.now() - (approval.decidedAt ?? approval.createdAt).getTime()
        if (age > guard.parts.approvalTtlSeconds * 1000)
          throw new BaseError(
            'APPROVAL_REQUIRED',
            'The approval is older than the approval window; it was not used.',
            {
              metaMessages: ['Nothing was signed. Ask again for a fresh simulation and approval.'],
            },
          )
        const kind = kinds.find((k) => k.carries(intent))
        if (!kind) throw new BaseError('INTERNAL', `The held intent ${intent.id} lost what it was to sign.`)
        const signer = { address: kind.wallet ? kind.wallet() : requireSigner(parts).address }
        const prepared = await kind.restore(intent, signer.address)
        const evidence: DraftEvidence = { approvedBy: approval.decidedBy ?? undefined }
        if (kind.recheckOnResume) {
          // The whole guard again: a fresh simulation (its effects must be the ones approved) and the policy as it
          // is now (a deny rule added meanwhile still wins; an allow that applies now reserves its limits), as the
          // caller who asked, not whoever runs this pass (a timer, another replica).
          const outcome = await ask(prepared, signer.address, callerOf(intent))
          const now = intentHash({
            chainId: prepared.chain.id,
            from: signer.address,
            call: prepared.bound.call,
            typedData: prepared.bound.typedData,
            simulation: outcome.simulation,
          })
          if (now !== approval.intentHash)
            throw new BaseError(
              'SIMULATION_CHANGED',
              'The chain changed since this write was approved: its simulated effects differ now.',
              { metaMessages: ['Nothing was signed. Ask again to get a fresh simulation and approval.'] },
            )
          if (outcome.decision.effect === 'deny') throw await guard.denied(intent.id, outcome)
          // An approved hold reserves what the decision charges now (an agent's grant budget, at least).
          await guard.reserve(intent.id, outcome.decision.limits)
          kind.ready(prepared, outcome)
          evidence.decision = { ...decisionData(outcome), approvedBy: approval.decidedBy }
          evidence.checked = checkedEffects(outcome)
        }
        await kind.deliver(intent, prepared, evidence, {})
      } catch (error) {
        const current = await journal.get(intent.id)
        if (current.status === 'created') await refuse(parts, current, error)
      }
    },
  }
}

/** Codes of a guardrail's refusal: the intent ends `cancelled`, not `failed`. */
const guardCodes = new Set([
  'POLICY_DENIED',
  'LIMIT_EXCEEDED',
  'KILL_SWITCH_ENGAGED',
  'SIMULATION_REVERTED',
  'SIMULATION_CHANGED',
  'ENDPOINT_DISAGREEMENT',
  'SIGNING_REFUSED',
])

/**
 * A refusal before signing: the intent ends `cancelled` (a guardrail said no) or `failed` (anything else), its
 * limit reservations are released, and the agent gets the reason.
 *
 * @example throw await refuse(parts, intent, error, evidence.decision)
 */
export async function refuse(
  parts: Pick<WriteParts, 'journal' | 'guard'>,
  intent: Intent,
  error: unknown,
  decision?: JsonObject,
): Promise<BaseError> {
  const { journal, guard } = parts
  const e = toBaseError(error)
  const guarded = guardCodes.has(e.code)
  // Every refusal counts towards the automatic kill switch, not only a rule's denial.
  await guard.refused(intent.id, e, agentIdOf(intent.caller ?? undefined)).catch(() => {})
  await journal
    .transition(intent.id, 'created', guarded ? 'cancelled' : 'failed', {
      error: { code: e.code, message: e.shortMessage },
      ...(decision ? { detail: { decision } } : {}),
    })
    .catch(() => {})
  await guard.parts.limits.release(intent.id).catch(() => {})
  return new BaseError(e.code, e.shortMessage, {
    metaMessages: [
      ...e.metaMessages,
      `Intent ${intent.id} is recorded as ${guarded ? 'cancelled' : 'failed'}; nothing was signed.`,
    ],
    field: e.field,
    cause: error,
  })
}

/** The caller an intent was recorded for; intents written without one are the local operator's. */
function callerOf(intent: Intent): Caller {
  return intent.caller ?? localOperator
}

/** The decision and its evidence, as the audit entry of the intent's next status change keeps it. */
function decisionData(outcome: GuardOutcome): JsonObject {
  const s = outcome.simulation
  return toJson<JsonObject>({
    effect: outcome.decision.effect,
    ruleIds: outcome.decision.ruleIds,
    reasons: outcome.decision.reasons,
    policyHash: outcome.decision.policyHash,
    simulation: s
      ? {
          method: s.method,
          block: s.blockNumber,
          deltas: s.deltas,
          approvals: s.approvals,
          flags: s.flags,
        }
      : { unavailable: outcome.simulationUnavailable ?? 'not applicable' },
    limits: outcome.decision.limits.map((l) => ({ key: l.key, amount: l.amount })),
  })
}

/** What the guard checked, as the intent keeps it for the settlement (null deltas: there was no simulation). */
function checkedEffects(outcome: GuardOutcome): JsonObject {
  const s = outcome.simulation
  return toJson<JsonObject>({ deltas: s ? s.deltas : null, approvals: s ? s.approvals : [] })
}
