import {
  type Address,
  type Hex,
  hashTypedData,
  keccak256,
  serializeTransaction,
  type TransactionSerializableEIP1559,
} from 'viem'
import { BaseError, IntentConflictError, NotFoundError, toBaseError } from '../errors/index.js'
import type { Signer, TypedDataToSign } from '../signer/signer.js'
import type { ToolContext } from '../tools/context.js'
import type {
  WriteDraft,
  WriteOptionsValue,
  WriteResultValue,
  WriteToolDefinition,
} from '../tools/shared/write.js'
import { estimateTxFees, type FeeCaps } from '../txs/fees.js'
import type { Intent, IntentJournal } from '../txs/intentJournal.js'
import type { NonceManager } from '../txs/nonceManager.js'
import { sendRaw } from '../txs/sendRaw.js'
import type { Tracker } from '../txs/tracker.js'
import type { Caller } from './pipeline.js'

/** What the write path needs: the journal, nonces, the signer and the tracker. */
export type CreateWritePathParameters = {
  context: ToolContext
  journal: IntentJournal
  nonces: NonceManager
  signer: Signer | undefined
  tracker: Tracker
  /** Fee caps by chain registry name. */
  feeCaps?: ((chain: string) => FeeCaps | undefined) | undefined
  /** Test hook (devnet only): SIGKILL this process at a named point, to prove crash safety. */
  crashAt?: 'after-sign' | 'after-broadcast' | undefined
}

