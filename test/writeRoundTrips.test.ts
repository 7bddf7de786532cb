import { createPublicClient, http, parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardAddress, guardGasOverhead, type PostCondition } from '../src/chains/evm/guard.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { createSigner } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, ok } from './mcp.js'
import { allowAll } from './policies.js'
import { startCountingProxy } from './rpcProxy.js'

// Every write this file makes is reverted after it (snapshot), so other files on this worker see the fixtures.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
let store: Store
let proxy: Awaited<ReturnType<typeof startCountingProxy>>
let mcp: Awaited<ReturnType<typeof connectInMemory>>
let wallet: `0x${string}`

beforeAll(async () => {
  proxy = await startCountingProxy(fixtures.rpcUrl)
  store = await openMemoryStore()
  const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  wallet = signer.address
  mcp = await connectInMemory({
    config: { policy: allowAll },
    // The gateway reaches the devnet only through the counting proxy.
    devnet: { ...fixtures, rpcUrl: proxy.url },
    env: { AIRLOCK_RPC_BASE: 'http://127.0.0.1:1' },
    // The tracker's own pass stays out of the figure: the write waits for its receipt itself.
    writes: { store, signer, trackerIntervalMs: 60_000 },
  })
})
afterAll(async () => {
  await mcp.close()
  await store.close()
  await proxy.close()
})

describe('round trips of a guarded write', () => {
  it('a guarded native transfer to an ENS name, with its receipt, reads no block, code, nonce, fee or name twice', async () => {
    const send = () => mcp.call('transfer', { chain: 'devnet', to: 'alice.eth', amount: '0.001', wait: true })
    expect(ok(await send())).toMatchObject({ status: 'mined', guard: expect.anything() })
    proxy.reset()
    const out = ok(await send())
    expect(out).toMatchObject({ status: 'mined', receipt: { status: 'success' } })
    expect(out.settlement).toMatchObject({ outflows: { native: parseEther('0.001').toString() }, excess: [] })
    const calls = Object.fromEntries(proxy.calls)
    // Before the send: one block read (fees and simulation), the simulation's two eth_simulateV1 requests.
    expect(calls).toMatchObject({ eth_getBlockByNumber: 1, eth_simulateV1: 2, eth_sendRawTransaction: 1 })
    // The nonce: the chain's pending nonce, read once at the reservation.
    expect(calls.eth_getTransactionCount).toBe(1)
    for (const method of [
      'eth_call', // alice.eth: resolved a moment ago
      'eth_getCode', // the wallet's delegation to the guard: read a moment ago
      'eth_estimateGas', // a bare value transfer to an address without code: 21,000
      'eth_maxPriorityFeePerGas', // reused per chain for a few seconds
      'eth_getBalance', // the settlement reads it with the nonce (eth_getProof)
    ])
      expect(calls[method], method).toBeUndefined()
    // The settlement's reads around the block: nonce and balance in one eth_getProof per block.
    expect(calls.eth_getProof).toBe(2)
    // One receipt read (the write's wait), used again by the settlement and the answer; no head read for the
    // answer's confirmations (the receipt's own block: at least one).
    expect(calls.eth_getTransactionReceipt).toBe(1)
    expect(calls.eth_blockNumber).toBeUndefined()
    expect(out.receipt.confirmations).toBeGreaterThanOrEqual(1)
    expect(proxy.total()).toBe(8)
  })

  it('a native transfer to a contract that runs code when paid is estimated, simulated again and signed with that gas', async () => {
    // The guard's own contract: its empty receive() still runs code, so 21,000 gas is not enough there.
    const before = await viem.getBalance({ address: guardAddress })
    proxy.reset()
    const out = ok(
      await mcp.call('transfer', { chain: 'devnet', to: guardAddress, amount: '0.01', wait: true }),
    )
    expect(out).toMatchObject({ status: 'mined', receipt: { status: 'success' } })
    expect(proxy.total('eth_estimateGas')).toBe(1)
    expect(proxy.total('eth_simulateV1')).toBe(4) // with 21,000 (reverts: out of gas), then with the estimate
    expect((await viem.getBalance({ address: guardAddress })) - before).toBe(parseEther('0.01'))
    const tx = await viem.getTransaction({ hash: out.txHash })
    const intent = ok(await mcp.call('get_intent', { intentId: out.intentId }))
    const conditions = intent.guard.conditions as PostCondition[]
    expect(conditions.length).toBeGreaterThan(0)
    // Signed with the estimate (and the guard's overhead on it), not with the 21,000 that was tried first.
    expect(tx.gas).toBeGreaterThan(21_000n + guardGasOverhead(conditions, 21_000n))
  })

  it('a nonce the wallet used outside the gateway is recovered: the node says "nonce too low", the database resyncs', async () => {
    const first = ok(
      await mcp.call('transfer', { chain: 'devnet', to: 'alice.eth', amount: '0.001', wait: true }),
    )
    // The same key sends on its own (anvil's unlocked account), twice: the database does not know.
    for (let i = 0; i < 2; i++)
      await jsonRpc(fixtures.rpcUrl, [
        { method: 'eth_sendTransaction', params: [{ from: wallet, to: fixtures.accounts[7], value: '0x1' }] },
      ])
    const pending = await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })
    expect(pending).toBe(first.nonce + 3)
    const next = ok(
      await mcp.call('transfer', { chain: 'devnet', to: 'alice.eth', amount: '0.001', wait: true }),
    )
    expect(next).toMatchObject({ status: 'mined', nonce: pending })
    expect(await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })).toBe(pending + 1)
  })
})
