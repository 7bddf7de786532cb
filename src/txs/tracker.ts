import type { Hash, Hex } from 'viem'
import type { ChainContext, Chains } from '../chains/chains.js'
import { rememberReceipt } from '../chains/recentReceipts.js'
import { IntentConflictError, toBaseError } from '../errors/index.js'
import { createHeadWatcher, type Head, type HeadWatcher } from './heads.js'
import type { Intent, IntentJournal } from './intentJournal.js'
import { sendRaw } from './sendRaw.js'
import { checkSolanaIntent } from './solanaTracker.js'

/** Options of {@link createTracker}. */
export type CreateTrackerParameters = {
  journal: IntentJournal
  chains: Chains
  /**
   * How often a tracker pass runs (default 1000 ms). A pass asks each chain with tracked intents for its head at
   * most this often (never faster than the chain's block time, when viem's definition gives one), and an intent's
   * own receipt only when a new block holds its transaction, the chain reorganised, or (in flight) every fifth poll
   * to catch a node that lost it.
   */
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
  /** Where a failed pass is reported (the store or every endpoint away); default a process warning. */
  log?: ((line: string) => void) | undefined
}

/** Watches intents after signing, from each chain's new heads: receipts, drops, replacements, reorgs; reconciles after a restart. */
export type Tracker = {
  /** One reconciliation step for one intent; returns it as it now stands. Never sends new bytes. */
  check(intent: Intent): Promise<Intent>
  /** Reconciles every unfinished intent (run at start, before new writes are accepted). */
  reconcileAll(): Promise<{ checked: number; byStatus: Record<string, number> }>
  /**
   * Waits until the intent is final or has `confirmations` blocks: it looks at once (a devnet or a fast chain has the
   * receipt already), then each time its chain has a new head, asking for the receipt only when needed.
   */
  waitFor(
    id: string,
    options?: { confirmations?: number | undefined; timeoutMs?: number | undefined },
  ): Promise<Intent>
  /** Confirmations of a mined intent (0 when not mined). */
  confirmations(intent: Intent): Promise<number>
  /** The newest block number the tracker has seen on a chain (none yet: undefined). Reads nothing. */
  tip(chainId: number): bigint | undefined
  start(): void
  /** Stops the periodic checks; resolves once a pass in progress has let go (it checks no further intent). */
  stop(): Promise<void>
}

/** How long a mined intent is re-checked for a reorg. */
const reorgWatchMs = 15 * 60_000

/** An in-flight intent that no new block holds is looked up on its own every this many head polls (a lost one). */
const dropCheckPolls = 5

/** How often a write waiting on a Solana transaction asks for its status. */
const solanaPollMs = 200

