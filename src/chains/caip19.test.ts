import { describe, expect, it } from 'vitest'
import {
  erc20AssetId,
  evmAssetId,
  evmNativeAssetId,
  evmNativeSlip44,
  nftAssetId,
  parseAssetId,
} from './caip19.js'
import { builtinChains } from './registry.js'

const usdc = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'

describe('CAIP-19 asset ids', () => {
  it('spells an ERC-20 with its lowercase address, whatever case it came in', () => {
    const id = 'eip155:1/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'
    expect(erc20AssetId('eip155:1', usdc)).toBe(id)
    expect(erc20AssetId('eip155:1', usdc.toLowerCase())).toBe(id)
    expect(evmAssetId('eip155:1', usdc, 'eip155:1/slip44:60')).toBe(id)
  })

  it('gives ETH slip44 60 on mainnet, L2s and testnets, and other natives their own number', () => {
    expect(evmNativeAssetId('eip155:1', 'ETH')).toBe('eip155:1/slip44:60')
    expect(evmNativeAssetId('eip155:8453', 'ETH')).toBe('eip155:8453/slip44:60')
    expect(evmNativeAssetId('eip155:11155111', 'ETH')).toBe('eip155:11155111/slip44:60')
    expect(evmNativeAssetId('eip155:137', 'POL')).toBe('eip155:137/slip44:966')
    expect(evmNativeAssetId('eip155:56', 'BNB')).toBe('eip155:56/slip44:714')
    expect(evmNativeAssetId('eip155:43114', 'AVAX')).toBe('eip155:43114/slip44:9000')
    expect(evmNativeAssetId('eip155:100', 'XDAI')).toBe('eip155:100/slip44:700')
    expect(evmAssetId('eip155:1', 'native', 'eip155:1/slip44:60')).toBe('eip155:1/slip44:60')
  })

  it('never calls a native coin that is not ETH slip44 60: an unknown one gets the native: placeholder', () => {
    expect(evmNativeSlip44('MNT')).toBeUndefined()
    expect(evmNativeAssetId('eip155:5000', 'MNT')).toBe('eip155:5000/native:MNT')
    expect(evmNativeAssetId('eip155:9', 'W e!rd')).toBe('eip155:9/native:Werd')
    for (const { chain } of builtinChains) {
      const id = evmNativeAssetId(`eip155:${chain.id}`, chain.nativeCurrency.symbol)
      if (chain.nativeCurrency.symbol !== 'ETH') expect(id, chain.name).not.toMatch(/slip44:60$/)
      expect(parseAssetId(id), chain.name).toBeDefined()
    }
  })

  it('names one NFT with its collection and token id', () => {
    expect(nftAssetId('eip155:1', 'erc721', '0x06012c8cf97BEaD5deAe237070F9587f8E7A266d', 771769n)).toBe(
      'eip155:1/erc721:0x06012c8cf97bead5deae237070f9587f8e7a266d/771769',
    )
    expect(() => nftAssetId('eip155:1', 'erc1155', usdc, -1n)).toThrow(TypeError)
  })

  it('parses what it builds and refuses what is not CAIP-19', () => {
    expect(parseAssetId('eip155:1/slip44:60')).toEqual({
      chain: 'eip155:1',
      namespace: 'slip44',
      reference: '60',
    })
    expect(parseAssetId('eip155:1/erc721:0xabc/7')?.tokenId).toBe('7')
    for (const bad of ['eip155:1', 'eip155:1/slip44', 'EIP155:1/slip44:60', 'eip155:1/slip44:60/x/y', ''])
      expect(parseAssetId(bad), bad).toBeUndefined()
    expect(() => erc20AssetId('eip155', usdc)).toThrow(TypeError)
    expect(() => erc20AssetId('eip155:1', '0x12')).toThrow(TypeError)
  })
})
