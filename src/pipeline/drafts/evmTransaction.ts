import {
  type Address,
  type Hex,
  keccak256,
  serializeTransaction,
  type TransactionSerializableEIP1559,
} from 'viem'
import type { ChainContext } from '../../chains/chains.js'
import {
  encodeGuardedCall,
  type GuardMode,
  guardAddress,
  guardGasOverhead,
  type PostCondition,
} from '../../chains/evm/guard.js'
import { agentIdOf } from '../../context/caller.js'
import type { PreparedDraft } from '../../context/draft.js'
import { type JsonObject, toJson } from '../../context/json.js'
import { BaseError, toBaseError } from '../../errors/index.js'
import { readBlockEnvironment } from '../../simulate/blockEnvironment.js'
import type { WriteOptionsValue, WriteResultValue, WriteToolDefinition } from '../../tools/shared/write.js'
import type { TxFees } from '../../txs/fees.js'
import type { Intent } from '../../txs/intentJournal.js'
import { sendRaw } from '../../txs/sendRaw.js'
import { refuse, type WriteDraftKind, type WriteEnvironment } from '../executor.js'
import type { GuardOutcome } from '../guard.js'
import type { IntentQueries } from '../intents.js'
import { postConditions } from '../postConditions.js'
import { feesFor, markBroadcast, requireSigner, type WriteParts } from '../writeParts.js'
import { createGuardStatusCache } from './guardStatusCache.js'

/** A write tool's call: the tool and its validated input. */
export type EvmTransactionRequest = { tool: WriteToolDefinition; input: Record<string, unknown> }

/**
 * An EVM transaction draft: the call, the gas and fees it will be signed with (or why they are missing), and
 * whether the wallet runs its writes through Airlock's guard on this chain. Once the guard allowed it, a guarded
 * draft carries its post-conditions: the wallet then sends `execute([call], conditions)` to itself.
 */
type EvmPrepared = PreparedDraft<WriteEnvironment> & {
  bound: { call: { to: Address; data: Hex; value: bigint } }
  estimated: { fees?: TxFees | undefined; error?: unknown }
  wallet: Address
  guardMode: GuardMode
  conditions?: PostCondition[] | undefined
}

const maxNonceRetries = 3
/** The gas of a transaction that only moves value to an address without code, on every EVM chain's L1 rules. */
const intrinsicGas = 21_000n

/**
 * The EVM transaction draft kind: a write tool builds the call; fees are estimated first, so the simulation runs
 * the transaction with the gas limit and fees it will be signed with; delivery takes a nonce from the database,
 * signs, persists the signed bytes and broadcasts (or hands the unsigned transaction to an external wallet).
 *
 * @example executor.execute(createEvmTransactionKind(parts, intents), { tool: transfer, input }, input, ctx)
 */
