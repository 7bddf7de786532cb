import { describe, expect, it, vi } from 'vitest'
import type { Chains } from '../chains/chains.js'
import type { Intent, IntentJournal } from './intentJournal.js'
import { createTracker } from './tracker.js'

const intent = (id: string): Intent => ({
  id,
  idempotencyKey: null,
  chainId: 31337,
  wallet: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  operation: 'transfer',
  status: 'broadcast',
  request: {},
  tx: null,
  nonce: 0,
  replaces: null,
  txHash: `0x${'11'.repeat(32)}`,
  signedTx: '0x02',
  replacedBy: null,
  error: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  agent: 'operator:local',
  origin: 'tool',
  caller: { kind: 'operator', id: 'local' },
})

describe('tracker lifecycle', () => {
  it('stop() waits for the pass in progress, which checks no further intent once stopped', async () => {
    // The pass lists its intents, and is held there until the test lets it go.
    let listed!: () => void
    const listing = new Promise<void>((resolve) => {
      listed = resolve
    })
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const journal = {
      list: vi.fn(async (filter: { status: unknown }) => {
        if (filter.status !== 'mined') return []
        listed()
        await held
        return [intent('int_a'), intent('int_b')]
      }),
    } as unknown as IntentJournal
    // Checking an intent starts by resolving its chain: after stop() nothing may reach the chains (closing).
    const resolveChain = vi.fn(() => {
      throw new Error('the chains are closed')
    })
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const tracker = createTracker({
        journal,
        chains: { resolve: resolveChain } as unknown as Chains,
        intervalMs: 1,
      })
      tracker.start()
      await listing
      let stopped = false
      const stopping = tracker.stop().then(() => {
        stopped = true
      })
      // Still held in `list`: stop() has not resolved.
      await Promise.resolve()
      expect(stopped).toBe(false)
      release()
      await stopping
      expect(resolveChain).not.toHaveBeenCalled()
      expect(warnings).not.toHaveBeenCalled()
    } finally {
      warnings.mockRestore()
    }
  })

  it('a pass whose listing fails is a warning, not an unhandled rejection', async () => {
    let failed!: () => void
    const failing = new Promise<void>((resolve) => {
      failed = resolve
    })
    const journal = {
      list: vi.fn(async () => {
        failed()
        throw new Error('store away')
      }),
    } as unknown as IntentJournal
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const tracker = createTracker({ journal, chains: {} as Chains, intervalMs: 1 })
      tracker.start()
      await failing
      await tracker.stop()
      expect(warnings).toHaveBeenCalledWith(expect.stringMatching(/^airlock tracker: /))
    } finally {
      warnings.mockRestore()
    }
  })
})
