import { address, createSolanaRpc, getBase58Encoder } from '@solana/kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { associatedTokenAccount } from '../src/chains/solana/transaction.js'
import { type SolanaDevnet, startSolanaDevnet } from '../src/devnet/solana/startSolanaDevnet.js'
import type { Gateway } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { createSolanaSigner } from '../src/signer/solanaSigner.js'
import { testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { type Connected, connectInMemory, err, ok } from './mcp.js'

// DESIGN §8, issue 13: Solana under the same tools, the same policy (the demo policy), the same approvals, kill
// switch and audit, on an embedded Solana devnet of this file's own. Every movement is asserted on the cluster.
const fixtures = useDevnet()

describe.each(testStoreDrivers)('Solana on the embedded devnet (%s)', (driver) => {
  const t = useTestStore(driver)
  let solana: SolanaDevnet
  let mcp: Connected
  let gateway: Gateway
  let rpc: ReturnType<typeof createSolanaRpc>
  let wallet: string
  let alice: string
  let bob: string
  let stranger: string
  let USDC: string
  let FEE: string
  let PDEL: string

  const lamports = async (a: string) => (await rpc.getBalance(address(a)).send()).value
  const tokenAmount = async (owner: string, mint: string) => {
    const { value } = await rpc
      .getTokenAccountsByOwner(address(owner), { mint: address(mint) }, { encoding: 'jsonParsed' })
      .send()
    let sum = 0n
    for (const a of value)
      sum += BigInt(
        (a.account.data as unknown as { parsed: { info: { tokenAmount: { amount: string } } } }).parsed.info
          .tokenAmount.amount,
      )
    return sum
  }
  const transfer = (args: Record<string, unknown>) => mcp.call('transfer', { chain: 'solana-local', ...args })

  beforeAll(async () => {
    solana = await startSolanaDevnet()
    rpc = createSolanaRpc(solana.rpcUrl)
    const f = solana.fixtures
    ;[wallet, alice, bob, stranger] = f.accounts.map((a) => a.address) as [string, string, string, string]
    ;({ USDC, FEE, PDEL } = { USDC: f.tokens.USDC.mint, FEE: f.tokens.FEE.mint, PDEL: f.tokens.PDEL.mint })
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
    gateway = mcp.gateway
    await gateway.ready
  })
  afterAll(async () => {
    await mcp?.close()
    await solana?.stop()
  })

  it('lists the cluster and reads SOL, token balances, token facts with Token-2022 risks', async () => {
    const { chains } = ok(await mcp.call('list_chains', {}))
    expect(chains.find((c: { chain: string }) => c.chain === 'solana-local')).toMatchObject({
      family: 'solana',
      caip2: solana.caip2,
      nativeSymbol: 'SOL',
    })
    const balance = ok(await mcp.call('get_balance', { chain: solana.caip2, address: wallet }))
    expect(balance).toMatchObject({ chain: 'solana-local', caip2: solana.caip2, symbol: 'SOL', decimals: 9 })
    expect(balance.balance.raw).toBe(String(await lamports(wallet)))
    const held = ok(await mcp.call('get_token_balances', { chain: 'solana-local', address: wallet }))
    const line = (mint: string) => held.tokens.find((x: { token: string }) => x.token === mint)
    expect(line(USDC)).toMatchObject({ balance: { formatted: '10000' }, verified: true, decimals: 6 })
    expect(line(FEE)).toMatchObject({ balance: { formatted: '1000' } })
    // A list narrows the answer; a mint the owner does not hold answers 0.
    const some = ok(
      await mcp.call('get_token_balances', { chain: 'solana-local', address: stranger, tokens: [USDC] }),
    )
    expect(some.tokens).toEqual([
      expect.objectContaining({ token: USDC, balance: { raw: '0', formatted: '0' } }),
    ])
    const fee = ok(await mcp.call('get_token_info', { chain: 'solana-local', token: FEE }))
    expect(fee).toMatchObject({ decimals: 6, risks: ['transfer-fee'], solana: { program: 'token-2022' } })
    expect(fee.solana.extensions.transferFee).toMatchObject({
      basisPoints: 100,
      maximumFee: { formatted: '5' },
    })
    const pdel = ok(await mcp.call('get_token_info', { chain: 'solana-local', token: PDEL }))
    expect(pdel.risks).toContain('permanent-delegate')
    expect(pdel.solana.extensions.permanentDelegate).toBe(solana.fixtures.tokens.PDEL.permanentDelegate)
    const usdc = ok(await mcp.call('get_token_info', { chain: 'solana-local', token: USDC }))
    expect(usdc).toMatchObject({
      solana: { program: 'spl-token' },
      risks: [],
      verified: true,
      symbol: { value: 'USDC' },
    })
    // One portfolio across both families: an EVM address for EVM chains, a Solana one for Solana.
    const portfolio = ok(
      await mcp.call('get_portfolio', {
        address: fixtures.accounts[0]!,
        solanaAddress: wallet,
        chains: ['devnet', 'solana-local'],
      }),
    )
    expect(portfolio.chains.map((c: { chain: string }) => c.chain)).toEqual(['devnet', 'solana-local'])
    expect(portfolio.chains[1].native.symbol).toBe('SOL')
  })

  it('publishes the Solana devnet fixtures to clients without any secret key', async () => {
    const read = await mcp.client.readResource({ uri: 'airlock://devnet/fixtures' })
    const text = (read.contents[0] as { text: string }).text
    const published = JSON.parse(text) as { solana: { accounts: { address: string }[] } }
    expect(published.solana.accounts.map((a) => a.address)).toEqual(
      solana.fixtures.accounts.map((a) => a.address),
    )
    expect(text).not.toMatch(/secretKey/)
    for (const a of solana.fixtures.accounts) expect(text).not.toContain(a.secretKey)
  })

  it('moves SOL and USDC to known recipients under the demo policy; the cluster shows exactly that', async () => {
    const before = { sol: await lamports(alice), usdc: await tokenAmount(bob, USDC) }
    const walletSol = await lamports(wallet)
    const sent = ok(await transfer({ to: alice, amount: '1.5', wait: true }))
    expect(sent).toMatchObject({ status: 'mined', chain: 'solana-local', from: wallet })
    expect(await lamports(alice)).toBe(before.sol + 1_500_000_000n)
    // The wallet paid the amount and a 5,000-lamport fee, nothing else.
    expect(await lamports(wallet)).toBe(walletSol - 1_500_000_000n - 5000n)
    // Bob has no USDC account yet: the transfer creates it (TransferChecked into his associated account).
    const usdc = ok(await transfer({ to: bob, amount: '12.5', token: USDC, wait: true }))
    expect(usdc).toMatchObject({ status: 'mined', details: { symbol: 'USDC', verified: true } })
    expect(await tokenAmount(bob, USDC)).toBe(before.usdc + 12_500_000n)
    // The same intent, read back; its transaction by signature, with what it moved.
    const intent = ok(await mcp.call('get_intent', { intentId: usdc.intentId }))
    expect(intent).toMatchObject({
      status: 'mined',
      settlement: { outflows: { [USDC]: '12500000' }, excess: [] },
    })
    const tx = ok(await mcp.call('get_transaction', { chain: 'solana-local', hash: usdc.txHash }))
    expect(tx).toMatchObject({ status: 'success', from: wallet })
    expect(tx.programs).toEqual(expect.arrayContaining(['associated-token', 'spl-token']))
    expect(tx.changes).toEqual(
      expect.arrayContaining([
        { account: bob, asset: USDC, raw: '12500000' },
        { account: wallet, asset: USDC, raw: '-12500000' },
      ]),
    )
    // The audit log has it, as for any write.
    const { intents } = ok(await mcp.call('list_intents', { chain: 'solana-local' }))
    expect(intents.map((i: { intentId: string }) => i.intentId)).toContain(usdc.intentId)
  })

  it('previews a transfer with simulate: the deltas in CAIP-19 ids and the policy, nothing sent', async () => {
    const before = await tokenAmount(alice, USDC)
    const preview = ok(
      await mcp.call('simulate', {
        tool: 'transfer',
        arguments: { chain: 'solana-local', to: alice, amount: '3', token: USDC },
      }),
    )
    expect(preview).toMatchObject({ chain: 'solana-local', from: wallet, policy: { effect: 'allow' } })
    expect(preview.policy.ruleIds).toEqual(['usdc-to-known-solana'])
    expect(preview.simulation.deltas).toContainEqual(
      expect.objectContaining({
        kind: 'spl',
        token: USDC,
        raw: '-3000000',
        assetId: `${solana.caip2}/token:${USDC}`,
      }),
    )
    expect(await tokenAmount(alice, USDC)).toBe(before)
  })

  it('holds a transfer to an unknown address, and carries it out once approved, bound to its effects', async () => {
    const before = await lamports(stranger)
    const held = ok(await transfer({ to: stranger, amount: '0.25' }))
    expect(held.status).toBe('held')
    expect(held.approval.reasons.join(' ')).toMatch(/hold-new-recipients|address book/)
    expect(await lamports(stranger)).toBe(before)
    const operator = await gateway.operator!
    await operator.approvals.decide(held.intentId, 'approved', 'tester', {
      expectHash: held.approval.intentHash,
    })
    await gateway.writes!.maintain()
    const done = ok(await mcp.call('get_intent', { intentId: held.intentId }))
    expect(['broadcast', 'mined'], JSON.stringify(done.error)).toContain(done.status)
    await expect.poll(() => lamports(stranger), { timeout: 10_000 }).toBe(before + 250_000_000n)
  })

  it('flags risky Token-2022 mints: a transfer-fee token is held, a permanent-delegate token denied (ADVERSARIAL 61)', async () => {
    const before = { fee: await tokenAmount(alice, FEE), pdel: await tokenAmount(alice, PDEL) }
    const held = ok(await transfer({ to: alice, amount: '10', token: FEE }))
    expect(held.status).toBe('held')
    expect(held.details.tokenRisks).toEqual(['transfer-fee'])
    expect(held.approval.reasons.join(' ')).toMatch(/hold-solana-fee-mints/)
    const denied = err(await transfer({ to: alice, amount: '10', token: PDEL }))
    expect(denied.code).toBe('POLICY_DENIED')
    expect(denied.message).toMatch(/deny-risky-solana-mints/)
    expect(await tokenAmount(alice, FEE)).toBe(before.fee)
    expect(await tokenAmount(alice, PDEL)).toBe(before.pdel)
  })

  it('refuses bad addresses and amounts with clear errors (ADVERSARIAL 59, 8, 9)', async () => {
    const before = await tokenAmount(alice, USDC)
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ to: '0OIl', amount: '1' }, 'INVALID_ADDRESS', /base58/],
      [{ to: `${alice.slice(0, -4)}`, amount: '1' }, 'INVALID_ADDRESS', /bytes|characters/],
      [{ to: fixtures.accounts[1]!, amount: '1' }, 'INVALID_ADDRESS', /EVM address.*Solana/],
      [
        { to: alice, amount: '1', token: fixtures.tokens.USDC.address },
        'INVALID_ADDRESS',
        /EVM address.*Solana/,
      ],
      [{ to: alice, amount: '0.0000001', token: USDC }, 'INVALID_AMOUNT', /decimals|fraction/],
      [{ to: alice, amount: '0.0000000001' }, 'INVALID_AMOUNT', /decimals|fraction/],
    ]
    for (const [args, code, message] of cases) {
      const e = err(await transfer(args))
      expect(e.code, JSON.stringify(args)).toBe(code)
      expect(e.message).toMatch(message)
    }
    for (const amount of ['-1', '1e18', '', ' 1 ', '0x10', 1, 'NaN', 'Infinity']) {
      const e = err(await transfer({ to: alice, amount }))
      expect(['INVALID_AMOUNT', 'INVALID_INPUT'], String(amount)).toContain(e.code)
    }
    // A Solana address on an EVM chain, and an EVM-only tool on Solana.
    const onEvm = err(await mcp.call('get_balance', { chain: 'devnet', address: alice }))
    expect(onEvm).toMatchObject({ code: 'INVALID_ADDRESS' })
    expect(onEvm.message).toMatch(/Solana address.*EVM chain/)
    const family = err(
      await mcp.call('read_contract', { chain: 'solana-local', address: USDC, abi: [], functionName: 'x' }),
    )
    expect(family.message).toMatch(/Solana/)
    const approve = err(
      await mcp.call('approve', { chain: 'solana-local', spender: alice, token: USDC, amount: '1' }),
    )
    expect(approve.message).toMatch(/approve works only on EVM chains/)
    // Recipients that are always a mistake (ADVERSARIAL 4 on Solana): no policy rule can allow them.
    const aliceUsdcAccount = await associatedTokenAccount(alice, USDC, 'spl-token')
    for (const [to, reason] of [
      [USDC, /the token mint itself/],
      ['11111111111111111111111111111111', /the system program/],
      [aliceUsdcAccount, /a token account/],
      [wallet, /to itself/],
    ] as const) {
      const e = err(await transfer({ to, amount: '1', token: USDC }))
      expect(e.code, to).toBe('POLICY_DENIED')
      expect(e.message).toMatch(reason)
    }
    // Nothing moved.
    expect(await tokenAmount(alice, USDC)).toBe(before)
  })

  it('keeps one transaction per idempotency key, and consecutive sends all land once (ADVERSARIAL 35, 33)', async () => {
    const before = await tokenAmount(alice, USDC)
    const key = `sol-idem-${driver}`
    const [a, b] = await Promise.all([
      transfer({ to: alice, amount: '1', token: USDC, idempotencyKey: key, wait: true }),
      transfer({ to: alice, amount: '1', token: USDC, idempotencyKey: key, wait: true }),
    ])
    expect(ok(a).intentId).toBe(ok(b).intentId)
    const again = ok(await transfer({ to: alice, amount: '1', token: USDC, idempotencyKey: key }))
    expect(again.intentId).toBe(ok(a).intentId)
    await expect.poll(() => tokenAmount(alice, USDC), { timeout: 10_000 }).toBe(before + 1_000_000n)
    // Ten at once from one wallet: ten signatures, each landing once (no nonces to collide on Solana).
    const many = await Promise.all(
      Array.from({ length: 10 }, () => transfer({ to: alice, amount: '0.5', token: USDC, wait: true })),
    )
    const signatures = new Set(many.map((r) => ok(r).txHash))
    expect(signatures.size).toBe(10)
    expect(many.every((r) => ok(r).status === 'mined')).toBe(true)
    expect(await tokenAmount(alice, USDC)).toBe(before + 6_000_000n)
  })

  it('lets exactly one of two concurrent sends through a limit they would break together (ADVERSARIAL 32)', async () => {
    // sol-daily allows 10 SOL a day; 1.5 went to alice before. Two of 5 at once: 11.5 together.
    const before = await lamports(bob)
    const results = await Promise.all([
      transfer({ to: bob, amount: '5', wait: true }),
      transfer({ to: bob, amount: '5', wait: true }),
    ])
    const passed = results.filter((r) => !r.isError)
    expect(passed).toHaveLength(1)
    expect(err(results.find((r) => r.isError)!).code).toBe('LIMIT_EXCEEDED')
    expect(await lamports(bob)).toBe(before + 5_000_000_000n)
  })

  it('allows exactly the cap and refuses one base unit more (ADVERSARIAL 10)', async () => {
    const before = await tokenAmount(bob, USDC)
    // usdc-to-known-solana: up to 1,000 each, 2,500 a day (12.5 + 1 + 5 sent to known recipients before).
    ok(await transfer({ to: bob, amount: '1000', token: USDC, wait: true }))
    const over = err(await transfer({ to: bob, amount: '1000.000001', token: USDC }))
    expect(over.code).toBe('POLICY_DENIED')
    expect(over.message).toMatch(/1000/)
    expect(await tokenAmount(bob, USDC)).toBe(before + 1_000_000_000n)
  })

  it('stops every Solana write with the kill switch, and the audit chain holds', async () => {
    const operator = await gateway.operator!
    await operator.killSwitch.engage('test', 'tester')
    const before = await lamports(alice)
    const stopped = err(await transfer({ to: alice, amount: '0.1' }))
    expect(stopped.code).toBe('KILL_SWITCH_ENGAGED')
    await operator.killSwitch.release('tester')
    expect(await lamports(alice)).toBe(before)
    const verified = await operator.audit.verify()
    expect(verified.ok).toBe(true)
  })
})

