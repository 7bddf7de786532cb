import {
  type Address,
  formatGwei,
  formatUnits,
  type Hex,
  hashTypedData,
  keccak256,
  parseGwei,
  serializeTransaction,
  type TransactionSerializableEIP1559,
} from 'viem'
import { type Caller, localOperator } from '../context/caller.js'
import { type JsonObject, toJson } from '../context/json.js'
import type { RequestContext } from '../context/requestContext.js'
import { BaseError, IntentConflictError, NotFoundError, toBaseError } from '../errors/index.js'
import type { Approval } from '../policy/approvals.js'
import { chainKeys } from '../policy/keys.js'
import { type PerWriteCap, perWriteCaps } from '../policy/perWriteCaps.js'
import type { PolicyOperation } from '../policy/types.js'
import { type Signer, type TypedDataToSign, withDomainType } from '../signer/signer.js'
import type { ToolContext } from '../tools/context.js'
import type {
  WriteDraft,
  WriteOptionsValue,
  WriteResultValue,
  WriteToolDefinition,
} from '../tools/shared/write.js'
import { estimateTxFees, type FeeCaps, type TxFees } from '../txs/fees.js'
import type { Intent, IntentJournal } from '../txs/intentJournal.js'
import type { NonceManager } from '../txs/nonceManager.js'
import { sendRaw } from '../txs/sendRaw.js'
import type { Tracker } from '../txs/tracker.js'
import { typedDataEffects } from './facts.js'
import { formatEffects } from './formatEffects.js'
import { type Budget, type Guard, type GuardOutcome, intentHash, simulationJson } from './guard.js'

/** What the write path needs: the journal, nonces, the signer and the tracker. */
export type CreateWritePathParameters = {
  context: ToolContext
  journal: IntentJournal
  nonces: NonceManager
  signer: Signer | undefined
  tracker: Tracker
  /** Simulation, policy, limits, approvals, kill switch and audit (DESIGN §1). */
  guard: Guard
  /** Fee caps by chain registry name. */
  feeCaps?: ((chain: string) => FeeCaps | undefined) | undefined
  /** Test hook (devnet only): SIGKILL this process at a named point, to prove crash safety. */
  crashAt?: 'after-sign' | 'after-broadcast' | undefined
  /** How the operator runs the CLI, for the approval hint (`npx airlock --config F`); default `airlock`. */
  operatorCommand?: string | undefined
}

