import type { Hex } from 'viem'
import { recentReceipt } from '../chains/recentReceipts.js'
import { actorOf, type Caller } from '../context/caller.js'
import { BaseError, NotFoundError } from '../errors/index.js'
import type { WriteOptionsValue, WriteResultValue } from '../tools/shared/write.js'
import type { Intent } from '../txs/intentJournal.js'
import { requireSigner, type WriteParts } from './writeParts.js'

/** Filters of {@link IntentQueries.list}. */
export type ListIntentsFilter = {
  /** An agent sees only its own intents; the operator sees them all. */
  caller?: Caller | undefined
  chainId?: number | undefined
  status?: Intent['status'] | undefined
  limit?: number | undefined
}

/** Reading intents as tools show them (get_intent, list_intents, every write's answer). */
export type IntentQueries = {
  /** The result shape of an intent as it stands (for get_intent and idempotent replays). */
  describe(intent: Intent): Promise<WriteResultValue>
  /** One intent of the gateway wallet (an agent's own), as it stands (re-checked against the chain when in flight). */
  get(id: string, caller?: Caller | undefined): Promise<WriteResultValue>
  /** Intents of the gateway wallet, newest first. */
  list(filter: ListIntentsFilter): Promise<WriteResultValue[]>
  /**
   * One intent of the gateway wallet; for an agent, one it asked for.
   * @throws {NotFoundError} no such intent, another wallet's, or another caller's (for an agent)
   */
  own(id: string, caller?: Caller | undefined): Promise<Intent>
  /** A write's answer: waits for the receipt when asked to (not for a held intent), settles a mined one. */
  finish(intent: Intent, options: WriteOptionsValue): Promise<WriteResultValue>
  /** One intent's result once it is past where a write answers (its receipt when `options.wait`). */
  follow(id: string, options: WriteOptionsValue): Promise<WriteResultValue>
}

/**
 * Intent queries over the write path's parts.
 *
 * @example const intents = createIntentQueries(parts); await intents.get(intentId)
 */
