import { describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import { startAnvil } from './anvil.js'
import { fixturesAt } from './fixturesAt.js'

const fx = useDevnet()

describe('fixturesAt', () => {
  it("finds a running devnet's fixtures from its RPC URL alone", async () => {
    expect(await fixturesAt(fx.rpcUrl)).toEqual(fx)
    expect((await fixturesAt(fx.rpcUrl, { chainName: 'devnet-b' })).chain).toBe('devnet-b')
  })

  it('refuses a node that does not hold the fixtures', async () => {
    const anvil = await startAnvil()
    try {
      await expect(fixturesAt(anvil.rpcUrl)).rejects.toThrow(/does not hold Airlock's devnet fixtures/)
    } finally {
      await anvil.stop()
    }
  })
})
