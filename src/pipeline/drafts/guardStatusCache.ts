import type { Address } from 'viem'
import type { ChainContext } from '../../chains/chains.js'
import { type GuardStatus, readGuardStatus } from '../../chains/evm/guard.js'

/**
 * How long a wallet's `enforced` guard status is reused by writes. Only that answer is reused, because only its
 * staleness fails closed: were the delegation removed meanwhile, the wallet's call to itself with `execute(…)`
 * data reaches no code and does nothing, the settlement finds no `Executed()` event, and the write answers
 * PRECONDITION_FAILED with nothing moved and nothing charged but gas (and the status is read again at once).
 * Re-delegating the wallet to other code takes the wallet's own key, and the receipt settlement still compares
 * what moved with what was checked. A reused `off` or `foreign` would be the unsafe direction (writes without
 * post-conditions after the operator enabled the guard), so those are read from the chain for every write.
 */
export const enforcedGuardStatusTtlMs = 15_000

/** The guard status reads of a write path. */
export type GuardStatusCache = {
  /** The wallet's status on the chain: a recent `enforced` answer, else read from the chain. */
  read(chain: ChainContext, wallet: Address): Promise<GuardStatus>
  /** Forgets what is known for a chain (a write answered that the guard did not run it). */
  forget(chainId: number): void
}

/**
 * Reuses a wallet's `enforced` guard status for {@link enforcedGuardStatusTtlMs} (two `eth_getCode` fewer per
 * write); every other answer is read fresh.
 *
 * @example const statuses = createGuardStatusCache(); const { mode } = await statuses.read(chain, wallet)
 */
export function createGuardStatusCache(
  read: (chain: ChainContext, wallet: Address) => Promise<GuardStatus> = readGuardStatus,
  ttlMs = enforcedGuardStatusTtlMs,
): GuardStatusCache {
  const enforced = new Map<string, { at: number; status: GuardStatus }>()
  const keyOf = (chainId: number, wallet: Address) => `${chainId}:${wallet.toLowerCase()}`
  return {
    async read(chain, wallet) {
      const key = keyOf(chain.id, wallet)
      const hit = enforced.get(key)
      if (hit && Date.now() - hit.at < ttlMs) return hit.status
      const at = Date.now()
      const status = await read(chain, wallet)
      if (status.mode === 'enforced') enforced.set(key, { at, status })
      else enforced.delete(key)
      return status
    },
    forget(chainId) {
      for (const key of enforced.keys()) if (key.startsWith(`${chainId}:`)) enforced.delete(key)
    },
  }
}
