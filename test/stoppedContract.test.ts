import { type Address, createPublicClient, erc20Abi, http, parseEther, parseUnits } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'
import { allowAll } from './policies.js'

// The kill switch for one contract on one chain (DESIGN §11, issue 10) through the real pipeline: an MCP client,
// the devnet, a policy that would allow the write. Outcomes are asserted on chain.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const [, alice] = fixtures.accounts as [Address, Address]

let signer: Signer
let store: Store

beforeAll(async () => {
  signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  store = await openMemoryStore()
})
afterAll(async () => {
  await store?.close()
})

const usdcOf = (address: Address) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] })

describe('a contract stopped on its own', () => {
  it('refuses writes that touch it and signs nothing, lets others through, and works again once released', async () => {
    const g = await connectInMemory({
      config: { policy: allowAll as unknown as Record<string, unknown>, rpc: { publicFallback: false } },
      devnet: fixtures,
      writes: { store, signer, trackerIntervalMs: 100, maintainIntervalMs: 100 },
    })
    try {
      await g.gateway.ready
      const operator = (await g.gateway.operator)!
      await operator.killSwitch.stopContract(
        fixtures.chainId,
        usdc,
        'moved more than was checked',
        'airlock (automatic)',
      )
      const before = {
        wallet: await usdcOf(signer.address),
        alice: await usdcOf(alice),
        nonce: await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' }),
      }

      const refused = err(
        await g.call('transfer', { chain: 'devnet', to: alice, amount: '10', token: usdc, wait: true }),
      )
      expect(refused.code).toBe('KILL_SWITCH_ENGAGED')
      expect(refused.message).toContain(
        `Contract ${usdc.toLowerCase()} on devnet (chain ${fixtures.chainId})`,
      )
      expect(refused.message).toContain('moved more than was checked')
      const hints = (refused.hints ?? []).join('\n')
      expect(hints).toContain(`airlock unkill --contract ${fixtures.chainId}:${usdc.toLowerCase()}`)
      expect(hints).toMatch(/recorded as cancelled; nothing was signed/)
      expect(await usdcOf(signer.address)).toBe(before.wallet)
      expect(await usdcOf(alice)).toBe(before.alice)
      expect(await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })).toBe(
        before.nonce,
      )
      // The gateway as a whole is not stopped: a native transfer goes through.
      expect((await operator.killSwitch.state()).engaged).toBe(false)
      const aliceEth = await viem.getBalance({ address: alice })
      const native = ok(await g.call('transfer', { chain: 'devnet', to: alice, amount: '0.01', wait: true }))
      expect(native.status).toBe('mined')
      expect(await viem.getBalance({ address: alice })).toBe(aliceEth + parseEther('0.01'))

      // A stopped contract as the spender of an approval on another contract is refused too.
      const router = fixtures.uniswapV3.router
      await operator.killSwitch.stopContract(fixtures.chainId, router, 'router misbehaved', 'operator')
      await operator.killSwitch.releaseContract(fixtures.chainId, usdc, 'operator')
      const allowance = () =>
        viem.readContract({
          address: usdc,
          abi: erc20Abi,
          functionName: 'allowance',
          args: [signer.address, router],
        })
      const allowed = await allowance()
      const approval = err(
        await g.call('approve', { chain: 'devnet', token: usdc, spender: router, amount: '5' }),
      )
      expect(approval.code).toBe('KILL_SWITCH_ENGAGED')
      expect(approval.message).toContain(`Contract ${router.toLowerCase()}`)
      expect(await allowance()).toBe(allowed)
      await operator.killSwitch.releaseContract(fixtures.chainId, router, 'operator')
      const sent = ok(
        await g.call('transfer', { chain: 'devnet', to: alice, amount: '10', token: usdc, wait: true }),
      )
      expect(sent.status).toBe('mined')
      expect(await usdcOf(alice)).toBe(before.alice + parseUnits('10', fixtures.tokens.USDC.decimals))

      const kinds = (await operator.audit.read({ newestFirst: true, limit: 50 })).map((e) => e.kind)
      expect(kinds).toContain('kill_switch.contract_stopped')
      expect(kinds).toContain('kill_switch.contract_released')
    } finally {
      await g.close()
    }
  }, 120_000)
})
