// The asset-change simulation against the real devnet: what a write does to the wallet, as balance reads and logs
// say, on realistic block values, with the fallback and the endpoint cross-check (ADVERSARIAL 13, 17, 25–28).
import type { Server } from 'node:http'
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  erc721Abi,
  getAddress,
  type Hex,
  http,
  maxUint256,
  parseAbi,
  parseEther,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import artifacts from '../../contracts/artifacts.json' with { type: 'json' }
import { useDevnet } from '../../test/devnet.js'
import { type ProxyMode, startCountingProxy, startRewritingProxy } from '../../test/rpcProxy.js'
import { type ChainContext, createChains } from '../chains/chains.js'
import { toJson } from '../context/json.js'
import { devnetMnemonic } from '../devnet/anvil.js'
import { devnetChain } from '../devnet/devnetChain.js'
import { BaseError } from '../errors/index.js'
import { approvalAssetId, deltaAssetId } from './assetIds.js'
import { simulateWrite as simulateWithIds } from './simulate.js'
import type { ApprovalExposure, AssetDelta, Simulation, SimulationCall } from './types.js'

const devnet = useDevnet({ isolate: true })
const chain = devnetChain(devnet)
const client = createPublicClient({ chain, transport: http(devnet.rpcUrl) })
const deployer = mnemonicToAccount(devnetMnemonic, { addressIndex: 0 })
const wallet = createWalletClient({ chain, transport: http(devnet.rpcUrl), account: deployer })
const [a0, a1, a2, , , a5] = devnet.accounts as [Address, Address, Address, Address, Address, Address]
const usdc = devnet.tokens.USDC.address
const weth = devnet.tokens.WETH.address
const contracts = artifacts.contracts as unknown as Record<string, { abi: Abi; bytecode: Hex }>

/**
 * `simulateWrite`, checking that every delta and approval carries its CAIP-19 id, then returning the effects without
 * the ids: the assertions below are about what moves (the ids have their own test).
 */
async function simulateWrite(...args: Parameters<typeof simulateWithIds>): Promise<Simulation> {
  const sim = await simulateWithIds(...args)
  for (const d of sim.deltas) expect(d.assetId).toBe(deltaAssetId(args[0], d))
  for (const a of sim.approvals) expect(a.assetId).toBe(approvalAssetId(args[0], a))
  return {
    ...sim,
    deltas: sim.deltas.map(({ assetId: _, ...d }) => d as AssetDelta),
    approvals: sim.approvals.map(({ assetId: _, ...a }) => a as ApprovalExposure),
  }
}

const chainsToClose: { close(): void }[] = []
/** A ChainContext over the given endpoints, as the gateway builds it. */
function devnetContext(rpc: string[]): ChainContext {
  const chains = createChains({
    extra: [{ name: 'devnet', chain, testnet: true, rpc }],
    publicFallback: false,
  })
  chainsToClose.push(chains)
  return chains.resolve('devnet')
}

async function deploy(name: string, args: unknown[]): Promise<Address> {
  const artifact = contracts[name]
  if (!artifact) throw new Error(`no artifact ${name}`)
  const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args })
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (!receipt.contractAddress) throw new Error(`${name} was not deployed`)
  return getAddress(receipt.contractAddress)
}

const transfer = (to: Address, amount: bigint) =>
  encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] })

/** exactInputSingle on the devnet's Uniswap v3 router, paying `amountIn` in ETH for USDC to account 0. */
function swapEthForUsdc(amountIn: bigint): SimulationCall {
  const data = encodeFunctionData({
    abi: contracts.SwapRouter?.abi as Abi,
    functionName: 'exactInputSingle',
    args: [
      {
        tokenIn: weth,
        tokenOut: usdc,
        fee: 3000,
        recipient: a0,
        deadline: 2n ** 40n,
        amountIn,
        amountOutMinimum: 0n,
        sqrtPriceLimitX96: 0n,
      },
    ],
  })
  return { from: a0, to: devnet.uniswapV3.router, data, value: amountIn }
}

const servers: Server[] = []
async function proxy(mode: ProxyMode): Promise<string> {
  const { url, server } = await startRewritingProxy(devnet.rpcUrl, mode)
  servers.push(server)
  return url
}

