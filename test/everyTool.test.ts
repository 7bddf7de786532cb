import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { serveStdio } from '@modelcontextprotocol/server/stdio'
import { createPublicClient, createWalletClient, http as viemHttp } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { type HttpServer, startHttpServer } from '../src/server/http.js'
import { approvalCodec, createMcpServerFactory } from '../src/server/mcpServer.js'
import { createSigner } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { type CallToolResult, connectLegacyInMemory, modernRevision } from './mcp.js'
import { usdcPermit } from './typedData.js'

// Every tool, through each way in: a 2026-07-28 client and a 2025-era client, over HTTP (a real port) and over a
// stdio-style connection (serveStdio's era selection for the modern client; a pinned 2025-era connection for the
// old one). Each tool answers a result its client validated against the tool's outputSchema.
const fixtures = useDevnet({ isolate: true })
let store: Store
let gateway: Gateway
let http: HttpServer
/** A transaction mined on the devnet before the tests, for get_transaction. */
let minedTx: `0x${string}`

beforeAll(async () => {
  store = await openMemoryStore()
  gateway = createGateway({
    config: { rpc: { publicFallback: false } },
    devnet: fixtures,
    writes: {
      store,
      signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId }),
      trackerIntervalMs: 100,
    },
  })
  await gateway.ready
  http = await startHttpServer({ gateway, port: 0 })
  const chain = devnetChain(fixtures)
  const wallet = createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: 5 }),
    chain,
    transport: viemHttp(fixtures.rpcUrl),
  })
  minedTx = await wallet.sendTransaction({ to: fixtures.accounts[6] as `0x${string}`, value: 1n })
  await createPublicClient({ chain, transport: viemHttp(fixtures.rpcUrl) }).waitForTransactionReceipt({
    hash: minedTx,
  })
})
afterAll(async () => {
  await http.close()
  await gateway.close()
  await store.close()
})

type Call = (name: string, args: Record<string, unknown>) => Promise<CallToolResult>

/** Calls every tool once; returns each tool's outcome: `ok` or its error code. */
async function everyTool(call: Call): Promise<Record<string, string>> {
  const f = fixtures
  const [owner, alice, bob] = f.accounts as [`0x${string}`, `0x${string}`, `0x${string}`]
  const usdc = f.tokens.USDC.address
  const weth = f.tokens.WETH.address
  const outcome: Record<string, string> = {}
  let last: Record<string, unknown> | undefined
  const run = async (name: string, args: Record<string, unknown>) => {
    const result = await call(name, args)
    last = result.structuredContent
    outcome[name] = result.isError
      ? JSON.parse((result.content[0] as { text: string }).text).error.code
      : 'ok'
  }
  await run('list_chains', {})
  await run('get_balance', { chain: 'devnet', address: alice })
  await run('get_token_balances', { chain: 'devnet', address: alice })
  await run('get_portfolio', { address: alice, chains: ['devnet'] })
  await run('get_token_info', { chain: 'devnet', token: usdc })
  await run('get_allowance', { chain: 'devnet', token: usdc, owner, spender: bob })
  await run('read_contract', {
    chain: 'devnet',
    address: usdc,
    function: 'balanceOf(address) returns (uint256)',
    args: [alice],
  })
  await run('multicall', {
    chain: 'devnet',
    calls: [{ address: usdc, function: 'decimals() returns (uint8)' }],
  })
  await run('get_nft', { chain: 'devnet', contract: f.nft.address, tokenId: '1' })
  await run('resolve_ens', { name: 'alice.eth', chain: 'devnet' })
  await run('lookup_ens', { address: f.ens['bob.eth'], chain: 'devnet' })
  await run('get_block', { chain: 'devnet' })
  await run('get_transaction', { chain: 'devnet', hash: minedTx })
  await run('estimate_fees', { chain: 'devnet' })
  await run('quote_swap', { chain: 'devnet', tokenIn: weth, tokenOut: usdc, amountIn: '1' })
  await run('get_price', { chain: 'devnet', pair: 'ETH/USD' })
  await run('whoami', {})
  await run('get_limits', { chain: 'devnet' })
  await run('simulate', { tool: 'transfer', arguments: { chain: 'devnet', to: alice, amount: '0.001' } })
  await run('transfer', { chain: 'devnet', to: alice, amount: '0.001' })
  const sent = last as { intentId: string }
  await run('get_intent', { intentId: sent.intentId })
  await run('list_intents', { limit: 5 })
  await run('speed_up_intent', { intentId: sent.intentId, feeBumpPercent: 20 })
  await run('cancel_intent', { intentId: sent.intentId })
  await run('approve', { chain: 'devnet', token: usdc, spender: f.uniswapV3.router, amount: '1' })
  await run('swap', { chain: 'devnet', tokenIn: usdc, tokenOut: weth, amountIn: '1' })
  await run('write_contract', {
    chain: 'devnet',
    address: weth,
    function: 'deposit() payable',
    value: '0.001',
  })
  await run('sign_typed_data', {
    chain: 'devnet',
    typedData: usdcPermit({ chainId: f.chainId, token: usdc, owner, spender: bob, value: '1' }),
  })
  // No x402 server here, and the demo policy has no `pay` rule: refused before any request
  // (test/fetchWithPayment.test.ts buys from a local x402 server under a policy that allows it).
  await run('fetch_with_payment', { url: 'https://127.0.0.1/report', chain: 'devnet', maxAmount: '0.01' })
  // A standing order within the demo policy (a $100 budget; swaps through the router), then read and cancelled.
  await run('create_standing_order', {
    chain: 'devnet',
    trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
    action: {
      kind: 'rebalance',
      weights: [
        { token: 'WETH', percent: '50' },
        { token: 'WBTC', percent: '50' },
      ],
    },
    budgetUsd: '100',
  })
  const { orderId } = last as { orderId: string }
  await run('list_standing_orders', {})
  await run('get_standing_order', { orderId })
  await run('cancel_standing_order', { orderId })
  return outcome
}

