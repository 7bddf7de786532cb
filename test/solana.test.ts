import { address, createSolanaRpc, getBase58Encoder } from '@solana/kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SolanaDevnet, startSolanaDevnet } from '../src/devnet/solana/startSolanaDevnet.js'
import { createSigner } from '../src/signer/signer.js'
import { createSolanaSigner } from '../src/signer/solanaSigner.js'
import { testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { type Connected, connectInMemory } from './mcp.js'

// DESIGN §8, issue 13: Solana under the same tools, the same policy and the same audit, on the embedded devnet.
const fixtures = useDevnet()

type Out = Record<string, unknown>
const ok = (r: {
  structuredContent?: Out | undefined
  isError?: boolean | undefined
  content: { text?: string }[]
}) => {
  if (r.isError) throw new Error(`tool failed: ${r.content[0]?.text}`)
  return r.structuredContent as Out
}
const err = (r: {
  structuredContent?: Out | undefined
  isError?: boolean | undefined
  content: { text?: string }[]
}) => {
  expect(r.isError, JSON.stringify(r.structuredContent ?? r.content)).toBe(true)
  return (
    r.structuredContent as { error: { code: string; message: string; field?: string; hints?: string[] } }
  ).error
}

describe.each(testStoreDrivers)('Solana on the embedded devnet (%s)', (driver) => {
  const t = useTestStore(driver)
  let solana: SolanaDevnet
  let mcp: Connected
  let rpc: ReturnType<typeof createSolanaRpc>
  let wallet: string
  let alice: string
  let stranger: string

  const lamports = async (a: string) => (await rpc.getBalance(address(a)).send()).value
  const tokenAmount = async (owner: string, mint: string) => {
    const { value } = await rpc
      .getTokenAccountsByOwner(address(owner), { mint: address(mint) }, { encoding: 'jsonParsed' })
      .send()
    return value.reduce(
      (sum, a) =>
        sum +
        BigInt(
          (a.account.data as { parsed: { info: { tokenAmount: { amount: string } } } }).parsed.info
            .tokenAmount.amount,
        ),
      0n,
    )
  }

  beforeAll(async () => {
    solana = await startSolanaDevnet()
    rpc = createSolanaRpc(solana.rpcUrl)
    const f = solana.fixtures
    wallet = f.accounts[0]!.address
    alice = f.accounts[1]!.address
    stranger = f.accounts[3]!.address
    mcp = await connectInMemory({
      config: { rpc: { publicFallback: false }, orders: { enabled: false } },
      devnet: fixtures,
      solanaDevnet: f,
      writes: {
        store: t.store,
        signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId }),
        solanaSigner: await createSolanaSigner({
          secretKey: new Uint8Array(getBase58Encoder().encode(f.accounts[0]!.secretKey)),
        }),
        trackerIntervalMs: 50,
        maintainIntervalMs: 600_000,
      },
    })
    await mcp.gateway.ready
  })
  afterAll(async () => {
    await mcp?.close()
    await solana?.stop()
  })

  it('reads SOL and token balances, token facts with Token-2022 risks, and lists the cluster', async () => {
    const chains = ok(await mcp.call('list_chains', {})) as {
      chains: { chain: string; family: string; caip2: string }[]
    }
    expect(chains.chains.find((c) => c.chain === 'solana-local')).toMatchObject({
      family: 'solana',
      caip2: solana.caip2,
    })
    const balance = ok(await mcp.call('get_balance', { chain: 'solana-local', address: wallet }))
    expect(balance).toMatchObject({ chain: 'solana-local', caip2: solana.caip2, symbol: 'SOL', decimals: 9 })
    expect((balance.balance as { raw: string }).raw).toBe(String(await lamports(wallet)))
    const tokens = ok(await mcp.call('get_token_balances', { chain: 'solana-local', address: wallet })) as {
      tokens: { token: string; balance: { formatted: string } }[]
    }
    const f = solana.fixtures.tokens
    expect(tokens.tokens.find((x) => x.token === f.USDC.mint)?.balance.formatted).toBe('10000')
    expect(tokens.tokens.find((x) => x.token === f.FEE.mint)?.balance.formatted).toBe('1000')
    const fee = ok(await mcp.call('get_token_info', { chain: 'solana-local', token: f.FEE.mint }))
    expect(fee).toMatchObject({ decimals: 6, program: 'token-2022' })
    expect(fee.risks).toEqual(expect.arrayContaining(['transfer-fee']))
    const pdel = ok(await mcp.call('get_token_info', { chain: 'solana-local', token: f.PDEL.mint }))
    expect(pdel.risks).toEqual(expect.arrayContaining(['permanent-delegate']))
  })

  it('moves SOL and USDC to a known recipient under the demo policy; the chain shows exactly that', async () => {
    const f = solana.fixtures.tokens
    const before = { sol: await lamports(alice), usdc: await tokenAmount(alice, f.USDC.mint) }
    const sent = ok(
      await mcp.call('transfer', { chain: 'solana-local', to: alice, amount: '1.5', wait: true }),
    )
    expect(sent).toMatchObject({ status: 'mined', chain: 'solana-local' })
    expect(await lamports(alice)).toBe(before.sol + 1_500_000_000n)
    const usdc = ok(
      await mcp.call('transfer', {
        chain: 'solana-local',
        to: alice,
        amount: '12.5',
        token: f.USDC.mint,
        wait: true,
      }),
    )
    expect(usdc).toMatchObject({ status: 'mined' })
    expect(await tokenAmount(alice, f.USDC.mint)).toBe(before.usdc + 12_500_000n)
  })
})