/** Carries a write tool's draft through the journal, fees, nonce, signer, broadcast and tracking. */
export type WritePath = {
  execute(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<WriteResultValue>
  /** The result shape of an intent as it stands (for get_intent and idempotent replays). */
  describe(intent: Intent): Promise<WriteResultValue>
  /** One intent, as it stands (re-checked against the chain when in flight). */
  get(id: string): Promise<WriteResultValue>
  /** One intent's result once it is past where a write answers (its receipt when `options.wait`). */
  follow(id: string, options: WriteOptionsValue): Promise<WriteResultValue>
  /** Intents of the gateway wallet, newest first. */
  list(filter: {
    chainId?: number | undefined
    status?: Intent['status'] | undefined
    limit?: number | undefined
  }): Promise<WriteResultValue[]>
  /** Withdraws an intent: before signing it is cancelled; in flight it is replaced by a 0-value self-transfer. */
  cancel(id: string, options: WriteOptionsValue, ctx: RequestContext): Promise<WriteResultValue>
  /** Re-sends an in-flight intent's transaction with higher fees (same nonce). */
  speedUp(
    id: string,
    options: WriteOptionsValue & { feeBumpPercent?: number | undefined },
    ctx: RequestContext,
  ): Promise<WriteResultValue>
  /** Signs EIP-712 typed data as an intent (never a raw hash), for the caller who asked. */
  signTypedData(
    chainRef: string | number,
    typedData: TypedDataToSign,
    options: WriteOptionsValue,
    ctx: RequestContext,
  ): Promise<WriteResultValue & { signature?: string }>
  /** What a write would do and what the policy says, without recording or sending anything. */
  preview(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Record<string, unknown>>
  /**
   * Housekeeping shared by replicas: expire approvals past their time, carry on approved intents (re-simulated
   * first), and settle limit reservations of intents that ended. Runs on a timer and after each approval.
   */
  maintain(): Promise<{ resumed: number; expired: number }>
  /** The wallet's budgets on a chain under the policy in force (get_limits). */
  limits(chainRef: string | number): Promise<LimitsReport>
}

/** What get_limits answers: the wallet's budgets on a chain, the per-write caps and the kill switch. */
export type LimitsReport = {
  chain: string
  caip2: string
  wallet: string
  policyHash: string
  killSwitch: 'engaged' | 'off' | 'unknown'
  limits: Budget[]
  /** The per-write caps (amount, value, USD worth) of the allow rules that can apply on the chain. */
  perWrite: PerWriteCap[]
}

const maxNonceRetries = 3

/**
 * The write half of the pipeline (DESIGN §1). Order: record the intent (idempotency) → build the call → guardrails →
 * fees → nonce from the database → sign → persist the signed bytes → broadcast → track. Every step's outcome is a
 * journal transition, so a crash at any point leaves an intent a restart can reconcile, and no step ever signs a
 * second transaction for one intent.
 *
 * Guardrails (simulation, policy, approval, kill switch) join at the marked step with the guardrails issue; until
 * then writes are accepted on the embedded devnet only, and refused everywhere else.
 */
export function createWritePath(parameters: CreateWritePathParameters): WritePath {
  const { context, journal, nonces, tracker, guard } = parameters

  /**
   * Holds an intent for a human: the approval row first (bound to the intent's hash: call + simulated effects),
   * then `created → held` with the call kept for when it is approved.
   */
  async function hold(
    intent: Intent,
    outcome: GuardOutcome,
    what: {
      summary: string
      details: Record<string, unknown>
      call?: { to: Address; data: Hex; value: bigint } | undefined
      typedData?: unknown
    },
  ): Promise<Intent> {
    const hash = intentHash({
      chainId: intent.chainId,
      from: intent.wallet as Address,
      call: what.call,
      typedData: what.typedData,
      simulation: outcome.simulation,
    })
    const chain = context.chains.resolve(intent.chainId)
    const details = toJson(what.details) as Record<string, unknown>
    const call = what.call
      ? { to: what.call.to, data: what.call.data, value: what.call.value.toString() }
      : undefined
    await guard.parts.approvals.hold(
      intent.id,
      hash,
      {
        summary: what.summary,
        simulation: simulationJson(outcome.simulation),
        reasons: outcome.decision.reasons,
        ruleIds: outcome.decision.ruleIds,
        chain: chain.name,
        operation: intent.operation,
        call,
      },
      guard.parts.approvalTtlSeconds,
    )
    return journal.transition(intent.id, 'created', 'held', {
      detail: { decision: decisionData(outcome) },
      tx: toJson({ summary: what.summary, details, call, typedData: what.typedData ?? null }) as never,
    })
  }

  /** Carries on one approved intent: re-simulate, compare with what was approved, then sign and send. */
  async function resume(approval: Approval): Promise<void> {
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
    const stored = (intent.tx ?? {}) as {
      summary?: string
      details?: Record<string, unknown>
      call?: { to: Address; data: Hex; value: string }
      typedData?: TypedDataToSign
    }
    try {
      await guard.assertLive()
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
      const chain = context.chains.resolve(intent.chainId)
      const signer = requireSigner()
      if (intent.operation === 'sign_typed_data' && stored.typedData) {
        await signTyped(intent, chain.id, stored.typedData, stored.summary ?? '')
        return
      }
      if (!stored.call) throw new BaseError('INTERNAL', 'The held intent lost its call.')
      const call = { ...stored.call, value: BigInt(stored.call.value) }
      const estimated = await feesFor(chain, signer.address, call)
      // The caller who asked, not whoever runs this pass (a timer, another replica): the policy sees the same agent.
      const caller = callerOf(intent)
      // The whole guard again: a fresh simulation (its effects must be the ones approved) and the policy as it is
      // now (a deny rule added meanwhile still wins; an allow that applies now reserves its limits).
      const outcome = await guard.check({
        operation: intent.operation as PolicyOperation,
        chain,
        wallet: signer.address,
        agent: caller.id,
        call,
        details: stored.details ?? {},
        fees: estimated.fees,
      })
      const now = intentHash({
        chainId: chain.id,
        from: signer.address,
        call,
        simulation: outcome.simulation,
      })
      if (now !== approval.intentHash)
        throw new BaseError(
          'SIMULATION_CHANGED',
          'The chain changed since this write was approved: its simulated effects differ now.',
          { metaMessages: ['Nothing was signed. Ask again to get a fresh simulation and approval.'] },
        )
      if (outcome.decision.effect === 'deny') throw await guard.denied(intent.id, outcome)
      if (outcome.decision.effect === 'allow') await guard.reserve(intent.id, outcome.decision.limits)
      if (!estimated.fees) throw estimated.error
      const fees = estimated.fees
      const checked = checkedEffects(outcome)
      const tx: TransactionSerializableEIP1559 = {
        type: 'eip1559',
        chainId: chain.id,
        to: call.to,
        data: call.data,
        value: call.value,
        gas: fees.gas,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      }
      await send(
        intent,
        tx,
        (t) => ({
          ...jsonTx(t),
          summary: stored.summary ?? '',
          details: stored.details ?? {},
          approvedBy: approval.decidedBy,
          ...(checked ? { checked } : {}),
        }),
        { ...decisionData(outcome), approvedBy: approval.decidedBy },
      )
    } catch (error) {
      const current = await journal.get(intent.id)
      if (current.status === 'created') await refuse(current, error)
    }
  }

  async function maintain(): Promise<{ resumed: number; expired: number }> {
    const expired = await guard.parts.approvals.expireDue()
    for (const a of expired) {
      const intent = await journal.get(a.intentId)
      if (intent.status === 'held')
        await journal
          .transition(intent.id, 'held', 'cancelled', {
            error: {
              code: 'APPROVAL_REQUIRED',
              message: 'No one approved it in time; the approval expired.',
            },
          })
          .catch(() => {})
    }
    const denied = await guard.parts.approvals.deniedToCancel()
    for (const a of denied) {
      const intent = await journal.get(a.intentId)
      if (intent.status === 'held')
        await journal
          .transition(intent.id, 'held', 'cancelled', {
            error: {
              code: 'POLICY_DENIED',
              message: `Denied by ${a.decidedBy ?? 'the operator'}${a.reason ? `: ${a.reason}` : ''}.`,
            },
          })
          .catch(() => {})
    }
    const approved = await guard.parts.approvals.approvedToResume()
    for (const a of approved) await resume(a)
    await guard.parts.settleLimits()
    return { resumed: approved.length, expired: expired.length }
  }

  async function execute(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<WriteResultValue> {
    const signer = requireSigner()
    const options = input as WriteOptionsValue
    const chainRef = input.chain as string | number
    const chain = context.chains.resolve(chainRef)
    // The kill switch first: when engaged (or unreadable: fail closed) nothing is even recorded.
    if (options.mode !== 'unsigned') await guard.assertLive()
    const { intent, created } = await journal.create({
      idempotencyKey: options.idempotencyKey,
      chainId: chain.id,
      wallet: signer.address,
      operation: tool.name,
      caller: ctx.caller,
      origin: ctx.origin,
      // What the idempotency key stands for: the write itself, not how long the caller waits for it.
      request: toJson({ tool: tool.name, args: { ...input, wait: undefined, confirmations: undefined } }),
    })
    if (!created) return finish(intent, options)

    let draft: WriteDraft
    let tx!: TransactionSerializableEIP1559
    // The decision and its evidence go into the audit log with the intent's next status change (held, cancelled
    // or signed): in the same transaction, so no signature is ever recorded without the decision that allowed it.
    let decided: JsonObject | undefined
    let held: Intent | undefined
    let checked: JsonObject | undefined
    try {
      draft = await tool.build(input, { ...context, wallet: signer.address })
      // Fees first: the simulation runs the transaction with the gas limit and fees it will be signed with.
      const estimated = await feesFor(draft.chain, signer.address, draft.call)
      // ── guardrails: kill switch → simulate → policy → (approval | limit reservation). Unsigned mode signs
      // nothing and sends nothing, so it skips them: the external wallet is the guard there.
      if (options.mode !== 'unsigned') {
        const outcome = await guard.check({
          operation: draft.operation,
          chain: draft.chain,
          wallet: signer.address,
          agent: ctx.caller.id,
          call: draft.call,
          details: draft.details,
          fees: estimated.fees,
        })
        decided = decisionData(outcome)
        checked = checkedEffects(outcome)
        if (outcome.decision.effect === 'deny') throw await guard.denied(intent.id, outcome)
        if (outcome.decision.effect === 'require_approval')
          held = await hold(intent, outcome, {
            summary: draft.summary,
            details: draft.details,
            call: draft.call,
          })
        else await guard.reserve(intent.id, outcome.decision.limits)
      }
      if (!held) {
        if (!estimated.fees) throw estimated.error
        const fees = estimated.fees
        tx = {
          type: 'eip1559',
          chainId: draft.chain.id,
          to: draft.call.to,
          data: draft.call.data,
          value: draft.call.value,
          gas: fees.gas,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        }
      }
    } catch (error) {
      throw await refuse(intent, error, decided)
    }
    // Held for a human: outside the refusal path above, so nothing said after an approval claims "nothing signed".
    if (held) return describe(held)
    const describeTx = (t: TransactionSerializableEIP1559): Record<string, unknown> => ({
      ...jsonTx(t),
      summary: draft.summary,
      details: toJson(draft.details),
      // What the guard checked, kept with the transaction: the settlement compares the receipt with it.
      ...(checked ? { checked } : {}),
    })

    if (options.mode === 'unsigned') {
      const nonce = await draft.chain.client.getTransactionCount({
        address: signer.address,
        blockTag: 'pending',
      })
      const unsigned = { ...tx, nonce }
      const done = await journal.transition(intent.id, 'created', 'completed', {
        tx: describeTx(unsigned) as JsonObject,
        detail: { handedOff: 'returned unsigned for an external wallet; the gateway sends nothing' },
      })
      return {
        ...(await describe(done)),
        unsignedTransaction: {
          type: 'eip1559',
          chainId: tx.chainId,
          from: signer.address,
          to: draft.call.to,
          value: draft.call.value.toString(),
          data: draft.call.data,
          nonce,
          gas: tx.gas!.toString(),
          maxFeePerGas: tx.maxFeePerGas!.toString(),
          maxPriorityFeePerGas: tx.maxPriorityFeePerGas!.toString(),
          serialized: serializeTransaction(unsigned),
        },
      }
    }

    return finish(await send(intent, tx, describeTx, decided), options)
  }

  /**
   * A refusal before signing: the intent ends `cancelled` (a guardrail said no) or `failed` (anything else), its
   * limit reservations are released, and the agent gets the reason.
   */
  async function refuse(intent: Intent, error: unknown, decision?: JsonObject): Promise<BaseError> {
    const e = toBaseError(error)
    const guarded = guardCodes.has(e.code)
    // Every refusal counts towards the automatic kill switch, not only a rule's denial.
    await guard.refused(intent.id, e).catch(() => {})
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

  /** Nonce → kill-switch re-check → sign → persist → broadcast, retrying on a nonce taken by someone else. */
  async function send(
    intent: Intent,
    tx: TransactionSerializableEIP1559,
    describeTx: (t: TransactionSerializableEIP1559) => Record<string, unknown>,
    decision?: JsonObject,
  ): Promise<Intent> {
    const signer = requireSigner()
    const chain = context.chains.resolve(intent.chainId)
    let current: Intent = intent
    for (let attempt = 0; ; attempt++) {
      const nonce = await nonces.reserve(chain.id, signer.address, current.id)
      try {
        // The kill switch, read again immediately before signing (DESIGN §1): an operator's stop wins over
        // anything already decided.
        await guard.assertLive()
      } catch (error) {
        throw await refuse(current, error)
      }
      const signed = await signer.signTransaction({ ...tx, nonce })
      current = await journal.transition(current.id, 'created', 'signed', {
        tx: describeTx({ ...tx, nonce }) as JsonObject,
        txHash: keccak256(signed),
        signedTx: signed,
        ...(decision ? { detail: { decision } } : {}),
      })
      if (parameters.crashAt === 'after-sign') process.kill(process.pid, 'SIGKILL')
      // And again immediately before the bytes leave (ADVERSARIAL 37): a stop engaged while this was being signed
      // means they never do. Nobody else has them, so the intent fails here and its nonce goes back.
      const live = await guard.assertLive().then(
        () => undefined,
        (error: unknown) => toBaseError(error),
      )
      if (live) {
        current = await journal.transition(current.id, 'signed', 'failed', {
          error: {
            code: live.code,
            message: `${live.shortMessage} Signed, but never broadcast: nothing was sent.`,
          },
        })
        await guard.parts.limits.release(current.id).catch(() => {})
        throw new BaseError(live.code, live.shortMessage, {
          metaMessages: [
            ...live.metaMessages,
            `Intent ${current.id} is recorded as failed; it was signed but never broadcast, so nothing was sent.`,
          ],
          cause: live,
        })
      }
      const outcome = await sendRaw(chain, signed)
      if (outcome.kind === 'accepted' || outcome.kind === 'known') {
        current = await markBroadcast(current)
        if (parameters.crashAt === 'after-broadcast') process.kill(process.pid, 'SIGKILL')
        break
      }
      if (outcome.kind === 'unknown') break // stays signed: the tracker re-sends the same bytes or finds them
      if (outcome.kind === 'nonce-taken' && (await ownTransactionSeen(chain, current.txHash as Hex))) {
        // The nonce is taken by these very bytes (re-sent by a tracker, here or on a replica): not a conflict.
        current = await markBroadcast(current)
        break
      }
      if (outcome.kind === 'nonce-taken' && attempt < maxNonceRetries) {
        // Someone else's transaction holds this nonce: move up to the chain's view and sign again.
        await nonces.resync(chain.id, signer.address)
        current = await journal.transition(current.id, 'signed', 'created', {
          detail: { reason: outcome.message },
        })
        continue
      }
      current = await journal.transition(current.id, 'signed', 'failed', {
        error: {
          code: outcome.kind === 'refused' ? outcome.code : 'NONCE_CONFLICT',
          message: outcome.message,
        },
      })
      await guard.parts.limits.release(current.id).catch(() => {})
      break
    }
    return current
  }

  /** Whether the chain has these bytes (mined or pending): then "nonce too low" was about our own transaction. */
  async function ownTransactionSeen(chain: WriteDraft['chain'], hash: Hex): Promise<boolean> {
    const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => null)
    if (receipt) return true
    return (await chain.client.getTransaction({ hash }).catch(() => null)) !== null
  }

  /** signed → broadcast; if the tracker (here or on a replica) re-sent the same bytes first, take its word. */
  async function markBroadcast(intent: Intent): Promise<Intent> {
    try {
      return await journal.transition(intent.id, 'signed', 'broadcast')
    } catch (error) {
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }

  async function finish(intent: Intent, options: WriteOptionsValue): Promise<WriteResultValue> {
    // A held intent waits for a human, not for a block: answer at once (the agent polls get_intent).
    const done =
      options.wait && intent.status !== 'held'
        ? await tracker.waitFor(intent.id, { confirmations: options.confirmations })
        : intent
    // Mined: its limits settle on what the receipt shows at once (the maintenance timer covers the rest).
    if (done.status === 'mined') await guard.parts.settleLimits(done).catch(() => {})
    return describe(done)
  }

  async function describe(intent: Intent): Promise<WriteResultValue> {
    const chain = context.chains.resolve(intent.chainId)
    const tx = (intent.tx ?? {}) as { summary?: string; details?: Record<string, unknown> }
    const result: WriteResultValue = {
      intentId: intent.id,
      status: intent.status,
      chain: chain.name,
      caip2: chain.caip2,
      operation: intent.operation,
      summary: tx.summary ?? `${intent.operation} (not built)`,
      details: tx.details ?? {},
      from: intent.wallet,
      ...(intent.agent ? { agent: intent.agent } : {}),
      ...(intent.origin ? { origin: intent.origin } : {}),
      ...(intent.txHash ? { txHash: intent.txHash } : {}),
      ...(intent.nonce !== null ? { nonce: intent.nonce } : {}),
      ...(intent.error
        ? { error: { code: String(intent.error.code), message: String(intent.error.message) } }
        : {}),
    }
    if (intent.status === 'mined' && intent.txHash) {
      const [receipt, head, settlement] = await Promise.all([
        chain.client.getTransactionReceipt({ hash: intent.txHash as Hex }).catch(() => null),
        chain.client.getBlockNumber({ cacheTime: 0 }),
        guard.parts.settlement(intent.id).catch(() => undefined),
      ])
      if (settlement)
        result.settlement = {
          blockNumber: settlement.blockNumber,
          status: settlement.status,
          outflows: settlement.outflows,
          excess: settlement.excess,
          unchecked: settlement.unchecked,
        }
      if (receipt)
        result.receipt = {
          blockNumber: receipt.blockNumber.toString(),
          gasUsed: receipt.gasUsed.toString(),
          status: receipt.status,
          confirmations: Number(head - receipt.blockNumber + 1n),
        }
    }
    if (intent.status === 'held') {
      const approval = await guard.parts.approvals.get(intent.id).catch(() => undefined)
      if (approval)
        result.approval = {
          status: approval.status,
          reasons: approval.request.reasons,
          intentHash: approval.intentHash,
          expiresAt: approval.expiresAt.toISOString(),
          simulation: (approval.request.simulation ?? null) as Record<string, unknown> | null,
          how: `Waiting for a human: \`${parameters.operatorCommand ?? 'airlock'} approve ${intent.id}\` (or \`… deny ${intent.id}\`), the admin API, or the MCP client's prompt. Poll get_intent.`,
        }
    }
    return result
  }

  /**
   * Gas and fees for the call as it will be signed. A call that cannot be estimated because it reverts is not an
   * error yet: the simulation says why (sanitized), and only a call the simulation lets through fails on it.
   */
  async function feesFor(
    chain: WriteDraft['chain'],
    from: Address,
    call: { to: Address; data: Hex; value: bigint },
  ): Promise<{ fees?: TxFees | undefined; error?: unknown }> {
    try {
      return { fees: await estimateTxFees(chain, { from, ...call }, parameters.feeCaps?.(chain.name)) }
    } catch (error) {
      if (toBaseError(error).code !== 'CONTRACT_REVERTED') throw error
      return { error }
    }
  }

  function requireSigner(): Signer {
    if (!parameters.signer)
      throw new BaseError('WALLET_NOT_CONFIGURED', 'No wallet is configured, so this gateway cannot write.', {
        metaMessages: [
          'Create one with `airlock wallet create` and name it in the config (`wallet`), or use the devnet.',
        ],
      })
    return parameters.signer
  }

  async function own(id: string): Promise<Intent> {
    const intent = await journal.get(id)
    if (intent.wallet !== parameters.signer?.address)
      throw new NotFoundError(`No intent ${id.slice(0, 64)} for this gateway's wallet.`, {
        field: 'intentId',
      })
    return intent
  }

  /** Signs and broadcasts a replacement (same nonce, higher fees) for an in-flight intent. */
  async function replace(
    original: Intent,
    operation: 'cancel_intent' | 'speed_up_intent',
    options: WriteOptionsValue & { feeBumpPercent?: number | undefined },
    ctx: RequestContext,
  ): Promise<WriteResultValue> {
    const signer = requireSigner()
    const chain = context.chains.resolve(original.chainId)
    const old = (original.tx ?? {}) as Record<string, string>
    const bump = BigInt(100 + Math.max(options.feeBumpPercent ?? 15, 10)) // nodes want at least +10%
    const estimate = await chain.client.estimateFeesPerGas({ type: 'eip1559' })
    const up = (prev: string | undefined, now: bigint) => {
      const bumped = (BigInt(prev ?? '0') * bump) / 100n + 1n
      return bumped > now ? bumped : now
    }
    const maxPriorityFeePerGas = up(old.maxPriorityFeePerGas, estimate.maxPriorityFeePerGas)
    let maxFeePerGas = up(old.maxFeePerGas, estimate.maxFeePerGas)
    if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas
    // Replacements pay fees, and fees are spending: the kill switch and the chain's fee caps hold, and a bump
    // may not run past 3× what the network asks now (repeated speed-ups must not burn the wallet in tips).
    await guard.assertLive()
    const caps = parameters.feeCaps?.(chain.name) ?? {}
    const capWei = (gwei: number | undefined) => (gwei === undefined ? undefined : parseGwei(String(gwei)))
    const maxCap = capWei(caps.maxFeePerGasGwei)
    const tipCap = capWei(caps.maxPriorityFeePerGasGwei)
    const ceiling = estimate.maxFeePerGas * 3n
    if (
      maxFeePerGas > ceiling ||
      (maxCap !== undefined && maxFeePerGas > maxCap) ||
      (tipCap !== undefined && maxPriorityFeePerGas > tipCap)
    )
      throw new BaseError(
        'FEE_CAP_EXCEEDED',
        `The replacement would pay up to ${formatGwei(maxFeePerGas)} gwei per gas: above ${maxCap !== undefined && maxFeePerGas > maxCap ? 'the configured cap' : '3× the current network fee'}.`,
        {
          metaMessages: [
            'Nothing was signed. Wait for the transaction, or retry when fees move; caps are chains.<name>.maxFeePerGasGwei.',
          ],
        },
      )
    const call =
      operation === 'cancel_intent'
        ? { to: signer.address as Address, data: '0x' as Hex, value: 0n, gas: 21_000n }
        : {
            to: old.to as Address,
            data: (old.data ?? '0x') as Hex,
            value: BigInt(old.value ?? '0'),
            gas: BigInt(old.gas ?? '0'),
          }
    const { intent } = await journal.create({
      idempotencyKey: options.idempotencyKey,
      chainId: chain.id,
      wallet: signer.address,
      operation,
      request: { tool: operation, args: { intentId: original.id } },
      caller: ctx.caller,
      origin: ctx.origin,
    })
    if (intent.status !== 'created') return finish(intent, options)
    const summary =
      operation === 'cancel_intent'
        ? `Cancel intent ${original.id}: replace its transaction (nonce ${original.nonce}) with a 0-value transfer to self at higher fees.`
        : `Speed up intent ${original.id}: re-send its transaction (nonce ${original.nonce}) with higher fees.`
    const nonce = await nonces.reserve(chain.id, signer.address, intent.id, { replaces: original.id })
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559',
      chainId: chain.id,
      nonce,
      ...call,
      maxFeePerGas,
      maxPriorityFeePerGas,
    }
    const signed = await signer.signTransaction(tx)
    let current = await journal.transition(intent.id, 'created', 'signed', {
      tx: {
        ...jsonTx(tx),
        summary,
        details: { replaces: original.id, previousMaxFeePerGas: old.maxFeePerGas ?? null },
        // What the settlement compares the receipt with: a speed-up runs the original's checked call; a cancel
        // (a 0-value transfer to self) moves nothing.
        ...(operation === 'cancel_intent'
          ? { checked: { deltas: [], approvals: [] } }
          : (original.tx as { checked?: JsonObject } | null)?.checked
            ? { checked: (original.tx as { checked: JsonObject }).checked }
            : {}),
      },
      txHash: keccak256(signed),
      signedTx: signed,
    })
    const outcome = await sendRaw(chain, signed)
    if (outcome.kind === 'accepted' || outcome.kind === 'known') current = await markBroadcast(current)
    else if (outcome.kind !== 'unknown')
      current = await journal.transition(current.id, 'signed', 'failed', {
        error: {
          code: outcome.kind === 'refused' ? outcome.code : 'NONCE_CONFLICT',
          message: outcome.message,
        },
      })
    return finish(current, options)
  }

  return {
    execute,
    describe,
    async follow(id, options) {
      return finish(await journal.get(id), options)
    },
    async get(id) {
      let intent = await own(id)
      if (['signed', 'broadcast', 'dropped', 'mined'].includes(intent.status))
        intent = await tracker.check(intent)
      return describe(intent)
    },
    async list(filter) {
      const intents = await journal.list({
        wallet: requireSigner().address,
        chainId: filter.chainId,
        status: filter.status,
        limit: filter.limit ?? 20,
      })
      return Promise.all(intents.map(describe))
    },
    async cancel(id, options, ctx) {
      const intent = await own(id)
      if (intent.status === 'created') {
        const done = await journal.transition(id, 'created', 'cancelled', {
          error: { code: 'CANCELLED', message: 'Cancelled by request before signing.' },
        })
        return describe(done)
      }
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'cancel_intent', options, ctx)
      throw new BaseError('CONFLICT', `Intent ${id} is ${intent.status}; there is nothing to cancel.`, {
        field: 'intentId',
        metaMessages: ['Only intents not yet signed, or sent but not mined, can be cancelled.'],
      })
    },
    async speedUp(id, options, ctx) {
      const intent = await own(id)
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'speed_up_intent', options, ctx)
      throw new BaseError(
        'CONFLICT',
        `Intent ${id} is ${intent.status}; only a sent, unmined intent can be sped up.`,
        {
          field: 'intentId',
        },
      )
    },
    async signTypedData(chainRef, typedData, options, ctx) {
      const signer = requireSigner()
      const chain = context.chains.resolve(chainRef)
      const { intent, created } = await journal.create({
        idempotencyKey: options.idempotencyKey,
        chainId: chain.id,
        wallet: signer.address,
        operation: 'sign_typed_data',
        request: toJson({ tool: 'sign_typed_data', args: { chain: chainRef, typedData } }),
        caller: ctx.caller,
        origin: ctx.origin,
      })
      if (!created) return replaySignature(intent)
      const summary = `Sign EIP-712 "${typedData.primaryType}" for ${typedData.domain.verifyingContract ?? 'no contract'} on ${chain.name}.`
      try {
        await guard.assertLive()
        // Typed data moves nothing by itself, but a permit grants an allowance as surely as approve(), and an
        // EIP-3009 authorization moves tokens: the effects are decoded from the message and judged like a
        // simulation (ADVERSARIAL 20). A message type the gateway does not understand has no simulation.
        const effects = typedDataEffects(typedData as never, signer.address)
        const outcome = await guard.check({
          operation: 'sign_typed_data',
          chain,
          wallet: signer.address,
          agent: ctx.caller.id,
          details: {
            verifyingContract: typedData.domain.verifyingContract,
            primaryType: typedData.primaryType,
            ...(effects.to ? { to: effects.to } : {}),
            ...(effects.token ? { token: effects.token } : {}),
            ...(effects.amount !== undefined ? { amount: { raw: effects.amount.toString() } } : {}),
          },
          simulation: effects.simulation,
          typedData: true,
        })
        if (outcome.decision.effect === 'deny') throw await guard.denied(intent.id, outcome)
        if (outcome.decision.effect === 'require_approval') {
          const held = await hold(intent, outcome, {
            summary,
            details: { primaryType: typedData.primaryType },
            typedData: toJson(typedData),
          })
          return describe(held)
        }
        await guard.reserve(intent.id, outcome.decision.limits)
        return replaySignature(await signTyped(intent, chain.id, typedData, summary))
      } catch (error) {
        throw await refuse(await journal.get(intent.id), error)
      }
    },
    async preview(tool, input, ctx) {
      const signer = requireSigner()
      const draft = await tool.build(input, { ...context, wallet: signer.address })
      // Simulated as it would be signed, like the write itself: a preview that differs would mislead.
      const estimated = await feesFor(draft.chain, signer.address, draft.call)
      const outcome = await guard.check({
        operation: draft.operation,
        chain: draft.chain,
        wallet: signer.address,
        agent: ctx.caller.id,
        call: draft.call,
        details: draft.details,
        fees: estimated.fees,
      })
      const remaining = await guard.parts.limits.usage(outcome.decision.limits)
      return {
        chain: draft.chain.name,
        caip2: draft.chain.caip2,
        operation: draft.operation,
        summary: draft.summary,
        details: toJson(draft.details) as Record<string, unknown>,
        from: signer.address,
        call: { to: draft.call.to, data: draft.call.data, value: draft.call.value.toString() },
        simulation: simulationJson(outcome.simulation),
        effects: await formatEffects(draft.chain, outcome.simulation, guard.parts.tokens),
        ...(outcome.simulationUnavailable ? { simulationUnavailable: outcome.simulationUnavailable } : {}),
        policy: {
          effect: outcome.decision.effect,
          reasons: outcome.decision.reasons,
          ruleIds: outcome.decision.ruleIds,
          limits: remaining.map((r, i) => {
            const charge = outcome.decision.limits[i]!
            return {
              limit: charge.limitId,
              rule: charge.ruleId,
              needs: formatUnits(charge.amount, charge.decimals),
              remaining: formatUnits(r.remaining, charge.decimals),
              fits: r.remaining >= charge.amount,
            }
          }),
        },
      }
    },
    maintain,
    async limits(chainRef) {
      const chain = context.chains.resolve(chainRef)
      const wallet = requireSigner().address
      const [budgets, kill] = await Promise.all([
        guard.budgets(chain, wallet),
        guard.parts.killSwitch.state().then(
          (s) => (s.engaged ? 'engaged' : 'off') as 'engaged' | 'off',
          () => 'unknown' as const,
        ),
      ])
      const policy = guard.parts.policy()
      return {
        chain: chain.name,
        caip2: chain.caip2,
        wallet,
        policyHash: policy?.policyHash ?? 'none',
        killSwitch: kill,
        limits: budgets,
        perWrite: policy ? perWriteCaps(policy, chainKeys(chain.name, chain.id)) : [],
      }
    },
  }

  /** Signs typed data for an intent in `created` and completes it. */
  async function signTyped(
    intent: Intent,
    chainId: number,
    typedData: TypedDataToSign,
    summary: string,
  ): Promise<Intent> {
    const signer = requireSigner()
    await guard.assertLive()
    const signature = await signer.signTypedData(typedData, { chainId })
    // What was signed, whatever the message's size: the digest (with the gateway's own EIP712Domain type, as the
    // signer signs it), the domain and the primary type. `detail` goes into the audit entry of this change.
    const signed = {
      primaryType: typedData.primaryType,
      domain: toJson(typedData.domain) as never,
      digest: hashTypedData(withDomainType(typedData) as never),
    }
    return journal.transition(intent.id, 'created', 'completed', {
      tx: { summary, details: { ...signed, signature } },
      detail: { typedData: signed },
    })
  }

  async function replaySignature(intent: Intent) {
    const replay = await describe(intent)
    const signature = replay.details.signature
    return typeof signature === 'string' ? { ...replay, signature } : replay
  }
}

/** The caller an intent was recorded for; intents written without one are the local operator's. */
function callerOf(intent: Intent): Caller {
  return intent.caller ?? localOperator
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

/** The agent's id for policy matching: the passport subject once passports exist, `local` until then. */
function decisionData(outcome: GuardOutcome): JsonObject {
  const s = outcome.simulation
  return {
    effect: outcome.decision.effect,
    ruleIds: outcome.decision.ruleIds,
    reasons: outcome.decision.reasons,
    policyHash: outcome.decision.policyHash,
    simulation: s
      ? {
          method: s.method,
          block: s.blockNumber.toString(),
          deltas: toJson(s.deltas),
          approvals: toJson(s.approvals),
          flags: s.flags,
        }
      : { unavailable: outcome.simulationUnavailable ?? 'not applicable' },
    limits: outcome.decision.limits.map((l) => ({ key: l.key, amount: l.amount.toString() })),
  } as JsonObject
}

/** What the guard checked, as the intent keeps it for the settlement (null deltas: there was no simulation). */
function checkedEffects(outcome: GuardOutcome): JsonObject {
  const s = outcome.simulation
  return toJson({
    deltas: s ? s.deltas : null,
    approvals: s ? s.approvals : [],
  }) as JsonObject
}

function jsonTx(tx: TransactionSerializableEIP1559) {
  return {
    type: 'eip1559',
    chainId: tx.chainId,
    to: tx.to ?? null,
    data: tx.data ?? '0x',
    value: (tx.value ?? 0n).toString(),
    gas: (tx.gas ?? 0n).toString(),
    maxFeePerGas: (tx.maxFeePerGas ?? 0n).toString(),
    maxPriorityFeePerGas: (tx.maxPriorityFeePerGas ?? 0n).toString(),
    ...(tx.nonce === undefined ? {} : { nonce: tx.nonce }),
  }
}