const json = (s: Simulation) => toJson(s)

let ctx: ChainContext
let feeToken: Address
let greedy: Address
let detector: Address

beforeAll(async () => {
  ctx = devnetContext([devnet.rpcUrl])
  feeToken = await deploy('FeeOnTransferToken', [a0])
  greedy = await deploy('GreedyToken', [a0, a5])
  detector = await deploy('SimulationDetector', [])
})

afterAll(async () => {
  for (const c of chainsToClose) c.close()
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections()
          s.close(() => r())
        }),
    ),
  )
})

describe('simulateWrite on the devnet (eth_simulateV1)', () => {
  it('names every asset it shows by its CAIP-19 id', async () => {
    const transferSim = await simulateWithIds(ctx, { from: a0, to: usdc, data: transfer(a2, 1n), value: 0n })
    expect(transferSim.deltas.map((d) => d.assetId)).toEqual([
      `eip155:${devnet.chainId}/erc20:${usdc.toLowerCase()}`,
    ])
    const native = await simulateWithIds(ctx, { from: a0, to: a2, data: '0x', value: 1n })
    expect(native.deltas.map((d) => d.assetId)).toEqual([`eip155:${devnet.chainId}/slip44:60`])
    const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [a5, 7n] })
    const approval = await simulateWithIds(ctx, { from: a0, to: usdc, data: approve, value: 0n })
    expect(approval.approvals.map((a) => a.assetId)).toEqual([
      `eip155:${devnet.chainId}/erc20:${usdc.toLowerCase()}`,
    ])
  })

  it('shows a USDC transfer as the exact ERC-20 outflow, with no approval', async () => {
    const call = { from: a0, to: usdc, data: transfer(a2, 1_500_000n), value: 0n }
    const sim = await simulateWrite(ctx, call, { tokens: [usdc] })
    expect(sim.method).toBe('eth_simulateV1')
    expect(sim.reverted).toBe(false)
    expect(sim.deltas).toEqual([{ kind: 'erc20', token: usdc, raw: -1_500_000n }])
    expect(sim.approvals).toEqual([])
    expect(sim.gasUsed).toBeGreaterThan(21_000n)
    expect(sim.flags).toEqual(['single-endpoint'])
    expect(sim.blockNumber).toBe(await client.getBlockNumber({ cacheTime: 0 }))
  })

  it('shows a native send as the value only (the gas fee is not a delta)', async () => {
    const sim = await simulateWrite(ctx, { from: a0, to: a2, data: '0x', value: parseEther('1.25') })
    expect(sim.deltas).toEqual([{ kind: 'native', raw: -parseEther('1.25') }])
    expect(sim.gasUsed).toBe(21_000n)
    expect(sim.flags).toEqual(['single-endpoint'])
  })

  it('reports approve(spender, max) as an unlimited ERC-20 approval, and a revoke as none', async () => {
    const spender = devnet.uniswapV3.router
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, maxUint256] })
    const sim = await simulateWrite(ctx, { from: a0, to: usdc, data, value: 0n })
    expect(sim.approvals).toEqual([
      { kind: 'erc20', token: usdc, spender, amount: maxUint256, unlimited: true },
    ])
    expect(sim.deltas).toEqual([])

    const revoke = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, 0n] })
    expect((await simulateWrite(ctx, { from: a0, to: usdc, data: revoke, value: 0n })).approvals).toEqual([])
  })

  it('reports setApprovalForAll(operator, true) from the NFT owner as erc721-all', async () => {
    const operator = a5
    const data = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'setApprovalForAll',
      args: [operator, true],
    })
    const sim = await simulateWrite(ctx, { from: devnet.nft.owner, to: devnet.nft.address, data, value: 0n })
    expect(sim.approvals).toEqual([
      { kind: 'erc721-all', token: devnet.nft.address, spender: operator, amount: null, unlimited: true },
    ])
    expect(sim.deltas).toEqual([])
  })

  it('shows an ERC-721 transfer as −1 of that token id, not as an ERC-20 balance change', async () => {
    const data = encodeFunctionData({
      abi: erc721Abi,
      functionName: 'transferFrom',
      args: [a1, a2, 1n],
    })
    const sim = await simulateWrite(ctx, { from: a1, to: devnet.nft.address, data, value: 0n })
    expect(sim.deltas).toEqual([{ kind: 'erc721', token: devnet.nft.address, tokenId: 1n, raw: -1n }])
  })

  it('shows an ERC-1155 transfer as a signed amount of that id', async () => {
    const data = encodeFunctionData({
      abi: parseAbi(['function safeTransferFrom(address,address,uint256,uint256,bytes)']),
      functionName: 'safeTransferFrom',
      args: [a1, a2, 1n, 3n, '0x'],
    })
    const sim = await simulateWrite(ctx, { from: a1, to: devnet.erc1155.address, data, value: 0n })
    expect(sim.deltas).toEqual([{ kind: 'erc1155', token: devnet.erc1155.address, tokenId: 1n, raw: -3n }])
  })

  it('reports a revert with its decoded, sanitized reason (USDC transfer above the balance)', async () => {
    const call = { from: a0, to: usdc, data: transfer(a2, 10n ** 30n), value: 0n }
    const sim = await simulateWrite(ctx, call, { tokens: [usdc] })
    expect(sim.reverted).toBe(true)
    expect(sim.revertReason).toBe('custom error 0xe450d38c (ERC20InsufficientBalance)')
    expect(sim.deltas).toEqual([])
  })

  it('reports a wallet that cannot pay for value and gas as a failed simulation', async () => {
    const sim = await simulateWrite(ctx, { from: a2, to: a0, data: '0x', value: parseEther('1000000') })
    expect(sim.reverted).toBe(true)
    expect(sim.revertReason).toMatch(/insufficient funds/i)
  })

  it('fee-on-transfer: the sender loses the full amount though the log shows less, and a flag says so', async () => {
    const sim = await simulateWrite(ctx, {
      from: a0,
      to: feeToken,
      data: transfer(a2, 1_000_000n),
      value: 0n,
    })
    expect(sim.deltas).toEqual([
      { kind: 'erc20', token: feeToken, raw: -1_000_000n, fromLogs: -980_000n, fromBalance: -1_000_000n },
    ])
    expect(sim.flags).toContain(`balance-differs-from-logs:${feeToken}`)
  })

  it('GreedyToken: the balance shows twice the logged outflow (ADVERSARIAL 25/26)', async () => {
    const amount = parseEther('10')
    const sim = await simulateWrite(ctx, { from: a0, to: greedy, data: transfer(a2, amount), value: 0n })
    expect(sim.deltas).toEqual([
      { kind: 'erc20', token: greedy, raw: -2n * amount, fromLogs: -amount, fromBalance: -2n * amount },
    ])
    expect(sim.flags).toContain(`balance-differs-from-logs:${greedy}`)
  })

  it('SimulationDetector does in the simulation what it does when mined (ADVERSARIAL 28)', async () => {
    const data = encodeFunctionData({
      abi: parseAbi(['function deposit() payable']),
      functionName: 'deposit',
    })
    const value = parseEther('2')
    const sim = await simulateWrite(ctx, { from: a1, to: detector, data, value })
    expect(sim.flags).toEqual(['single-endpoint'])
    // The simulated block carries the values of the real next one (this devnet's blocks name the zero address as
    // fee recipient; the base fee and prevRandao are not zero): whatever the detector decides there, it decides
    // the same when mined.
    const sender = createWalletClient({
      chain,
      transport: http(devnet.rpcUrl),
      account: mnemonicToAccount(devnetMnemonic, { addressIndex: 1 }),
    })
    const before = await client.getBalance({ address: a1 })
    const hash = await sender.sendTransaction({ to: detector, data, value })
    const receipt = await client.waitForTransactionReceipt({ hash })
    const after = await client.getBalance({ address: a1 })
    const moved = after - before + receipt.gasUsed * receipt.effectiveGasPrice
    expect(sim.deltas).toEqual(moved === 0n ? [] : [{ kind: 'native', raw: moved }])
  })

  it('a token call that also sends native value shows both deltas (ADVERSARIAL 13)', async () => {
    const data = encodeFunctionData({
      abi: parseAbi(['function deposit() payable']),
      functionName: 'deposit',
    })
    const sim = await simulateWrite(ctx, { from: a0, to: weth, data, value: parseEther('3') })
    expect(sim.deltas).toEqual([
      { kind: 'native', raw: -parseEther('3') },
      // WETH9 logs a Deposit, not a Transfer: the balance read catches what the logs do not say.
      { kind: 'erc20', token: weth, raw: parseEther('3'), fromLogs: 0n, fromBalance: parseEther('3') },
    ])
  })

  it('finds a token the call did not name through its logs (second round): an ETH → USDC swap', async () => {
    const sim = await simulateWrite(ctx, swapEthForUsdc(parseEther('0.1')))
    expect(sim.reverted).toBe(false)
    expect(sim.deltas[0]).toEqual({ kind: 'native', raw: -parseEther('0.1') })
    const received = sim.deltas.find((d) => d.kind === 'erc20' && d.token === usdc)
    expect(received?.raw).toBeGreaterThan(200_000_000n) // ~300 USDC for 0.1 ETH at ~3000
    expect(received).not.toHaveProperty('fromLogs')
  })

  it('the simulation result is plain data (bigints as strings in JSON)', async () => {
    const sim = await simulateWrite(ctx, { from: a0, to: a2, data: '0x', value: 1n })
    expect(json(sim)).toMatchObject({ method: 'eth_simulateV1', deltas: [{ kind: 'native', raw: '-1' }] })
  })

  it('changes nothing on chain', async () => {
    const block = await client.getBlockNumber({ cacheTime: 0 })
    const usdcBefore = await client.readContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [a0],
    })
    const ethBefore = await client.getBalance({ address: a0 })
    await simulateWrite(ctx, { from: a0, to: usdc, data: transfer(a2, 5n), value: 0n }, { tokens: [usdc] })
    await simulateWrite(ctx, { from: a0, to: a2, data: '0x', value: 7n })
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(block)
    expect(
      await client.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [a0] }),
    ).toBe(usdcBefore)
    expect(await client.getBalance({ address: a0 })).toBe(ethBefore)
  })

  it('pins to a given block number', async () => {
    const latest = await client.getBlockNumber({ cacheTime: 0 })
    const sim = await simulateWrite(
      ctx,
      { from: a0, to: a2, data: '0x', value: 1n },
      { blockNumber: latest - 1n },
    )
    expect(sim.blockNumber).toBe(latest - 1n)
    expect(sim.deltas).toEqual([{ kind: 'native', raw: -1n }])
  })

  it('costs one block read and one round trip of two eth_simulateV1 requests (reads before; the transaction and reads after); another only for what the logs reveal', async () => {
    const counting = await startCountingProxy(devnet.rpcUrl)
    try {
      const counted = devnetContext([counting.url])
      await counted.client.getChainId()
      counting.reset()
      await simulateWrite(
        counted,
        { from: a0, to: usdc, data: transfer(a2, 1n), value: 0n },
        { tokens: [usdc] },
      )
      expect(Object.fromEntries(counting.calls)).toEqual({
        eth_getBlockByNumber: 1,
        eth_getBalance: 1,
        eth_simulateV1: 2,
      })
      // The approval's prior state is read in the same round: approve's calldata names the spender.
      counting.reset()
      const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [a5, 5n] })
      const approved = await simulateWrite(counted, { from: a0, to: usdc, data: approve, value: 0n })
      expect(approved.approvals).toHaveLength(1)
      expect(counting.total('eth_simulateV1')).toBe(2)
      // A swap paying out a token nobody named: its balance is read in a second round.
      counting.reset()
      const swap = await simulateWrite(counted, swapEthForUsdc(parseEther('0.01')))
      expect(swap.deltas.some((d) => d.kind === 'erc20' && d.token === usdc)).toBe(true)
      expect(counting.total('eth_simulateV1')).toBe(4)
    } finally {
      await counting.close()
    }
  })

  it('takes about a millisecond or two per simulation (median of 50)', async () => {
    const call = { from: a0, to: usdc, data: transfer(a2, 1n), value: 0n }
    for (let i = 0; i < 5; i++) await simulateWrite(ctx, call, { tokens: [usdc] })
    const times: number[] = []
    for (let i = 0; i < 50; i++) {
      const start = performance.now()
      await simulateWrite(ctx, call, { tokens: [usdc] })
      times.push(performance.now() - start)
    }
    times.sort((x, y) => x - y)
    // Generous bound for a loaded CI machine; the budget of a whole guarded transfer is 40 ms.
    expect(times[25]).toBeLessThan(20)
  })
})

