import { type Address, createPublicClient, defineChain, type Hash, http, keccak256 } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startCountingProxy } from '../../test/rpcProxy.js'
import { type Chains, createChains } from '../chains/chains.js'
import { type AnvilInstance, devnetMnemonic, startAnvil } from '../devnet/anvil.js'
import { jsonRpc } from '../devnet/jsonRpc.js'
import type { Store } from '../store/openStore.js'
import { openMemoryStore } from '../store/useTestStore.js'
import { createIntentJournal, type Intent, type IntentJournal } from './intentJournal.js'
import { createNonceManager, type NonceManager } from './nonceManager.js'
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

// Against its own anvil (automine switched off, reverted, dropped at will), behind a counting proxy.
describe('tracker on the chain', () => {
  let anvil: AnvilInstance
  let proxy: Awaited<ReturnType<typeof startCountingProxy>>
  let chains: Chains
  let store: Store
  let journal: IntentJournal
  let nonces: NonceManager
  const rpc = (method: string, ...params: unknown[]) => jsonRpc(anvil.rpcUrl, [{ method, params }])
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  beforeAll(async () => {
    anvil = await startAnvil()
    proxy = await startCountingProxy(anvil.rpcUrl)
    const chain = defineChain({
      id: anvil.chainId,
      name: 'tracker test',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [proxy.url] } },
    })
    chains = createChains({
      extra: [{ name: 'devnet', chain, testnet: true, rpc: [proxy.url] }],
      publicFallback: false,
    })
    store = await openMemoryStore()
    journal = createIntentJournal(store)
    const direct = createPublicClient({ transport: http(anvil.rpcUrl) })
    nonces = createNonceManager(store, {
      chainNonce: (_chainId, wallet) =>
        direct.getTransactionCount({ address: wallet as Address, blockTag: 'pending' }),
    })
  })
  afterAll(async () => {
    await store?.close()
    chains?.close()
    await proxy?.close()
    await anvil?.stop()
  })

  /** Records, signs and sends (straight to the node, not counted) a 1-wei transfer from account `index`. */
  async function send(index: number, options: { replaces?: Intent; tipGwei?: bigint } = {}): Promise<Intent> {
    const from = mnemonicToAccount(devnetMnemonic, { addressIndex: index })
    const { intent } = await journal.create({
      chainId: anvil.chainId,
      wallet: from.address,
      operation: options.replaces ? 'speed_up_intent' : 'transfer',
      request: { n: Math.random() },
    })
    const nonce = await nonces.reserve(anvil.chainId, from.address, intent.id, {
      replaces: options.replaces?.id,
    })
    const tip = (options.tipGwei ?? 1n) * 1_000_000_000n
    const signedTx = await from.signTransaction({
      chainId: anvil.chainId,
      type: 'eip1559',
      to: from.address,
      value: 1n,
      nonce,
      gas: 21_000n,
      maxFeePerGas: 100_000_000_000n + tip,
      maxPriorityFeePerGas: tip,
    })
    await journal.transition(intent.id, 'created', 'signed', {
      txHash: keccak256(signedTx),
      signedTx,
      tx: { nonce },
    })
    await rpc('eth_sendRawTransaction', signedTx)
    return journal.transition(intent.id, 'signed', 'broadcast')
  }

  const settled = async (ids: string[], status: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const now = await Promise.all(ids.map((id) => journal.get(id)))
      if (now.every((i) => i.status === status) || Date.now() > deadline) return now
      await sleep(20)
    }
  }

  it('with 20 mined intents tracked and no new block, a pass asks the chain for its head only', async () => {
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 4)))
    const tracker = createTracker({ journal, chains, intervalMs: 50 })
    tracker.start()
    try {
      expect(
        (
          await settled(
            sent.map((i) => i.id),
            'mined',
          )
        ).map((i) => i.status),
      ).toEqual(sent.map(() => 'mined'))
      await sleep(100) // the pass after they mined has looked at each once
      proxy.reset()
      await sleep(1_000)
      // About one pass in 50 ms: one head poll each, no receipt at all.
      expect(proxy.total()).toBe(proxy.total('eth_getBlockByNumber'))
      expect(proxy.total()).toBeGreaterThanOrEqual(5)
      expect(proxy.total()).toBeLessThanOrEqual(21)

      // A new block that holds none of them: still only the head (and nothing else).
      await rpc('evm_mine')
      await sleep(200)
      expect(proxy.total('eth_getTransactionReceipt')).toBe(0)
    } finally {
      await tracker.stop()
    }
  })

  it('a reorg that removes a mined intent sends it back to broadcast; it mines again with the same bytes', async () => {
    const [snapshot] = (await rpc('evm_snapshot')) as [string]
    const intent = await send(5)
    const tracker = createTracker({ journal, chains, intervalMs: 50 })
    tracker.start()
    try {
      expect((await settled([intent.id], 'mined'))[0]?.status).toBe('mined')
      await sleep(100)
      await rpc('evm_revert', snapshot) // the block is gone…
      await rpc('anvil_mine', '0x3') // …and a longer chain without it follows
      const events = async () => (await journal.events(intent.id)).map((e) => [e.from, e.to])
      const deadline = Date.now() + 10_000
      while (
        !(await events()).some(([from, to]) => from === 'mined' && to === 'broadcast') &&
        Date.now() < deadline
      )
        await sleep(20)
      expect(await events()).toContainEqual(['mined', 'broadcast'])
      // The node lost it with the block: the tracker re-sends the same bytes, and it mines again.
      const again = (await settled([intent.id], 'mined'))[0]
      expect(again).toMatchObject({ status: 'mined', txHash: intent.txHash })
      const onChain = await chains
        .resolve('devnet')
        .client.getTransactionReceipt({ hash: intent.txHash as Hash })
      expect(onChain.status).toBe('success')
    } finally {
      await tracker.stop()
    }
  })

  it('a transaction the node dropped is re-sent with the same signed bytes and mines', async () => {
    await rpc('evm_setAutomine', false)
    const tracker = createTracker({ journal, chains, intervalMs: 50 })
    try {
      const intent = await send(6)
      await rpc('anvil_dropTransaction', intent.txHash)
      tracker.start()
      const deadline = Date.now() + 10_000
      const moves = async () => (await journal.events(intent.id)).map((e) => e.to)
      while ((await moves()).filter((to) => to === 'broadcast').length < 2 && Date.now() < deadline)
        await sleep(20)
      expect(await moves()).toEqual(['created', 'signed', 'broadcast', 'dropped', 'broadcast'])
      const pending = (await rpc('eth_getTransactionByHash', intent.txHash))[0] as { hash: string } | null
      expect(pending?.hash).toBe(intent.txHash)
      await rpc('evm_mine')
      expect((await settled([intent.id], 'mined'))[0]?.status).toBe('mined')
    } finally {
      await tracker.stop()
      await rpc('evm_setAutomine', true)
    }
  })

  it('a replacement that mines settles the original as replaced', async () => {
    await rpc('evm_setAutomine', false)
    const tracker = createTracker({ journal, chains, intervalMs: 50 })
    try {
      const original = await send(7)
      const faster = await send(7, { replaces: original, tipGwei: 5n })
      expect(faster.nonce).toBe(original.nonce)
      tracker.start()
      await sleep(150)
      await rpc('evm_mine')
      expect((await settled([faster.id], 'mined'))[0]?.status).toBe('mined')
      expect((await settled([original.id], 'replaced'))[0]).toMatchObject({ replacedBy: faster.id })
    } finally {
      await tracker.stop()
      await rpc('evm_setAutomine', true)
    }
  })

  it('waitFor answers at once on automine, and otherwise wakes on the next head', async () => {
    const tracker = createTracker({ journal, chains, intervalMs: 1_000 })
    const mined = await send(8)
    proxy.reset()
    let t = performance.now()
    expect((await tracker.waitFor(mined.id)).status).toBe('mined')
    expect(performance.now() - t).toBeLessThan(200)
    expect(proxy.total('eth_getTransactionReceipt')).toBe(1)

    await rpc('evm_setAutomine', false)
    try {
      const pending = await send(8)
      setTimeout(() => void rpc('evm_mine'), 300)
      t = performance.now()
      expect((await tracker.waitFor(pending.id)).status).toBe('mined')
      expect(performance.now() - t).toBeLessThan(1_500)

      // Three confirmations: the receipt, then two more blocks, counted from the heads.
      const deep = await send(8)
      setTimeout(
        () =>
          void rpc('evm_mine')
            .then(() => sleep(100))
            .then(() => rpc('anvil_mine', '0x2')),
        100,
      )
      const waited = tracker.waitFor(deep.id, { confirmations: 3, timeoutMs: 10_000 })
      expect((await waited).status).toBe('mined')
      expect(await tracker.confirmations(await journal.get(deep.id))).toBeGreaterThanOrEqual(3)

      // Nothing comes: it gives up at its timeout with the intent as it stands.
      const stuck = await send(8)
      t = performance.now()
      expect((await tracker.waitFor(stuck.id, { timeoutMs: 300 })).status).toBe('broadcast')
      expect(performance.now() - t).toBeLessThan(1_500)
      await rpc('evm_mine')
    } finally {
      await rpc('evm_setAutomine', true)
    }
  })
})
