import { getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import type { BaseError } from '../errors/index.js'
import { createChains } from './chains.js'
import { knownContracts } from './knownContracts.js'
import { builtinChains, rpcEnvName } from './registry.js'

describe('chain registry', () => {
  it('has at least 30 mainnets plus testnets, with unique names and ids', () => {
    const mainnets = builtinChains.filter((c) => !c.testnet)
    expect(mainnets.length).toBeGreaterThanOrEqual(30)
    expect(builtinChains.length - mainnets.length).toBeGreaterThanOrEqual(10)
    expect(new Set(builtinChains.map((c) => c.name)).size).toBe(builtinChains.length)
    expect(new Set(builtinChains.map((c) => c.chain.id)).size).toBe(builtinChains.length)
    for (const c of builtinChains) expect(c.chain.contracts?.multicall3?.address, c.name).toBeDefined()
  })

  it('resolves a chain by name, id (string or number) and CAIP-2', () => {
    const chains = createChains()
    for (const ref of ['base', 'BASE', '8453', 8453, 'eip155:8453']) {
      const c = chains.resolve(ref)
      expect(c.name).toBe('base')
      expect(c.caip2).toBe('eip155:8453')
    }
    expect(chains.resolve('ethereum').id).toBe(1)
  })

  it.each(['nochain', '999999999999', 'eip155:424242', 'solana:abc', 1.5])(
    'rejects unknown chain %j',
    (ref) => {
      const chains = createChains()
      try {
        chains.resolve(ref)
        expect.unreachable()
      } catch (error) {
        expect((error as BaseError).code).toBe('CHAIN_NOT_FOUND')
        expect((error as BaseError).message).toMatch(/list_chains/)
      }
    },
  )

  it('takes endpoints from config first, then AIRLOCK_RPC_<NAME>, then the public default', () => {
    const chains = createChains({
      settings: { base: { rpc: ['https://base.example/rpc'] } },
      env: { [rpcEnvName('arbitrum-sepolia')]: 'https://a.example, https://b.example' },
    })
    expect(chains.resolve('base').source).toBe('config')
    const arb = chains.resolve('arbitrum-sepolia')
    expect(arb.source).toBe('env')
    expect(arb.endpoints()).toHaveLength(2)
    expect(chains.resolve('optimism').source).toBe('public-default')
    expect(createChains({ publicFallback: false }).resolve('optimism').source).toBe('none')
    expect(rpcEnvName('arbitrum-sepolia')).toBe('AIRLOCK_RPC_ARBITRUM_SEPOLIA')
  })

  it('a chain without endpoints fails with a config error naming the env variable', () => {
    const chains = createChains({ publicFallback: false })
    expect(() => chains.resolve('base').client).toThrow(/AIRLOCK_RPC_BASE/)
  })

  it('rejects config for a chain that does not exist', () => {
    expect(() => createChains({ settings: { nochain: { rpc: ['https://x.example'] } } })).toThrow(
      /chains\.nochain/,
    )
  })

  it('never shows credentials of configured endpoints', () => {
    const chains = createChains({
      settings: { base: { rpc: ['https://user:hunter2@base.example/v2/SECRETKEY1234567890abcdef'] } },
    })
    const shown = JSON.stringify(chains.resolve('base').endpoints())
    expect(shown).not.toMatch(/hunter2|SECRETKEY/)
    expect(shown).toMatch(/base\.example/)
  })
})

describe('known contracts', () => {
  it('are EIP-55 checksummed and sit on registry chains', () => {
    const ids = new Set(builtinChains.map((c) => c.chain.id))
    for (const [id, entry] of Object.entries(knownContracts)) {
      expect(ids.has(Number(id))).toBe(true)
      for (const t of entry.tokens) expect(getAddress(t.address)).toBe(t.address)
      if (entry.uniswapV3) expect(getAddress(entry.uniswapV3.quoter)).toBe(entry.uniswapV3.quoter)
      for (const f of Object.values(entry.feeds ?? {})) expect(getAddress(f.address)).toBe(f.address)
    }
  })
})
