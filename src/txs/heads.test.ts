// The head watcher against its own anvil (automine, reverted and mined at will), behind a counting proxy.
import { createPublicClient, defineChain, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCountingProxy } from '../../test/rpcProxy.js'
import { type AnvilInstance, startAnvil } from '../devnet/anvil.js'
import { jsonRpc } from '../devnet/jsonRpc.js'
import { createHeadWatcher } from './heads.js'

let anvil: AnvilInstance
let proxy: Awaited<ReturnType<typeof startCountingProxy>>
let chain: Parameters<typeof createHeadWatcher>[0]['chain']

const mine = (blocks = 1) =>
  jsonRpc(anvil.rpcUrl, [{ method: 'anvil_mine', params: [`0x${blocks.toString(16)}`] }])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  anvil = await startAnvil()
  proxy = await startCountingProxy(anvil.rpcUrl)
  const definition = defineChain({
    id: anvil.chainId,
    name: 'heads test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [proxy.url] } },
  })
  chain = { chain: definition, client: createPublicClient({ chain: definition, transport: http(proxy.url) }) }
})
afterAll(async () => {
  await proxy?.close()
  await anvil?.stop()
})

describe('head watcher', () => {
  it('asks nothing by itself; a poll is one call, and a poll within maxAgeMs is none', async () => {
    proxy.reset()
    const heads = createHeadWatcher({ chain, intervalMs: 20 })
    await sleep(100)
    expect(proxy.total()).toBe(0)
    const head = await heads.poll()
    expect(proxy.total('eth_getBlockByNumber')).toBe(1)
    expect(await heads.poll(60_000)).toBe(head)
    const [a, b] = await Promise.all([heads.poll(), heads.poll()]) // concurrent polls share one call
    expect(a).toBe(b)
    expect(proxy.total()).toBe(2)
  })

  it('fills the blocks missed between two polls, so since() lists every new block', async () => {
    const heads = createHeadWatcher({ chain })
    const first = await heads.poll()
    await mine(3)
    proxy.reset()
    const tip = await heads.poll()
    expect(tip.number).toBe(first.number + 3n)
    expect(proxy.total('eth_getBlockByNumber')).toBe(3) // the head, and the two blocks before it
    expect(heads.since(first)?.map((b) => b.number)).toEqual([1n, 2n, 3n].map((n) => first.number + n))
    expect(heads.since(tip)).toEqual([])
  })

  it('a reorg, or a gap longer than maxGap, makes since() unable to tell', async () => {
    const heads = createHeadWatcher({ chain, maxGap: 4 })
    const [snapshot] = (await jsonRpc(anvil.rpcUrl, [{ method: 'evm_snapshot' }])) as [string]
    await mine()
    const before = await heads.poll()
    await jsonRpc(anvil.rpcUrl, [{ method: 'evm_revert', params: [snapshot] }])
    await mine(2) // a longer chain that does not hold `before`
    const after = await heads.poll()
    expect(after.number).toBe(before.number + 1n)
    expect(heads.since(before)).toBeUndefined()

    await mine(5)
    proxy.reset()
    await heads.poll()
    expect(proxy.total()).toBe(1) // too far: no block fetched one by one
    expect(heads.since(after)).toBeUndefined()
  })

  it('next() wakes on a new block, polling only while someone waits', async () => {
    const heads = createHeadWatcher({ chain, intervalMs: 50 })
    const start = await heads.poll()
    setTimeout(() => void mine(), 100)
    const t = performance.now()
    const head = await heads.next(start, 5_000)
    expect(head?.number).toBe(start.number + 1n)
    expect(performance.now() - t).toBeLessThan(1_000)
    expect(await heads.next(start, 5_000)).toBe(head) // already past `start`: at once

    expect(await heads.next(head, 200)).toBeUndefined() // nothing new in time
    proxy.reset()
    await sleep(200)
    expect(proxy.total()).toBe(0) // nobody waits: no poll
  })
})
