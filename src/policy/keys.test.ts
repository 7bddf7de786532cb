import { describe, expect, it } from 'vitest'
import { chainKeys, limitKey, parseLimitKey } from './keys.js'

const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const usdc = '0x5fbdb2315678afecb367f032d93f642f64180aa3'

describe('policy keys', () => {
  it('names a chain by registry name, decimal id and CAIP-2 id', () => {
    expect(chainKeys('Base', 8453)).toEqual(['base', '8453', 'eip155:8453'])
  })

  it('builds limit keys per chain and wallet (and token for outflows), and takes them apart again', () => {
    const budget = limitKey({ ruleId: 'small', limitId: 'daily', chainId: 1, wallet })
    expect(budget).toBe(`small/daily/1/${wallet.toLowerCase()}`)
    expect(parseLimitKey(budget)).toEqual({
      ruleId: 'small',
      limitId: 'daily',
      chainId: 1,
      wallet: wallet.toLowerCase(),
    })
    const outflow = limitKey({ ruleId: 'small', limitId: 'usdc-day', chainId: 31337, wallet, token: usdc })
    expect(outflow).toBe(`small/usdc-day/31337/${wallet.toLowerCase()}/${usdc}`)
    expect(parseLimitKey(outflow)?.token).toBe(usdc)
    expect(
      parseLimitKey(limitKey({ ruleId: 'r', limitId: 'l', chainId: 1, wallet, token: 'native' }))?.token,
    ).toBe('native')
    expect(parseLimitKey('not/a/key')).toBeUndefined()
  })
})