/** Carries a write tool's draft through the journal, fees, nonce, signer, broadcast and tracking. */
export type WritePath = {
  execute(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    caller: Caller,
  ): Promise<WriteResultValue>
  /** The result shape of an intent as it stands (for get_intent and idempotent replays). */
  describe(intent: Intent): Promise<WriteResultValue>
  /** One intent, as it stands (re-checked against the chain when in flight). */
  get(id: string): Promise<WriteResultValue>
  /** Intents of the gateway wallet, newest first. */
  list(filter: {
    chainId?: number | undefined
    status?: Intent['status'] | undefined
    limit?: number | undefined
  }): Promise<WriteResultValue[]>
  /** Withdraws an intent: before signing it is cancelled; in flight it is replaced by a 0-value self-transfer. */
  cancel(id: string, options: WriteOptionsValue): Promise<WriteResultValue>
  /** Re-sends an in-flight intent's transaction with higher fees (same nonce). */
  speedUp(
    id: string,
    options: WriteOptionsValue & { feeBumpPercent?: number | undefined },
  ): Promise<WriteResultValue>
  /** Signs EIP-712 typed data as an intent (never a raw hash). */
  signTypedData(
    chainRef: string | number,
    typedData: TypedDataToSign,
    options: WriteOptionsValue,
  ): Promise<WriteResultValue & { signature?: string }>
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
  const { context, journal, nonces, tracker } = parameters

  async function execute(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    _caller: Caller,
  ): Promise<WriteResultValue> {
    const signer = parameters.signer
    if (!signer)
      throw new BaseError('WALLET_NOT_CONFIGURED', 'No wallet is configured, so this gateway cannot write.', {
        metaMessages: [
          'Create one with `airlock wallet create` and name it in the config (`wallet`), or use the devnet.',
        ],
      })
    const options = input as WriteOptionsValue
    const chainRef = input.chain as string | number
    const chain = context.chains.resolve(chainRef)
    const { intent, created } = await journal.create({
      idempotencyKey: options.idempotencyKey,
      chainId: chain.id,
      wallet: signer.address,
      operation: tool.name,
      // What the idempotency key stands for: the write itself, not how long the caller waits for it.
      request: JSON.parse(
        JSON.stringify({ tool: tool.name, args: { ...input, wait: undefined, confirmations: undefined } }),
      ),
    })
    if (!created) return finish(intent, options)

    let draft: WriteDraft
    let tx: TransactionSerializableEIP1559
    try {
      draft = await tool.build(input, { ...context, wallet: signer.address })
      // ── guardrails: simulate → policy → approval → kill switch (the guardrails issue). Until then: devnet only.
      if (options.mode !== 'unsigned' && draft.chain.source !== 'devnet')
        throw new BaseError('POLICY_DENIED', `Writes on ${draft.chain.name} are not enabled yet.`, {
          metaMessages: [
            'Until simulation and the spend policy are in place, only the embedded devnet accepts writes.',
            'Use mode "unsigned" to get the transaction for your own wallet.',
          ],
        })
      const fees = await estimateTxFees(
        draft.chain,
        { from: signer.address, ...draft.call },
        parameters.feeCaps?.(draft.chain.name),
      )
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
    } catch (error) {
      const e = toBaseError(error)
      await journal.transition(intent.id, 'created', 'failed', {
        error: { code: e.code, message: e.shortMessage },
      })
      throw new BaseError(e.code, e.shortMessage, {
        metaMessages: [...e.metaMessages, `Intent ${intent.id} is recorded as failed; nothing was signed.`],
        field: e.field,
        cause: error,
      })
    }
    const describeTx = (t: TransactionSerializableEIP1559) => ({
      ...jsonTx(t),
      summary: draft.summary,
      details: JSON.parse(
        JSON.stringify(draft.details, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
      ),
    })

    if (options.mode === 'unsigned') {
      const nonce = await draft.chain.client.getTransactionCount({
        address: signer.address,
        blockTag: 'pending',
      })
      const unsigned = { ...tx, nonce }
      const done = await journal.transition(intent.id, 'created', 'completed', {
        tx: describeTx(unsigned),
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

    let current: Intent = intent
    for (let attempt = 0; ; attempt++) {
      const nonce = await nonces.reserve(chain.id, signer.address, current.id)
      const signed = await signer.signTransaction({ ...tx, nonce })
      current = await journal.transition(current.id, 'created', 'signed', {
        tx: describeTx({ ...tx, nonce }),
        txHash: keccak256(signed),
        signedTx: signed,
      })
      if (parameters.crashAt === 'after-sign') process.kill(process.pid, 'SIGKILL')
      const outcome = await sendRaw(draft.chain, signed)
      if (outcome.kind === 'accepted' || outcome.kind === 'known') {
        current = await markBroadcast(current)
        if (parameters.crashAt === 'after-broadcast') process.kill(process.pid, 'SIGKILL')
        break
      }
      if (outcome.kind === 'unknown') break // stays signed: the tracker re-sends the same bytes or finds them
      if (outcome.kind === 'nonce-taken' && (await ownTransactionSeen(draft.chain, current.txHash as Hex))) {
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
      break
    }
    return finish(current, options)
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
    const done = options.wait
      ? await tracker.waitFor(intent.id, { confirmations: options.confirmations })
      : intent
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
      ...(intent.txHash ? { txHash: intent.txHash } : {}),
      ...(intent.nonce !== null ? { nonce: intent.nonce } : {}),
      ...(intent.error
        ? { error: { code: String(intent.error.code), message: String(intent.error.message) } }
        : {}),
    }
    if (intent.status === 'mined' && intent.txHash) {
      const [receipt, head] = await Promise.all([
        chain.client.getTransactionReceipt({ hash: intent.txHash as Hex }).catch(() => null),
        chain.client.getBlockNumber({ cacheTime: 0 }),
      ])
      if (receipt)
        result.receipt = {
          blockNumber: receipt.blockNumber.toString(),
          gasUsed: receipt.gasUsed.toString(),
          status: receipt.status,
          confirmations: Number(head - receipt.blockNumber + 1n),
        }
    }
    return result
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
    async cancel(id, options) {
      const intent = await own(id)
      if (intent.status === 'created') {
        const done = await journal.transition(id, 'created', 'cancelled', {
          error: { code: 'CANCELLED', message: 'Cancelled by request before signing.' },
        })
        return describe(done)
      }
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'cancel_intent', options)
      throw new BaseError('CONFLICT', `Intent ${id} is ${intent.status}; there is nothing to cancel.`, {
        field: 'intentId',
        metaMessages: ['Only intents not yet signed, or sent but not mined, can be cancelled.'],
      })
    },
    async speedUp(id, options) {
      const intent = await own(id)
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'speed_up_intent', options)
      throw new BaseError(
        'CONFLICT',
        `Intent ${id} is ${intent.status}; only a sent, unmined intent can be sped up.`,
        {
          field: 'intentId',
        },
      )
    },
    async signTypedData(chainRef, typedData, options) {
      const signer = requireSigner()
      const chain = context.chains.resolve(chainRef)
      const { intent, created } = await journal.create({
        idempotencyKey: options.idempotencyKey,
        chainId: chain.id,
        wallet: signer.address,
        operation: 'sign_typed_data',
        request: JSON.parse(
          JSON.stringify({ tool: 'sign_typed_data', args: { chain: chainRef, typedData } }),
        ),
      })
      if (!created) {
        const replay = await describe(intent)
        const signature = replay.details.signature
        return typeof signature === 'string' ? { ...replay, signature } : replay
      }
      const summary = `Sign EIP-712 "${typedData.primaryType}" for ${typedData.domain.verifyingContract ?? 'no contract'} on ${chain.name}.`
      try {
        // ── guardrails (policy on typed data) join here; until then devnet only.
        if (chain.source !== 'devnet')
          throw new BaseError('POLICY_DENIED', `Signing on ${chain.name} is not enabled yet.`, {
            metaMessages: [
              'Until the spend policy is in place, only the embedded devnet accepts signatures.',
            ],
          })
        const signature = await signer.signTypedData(typedData, { chainId: chain.id })
        const done = await journal.transition(intent.id, 'created', 'completed', {
          tx: {
            summary,
            details: {
              primaryType: typedData.primaryType,
              domain: JSON.parse(
                JSON.stringify(typedData.domain, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
              ),
              digest: hashTypedData(typedData as never),
              signature,
            },
          },
        })
        return { ...(await describe(done)), signature }
      } catch (error) {
        const e = toBaseError(error)
        await journal.transition(intent.id, 'created', 'failed', {
          error: { code: e.code, message: e.shortMessage },
        })
        throw e
      }
    },
  }
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
