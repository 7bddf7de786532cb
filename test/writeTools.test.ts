import { createPublicClient, erc20Abi, http, parseEther, parseUnits, verifyTypedData } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { createSigner } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'
import { allowAll } from './policies.js'
import { usdcPermit } from './typedData.js'

// Every write this file makes is reverted after it (snapshot), so other files on this worker see the fixtures.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const weth = fixtures.tokens.WETH.address
let store: Store
let mcp: Awaited<ReturnType<typeof connectInMemory>>
let wallet: `0x${string}`

const usdcOf = (address: `0x${string}`) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] })

beforeAll(async () => {
  store = await openMemoryStore()
  const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  wallet = signer.address
  // Tests never reach the internet: base points at a closed local port.
  mcp = await connectInMemory({
    config: { policy: allowAll },
    devnet: fixtures,
    env: { AIRLOCK_RPC_BASE: 'http://127.0.0.1:1' },
    writes: { store, signer, trackerIntervalMs: 100 },
  })
})
afterAll(async () => {
  await mcp.close()
  await store.close()
})

describe('transfer', () => {
  it('sends native ETH, waits for the receipt, and the recipient gets exactly the amount', async () => {
    const to = fixtures.accounts[5]!
    const before = await viem.getBalance({ address: to })
    const out = ok(await mcp.call('transfer', { chain: 'devnet', to, amount: '1.5', wait: true }))
    expect(out).toMatchObject({ status: 'mined', operation: 'transfer', from: wallet })
    expect(out.receipt.status).toBe('success')
    expect(out.summary).toMatch(/Send 1\.5 ETH/)
    expect((await viem.getBalance({ address: to })) - before).toBe(parseEther('1.5'))
    const again = ok(await mcp.call('get_intent', { intentId: out.intentId }))
    expect(again).toMatchObject({ status: 'mined', txHash: out.txHash, nonce: out.nonce })
  })

  it('sends USDC to an ENS name and shows both the name and the address', async () => {
    const before = await usdcOf(fixtures.ens['alice.eth'])
    const out = ok(
      await mcp.call('transfer', {
        chain: 'devnet',
        to: 'alice.eth',
        amount: '2.5',
        token: usdc,
        wait: true,
      }),
    )
    expect(out.details).toMatchObject({
      ens: 'alice.eth',
      to: fixtures.ens['alice.eth'],
      amount: { raw: '2500000' },
    })
    expect(out.summary).toMatch(/alice\.eth \(0x/)
    expect((await usdcOf(fixtures.ens['alice.eth'])) - before).toBe(2_500_000n)
  })

  it('refuses recipients that are always a mistake, and amounts it cannot represent (ADVERSARIAL 4, 8, 9, 11)', async () => {
    const nonce = await viem.getTransactionCount({ address: wallet })
    const cases: [Record<string, unknown>, string][] = [
      [{ to: '0x0000000000000000000000000000000000000000', amount: '1' }, 'POLICY_DENIED'],
      [{ to: wallet, amount: '1' }, 'POLICY_DENIED'],
      [{ to: usdc, amount: '1', token: usdc }, 'POLICY_DENIED'],
      [{ to: fixtures.accounts[5], amount: '0.0000001', token: usdc }, 'INVALID_AMOUNT'],
      [{ to: fixtures.accounts[5], amount: (2n ** 256n).toString() }, 'INVALID_AMOUNT'],
      [{ to: fixtures.accounts[5], amount: '1e18' }, 'INVALID_AMOUNT'],
      [{ to: fixtures.accounts[5], amount: 1 }, 'INVALID_AMOUNT'],
      [{ to: fixtures.accounts[5], amount: '0' }, 'INVALID_AMOUNT'],
      [{ to: 'nobody-here.eth', amount: '1' }, 'NOT_FOUND'],
    ]
    for (const [args, code] of cases)
      expect(err(await mcp.call('transfer', { chain: 'devnet', ...args })).code, JSON.stringify(args)).toBe(
        code,
      )
    expect(await viem.getTransactionCount({ address: wallet })).toBe(nonce) // nothing was signed
  })

  it('a write the chain cannot simulate is refused and recorded as failed, nothing signed', async () => {
    // base points at a closed local port: no simulation, no fees, so nothing can be decided or signed.
    const out = err(await mcp.call('transfer', { chain: 'base', to: fixtures.accounts[5], amount: '1' }))
    expect(out.code).toBe('RPC_UNAVAILABLE')
    expect(out.hints?.join(' ')).toMatch(/recorded as failed/)
  })
})

describe('fee caps', () => {
  it('refuses a write when the chain’s fees are above the configured cap, signing nothing', async () => {
    const capped = await connectInMemory({
      config: { chains: { devnet: { maxFeePerGasGwei: 0.000001 } }, policy: allowAll },
      devnet: fixtures,
      writes: {
        store,
        signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId }),
      },
    })
    try {
      const nonce = await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })
      const out = err(
        await capped.call('transfer', { chain: 'devnet', to: fixtures.accounts[5], amount: '1' }),
      )
      expect(out.code).toBe('FEE_CAP_EXCEEDED')
      expect(out.message).toMatch(/above the configured cap/)
      expect(await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })).toBe(nonce)
    } finally {
      await capped.close()
    }
  })
})