export function createEvmTransactionKind(
  parts: WriteParts,
  intents: IntentQueries,
): WriteDraftKind<EvmTransactionRequest> {
  const { context, journal, nonces, guard } = parts
  const guardStatus = createGuardStatusCache()

  /**
   * The EIP-1559 transaction of a draft whose fees are known: the call itself, or, with post-conditions, the
   * wallet calling itself (its delegated code is the guard) with the call and the conditions.
   */
  function transactionOf(prepared: EvmPrepared): TransactionSerializableEIP1559 {
    const fees = prepared.estimated.fees as TxFees
    const { call } = prepared.bound
    if (prepared.conditions)
      return {
        type: 'eip1559',
        chainId: prepared.chain.id,
        to: prepared.wallet,
        data: encodeGuardedCall(call, prepared.conditions),
        value: 0n,
        gas: fees.gas + guardGasOverhead(prepared.conditions, fees.gas),
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      }
    return {
      type: 'eip1559',
      chainId: prepared.chain.id,
      to: call.to,
      data: call.data,
      value: call.value,
      gas: fees.gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    }
  }

  /** The intent's record of its transaction: fields, summary, details and what the guard checked. */
  function record(
    prepared: EvmPrepared,
    tx: TransactionSerializableEIP1559,
    evidence: { checked?: JsonObject | undefined; approvedBy?: string | undefined },
  ) {
    const { call } = prepared.bound
    return toJson<JsonObject>({
      ...jsonTx(tx),
      summary: prepared.summary,
      details: prepared.details,
      // The call the guard checked; with post-conditions the transaction is the wallet calling itself with it.
      call: { to: call.to, data: call.data, value: call.value.toString() },
      ...(prepared.conditions
        ? { guard: { address: guardAddress, conditions: conditionsJson(prepared.conditions) } }
        : {}),
      ...(evidence.approvedBy !== undefined ? { approvedBy: evidence.approvedBy } : {}),
      // What the guard checked, kept with the transaction: the settlement compares the receipt with it.
      ...(evidence.checked ? { checked: evidence.checked } : {}),
    })
  }

  async function draftOf(
    chain: ChainContext,
    wallet: Address,
    summary: string,
    details: Record<string, unknown>,
    operation: string,
    call: EvmPrepared['bound']['call'],
  ): Promise<EvmPrepared> {
    // Fees first: the simulation runs the transaction with the gas limit and fees it will be signed with. They are
    // priced from the block the simulation is then pinned to (one block read for both). A bare value transfer
    // starts at its intrinsic 21,000 gas, all that a recipient without code takes; a recipient that runs code
    // makes that simulation revert, and the guard asks `estimate` for estimated fees and simulates again (see
    // GuardSubject.estimate). The wallet's code says meanwhile whether its writes go through the guard here.
    const environment = readBlockEnvironment(chain, { from: wallet }, undefined, { balance: false })
    const block = environment.then((env) => ({ baseFeePerGas: env.latestBaseFee }))
    const bare = call.data === '0x'
    const [env, estimated, status] = await Promise.all([
      environment,
      feesFor(parts, chain, wallet, call, { block, ...(bare ? { gas: intrinsicGas } : {}) }),
      guardStatus.read(chain, wallet),
    ])
    const prepared: EvmPrepared = {
      chain,
      summary,
      // Kept and shown as JSON; the guard reads the tool's own values.
      details: toJson<JsonObject>(details),
      check: { operation: operation as never, call, details, fees: estimated.fees, environment: env },
      bound: { call },
      estimated,
      wallet,
      guardMode: status.mode,
    }
    if (bare && estimated.fees)
      prepared.check.estimate = async () => {
        // Whatever this says is what the transaction is signed with, and what the guard simulates next.
        prepared.estimated = await feesFor(parts, chain, wallet, call, { block })
        prepared.check.fees = prepared.estimated.fees
        return prepared.estimated.fees
      }
    return prepared
  }

  /** Nonce → kill-switch re-check → sign → persist → kill-switch re-check → broadcast, retrying on a taken nonce. */
  async function send(
    intent: Intent,
    prepared: EvmPrepared,
    evidence: Parameters<typeof record>[2] & { decision?: JsonObject | undefined },
  ): Promise<Intent> {
    const signer = requireSigner(parts)
    const chain = prepared.chain
    const tx = transactionOf(prepared)
    let current: Intent = intent
    for (let attempt = 0; ; attempt++) {
      // The chain's pending nonce is read at every reservation (the database then hands out the next one). Taking the
      // database's without it was tried: under 16 concurrent writes a devnet then left one transaction queued at
      // the account's own nonce and the writes behind it stalled, which reading first never did.
      const nonce = await nonces.reserve(chain.id, signer.address, current.id)
      try {
        // The kill switch, read again immediately before signing (DESIGN §1): an operator's stop wins over
        // anything already decided.
        await guard.assertLive(agentIdOf(current.caller ?? undefined))
      } catch (error) {
        throw await refuse(parts, current, error)
      }
      const signed = await signer.signTransaction({ ...tx, nonce })
      current = await journal.transition(current.id, 'created', 'signed', {
        tx: record(prepared, { ...tx, nonce }, evidence),
        txHash: keccak256(signed),
        signedTx: signed,
        ...(evidence.decision || prepared.conditions
          ? {
              detail: {
                ...(evidence.decision ? { decision: evidence.decision } : {}),
                ...(prepared.conditions ? { postConditions: conditionsJson(prepared.conditions) } : {}),
              },
            }
          : {}),
      })
      if (parts.crashAt === 'after-sign') process.kill(process.pid, 'SIGKILL')
      // And again immediately before the bytes leave (ADVERSARIAL 37): a stop engaged while this was being signed
      // means they never do. Nobody else has them, so the intent fails here and its nonce goes back.
      const live = await guard.assertLive(agentIdOf(current.caller ?? undefined)).then(
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
        current = await markBroadcast(journal, current)
        if (parts.crashAt === 'after-broadcast') process.kill(process.pid, 'SIGKILL')
        break
      }
      if (outcome.kind === 'unknown') break // stays signed: the tracker re-sends the same bytes or finds them
      if (outcome.kind === 'nonce-taken' && (await ownTransactionSeen(chain, current.txHash as Hex))) {
        // The nonce is taken by these very bytes (re-sent by a tracker, here or on a replica): not a conflict.
        current = await markBroadcast(journal, current)
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

  /** Unsigned mode: the transaction with the pending nonce, for an external wallet; the gateway sends nothing. */
  async function handOff(intent: Intent, prepared: EvmPrepared, evidence: Parameters<typeof record>[2]) {
    const signer = requireSigner(parts)
    const tx = transactionOf(prepared)
    const nonce = await prepared.chain.client.getTransactionCount({
      address: signer.address,
      blockTag: 'pending',
    })
    const unsigned = { ...tx, nonce }
    const done = await journal.transition(intent.id, 'created', 'completed', {
      tx: record(prepared, unsigned, evidence),
      detail: { handedOff: 'returned unsigned for an external wallet; the gateway sends nothing' },
    })
    const { call } = prepared.bound
    const answer: WriteResultValue = {
      ...(await intents.describe(done)),
      unsignedTransaction: {
        type: 'eip1559',
        chainId: tx.chainId,
        from: signer.address,
        to: call.to,
        value: call.value.toString(),
        data: call.data,
        nonce,
        gas: (tx.gas as bigint).toString(),
        maxFeePerGas: (tx.maxFeePerGas as bigint).toString(),
        maxPriorityFeePerGas: (tx.maxPriorityFeePerGas as bigint).toString(),
        serialized: serializeTransaction(unsigned),
      },
    }
    return { intent: done, answer }
  }

  return {
    name: 'evm-transaction',
    recheckOnResume: true,
    carries(intent) {
      return intent.operation !== 'sign_typed_data' && Boolean((intent.tx as { call?: unknown } | null)?.call)
    },
    identify({ tool, input }) {
      return {
        chain: context.chains.resolve(input.chain as string | number),
        operation: tool.name,
        // What the idempotency key stands for: the write itself, not how long the caller waits for it.
        record: toJson({ tool: tool.name, args: { ...input, wait: undefined, confirmations: undefined } }),
      }
    },
    guarded(options: WriteOptionsValue) {
      // Unsigned mode signs nothing and sends nothing: the external wallet is the guard there.
      return options.mode !== 'unsigned'
    },
    async prepare({ tool, input }, wallet) {
      const draft = await tool.build(input, { ...context, wallet })
      return draftOf(draft.chain, wallet, draft.summary, draft.details, draft.operation, draft.call)
    },
    async restore(intent, wallet) {
      const stored = (intent.tx ?? {}) as {
        summary?: string
        details?: Record<string, unknown>
        call?: { to: Address; data: Hex; value: string }
      }
      if (!stored.call) throw new BaseError('INTERNAL', 'The held intent lost its call.')
      const call = { ...stored.call, value: BigInt(stored.call.value) }
      return draftOf(
        context.chains.resolve(intent.chainId),
        wallet,
        stored.summary ?? '',
        stored.details ?? {},
        intent.operation,
        call,
      )
    },
    ready(prepared, outcome) {
      const draft = prepared as EvmPrepared
      if (!draft.estimated.fees) throw draft.estimated.error
      // Where the wallet delegates to the guard, what was checked becomes what the transaction enforces.
      if (outcome && draft.guardMode === 'enforced') draft.conditions = conditionsOf(draft, outcome)
    },
    async deliver(intent, prepared, evidence, options) {
      const draft = prepared as EvmPrepared
      if (options.mode === 'unsigned') return handOff(intent, draft, evidence)
      return { intent: await send(intent, draft, evidence) }
    },
    async answer(intent, options) {
      try {
        return await intents.finish(intent, options)
      } catch (error) {
        // Mined without the guard running it: the wallet's delegation is gone, so its status is read again.
        if (toBaseError(error).code === 'PRECONDITION_FAILED') guardStatus.forget(intent.chainId)
        throw error
      }
    },
  }
}

/** The post-conditions of a checked draft: from the simulation, the limits reserved and the tool's details. */
function conditionsOf(draft: EvmPrepared, outcome: GuardOutcome): PostCondition[] {
  return postConditions({
    call: draft.bound.call,
    simulation: outcome.simulation,
    limits: outcome.decision.limits,
    details: (draft.check as { details: Record<string, unknown> }).details,
  })
}

/**
 * Post-conditions as the intent, the audit and the agent see them (amounts as decimal strings).
 *
 * @example conditionsJson([{ kind: 'tokenMaxOutflow', token, amount: 10n }]) // [{ kind, token, amount: '10' }]
 */
export function conditionsJson(conditions: readonly PostCondition[]): JsonObject[] {
  return conditions.map((c) => toJson<JsonObject>(c))
}

/** Whether the chain has these bytes (mined or pending): then "nonce too low" was about our own transaction. */
async function ownTransactionSeen(chain: ChainContext, hash: Hex): Promise<boolean> {
  const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => null)
  if (receipt) return true
  return (await chain.client.getTransaction({ hash }).catch(() => null)) !== null
}

/**
 * An EIP-1559 transaction's fields as the intent keeps them (amounts as decimal strings).
 *
 * @example journal.transition(id, 'created', 'signed', { tx: jsonTx(tx), txHash, signedTx })
 */
export function jsonTx(tx: TransactionSerializableEIP1559) {
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
