import { createPublicClient, erc20Abi, http } from 'viem'
import { describe, expect, inject, it } from 'vitest'
import { useDevnet } from './devnet.js'

const devnet = useDevnet({ isolate: true })

describe('useDevnet', () => {
  it("returns this worker's devnet, one per worker, with live fixtures", async () => {
    const all = inject('devnets')
    expect(all.length).toBeGreaterThanOrEqual(1)
    expect(new Set(all.map((d) => d.rpcUrl)).size).toBe(all.length)
    const poolId = Number(process.env.VITEST_POOL_ID)
    expect(poolId).toBeGreaterThanOrEqual(1)
    expect(devnet).toEqual(all[(poolId - 1) % all.length])

    const client = createPublicClient({ transport: http(devnet.rpcUrl) })
    expect(await client.getChainId()).toBe(devnet.chainId)
    const symbol = await client.readContract({
      address: devnet.tokens.USDC.address,
      abi: erc20Abi,
      functionName: 'symbol',
    })
    expect(symbol).toBe('USDC')
  })
})