/** What each tool may answer on the demo policy: a result, or a clear refusal the model can act on. */
function expectEveryToolAnswered(outcome: Record<string, string>) {
  expect(Object.keys(outcome).sort()).toEqual(gateway.pipeline.tools.map((t) => t.name).sort())
  const refusals = new Set(['POLICY_DENIED', 'CONFLICT', 'PRECONDITION_FAILED', 'LIMIT_EXCEEDED'])
  const writes = new Set(['transfer', 'approve', 'swap', 'write_contract', 'sign_typed_data'])
  const intents = new Set(['speed_up_intent', 'cancel_intent'])
  for (const [name, code] of Object.entries(outcome)) {
    if (name === 'fetch_with_payment') expect([name, code]).toEqual([name, 'POLICY_DENIED'])
    else if (writes.has(name) || intents.has(name))
      expect([name, refusals.has(code) || code === 'ok']).toEqual([name, true])
    else expect([name, code]).toEqual([name, 'ok'])
  }
}

describe('every tool, both MCP revisions, HTTP and stdio', () => {
  it('2026-07-28 over HTTP', async () => {
    const client = new Client(
      { name: 'every', version: '0' },
      { versionNegotiation: { mode: { pin: modernRevision } } },
    )
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)))
    expect(client.getProtocolEra()).toBe('modern')
    try {
      expectEveryToolAnswered(
        await everyTool(
          async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
        ),
      )
    } finally {
      await client.close()
    }
  })

  it('2025-11-25 over HTTP', async () => {
    const client = new LegacyClient({ name: 'every-2025', version: '0' })
    await client.connect(new LegacyHttpTransport(new URL(http.url)))
    try {
      expectEveryToolAnswered(
        await everyTool(
          async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
        ),
      )
    } finally {
      await client.close()
    }
  })

  it('2026-07-28 over a stdio connection (serveStdio picks the era from the opening message)', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    const codec = await approvalCodec(gateway)
    const served = serveStdio(createMcpServerFactory(gateway, { transport: 'stdio', codec }), {
      transport: serverSide as never,
    })
    const client = new Client(
      { name: 'every', version: '0' },
      { versionNegotiation: { mode: { pin: modernRevision } } },
    )
    await client.connect(clientSide)
    expect(client.getProtocolEra()).toBe('modern')
    try {
      expectEveryToolAnswered(
        await everyTool(
          async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
        ),
      )
    } finally {
      await client.close()
      await served.close()
    }
  })

  it('2025-11-25 over a stdio connection', async () => {
    const legacy = await connectLegacyInMemory(gateway)
    try {
      expectEveryToolAnswered(await everyTool(legacy.call))
    } finally {
      await legacy.close()
    }
  })
})
