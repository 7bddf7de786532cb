import { getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import type { BaseError } from '../errors/index.js'
import { createChains } from './chains.js'
import { ChainFamilyError } from './errors.js'
import { knownContracts } from './knownContracts.js'
import { builtinChains, rpcEnvName } from './registry.js'
import { requireFamily } from './requireFamily.js'

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

  it('serves Solana clusters by name or CAIP-2 (genesis hash prefix, case kept); EVM-only lookups name the family', () => {
    const chains = createChains({ env: { AIRLOCK_RPC_SOLANA_DEVNET: 'https://rpc.example/devnet' } })
    const cases: [string, string][] = [
      ['solana', 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'],
      ['Solana-Devnet', 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1'],
      ['solana-testnet', 'solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z'],
      ['solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'],
    ]
    for (const [ref, caip2] of cases) {
      const c = chains.resolveAny(ref)
      expect(c.family, ref).toBe('solana')
      expect(c.caip2).toBe(caip2)
      expect(c.native).toEqual({ symbol: 'SOL', decimals: 9, assetId: `${caip2}/slip44:501` })
      try {
        chains.resolve(ref, 'read_contract')
        expect.unreachable()
      } catch (error) {
        const e = error as BaseError
        expect(e.code, ref).toBe('INVALID_INPUT')
        expect(e.field).toBe('chain')
        expect(e.shortMessage).toMatch(/read_contract works only on EVM chains; ".+" is a Solana chain/)
      }
    }
    const devnet = chains.resolveAny('solana-devnet')
    expect(devnet.family === 'solana' && devnet.source).toBe('env')
    // A CAIP-2 reference is base58: another case is another (unknown) cluster.
    expect(() => chains.resolveAny('solana:etwtrabzayq6imfeykouru166vu2xqa1')).toThrow(/Unknown chain/)
    expect(() => chains.resolve('solanaa')).toThrow(/Unknown chain "solanaa"/)
    expect(
      chains
        .listAll()
        .filter((c) => c.family === 'solana')
        .map((c) => c.name),
    ).toEqual(['solana', 'solana-devnet', 'solana-testnet'])
    // Settings for a Solana cluster are accepted like an EVM chain's.
    const configured = createChains({ settings: { 'solana-devnet': { rpc: ['https://x.example'] } } })
    const d = configured.resolveAny('solana-devnet')
    expect(d.family === 'solana' && d.source).toBe('config')
    expect(d.endpoints()[0]?.url).toMatch(/^https:\/\/x\.example/)
  })

  it('every chain is of the EVM family, with its native coin and that coin’s CAIP-19 id', () => {
    const chains = createChains()
    for (const c of chains.list()) {
      expect(c.family).toBe('evm')
      expect(c.native.symbol).toBe(c.chain.nativeCurrency.symbol)
      expect(c.native.assetId.startsWith(`${c.caip2}/`)).toBe(true)
    }
    expect(chains.resolve('ethereum').native.assetId).toBe('eip155:1/slip44:60')
    expect(chains.resolve('polygon').native.assetId).toBe('eip155:137/slip44:966')
    expect(chains.resolve('mantle').native.assetId).toBe('eip155:5000/native:MNT')
  })

  it('requireFamily passes a chain of the family and refuses another with a clear INVALID_INPUT', () => {
    const base = createChains().resolve('base')
    expect(requireFamily(base, 'evm', 'read_contract')).toBe(base)
    // A Solana context, as the Solana issue will build one.
    const cluster = {
      family: 'solana' as const,
      name: 'solana-devnet',
      caip2: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
      testnet: true,
      native: { symbol: 'SOL', decimals: 9, assetId: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1/slip44:501' },
    }
    try {
      requireFamily(cluster, 'evm', 'read_contract')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ChainFamilyError)
      const e = error as BaseError
      expect(e.code).toBe('INVALID_INPUT')
      expect(e.field).toBe('chain')
      expect(e.shortMessage).toBe(
        'read_contract works only on EVM chains; "solana-devnet" is a Solana chain.',
      )
    }
  })

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
