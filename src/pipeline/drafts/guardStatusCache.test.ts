import type { Address } from 'viem'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ChainContext } from '../../chains/chains.js'
import type { GuardMode, GuardStatus } from '../../chains/evm/guard.js'
import { createGuardStatusCache, enforcedGuardStatusTtlMs } from './guardStatusCache.js'

const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' as Address
const chain = { id: 31337 } as ChainContext

/** A chain whose wallet status the test sets, counting the reads. */
function fakeRead(mode: GuardMode) {
  const state = { mode }
  const read = vi.fn(async (): Promise<GuardStatus> => ({ mode: state.mode, deployed: true }))
  return { state, read }
}

describe('guard status of writes', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reuses an enforced status for the TTL, then reads the chain again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const chainState = fakeRead('enforced')
    const cache = createGuardStatusCache(chainState.read)
    expect((await cache.read(chain, wallet)).mode).toBe('enforced')
    chainState.state.mode = 'off' // the operator disabled the guard from another process
    vi.advanceTimersByTime(enforcedGuardStatusTtlMs - 1)
    expect((await cache.read(chain, wallet)).mode).toBe('enforced') // stale, fails closed (PRECONDITION_FAILED)
    vi.advanceTimersByTime(1)
    expect((await cache.read(chain, wallet)).mode).toBe('off')
    expect(chainState.read).toHaveBeenCalledTimes(2)
  })

  it('never reuses off or foreign (that would send writes without post-conditions once the guard is on)', async () => {
    const chainState = fakeRead('off')
    const cache = createGuardStatusCache(chainState.read)
    expect((await cache.read(chain, wallet)).mode).toBe('off')
    chainState.state.mode = 'enforced'
    expect((await cache.read(chain, wallet)).mode).toBe('enforced')
    chainState.state.mode = 'foreign'
    cache.forget(chain.id)
    expect((await cache.read(chain, wallet)).mode).toBe('foreign')
    expect((await cache.read(chain, wallet)).mode).toBe('foreign')
    expect(chainState.read).toHaveBeenCalledTimes(4)
  })

  it('forgets a chain when a write was mined without the guard running it', async () => {
    const chainState = fakeRead('enforced')
    const cache = createGuardStatusCache(chainState.read)
    await cache.read(chain, wallet)
    chainState.state.mode = 'off'
    cache.forget(chain.id)
    expect((await cache.read(chain, wallet)).mode).toBe('off')
  })
})