describe('simulateWrite without eth_simulateV1', () => {
  it('falls back to eth_call + debug_traceCall: deltas from logs, reverts still found', async () => {
    const fallback = devnetContext([await proxy('no-simulate')])
    const ok = await simulateWrite(fallback, {
      from: a0,
      to: usdc,
      data: transfer(a2, 1_500_000n),
      value: 0n,
    } satisfies SimulationCall)
    expect(ok.method).toBe('eth_call+debug_traceCall')
    expect(ok.reverted).toBe(false)
    expect(ok.deltas).toEqual([{ kind: 'erc20', token: usdc, raw: -1_500_000n }])
    expect(ok.flags).toContain('deltas-from-logs')

    const native = await simulateWrite(fallback, { from: a0, to: a2, data: '0x', value: 9n })
    expect(native.deltas).toEqual([{ kind: 'native', raw: -9n }])

    const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [a5, maxUint256] })
    const approval = await simulateWrite(fallback, { from: a0, to: usdc, data: approve, value: 0n })
    expect(approval.approvals).toEqual([
      { kind: 'erc20', token: usdc, spender: a5, amount: maxUint256, unlimited: true },
    ])

    const bad = await simulateWrite(fallback, {
      from: a0,
      to: usdc,
      data: transfer(a2, 10n ** 30n),
      value: 0n,
    })
    expect(bad.method).toBe('eth_call+debug_traceCall')
    expect(bad.reverted).toBe(true)
    expect(bad.revertReason).toBe('custom error 0xe450d38c (ERC20InsufficientBalance)')
  })

  it('throws SIMULATION_UNAVAILABLE when the endpoint offers neither method', async () => {
    const none = devnetContext([await proxy('nothing')])
    const error = await simulateWrite(none, { from: a0, to: a2, data: '0x', value: 1n }).catch((e) => e)
    expect(error).toBeInstanceOf(BaseError)
    expect(error.code).toBe('SIMULATION_UNAVAILABLE')
    expect(error.shortMessage).toMatch(/neither eth_simulateV1 nor eth_call with debug_traceCall/)
  })
})

