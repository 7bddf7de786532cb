import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient, createWalletClient, erc20Abi, type Hash, http, parseUnits } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import { createChains } from '../chains/chains.js'
import { devnetMnemonic } from '../devnet/anvil.js'
import { devnetChain } from '../devnet/devnetChain.js'
import { readReceiptEffects } from './receiptEffects.js'

const devnet = useDevnet({ isolate: true })
const closers: (() => unknown)[] = []
afterAll(async () => {
  for (const close of closers) await close()
})

/**
 * A proxy that answers the first `lies` balanceOf reads at block `at` with 1,000 less than the node holds (a node
 * answering a historical read from other state), and forwards everything else.
 */
async function lyingProxy(target: string, at: bigint, lies: number) {
  let told = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      id: number
      method: string
      params: [{ data?: string }, string]
    }
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const answer = (await upstream.json()) as { result?: string }
    const lie =
      body.method === 'eth_call' &&
      body.params[0].data?.startsWith('0x70a08231') &&
      BigInt(body.params[1]) === at &&
      told < lies
    if (lie && answer.result) {
      told++
      answer.result = `0x${(BigInt(answer.result) - parseUnits('1000', 6)).toString(16).padStart(64, '0')}`
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise<void>((r) => server.close(() => r())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('receipt effects', () => {
  it('balances that a node answers inconsistently are not attributed; ones read the same twice are', async () => {
    const f = devnet
    const chain = devnetChain(f)
    const account = mnemonicToAccount(devnetMnemonic, { addressIndex: 1 })
    const wallet = createWalletClient({ account, chain, transport: http(f.rpcUrl) })
    const reader = createPublicClient({ chain, transport: http(f.rpcUrl) })
    const usdc = f.tokens.USDC.address
    const hash: Hash = await wallet.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [f.accounts[2]!, parseUnits('1', 6)],
    })
    const { blockNumber } = await reader.waitForTransactionReceipt({ hash })
    const context = (rpc: string) => {
      const chains = createChains({
        extra: [{ name: 'devnet', chain, testnet: true, rpc: [rpc] }],
        publicFallback: false,
      })
      closers.push(() => chains.close())
      return chains.resolve('devnet')
    }
    const read = (rpc: string) =>
      readReceiptEffects(context(rpc), { hash, wallet: account.address, value: 0n, tokens: [usdc] })
    const outflow = (effects: Awaited<ReturnType<typeof read>>) =>
      effects.deltas.find((d) => d.kind === 'erc20')?.raw

    // Honest: read around the block, attributed; the logs and the balances agree.
    const honest = await read(f.rpcUrl)
    expect(honest.balancesRead).toBe(true)
    expect(outflow(honest)).toBe(-parseUnits('1', 6))
    // One lie at the block (1,000 more seem to leave): the second read disagrees, so the balances do not count and
    // the write shows what its logs show, not a 1,001 USDC outflow.
    const once = await read(await lyingProxy(f.rpcUrl, blockNumber, 1))
    expect(once.balancesRead).toBe(false)
    expect(outflow(once)).toBe(-parseUnits('1', 6))
    // A node that says the same twice is believed: the larger outflow counts (a real excess is never dropped).
    const always = await read(await lyingProxy(f.rpcUrl, blockNumber, 100))
    expect(always.balancesRead).toBe(true)
    expect(outflow(always)).toBe(-parseUnits('1001', 6))
  })
})