describe('unsigned mode', () => {
  it('returns a fully formed unsigned EIP-1559 transaction and sends nothing', async () => {
    const nonce = await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })
    const out = ok(
      await mcp.call('transfer', {
        chain: 'devnet',
        to: fixtures.accounts[6],
        amount: '3',
        token: usdc,
        mode: 'unsigned',
      }),
    )
    expect(out.status).toBe('completed')
    expect(out.unsignedTransaction).toMatchObject({
      type: 'eip1559',
      chainId: fixtures.chainId,
      from: wallet,
      to: usdc,
      nonce,
    })
    expect(out.unsignedTransaction.serialized).toMatch(/^0x02/)
    expect(BigInt(out.unsignedTransaction.gas)).toBeGreaterThan(21_000n)
    expect(await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })).toBe(nonce)
  })

  it('works on chains without guardrails too, since it signs nothing', async () => {
    // base has no reachable endpoint in tests: the unsigned path gets past the devnet-only guard and fails on RPC.
    const out = err(
      await mcp.call('transfer', { chain: 'base', to: fixtures.accounts[5], amount: '1', mode: 'unsigned' }),
    )
    expect(out.code).not.toBe('POLICY_DENIED')
  })
})

describe('idempotency (ADVERSARIAL 35)', () => {
  it('the same key sent twice, even concurrently, makes one intent and one transaction', async () => {
    const nonce = await viem.getTransactionCount({ address: wallet })
    const args = {
      chain: 'devnet',
      to: fixtures.accounts[7],
      amount: '0.25',
      idempotencyKey: 'pay-7-once',
      wait: true,
    }
    const [a, b] = await Promise.all([mcp.call('transfer', args), mcp.call('transfer', args)])
    expect(ok(a).intentId).toBe(ok(b).intentId)
    const c = ok(await mcp.call('transfer', args))
    expect(c.intentId).toBe(ok(a).intentId)
    expect(await viem.getTransactionCount({ address: wallet })).toBe(nonce + 1)
    expect(err(await mcp.call('transfer', { ...args, amount: '0.5' })).code).toBe('CONFLICT')
  })
})

describe('approve, swap, write_contract', () => {
  it('approves the router, swaps USDC for WETH within slippage, and wraps ETH', async () => {
    const router = fixtures.uniswapV3.router
    expect(
      err(await mcp.call('swap', { chain: 'devnet', tokenIn: usdc, tokenOut: weth, amountIn: '300' })).code,
    ).toBe('PRECONDITION_FAILED')
    const approved = ok(
      await mcp.call('approve', { chain: 'devnet', token: usdc, spender: router, amount: '300', wait: true }),
    )
    expect(approved.status).toBe('mined')
    const wethBefore = await viem.readContract({
      address: weth,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [wallet],
    })
    const swapped = ok(
      await mcp.call('swap', {
        chain: 'devnet',
        tokenIn: usdc,
        tokenOut: weth,
        amountIn: '300',
        maxSlippageBps: 100,
        wait: true,
      }),
    )
    expect(swapped).toMatchObject({ status: 'mined', receipt: { status: 'success' } })
    const got =
      (await viem.readContract({ address: weth, abi: erc20Abi, functionName: 'balanceOf', args: [wallet] })) -
      wethBefore
    expect(got).toBeGreaterThanOrEqual(BigInt(swapped.details.minimumOut.raw))
    expect(got).toBeGreaterThan(parseUnits('0.09', 18)) // ~0.1 WETH for 300 USDC at ~3000
    const wrapped = ok(
      await mcp.call('write_contract', {
        chain: 'devnet',
        address: weth,
        function: 'deposit() payable',
        value: '0.5',
        wait: true,
      }),
    )
    expect(wrapped.receipt.status).toBe('success')
    const revoked = ok(
      await mcp.call('approve', { chain: 'devnet', token: usdc, spender: router, amount: '0', wait: true }),
    )
    expect(revoked.details.revoke).toBe(true)
  })
})