/** What the tracker last learned of an intent on chain (memory only: after a restart it asks once again). */
type Seen = {
  /**
   * The head up to which this is known: no block up to it holds the transaction (in flight), or the block holding it
   * is still there (mined). Blocks after it are what the intent still has to be matched against.
   */
  covered: Head | undefined
  /** When its receipt was last asked for. */
  checkedAt: number
  /** The block holding the transaction, from its receipt. */
  block: { number: bigint; hash: Hash } | undefined
}

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
 * The periodic pass does not ask every intent's receipt: one head poll per chain (see {@link createHeadWatcher})
 * tells whether anything can have changed. An in-flight intent is looked at when a new block holds its hash, when
 * another intent of its wallet mined at its nonce or above, and every few polls (dropped?); a mined one when the
 * chain reorganised under it. With nothing new on chain a pass costs one call per chain, or none.
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
  const watchers = new Map<number, HeadWatcher>()
  const memo = new Map<string, Seen>()
  const report = parameters.log ?? ((line: string) => process.emitWarning(line)) // the gateway passes its log (stderr in the CLI)
  const warn = (what: string) => (error: unknown) => {
    report(`airlock tracker: ${what}${toBaseError(error).shortMessage}`)
  }

  function headsOf(chain: ChainContext): HeadWatcher {
    let heads = watchers.get(chain.id)
    if (!heads) {
      heads = createHeadWatcher({ chain, intervalMs })
      watchers.set(chain.id, heads)
    }
    return heads
  }

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

  async function check(intent: Intent, visited: Set<string> = new Set()): Promise<Intent> {
    visited.add(intent.id)
    // A young `created` intent may be a request still running (here, or on a replica): not ours to fail.
    if (intent.status === 'created' && fresh(intent)) return intent
    if (intent.status === 'created')
      return move(intent, 'failed', {
        error: {
          code: 'INTERRUPTED',
          message: 'The gateway stopped before this intent was signed; nothing was sent. Submit it again.',
        },
      })
    const any = chains.resolveAny(intent.chainId)
    if (any.family === 'solana')
      return checkSolanaIntent(journal, any, intent, { mayBroadcast: parameters.mayBroadcast })
    if (!intent.txHash || !intent.signedTx || intent.nonce === null) return intent
    const chain = any
    const hash = intent.txHash as Hash
    // The head known before asking: whatever block holds the transaction and is not in this answer comes after it.
    const covered = headsOf(chain).tip()
    const checkedAt = Date.now()
    const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => null)
    // The write waiting for it, its settlement and its answer use this read (src/chains/recentReceipts.ts).
    if (receipt) rememberReceipt(chain, receipt)
    memo.set(intent.id, {
      covered,
      checkedAt,
      block: receipt ? { number: receipt.blockNumber, hash: receipt.blockHash } : undefined,
    })
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
          !visited.has(other.id) && ['signed', 'broadcast', 'dropped'].includes(other.status)
            ? check(other, visited)
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
    if (chains.resolveAny(intent.chainId).family === 'solana') return 1
    const chain = chains.resolve(intent.chainId)
    const [receipt, head] = await Promise.all([
      chain.client.getTransactionReceipt({ hash: intent.txHash as Hash }).catch(() => null),
      chain.client.getBlockNumber({ cacheTime: 0 }),
    ])
    return receipt ? Number(head - receipt.blockNumber + 1n) : 0
  }

  /**
   * Whether an intent must be looked up on its own, from what the chain's recent heads show. When not, what is known
   * of it now reaches the tip.
   */
  function due(intent: Intent, heads: HeadWatcher, now: number): boolean {
    const seen = memo.get(intent.id)
    if (!seen?.covered) return true
    const blocks = heads.since(seen.covered)
    if (!blocks) return true // a reorg, or too long since: the heads cannot tell
    if (intent.status === 'mined') {
      if (!seen.block) return true // mined by someone else since it was last looked at
      const { number, hash } = seen.block
      if (blocks.some((block) => block.number === number && block.hash !== hash)) return true
    } else {
      const hash = intent.txHash?.toLowerCase() ?? ''
      if (blocks.some((block) => block.transactions.has(hash))) return true
      if (now - seen.checkedAt >= dropCheckPolls * heads.pollMs) return true
    }
    seen.covered = heads.tip() ?? seen.covered
    return false
  }

  /** Confirmations of a mined intent from what the heads show, asking the chain only when they cannot tell. */
  async function depth(intent: Intent): Promise<number> {
    const seen = memo.get(intent.id)
    if (seen?.block && seen.covered) return Number(seen.covered.number - seen.block.number + 1n)
    return confirmations(intent)
  }

  /** Whether an intent is on a Solana cluster (its store key is one of theirs). */
  function solanaIntent(intent: Intent): boolean {
    try {
      return chains.resolveAny(intent.chainId).family === 'solana'
    } catch {
      return false
    }
  }

  function tick(): Promise<void> {
    running ??= pass()
      .catch(warn(''))
      .finally(() => {
        running = undefined
      })
    return running
  }

  async function pass(): Promise<void> {
    const startedAt = Date.now()
    const inFlight = await journal.list({
      status: ['created', 'signed', 'broadcast', 'dropped'],
      limit: 500,
    })
    // Mined ones get their own query, so many recent mined intents never crowd out one still in flight.
    const recentlyMined = await journal.list({ status: 'mined', limit: 100 })
    const watched = new Set<string>()
    const byChain = new Map<number, Intent[]>()
    for (const intent of [...inFlight, ...recentlyMined]) {
      if (timer === undefined) return // stopped: the store and chains may be closing
      if (fresh(intent)) continue
      // Mined ones are watched for a reorg while young; older ones are past any realistic reorg depth.
      if (intent.status === 'mined' && Date.now() - intent.updatedAt.getTime() > reorgWatchMs) continue
      watched.add(intent.id)
      if (intent.txHash && intent.signedTx && intent.nonce !== null)
        byChain.set(intent.chainId, [...(byChain.get(intent.chainId) ?? []), intent])
      else await check(intent).catch(warn(`intent ${intent.id}: `)) // nothing on chain to look at
    }
    for (const [id, seen] of memo) if (!watched.has(id) && seen.checkedAt < startedAt) memo.delete(id)
    for (const [chainId, intents] of byChain) {
      if (timer === undefined) return
      await follow(chainId, intents).catch(warn(`chain ${chainId}: `))
    }
  }

  /** One chain's share of a pass: one head poll, then only the intents its new blocks concern. */
  async function follow(chainId: number, intents: Intent[]): Promise<void> {
    const heads = headsOf(chains.resolve(chainId))
    await heads.poll(heads.pollMs - intervalMs / 2)
    const now = Date.now()
    const looked = new Set<string>()
    const mined: Intent[] = []
    for (const intent of intents) {
      if (timer === undefined) return
      if (!due(intent, heads, now)) continue
      looked.add(intent.id)
      const after = await check(intent).catch((error: unknown) => {
        warn(`intent ${intent.id}: `)(error)
        return intent
      })
      if (after.status === 'mined' && intent.status !== 'mined') mined.push(after)
    }
    // A transaction of ours that mined used its nonce and every lower one: intents of its wallet at those nonces
    // (a speed-up's original, a cancelled one) settle now rather than at their next drop check.
    for (const intent of intents) {
      if (timer === undefined) return
      if (looked.has(intent.id) || intent.status === 'mined') continue
      const passed = mined.some(
        (other) =>
          other.wallet === intent.wallet && (other.nonce ?? -1) >= (intent.nonce ?? Number.POSITIVE_INFINITY),
      )
      if (passed) await check(intent).catch(warn(`intent ${intent.id}: `))
    }
  }

  return {
    check,
    confirmations,
    tip: (chainId) => watchers.get(chainId)?.tip()?.number,
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
      // Look at once (a devnet or a fast chain has the receipt already), then at each new head of its chain.
      let intent = await check(await journal.get(id))
      for (;;) {
        if (final.has(intent.status)) return intent
        // A receipt is one confirmation; deeper waits count blocks.
        // A Solana transaction is waited for at `confirmed` commitment: one confirmation is all it gets here.
        if (intent.status === 'mined' && (want <= 1 || solanaIntent(intent) || (await depth(intent)) >= want))
          return intent
        const left = deadline - Date.now()
        if (left <= 0) return intent
        if (chains.resolveAny(intent.chainId).family === 'solana') {
          // No heads to follow: ask again shortly (a cluster confirms in well under a second).
          await new Promise((resolve) => setTimeout(resolve, Math.min(left, solanaPollMs)))
          intent = await check(await journal.get(id))
          continue
        }
        const heads = headsOf(chains.resolve(intent.chainId))
        // Woken by a new head, or after a few polls without one (the node may have lost it: `due` says).
        const from = memo.get(intent.id)?.covered ?? heads.tip()
        const head = await heads.next(from, Math.min(left, dropCheckPolls * heads.pollMs))
        intent = await journal.get(id)
        if (!head && Date.now() >= deadline) return final.has(intent.status) ? intent : check(intent)
        if (due(intent, heads, Date.now())) intent = await check(intent)
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
