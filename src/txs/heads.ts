import type { Hash } from 'viem'
import type { ChainContext } from '../chains/chains.js'

/** A block as the head watcher keeps it: enough to follow the chain and to find a transaction in it. */
export type Head = {
  number: bigint
  hash: Hash
  parentHash: Hash
  /** Hashes of the block's transactions, lowercase. */
  transactions: ReadonlySet<string>
}

/** Options of {@link createHeadWatcher}. */
export type CreateHeadWatcherParameters = {
  /** The chain to watch: its client, and viem's definition (its `blockTime`, when known, slows the polls). */
  chain: Pick<ChainContext, 'client' | 'chain'>
  /** The fastest the head is polled while nobody waits (default 1000 ms); never faster than the chain's block time. */
  intervalMs?: number | undefined
  /** How many blocks missed between two polls are fetched one by one; beyond that the watcher starts over (default 20). */
  maxGap?: number | undefined
  /** How many recent blocks are kept (default 64). */
  keep?: number | undefined
}

/** One chain's head, polled on demand and shared by everyone who follows it. */
export type HeadWatcher = {
  /** The pace of a poll for {@link HeadWatcher.poll} callers: the interval, or the chain's block time if longer. */
  readonly pollMs: number
  /** The latest head seen, without asking the chain. */
  tip(): Head | undefined
  /**
   * The chain's head: one `eth_getBlockByNumber('latest')` call, unless a poll started within `maxAgeMs` (then its
   * answer) or is in flight (then it is joined). Blocks missed since the last poll are fetched (up to `maxGap`).
   */
  poll(maxAgeMs?: number): Promise<Head>
  /**
   * The blocks after `from` up to the tip, oldest first, when the kept blocks link `from` to the tip; `undefined`
   * when they cannot (a reorg since, a gap too long, `from` too old): the caller then looks for itself.
   */
  since(from: Pick<Head, 'number' | 'hash'>): Head[] | undefined
  /**
   * Resolves with the tip once it is another block than `from` (at once when it is already), polling meanwhile
   * with a backoff from a few ms up to the interval; `undefined` after `timeoutMs`. `from` undefined: the next poll.
   */
  next(from: Pick<Head, 'hash'> | undefined, timeoutMs: number): Promise<Head | undefined>
}

const firstDelayMs = 2

/**
 * Creates the head watcher of one chain (the tracker keeps one per chain). It asks the chain for nothing by itself:
 * only {@link HeadWatcher.poll} and waiters in {@link HeadWatcher.next} make calls, so with nothing tracked it is
 * silent, and however many intents follow a chain, one head poll serves them all.
 *
 * @example
 * const heads = createHeadWatcher({ chain: chains.resolve('base') })
 * const head = await heads.poll()
 * const newer = await heads.next(head, 30_000)
 */
export function createHeadWatcher(parameters: CreateHeadWatcherParameters): HeadWatcher {
  const { client } = parameters.chain
  const intervalMs = parameters.intervalMs ?? 1000
  const maxGap = BigInt(parameters.maxGap ?? 20)
  const keep = parameters.keep ?? 64
  const pollMs = Math.max(intervalMs, parameters.chain.chain.blockTime ?? 0)
  // Recent blocks, each the parent of the next; the tip last.
  let kept: Head[] = []
  let polling: Promise<Head> | undefined
  let polledAt = Number.NEGATIVE_INFINITY
  const waiters = new Set<{ from: Pick<Head, 'hash'> | undefined; done: (head: Head | undefined) => void }>()
  let timer: NodeJS.Timeout | undefined
  let delay = firstDelayMs

  // Blocks by tag `latest` or by number are never pending: their number and hash are set.
  const toHead = (block: {
    number: bigint
    hash: Hash
    parentHash: Hash
    transactions: readonly (Hash | { hash: Hash })[]
  }): Head => ({
    number: block.number,
    hash: block.hash,
    parentHash: block.parentHash,
    transactions: new Set(block.transactions.map((t) => (typeof t === 'string' ? t : t.hash).toLowerCase())),
  })

  async function advance(latest: Head): Promise<Head> {
    const tip = kept.at(-1)
    if (tip?.hash === latest.hash) return tip
    const gap = tip ? latest.number - tip.number : 0n
    if (!tip || gap < 1n || gap > maxGap) {
      // First poll, a reorg to a lower or equal height, or too many blocks missed: start over from the head.
      kept = [latest]
      return latest
    }
    const missed = await Promise.all(
      Array.from({ length: Number(gap) - 1 }, (_, i) =>
        client.getBlock({ blockNumber: tip.number + BigInt(i + 1) }).then(toHead),
      ),
    )
    const run = [...missed, latest]
    const linked = run.every((block, i) => i === 0 || block.parentHash === run[i - 1]?.hash)
    // A block that does not follow the last one kept is a reorg: what was kept is no longer the chain.
    if (linked && run[0]?.parentHash === tip.hash) kept = [...kept, ...run].slice(-keep)
    else kept = linked ? run : [latest]
    return latest
  }

  function wake(): void {
    const tip = kept.at(-1)
    if (!tip) return
    for (const waiter of waiters) if (waiter.from?.hash !== tip.hash) waiter.done(tip)
  }

  function schedule(ms: number): void {
    clearTimeout(timer)
    timer = setTimeout(() => void tick(), ms)
  }

  async function tick(): Promise<void> {
    timer = undefined
    if (!waiters.size) return
    await poll(0).catch(() => undefined) // a failed poll is retried on the next tick
    if (!waiters.size || timer) return
    delay = Math.min(delay * 2, intervalMs)
    schedule(delay)
  }

  function poll(maxAgeMs = 0): Promise<Head> {
    if (polling) return polling
    const tip = kept.at(-1)
    if (tip && Date.now() - polledAt < maxAgeMs) return Promise.resolve(tip)
    polledAt = Date.now()
    polling = client
      .getBlock({ blockTag: 'latest' })
      .then((block) => advance(toHead(block)))
      .finally(() => {
        polling = undefined
        wake()
      })
    return polling
  }

  return {
    pollMs,
    tip: () => kept.at(-1),
    poll,
    since(from) {
      const index = kept.findIndex((block) => block.number === from.number)
      if (index < 0 || kept[index]?.hash !== from.hash) return undefined
      return kept.slice(index + 1)
    },
    next(from, timeoutMs) {
      const tip = kept.at(-1)
      if (tip && from && tip.hash !== from.hash) return Promise.resolve(tip)
      return new Promise((resolve) => {
        const waiter = {
          from,
          done: (head: Head | undefined) => {
            clearTimeout(deadline)
            waiters.delete(waiter)
            if (!waiters.size) {
              clearTimeout(timer)
              timer = undefined
            }
            resolve(head)
          },
        }
        const deadline = setTimeout(() => waiter.done(undefined), Math.max(0, timeoutMs))
        waiters.add(waiter)
        // Someone new waits (a write just went out): look soon, then less and less often.
        delay = firstDelayMs
        schedule(delay)
      })
    },
  }
}