describe.each(testStoreDrivers)('Solana delivery: dropped and expired transactions (%s)', (driver) => {
  const t = useTestStore(driver)
  let solana: SolanaDevnet
  let mcp: Connected
  let rpc: ReturnType<typeof createSolanaRpc>
  let alice: string
  let wallet: string
  const lamports = async (a: string) => (await rpc.getBalance(address(a)).send()).value

  beforeAll(async () => {
    solana = await startSolanaDevnet()
    rpc = createSolanaRpc(solana.rpcUrl)
    wallet = solana.fixtures.accounts[0]!.address
    alice = solana.fixtures.accounts[1]!.address
    // No tracker timer to speak of: the test decides when an intent is looked at (get_intent checks it).
    mcp = await connectInMemory({
      config: { rpc: { publicFallback: false }, orders: { enabled: false } },
      devnet: fixtures,
      solanaDevnet: solana.fixtures,
      writes: {
        store: t.store,
        signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId }),
        solanaSigner: await createSolanaSigner({
          secretKey: new Uint8Array(getBase58Encoder().encode(solana.fixtures.accounts[0]!.secretKey)),
        }),
        trackerIntervalMs: 600_000,
        maintainIntervalMs: 600_000,
      },
    })
    await mcp.gateway.ready
  })
  afterAll(async () => {
    await mcp?.close()
    await solana?.stop()
  })

  it('a dropped transaction is re-sent as the same bytes and lands once (ADVERSARIAL 63)', async () => {
    const before = await lamports(alice)
    solana.dropNextSends(1)
    const sent = ok(await mcp.call('transfer', { chain: 'solana-local', to: alice, amount: '0.1' }))
    expect(sent.status).toBe('broadcast')
    expect(await lamports(alice)).toBe(before)
    // No nonce to replace at: a sent Solana transaction cannot be cancelled or sped up, it lands or expires.
    const cancel = err(await mcp.call('cancel_intent', { intentId: sent.intentId }))
    expect(cancel.code).toBe('CONFLICT')
    expect(cancel.message).toMatch(/cannot be replaced/)
    // Looked at: unknown to the cluster, blockhash still valid → the same signed bytes again.
    const after = ok(await mcp.call('get_intent', { intentId: sent.intentId }))
    expect(after.txHash).toBe(sent.txHash)
    await expect
      .poll(async () => ok(await mcp.call('get_intent', { intentId: sent.intentId })).status, {
        timeout: 10_000,
      })
      .toBe('mined')
    expect(await lamports(alice)).toBe(before + 100_000_000n)
  })

  it('an expired blockhash fails the intent with the reason; it is never signed again (ADVERSARIAL 63)', async () => {
    const before = { alice: await lamports(alice), wallet: await lamports(wallet) }
    solana.dropNextSends(1)
    const sent = ok(await mcp.call('transfer', { chain: 'solana-local', to: alice, amount: '0.2' }))
    expect(sent.status).toBe('broadcast')
    solana.expireBlockhash()
    const failed = ok(await mcp.call('get_intent', { intentId: sent.intentId }))
    expect(failed).toMatchObject({
      status: 'failed',
      txHash: sent.txHash,
      error: { code: 'BLOCKHASH_EXPIRED' },
    })
    expect(failed.error.message).toMatch(/not signed again/)
    // The old bytes cannot land any more, and nothing new was signed: the cluster has no trace, nothing moved.
    const { value } = await rpc.getSignatureStatuses([sent.txHash], { searchTransactionHistory: true }).send()
    expect(value[0]).toBeNull()
    expect(await lamports(alice)).toBe(before.alice)
    expect(await lamports(wallet)).toBe(before.wallet)
    const { intents } = ok(await mcp.call('list_intents', { chain: 'solana-local' }))
    expect(intents.filter((i: { status: string }) => i.status === 'failed')).toHaveLength(1)
  })

  it('never uses an endpoint whose genesis hash is another cluster’s (ADVERSARIAL 60)', async () => {
    // solana-devnet pointed at this local devnet: its genesis hash is not Solana Devnet's.
    const gateway = await connectInMemory({
      config: { rpc: { publicFallback: false }, chains: { 'solana-devnet': { rpc: [solana.rpcUrl] } } },
    })
    try {
      const e = err(await gateway.call('get_balance', { chain: 'solana-devnet', address: alice }))
      expect(e.code).toBe('CHAIN_ID_MISMATCH')
      expect(e.message).toMatch(/another Solana cluster/)
      const chain = gateway.gateway.chains.resolveAny('solana-devnet')
      expect(chain.endpoints()[0]).toMatchObject({ state: 'wrong-chain', chainIdVerified: false })
    } finally {
      await gateway.close()
    }
  })
})