describe('simulateWrite with two endpoints (ADVERSARIAL 17)', () => {
  it('agrees when both endpoints tell the same story', async () => {
    const both = devnetContext([devnet.rpcUrl, await proxy('pass')])
    const sim = await simulateWrite(
      both,
      { from: a0, to: usdc, data: transfer(a2, 7n), value: 0n },
      { tokens: [usdc] },
    )
    expect(sim.method).toBe('eth_simulateV1')
    expect(sim.deltas).toEqual([{ kind: 'erc20', token: usdc, raw: -7n }])
    expect(sim.flags).toContain('endpoints-agree')
  })

  it('throws ENDPOINT_DISAGREEMENT naming the chain, never an endpoint URL', async () => {
    const liar = await proxy('tamper')
    const both = devnetContext([devnet.rpcUrl, liar])
    const error = await simulateWrite(
      both,
      { from: a0, to: usdc, data: transfer(a2, 7n), value: 0n },
      {
        tokens: [usdc],
      },
    ).catch((e) => e)
    expect(error).toBeInstanceOf(BaseError)
    expect(error.code).toBe('ENDPOINT_DISAGREEMENT')
    expect(error.message).toContain('"devnet"')
    expect(error.message).not.toContain('127.0.0.1')
    expect(JSON.stringify(error.toJSON())).not.toContain('127.0.0.1')
  })
})
