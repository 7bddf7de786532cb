import type { Hash, Hex } from 'viem'
import type { Chains } from '../chains/chains.js'
import { IntentConflictError, toBaseError } from '../errors/index.js'
import type { Intent, IntentJournal } from './intentJournal.js'
import { sendRaw } from './sendRaw.js'

/** Options of {@link createTracker}. */
export type CreateTrackerParameters = {
  journal: IntentJournal
  chains: Chains
  /** How often in-flight intents are re-checked (default 1000 ms). */
  intervalMs?: number | undefined
  /**
   * An intent in `created` or `signed` younger than this may belong to a request still running, here or on
   * another replica sharing the database: reconciliation leaves it to that request (default 30 s).
   */
  graceMs?: number | undefined
  /**
   * Whether signed bytes may be (re-)sent now. The kill switch answers: while it is engaged, or cannot be read,
   * nothing is broadcast, not even bytes signed before (ADVERSARIAL 37). Default: always.
   */
  mayBroadcast?: (() => Promise<boolean>) | undefined
}

/** Watches intents after signing: receipts, drops, replacements, reorgs; reconciles after a restart. */
export type Tracker = {
  /** One reconciliation step for one intent; returns it as it now stands. Never sends new bytes. */
  check(intent: Intent): Promise<Intent>
  /** Reconciles every unfinished intent (run at start, before new writes are accepted). */
  reconcileAll(): Promise<{ checked: number; byStatus: Record<string, number> }>
  /** Waits until the intent is final or has `confirmations` blocks, re-checking it as it goes. */
  waitFor(
    id: string,
    options?: { confirmations?: number | undefined; timeoutMs?: number | undefined },
  ): Promise<Intent>
  /** Confirmations of a mined intent (0 when not mined). */
  confirmations(intent: Intent): Promise<number>
  start(): void
  /** Stops the periodic checks; resolves once a pass in progress has let go (it checks no further intent). */
  stop(): Promise<void>
}

/** How long a mined intent is re-checked for a reorg. */
const reorgWatchMs = 15 * 60_000

const final = new Set(['failed', 'cancelled', 'replaced', 'completed'])

/**
 * Creates the tracker. Its only way to reach the chain after signing is re-sending the SAME signed bytes (the same
 * transaction, the same hash), so no path here can make a second transfer.
 *
 * - `created` (only after a restart): never signed → `failed` (INTERRUPTED); its nonce goes back to the pool.
 * - `signed` / `broadcast` / `dropped`: receipt → `mined`; known to the node → `broadcast`; nonce used by another
 *   of our intents that mined → `replaced`, by anything else → `failed`; otherwise the same bytes are re-sent.
 * - `mined`: its block is re-read; if the receipt is gone or moved (reorg) → back to `broadcast`, re-checked.
 *
 * @example const tracker = createTracker({ journal, chains }); await tracker.reconcileAll(); tracker.start()
 */