export function createIntentQueries(parts: WriteParts): IntentQueries {
  const { context, journal, tracker, guard } = parts

  async function describe(intent: Intent): Promise<WriteResultValue> {
    const any = context.chains.resolveAny(intent.chainId)
    const tx = (intent.tx ?? {}) as {
      summary?: string
      details?: Record<string, unknown>
      guard?: WriteResultValue['guard']
    }
    const result: WriteResultValue = {
      intentId: intent.id,
      status: intent.status,
      chain: any.name,
      caip2: any.caip2,
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
      ...(tx.guard ? { guard: tx.guard } : {}),
    }
    if (any.family === 'solana' && intent.status === 'mined') await describeSolanaMined(intent, result)
    const chain = any
    if (chain.family === 'evm' && intent.status === 'mined' && intent.txHash) {
      const [receipt, settlement] = await Promise.all([
        recentReceipt(chain, intent.txHash as Hex).catch(() => null),
        guard.parts.settlement(intent.id).catch(() => undefined),
      ])
      // Just mined (the write waited for it): the newest head the tracker saw, or the receipt's own block when it
      // saw none past it (at least one confirmation), without another read. Later: the chain's head now.
      const justMined = Date.now() - intent.updatedAt.getTime() < 2000
      const tip = justMined ? tracker.tip(chain.id) : undefined
      const head = !receipt
        ? 0n
        : justMined
          ? tip !== undefined && tip > receipt.blockNumber
            ? tip
            : receipt.blockNumber
          : await chain.client.getBlockNumber({ cacheTime: 0 })
      if (settlement)
        result.settlement = {
          blockNumber: settlement.blockNumber,
          status: settlement.status,
          outflows: settlement.outflows,
          excess: settlement.excess,
          unchecked: settlement.unchecked,
          ...(settlement.postcondition ? { postcondition: settlement.postcondition } : {}),
        }
      if (settlement?.notExecuted)
        result.error = {
          code: 'PRECONDITION_FAILED',
          message:
            "The write was mined but did not run: the wallet no longer delegated to the on-chain guard when it was included, so the wallet's call to itself did nothing. Nothing moved.",
        }
      if (settlement?.postcondition)
        result.error = {
          code: 'POSTCONDITION_FAILED',
          message: postconditionMessage(settlement.postcondition),
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
          how: `Waiting for a human: \`${parts.operatorCommand ?? 'airlock'} approve ${intent.id}\` (or \`… deny ${intent.id}\`), the admin API, or the MCP client's prompt. Poll get_intent.`,
        }
    }
    return result
  }

  /** A confirmed Solana intent: its slot and outcome as the tracker recorded them, and its settlement. */
  async function describeSolanaMined(intent: Intent, result: WriteResultValue): Promise<void> {
    const [events, settlement] = await Promise.all([
      journal.events(intent.id).catch(() => []),
      guard.parts.settlement(intent.id).catch(() => undefined),
    ])
    const mined = [...events].reverse().find((e) => e.to === 'mined')?.data as
      | { slot?: string; status?: string }
      | null
      | undefined
    if (mined?.slot)
      result.receipt = {
        blockNumber: mined.slot,
        gasUsed: '0',
        status: mined.status === 'reverted' ? 'reverted' : 'success',
        confirmations: 1,
      }
    if (mined?.status === 'reverted')
      result.error = {
        code: 'CONTRACT_REVERTED',
        message: 'The transaction was included but failed on chain: nothing moved except the network fee.',
      }
    if (settlement)
      result.settlement = {
        blockNumber: settlement.blockNumber,
        status: settlement.status,
        outflows: settlement.outflows,
        excess: settlement.excess,
        unchecked: settlement.unchecked,
      }
  }

  /** The gateway's wallets: the EVM one and, where configured, the Solana one. */
  const wallets = () => [parts.signer?.address, parts.solanaSigner?.address].filter((w): w is string => !!w)

  async function own(id: string, caller?: Caller): Promise<Intent> {
    const intent = await journal.get(id)
    // An agent sees only its own intents (another agent's, or the operator's, are not there for it), its standing
    // orders' fires included: they act for it.
    const mine =
      caller?.kind !== 'agent' ||
      intent.agent === actorOf(caller) ||
      (intent.caller?.kind === 'order' && intent.caller.agent === actorOf(caller))
    if (!wallets().includes(intent.wallet) || !mine)
      throw new NotFoundError(`No intent ${id.slice(0, 64)} for this gateway's wallet.`, {
        field: 'intentId',
      })
    return intent
  }

  async function finish(intent: Intent, options: WriteOptionsValue): Promise<WriteResultValue> {
    // A held intent waits for a human, not for a block: answer at once (the agent polls get_intent).
    const done =
      options.wait && intent.status !== 'held'
        ? await tracker.waitFor(intent.id, { confirmations: options.confirmations })
        : intent
    // Mined: its limits settle on what the receipt shows at once (the maintenance timer covers the rest).
    if (done.status === 'mined') await guard.parts.settleLimits(done).catch(() => {})
    const result = await describe(done)
    // It did not run at all (the wallet's delegation was gone): the caller gets that, not a "mined".
    if (result.error?.code === 'PRECONDITION_FAILED' && done.status === 'mined')
      throw new BaseError('PRECONDITION_FAILED', result.error.message, {
        metaMessages: [
          `Intent ${done.id} was mined (${done.txHash}) without effect; only gas was paid.`,
          'The operator checks `airlock wallet guard status --chain <chain>`; then send the write again.',
        ],
      })
    // The guard reverted it on chain: the caller gets the failure, not a "mined".
    if (result.error?.code === 'POSTCONDITION_FAILED')
      throw new BaseError('POSTCONDITION_FAILED', result.error.message, {
        metaMessages: [
          `Intent ${done.id} was mined reverted (${done.txHash}): nothing moved, only gas was paid.`,
          'The contract tried to move more than was checked, so writes to it are stopped until the operator releases them. Call get_intent for the conditions.',
        ],
      })
    return result
  }

  return {
    describe,
    own,
    finish,
    async follow(id, options) {
      return finish(await journal.get(id), options)
    },
    async get(id, caller) {
      let intent = await own(id, caller)
      if (['signed', 'broadcast', 'dropped', 'mined'].includes(intent.status))
        intent = await tracker.check(intent)
      return describe(intent)
    },
    async list(filter) {
      if (wallets().length === 0) requireSigner(parts)
      const limit = filter.limit ?? 20
      const lists = await Promise.all(
        wallets().map((wallet) =>
          journal.list({
            wallet,
            ...(filter.caller?.kind === 'agent' ? { agent: actorOf(filter.caller) } : {}),
            chainId: filter.chainId,
            status: filter.status,
            limit,
          }),
        ),
      )
      const intents = lists
        .flat()
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .slice(0, limit)
      return Promise.all(intents.map(describe))
    },
  }
}

/**
 * The agent's sentence for a write the guard reverted.
 *
 * @example postconditionMessage(settlement.postcondition)
 */
export function postconditionMessage(failure: { reason: string; contract: string }): string {
  return `The on-chain guard reverted this write to ${failure.contract}: ${failure.reason}.`
}
