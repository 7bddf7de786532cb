// The EVM adapter against the real devnet: the family-neutral interface over today's EVM code (DESIGN §8).
import { type Address, type Hash, keccak256, parseEther } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { useDevnet } from '../../../test/devnet.js'
import { devnetChain } from '../../devnet/devnetChain.js'
import type { BaseError } from '../../errors/index.js'
import { createSigner } from '../../signer/signer.js'
import { estimateTxFees } from '../../txs/fees.js'
import { createChains } from '../chains.js'
import { createTokenFacts } from '../tokenFacts.js'
import { createEvmAdapter } from './adapter.js'

const devnet = useDevnet({ isolate: true })
const chains = createChains({
  extra: [{ name: 'devnet', chain: devnetChain(devnet), testnet: true, rpc: [devnet.rpcUrl] }],
  publicFallback: false,
})
afterAll(() => chains.close())
const chain = chains.resolve('devnet')
const usdc = devnet.tokens.USDC.address
const [a0, , a2] = devnet.accounts as [Address, Address, Address]
const evm = createEvmAdapter({
  tokens: createTokenFacts({}),
  signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: devnet.chainId }),
})
const native = `eip155:${devnet.chainId}/slip44:60`
const usdcId = `eip155:${devnet.chainId}/erc20:${usdc.toLowerCase()}`

const code = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (error) {
    return (error as BaseError).code
  }
  return undefined
}

describe('the EVM adapter', () => {
  it('is of the evm family and parses addresses as the tools do: EIP-55 or lowercase, checksummed out', () => {
    expect(evm.family).toBe('evm')
    expect(evm.parseAddress(a0.toLowerCase())).toBe(a0)
    expect(code(() => evm.parseAddress(`0x${a0.slice(2).toUpperCase()}`, 'to'))).toBe('INVALID_ADDRESS')
    expect(code(() => evm.parseAddress('alice.eth'))).toBe('INVALID_ADDRESS')
  })

  it('reads native and token balances with CAIP-19 ids, leaving out what is not a token', async () => {
    const balance = await evm.nativeBalance(chain, a2)
    expect(balance).toEqual({
      assetId: native,
      raw: await chain.client.getBalance({ address: a2 }),
      decimals: 18,
      symbol: 'ETH',
    })
    const tokens = await evm.tokenBalances(chain, a2, [usdc, a0])
    expect(tokens).toHaveLength(1)
    expect(tokens[0]).toMatchObject({ token: usdc, assetId: usdcId, decimals: 6, symbol: 'USDC' })
    expect(tokens[0]?.raw).toBeGreaterThan(0n)
    expect((await evm.tokenFacts(chain, usdc)).decimals).toBe(6)
  })

  it('builds a token transfer that simulates as exactly that outflow', async () => {
    const draft = await evm.buildTransfer(chain, { from: a0, to: a2, amount: 1_500_000n, token: usdc })
    expect(draft).toMatchObject({ to: usdc, value: 0n, assetId: usdcId })
    const simulation = await evm.simulate(chain, { call: { from: a0, ...draft } })
    expect(simulation.reverted).toBe(false)
    expect(simulation.deltas).toEqual([{ kind: 'erc20', token: usdc, raw: -1_500_000n, assetId: usdcId }])
  })

  it('signs, sends and tracks a native transfer; the same bytes again never make a second one', async () => {
    const draft = await evm.buildTransfer(chain, { from: a0, to: a2, amount: parseEther('0.01') })
    expect(draft).toEqual({ to: a2, data: '0x', value: parseEther('0.01'), assetId: native })
    const call = { from: a0, ...draft }
    const fees = await estimateTxFees(chain, call)
    const nonce = await chain.client.getTransactionCount({ address: a0, blockTag: 'pending' })
    const signed = await evm.sign(chain, {
      type: 'eip1559',
      chainId: chain.id,
      to: draft.to,
      data: draft.data,
      value: draft.value,
      nonce,
      ...fees,
    })
    expect(await evm.send(chain, signed)).toEqual({ kind: 'accepted' })
    const hash = keccak256(signed)
    // Accepted is not yet mined: anvil mines right after answering, so wait for the block before asking.
    await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 5 })
    const tracked = await evm.track(chain, hash)
    expect(tracked).toMatchObject({ state: 'mined', success: true })
    expect(['known', 'nonce-taken']).toContain((await evm.send(chain, signed)).kind)
    expect(await chain.client.getTransactionCount({ address: a0 })).toBe(nonce + 1)
    expect(await evm.track(chain, `0x${'ab'.repeat(32)}` as Hash)).toEqual({ state: 'unknown' })
  })

  it('refuses to sign for another chain, and says so when no wallet is configured', async () => {
    const tx = { type: 'eip1559' as const, chainId: 1, to: a2, value: 1n, nonce: 0, gas: 21_000n }
    await expect(evm.sign(chain, tx)).rejects.toMatchObject({ code: 'SIGNING_REFUSED' })
    const readOnly = createEvmAdapter({ tokens: createTokenFacts({}) })
    await expect(readOnly.sign(chain, { ...tx, chainId: chain.id })).rejects.toMatchObject({
      code: 'WALLET_NOT_CONFIGURED',
    })
  })
})