export function createTracker(parameters: CreateTrackerParameters): Tracker {
  const { journal, chains } = parameters
  const intervalMs = parameters.intervalMs ?? 1000
  const graceMs = parameters.graceMs ?? 30_000
  const fresh = (intent: Intent) =>
    (intent.status === 'created' || intent.status === 'signed') &&
    Date.now() - intent.updatedAt.getTime() < graceMs
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  const move = async (
    intent: Intent,
    to: Intent['status'],
    data?: Parameters<IntentJournal['transition']>[3],
  ) => {
    try {
      return await journal.transition(intent.id, intent.status, to, data)
    } catch (error) {
      // Someone else (the request, another replica) moved it first: take their word.
      if (error instanceof IntentConflictError) return journal.get(intent.id)
      throw error
    }
  }

  async function check(intent: Intent, seen: Set<string> = new Set()): Promise<Intent> {
    seen.add(intent.id)
    // A young `created` intent may be a request still running (here, or on a replica): not ours to fail.
    if (intent.status === 'created' && fresh(intent)) return intent
    if (intent.status === 'created')
      return move(intent, 'failed', {
        error: {
          code: 'INTERRUPTED',
          message: 'The gateway stopped before this intent was signed; nothing was sent. Submit it again.',
        },
      })
    if (!intent.txHash || !intent.signedTx || intent.nonce === null) return intent
    const chain = chains.resolve(intent.chainId)
    const hash = intent.txHash as Hash
    const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => null)
    if (intent.status === 'mined') {
      if (receipt) return intent
      return move(intent, 'broadcast', { detail: { reorg: 'the block holding this transaction is gone' } })
    }
    if (receipt) {
      let current = intent
      if (current.status === 'signed')
        current = await move(current, 'broadcast', { detail: { via: 'reconcile' } })
      if (current.status !== 'broadcast' && current.status !== 'dropped') return current
      return move(current, 'mined', {
        detail: {
          blockNumber: receipt.blockNumber.toString(),
          blockHash: receipt.blockHash,
          gasUsed: receipt.gasUsed.toString(),
          status: receipt.status,
        },
      })
    }
    const known = await chain.client.getTransaction({ hash }).catch(() => null)
    if (known)
      return intent.status === 'broadcast'
        ? intent
        : move(intent, 'broadcast', { detail: { via: 'reconcile' } })
    const used = await chain.client.getTransactionCount({ address: intent.wallet as Hex, blockTag: 'latest' })
    if (used > intent.nonce) {
      // Another intent of ours with this nonce (a speed-up or cancel) may be what used it: bring those up to date
      // first, so a replacement that mined is recognised as such rather than this one failing blind.
      const siblings = (
        await journal.list({ wallet: intent.wallet, chainId: intent.chainId, limit: 1000 })
      ).filter((other) => other.id !== intent.id && other.nonce === intent.nonce)
      const settled = await Promise.all(
        siblings.map((other) =>
          !seen.has(other.id) && ['signed', 'broadcast', 'dropped'].includes(other.status)
            ? check(other, seen)
            : other,
        ),
      )
      const sameNonce = settled.find((other) => other.status === 'mined')
      if (sameNonce && intent.status !== 'signed')
        return move(intent, 'replaced', { replacedBy: sameNonce.id })
      return move(intent, 'failed', {
        error: {
          code: 'NONCE_USED',
          message: `Nonce ${intent.nonce} was used by ${sameNonce ? `intent ${sameNonce.id}` : 'another transaction'}; this one can never be mined.`,
        },
      })
    }
    // Not mined, not known, nonce still free: the node lost it. Re-send the same bytes (same hash, no duplicate).
    let current = intent
    if (current.status === 'broadcast')
      current = await move(current, 'dropped', { detail: { reason: 'not known to the node' } })
    if (parameters.mayBroadcast && !(await parameters.mayBroadcast().catch(() => false))) return current
    const outcome = await sendRaw(chain, intent.signedTx as Hex)
    if (outcome.kind === 'accepted' || outcome.kind === 'known')
      return move(current, 'broadcast', { detail: { via: 're-sent the same signed bytes' } })
    if (outcome.kind === 'refused' && current.status === 'signed')
      return move(current, 'failed', { error: { code: outcome.code, message: outcome.message } })
    return current
  }

  async function confirmations(intent: Intent): Promise<number> {
    if (intent.status !== 'mined' || !intent.txHash) return 0
    const chain = chains.resolve(intent.chainId)
    const [receipt, head] = await Promise.all([
      chain.client.getTransactionReceipt({ hash: intent.txHash as Hash }).catch(() => null),
      chain.client.getBlockNumber({ cacheTime: 0 }),
    ])
    return receipt ? Number(head - receipt.blockNumber + 1n) : 0
  }

  function tick(): Promise<void> {
    running ??= pass()
      .catch((error: unknown) => {
        process.emitWarning(`airlock tracker: ${toBaseError(error).shortMessage}`)
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  async function pass(): Promise<void> {
    const inFlight = await journal.list({
      status: ['created', 'signed', 'broadcast', 'dropped'],
      limit: 500,
    })
    // Mined ones get their own query, so many recent mined intents never crowd out one still in flight.
    const recentlyMined = await journal.list({ status: 'mined', limit: 100 })
    for (const intent of [...inFlight, ...recentlyMined]) {
      if (timer === undefined) return // stopped: the store and chains may be closing
      if (fresh(intent)) continue
      // Mined ones are watched for a reorg while young; older ones are past any realistic reorg depth.
      if (intent.status === 'mined' && Date.now() - intent.updatedAt.getTime() > reorgWatchMs) continue
      await check(intent).catch((error: unknown) => {
        process.emitWarning(`airlock tracker: intent ${intent.id}: ${toBaseError(error).shortMessage}`)
      })
    }
  }

  return {
    check,
    confirmations,
    async reconcileAll() {
      const byStatus: Record<string, number> = {}
      const unfinished = await journal.unfinished()
      for (const intent of unfinished) {
        // Re-sending a signed intent's bytes is always safe; failing a young `created` one is not (its request may
        // still be running on another replica).
        const after = intent.status === 'created' && fresh(intent) ? intent : await check(intent)
        byStatus[after.status] = (byStatus[after.status] ?? 0) + 1
      }
      return { checked: unfinished.length, byStatus }
    },
    async waitFor(id, options = {}) {
      const want = options.confirmations ?? 1
      const deadline = Date.now() + (options.timeoutMs ?? 120_000)
      // Look at once (a devnet or a fast chain has the receipt already), then back off from 2 ms to 1 s.
      let intent = await check(await journal.get(id))
      for (let delay = 2; ; delay = Math.min(delay * 2, 1000)) {
        if (final.has(intent.status)) return intent
        // A receipt is one confirmation; deeper waits count blocks.
        if (intent.status === 'mined' && (want <= 1 || (await confirmations(intent)) >= want)) return intent
        if (Date.now() > deadline) return intent
        await new Promise((r) => setTimeout(r, delay))
        intent = await check(await journal.get(id))
      }
    },
    start() {
      timer ??= setInterval(() => void tick(), intervalMs)
      timer.unref()
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