describe('sign_typed_data', () => {
  const permit = (chainId: number) =>
    usdcPermit({ chainId, token: usdc, owner: wallet, spender: fixtures.accounts[4]!, value: '1000000' })

  it('signs EIP-712 data whose domain names this chain, as an intent', async () => {
    const typedData = permit(fixtures.chainId)
    const out = ok(await mcp.call('sign_typed_data', { chain: 'devnet', typedData }))
    expect(out.status).toBe('completed')
    const valid = await verifyTypedData({
      address: wallet,
      domain: typedData.domain,
      types: typedData.types,
      primaryType: 'Permit',
      message: { ...typedData.message, value: 1000000n, nonce: 0n, deadline: 9999999999n },
      signature: out.signature,
    })
    expect(valid).toBe(true)
  })

  it('refuses a domain for another chain (ADVERSARIAL 29)', async () => {
    expect(err(await mcp.call('sign_typed_data', { chain: 'devnet', typedData: permit(1) })).code).toBe(
      'SIGNING_REFUSED',
    )
  })
})

describe('concurrency (ADVERSARIAL 33)', () => {
  it('50 concurrent transfers get consecutive nonces, no gap, no duplicate, all mined', async () => {
    const start = await viem.getTransactionCount({ address: wallet, blockTag: 'pending' })
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mcp.call('transfer', {
          chain: 'devnet',
          to: fixtures.accounts[8],
          amount: `0.00${i + 1}`,
          wait: true,
        }),
      ),
    )
    const nonces = results.map((r) => ok(r).nonce as number).sort((a, b) => a - b)
    expect(nonces).toEqual(Array.from({ length: 50 }, (_, i) => start + i))
    for (const r of results) expect(ok(r).status).toBe('mined')
    expect(await viem.getTransactionCount({ address: wallet })).toBe(start + 50)
  })
})

describe('speed-up and cancel (ADVERSARIAL 36)', () => {
  it('replaces a pending transaction; the original ends replaced, the replacement mined', async () => {
    await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_setAutomine', params: [false] }])
    try {
      const sent = ok(
        await mcp.call('transfer', { chain: 'devnet', to: fixtures.accounts[9], amount: '0.1' }),
      )
      expect(sent.status).toBe('broadcast')
      const faster = ok(await mcp.call('speed_up_intent', { intentId: sent.intentId, feeBumpPercent: 20 }))
      expect(faster).toMatchObject({ status: 'broadcast', nonce: sent.nonce, operation: 'speed_up_intent' })
      await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_mine' }])
      const replacement = ok(await mcp.call('get_intent', { intentId: faster.intentId }))
      expect(replacement.status).toBe('mined')
      const original = ok(await mcp.call('get_intent', { intentId: sent.intentId }))
      expect(original.status).toBe('replaced')

      const second = ok(
        await mcp.call('transfer', { chain: 'devnet', to: fixtures.accounts[9], amount: '0.2' }),
      )
      const cancel = ok(await mcp.call('cancel_intent', { intentId: second.intentId }))
      expect(cancel).toMatchObject({ operation: 'cancel_intent', nonce: second.nonce })
      await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_mine' }])
      expect(ok(await mcp.call('get_intent', { intentId: second.intentId })).status).toBe('replaced')
      expect(err(await mcp.call('cancel_intent', { intentId: second.intentId })).code).toBe('CONFLICT')
    } finally {
      await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_setAutomine', params: [true] }])
    }
  })

  it('a reorg that removes a mined transaction sends the intent back to broadcast, then it mines again once', async () => {
    const [snapshot] = (await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_snapshot' }])) as [string]
    const to = fixtures.accounts[9]!
    const before = await viem.getBalance({ address: to })
    const mined = ok(await mcp.call('transfer', { chain: 'devnet', to, amount: '0.3', wait: true }))
    expect(mined.status).toBe('mined')
    await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_revert', params: [snapshot] }]) // the block is gone
    expect(await viem.getBalance({ address: to })).toBe(before)
    const after = ok(await mcp.call('get_intent', { intentId: mined.intentId }))
    expect(after.status).toBe('broadcast')
    // The transaction is back in the pool or gone from it: either way the intent settles without a new signature.
    let again = after
    for (let i = 0; i < 3 && again.status !== 'mined'; i++) {
      await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_mine' }])
      again = ok(await mcp.call('get_intent', { intentId: mined.intentId }))
    }
    expect(again.status).toBe('mined')
    expect(again.txHash).toBe(mined.txHash) // the same signed bytes: one transfer, not two
    expect((await viem.getBalance({ address: to })) - before).toBe(parseEther('0.3'))
  })

  it('lists the wallet’s intents, newest first', async () => {
    const { intents } = ok(await mcp.call('list_intents', { chain: 'devnet', limit: 5 }))
    expect(intents).toHaveLength(5)
    expect(intents[0].operation).toMatch(/cancel_intent|transfer/)
  })
})
