// The write-path figures: native and USDC transfers through Airlock (MCP `transfer`, journal on PGlite and on
// PostgreSQL) against the same transfers sent directly with viem, one at a time and 16 in flight; and restart
// reconciliation of 1,000 unfinished intents. Everything runs on a devnet of its own, so the read figures are
// unaffected, and each side sends from its own account, so their nonces never meet.
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  type Hash,
  http,
  keccak256,
  nonceManager,
  parseUnits,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { Chains } from '../src/chains/chains.js'
import type { ToolResult as CallToolResult } from '../src/context/tool.js'
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import type { DevnetFixtures } from '../src/devnet/fixtures.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import { createGateway } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { openStore, type Store, type StoreDriver } from '../src/store/openStore.js'
import { createIntentJournal } from '../src/txs/intentJournal.js'
import { createNonceManager } from '../src/txs/nonceManager.js'
import { createTracker } from '../src/txs/tracker.js'
import { connectInProcess } from './connectInProcess.js'
import { delegateToGuard } from './guardGas.js'
import { interleave, summarize, time } from './stats.js'

/** How the write figures report: the table row and progress line helpers of bench/run.ts. */
export type WriteBenchReport = {
  quick: boolean
  row: (figure: string, result: string, goal: string, met: boolean | null) => void
  log: (line: string) => void
}

// Devnet accounts. 0 funds the others with USDC (accounts 0–2 start with 1,000,000 each).
const airlockAccount: Record<StoreDriver, number> = { pglite: 3, postgres: 5 }
const directAccount = 4
const reconcileAccount = 6
const recipientAccount = 8
const inFlight = 16
const unfinishedIntents = 1000
/** Of the unfinished intents, this many are `signed` (real bytes, consecutive nonces); the rest `created`. */
const signedIntents = 100
const nativeAmount = '0.001'
const usdcAmount = '0.01'
const goalAddedMs = 5
const goalRatio = 0.7
const goalGuardedMs = 40
const agents = 16
const goalAgentsPerSecond = { pglite: 100, postgres: 150 }
/** Accounts of the agents figure (its own sender, so nonces never meet the others). */
const agentsAccount: Record<StoreDriver, number> = { pglite: 7, postgres: 9 }

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const ms = (v: number) => `${v.toFixed(3)} ms`
const pct = (v: number) => `${(v * 100).toFixed(0)} %`

/** Runs every write figure; returns them for the results JSON (the table rows go through `report.row`). */
export async function benchWrites(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { quick, log } = report
  log('(w) starting the write devnet')
  const devnet = await startDevnet()
  try {
    const f = devnet.fixtures
    await fundUsdc(f)
    const direct = directSender(f)
    const out: Record<string, unknown> = { chainId: f.chainId, inFlight, rounds: quick ? 20 : 100 }
    for (const driver of ['pglite', 'postgres'] as const) {
      const schema = `bench_${randomBytes(6).toString('hex')}`
      let store: Store
      try {
        store = await openDriver(driver, schema)
      } catch (error) {
        log(`(w) ${driver} skipped: ${(error as Error).message}`)
        out[driver] = { skipped: (error as Error).message }
        report.row(`(w) transfers with the journal on ${driver}`, 'skipped (no server)', '—', null)
        continue
      }
      try {
        out[driver] = await benchDriver(report, driver, store, f, direct, schema)
      } finally {
        if (driver === 'postgres') await dropSchemas(store, [schema, `${schema}_r`])
        await store.close()
      }
    }
    return out
  } finally {
    await devnet.stop()
  }
}

async function benchDriver(
  report: WriteBenchReport,
  driver: StoreDriver,
  store: Store,
  f: DevnetFixtures,
  direct: ReturnType<typeof directSender>,
  schema: string,
) {
  const { quick, row, log } = report
  const label = driver === 'pglite' ? 'PGlite' : 'PostgreSQL'
  const signer = await createSigner({
    backend: 'devnet',
    accountIndex: airlockAccount[driver],
    chainId: f.chainId,
  })
  const to = f.accounts[recipientAccount]!
  const usdc = f.tokens.USDC.address
  // Guarded: every transfer is simulated, checked against this policy (the demo policy's shape: unlimited
  // approvals and reverts denied, unknown recipients held, limits reserved in the database) and audited.
  const gateway = createGateway({
    config: { policy: benchPolicy(usdc, '1000000', 'usdc-daily') },
    devnet: f,
    writes: { store, signer },
  })
  await gateway.ready
  await (await gateway.operator)!.addressBook.add({ address: to, label: 'bench recipient', addedBy: 'bench' })
  const { client, close } = await connectInProcess(gateway)
  const transfer = async (token: Address | undefined, wait: boolean) => {
    const result = (await client.callTool({
      name: 'transfer',
      arguments: { chain: 'devnet', to, amount: token ? usdcAmount : nativeAmount, token, wait },
    })) as CallToolResult
    const status = (result.structuredContent as { status?: string } | undefined)?.status
    if (result.isError || status !== (wait ? 'mined' : 'broadcast'))
      throw new Error(`airlock transfer: ${JSON.stringify(result.structuredContent ?? result.content)}`)
  }
  const airlock = {
    native: () => transfer(undefined, true),
    usdc: () => transfer(usdc, true),
  }
  const viem = { native: () => direct.native(to, true), usdc: () => direct.usdc(to, true) }

  try {
    const out: Record<string, unknown> = {}
    const rounds = quick ? 20 : 100
    const warmup = quick ? 3 : 10
    log(`(w) ${label}: sequential transfers`)
    for (const kind of ['native', 'usdc'] as const) {
      const r = await interleave(rounds, warmup, airlock[kind], viem[kind])
      const via = summarize(r.a)
      const plain = summarize(r.b)
      const added = via.median - plain.median
      out[`sequential_${kind}`] = {
        airlock: via,
        viem: plain,
        addedMedianMs: added,
        addedP95Ms: via.p95 - plain.p95,
      }
      row(
        `(w) ${kind === 'native' ? 'native' : 'USDC'} transfer until receipt, journal on ${label}: added median (p95)`,
        `${ms(added)} (${ms(via.p95 - plain.p95)})  (airlock ${ms(via.median)}, viem ${ms(plain.median)})`,
        `≤ ${goalAddedMs} ms median`,
        added <= goalAddedMs,
      )
    }
    // Where the added time goes: the same native transfer answered at broadcast (wait: false) against viem's
    // sendTransaction, i.e. the journal, nonce and MCP cost without the tracker's receipt polling.
    const r = await interleave(
      rounds,
      warmup,
      () => transfer(undefined, false),
      () => direct.native(to, false),
    )
    const via = summarize(r.a)
    const plain = summarize(r.b)
    out.sequential_native_untilBroadcast = {
      airlock: via,
      viem: plain,
      addedMedianMs: via.median - plain.median,
    }
    row(
      `(w) native transfer until broadcast (wait: false), journal on ${label}: added median`,
      `${ms(via.median - plain.median)}  (airlock ${ms(via.median)}, viem ${ms(plain.median)})`,
      'report',
      null,
    )

    const guarded = (out.sequential_usdc as { airlock: { median: number; p95: number } }).airlock
    row(
      `(g) guarded USDC transfer end to end (simulate, policy, reservation, journal, sign, send, receipt), ${label}: median (p95)`,
      `${ms(guarded.median)} (${ms(guarded.p95)})`,
      `≤ ${goalGuardedMs} ms median`,
      guarded.median <= goalGuardedMs,
    )

    log(`(w) ${label}: ${inFlight} in flight`)
    const n = quick ? 48 : 160
    for (const kind of ['native', 'usdc'] as const) {
      // Each side alone, in two halves: airlock, viem, viem, airlock (native) or the reverse (USDC).
      const order = kind === 'native' ? ['a', 'b', 'b', 'a'] : ['b', 'a', 'a', 'b']
      const elapsed = { a: 0, b: 0 }
      const latency = { a: [] as number[], b: [] as number[] }
      for (const side of order as ('a' | 'b')[])
        elapsed[side] += await concurrently(n / 2, side === 'a' ? airlock[kind] : viem[kind], latency[side])
      const perSecond = (t: number) => n / (t / 1000)
      const ratio = perSecond(elapsed.a) / perSecond(elapsed.b)
      out[`concurrent_${kind}`] = {
        transfers: n,
        airlock: {
          seconds: elapsed.a / 1000,
          transfersPerSecond: perSecond(elapsed.a),
          latency: summarize(latency.a),
        },
        viem: {
          seconds: elapsed.b / 1000,
          transfersPerSecond: perSecond(elapsed.b),
          latency: summarize(latency.b),
        },
        ratio,
      }
      row(
        `(w) ${kind === 'native' ? 'native' : 'USDC'} transfers, ${inFlight} in flight, journal on ${label}: airlock / viem`,
        `${perSecond(elapsed.a).toFixed(0)} / ${perSecond(elapsed.b).toFixed(0)} transfers/s = ${pct(ratio)}`,
        `≥ ${pct(goalRatio)} of viem`,
        ratio >= goalRatio,
      )
    }

    log(`(g) ${label}: ${agents} agents against one limit`)
    const agentsOut = await agentsAgainstLimit(driver, `${schema}_a`, f, quick)
    out.agents = agentsOut
    row(
      `(g) guarded USDC transfers, ${agents} concurrent agents (an MCP client each) through ${agentsOut.replicas} replica(s), ${label}: mined/s; limit respected`,
      `${agentsOut.perSecond.toFixed(0)}/s; ${agentsOut.allowed} allowed = cap, ${agentsOut.denied} LIMIT_EXCEEDED, committed ${agentsOut.committed} of ${agentsOut.cap} (${agentsOut.exact ? 'exact' : 'WRONG'})`,
      `≥ ${goalAgentsPerSecond[driver]}/s, limit exact`,
      agentsOut.perSecond >= goalAgentsPerSecond[driver] && agentsOut.exact,
    )

    log(`(w) ${label}: restart reconciliation`)
    const rec = await reconcile(driver, `${schema}_r`, gateway.chains, f)
    out.reconcile = rec
    row(
      `(w) restart reconciliation, ${unfinishedIntents.toLocaleString('en')} unfinished intents, ${label}`,
      `${ms(rec.ms)} (${ms(rec.ms / unfinishedIntents)}/intent; ${Object.entries(rec.byStatus)
        .map(([s, c]) => `${c} ${s}`)
        .join(', ')})`,
      'report',
      null,
    )
    return out
  } finally {
    await close()
    await gateway.close()
  }
}

/**
 * Times `reconcileAll()` over a fresh journal of 1,000 unfinished intents, an hour old: `created` ones (never
 * signed: they fail as INTERRUPTED) and every tenth `signed` with real bytes on consecutive nonces the node has
 * never seen (so reconciliation re-sends them and they end `broadcast`).
 */
async function reconcile(driver: StoreDriver, schema: string, chains: Chains, f: DevnetFixtures) {
  const store = await openDriver(driver, schema)
  try {
    const journal = createIntentJournal(store)
    const chain = chains.resolve(f.chainId)
    const nonces = createNonceManager(store, {
      chainNonce: (_id, wallet) =>
        chain.client.getTransactionCount({ address: wallet as Address, blockTag: 'pending' }),
    })
    const signer = await createSigner({
      backend: 'devnet',
      accountIndex: reconcileAccount,
      chainId: f.chainId,
    })
    const fees = await chain.client.estimateFeesPerGas({ type: 'eip1559' })
    const to = f.accounts[recipientAccount]!
    const every = unfinishedIntents / signedIntents
    let lastHash: Hash | undefined
    for (let i = 0; i < unfinishedIntents; i++) {
      const request = { tool: 'transfer', args: { chain: 'devnet', to, amount: '0.000001' } }
      const { intent } = await journal.create({
        chainId: f.chainId,
        wallet: signer.address,
        operation: 'transfer',
        request,
      })
      if (i % every !== every - 1) continue
      const nonce = await nonces.reserve(f.chainId, signer.address, intent.id)
      const signed = await signer.signTransaction({
        type: 'eip1559',
        chainId: f.chainId,
        to,
        value: 10n ** 12n,
        gas: 21_000n,
        maxFeePerGas: fees.maxFeePerGas * 2n,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        nonce,
      })
      lastHash = keccak256(signed)
      await journal.transition(intent.id, 'created', 'signed', { txHash: lastHash, signedTx: signed })
    }
    // As after a restart: the intents date from before it, older than the tracker's grace for requests that may
    // still be running (a young `created` intent is left alone).
    await store.db
      .updateTable('intents')
      .set({
        created_at: sql<Date>`created_at - interval '1 hour'`,
        updated_at: sql<Date>`updated_at - interval '1 hour'`,
      })
      .execute()
    const tracker = createTracker({ journal, chains })
    const t = performance.now()
    const { checked, byStatus } = await tracker.reconcileAll()
    const elapsed = performance.now() - t
    // The re-sent ones mine at once (automine); make sure the last did, so the account is settled.
    if (lastHash) await chain.client.waitForTransactionReceipt({ hash: lastHash, pollingInterval: 5 })
    const expected = { failed: unfinishedIntents - signedIntents, broadcast: signedIntents }
    if (
      checked !== unfinishedIntents ||
      byStatus.failed !== expected.failed ||
      byStatus.broadcast !== expected.broadcast
    )
      throw new Error(`reconciliation: expected ${JSON.stringify(expected)}, got ${JSON.stringify(byStatus)}`)
    return { intents: checked, created: expected.failed, signed: signedIntents, ms: elapsed, byStatus }
  } finally {
    await store.close()
  }
}

/** viem sending from its own account: a local nonce manager (16 in flight), receipts polled every 5 ms. */
function directSender(f: DevnetFixtures) {
  const chain = devnetChain(f)
  const account = mnemonicToAccount(devnetMnemonic, { addressIndex: directAccount, nonceManager })
  const wallet = createWalletClient({ account, chain, transport: http(f.rpcUrl) })
  const reader = createPublicClient({ chain, transport: http(f.rpcUrl), pollingInterval: 5 })
  // Signed here and sent raw, so a transaction anvil drops under a burst of out-of-order nonces is re-sent with the
  // same bytes, as Airlock's tracker does: the baseline gets the same treatment, and a drop never stalls the bench.
  const send = async (request: Parameters<typeof wallet.prepareTransactionRequest>[0], wait: boolean) => {
    const prepared = await wallet.prepareTransactionRequest(request)
    const serializedTransaction = await wallet.signTransaction(prepared as never)
    // Under load anvil's HTTP answer is sometimes lost and viem retries: "already imported" or "nonce too low" then
    // means the first attempt arrived. The node knowing these very bytes is what counts.
    const hash = await wallet.sendRawTransaction({ serializedTransaction }).catch(async (error: Error) => {
      const own = keccak256(serializedTransaction)
      if (await reader.getTransaction({ hash: own }).catch(() => null)) return own
      throw error
    })
    if (!wait) return
    for (let attempt = 0; ; attempt++) {
      try {
        const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 5, timeout: 3000 })
        if (receipt.status !== 'success') throw new Error(`viem transfer ${hash} reverted`)
        return
      } catch (error) {
        if ((error as Error).name !== 'WaitForTransactionReceiptTimeoutError' || attempt >= 5) throw error
        await wallet.sendRawTransaction({ serializedTransaction }).catch(() => {})
      }
    }
  }
  return {
    native: (to: Address, wait: boolean) => send({ to, value: parseUnits(nativeAmount, 18) } as never, wait),
    usdc: (to: Address, wait: boolean) =>
      send(
        {
          to: f.tokens.USDC.address,
          data: encodeFunctionData({
            abi: erc20Abi,
            functionName: 'transfer',
            args: [to, parseUnits(usdcAmount, f.tokens.USDC.decimals)],
          }),
        } as never,
        wait,
      ),
  }
}

/** Gives the Airlock and direct accounts 100,000 USDC each, from account 0. */
async function fundUsdc(f: DevnetFixtures): Promise<void> {
  const chain = devnetChain(f)
  const account = mnemonicToAccount(devnetMnemonic, { addressIndex: 0 })
  const wallet = createWalletClient({ account, chain, transport: http(f.rpcUrl) })
  const reader = createPublicClient({ chain, transport: http(f.rpcUrl) })
  for (const index of [
    airlockAccount.pglite,
    airlockAccount.postgres,
    directAccount,
    agentsAccount.pglite,
    agentsAccount.postgres,
  ]) {
    const hash = await wallet.writeContract({
      address: f.tokens.USDC.address,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [f.accounts[index]!, parseUnits('100000', f.tokens.USDC.decimals)],
    })
    await reader.waitForTransactionReceipt({ hash, pollingInterval: 5 })
  }
  // The gateway's accounts run their writes through the on-chain guard, as the devnet's own wallet does.
  for (const index of [
    airlockAccount.pglite,
    airlockAccount.postgres,
    agentsAccount.pglite,
    agentsAccount.postgres,
  ])
    await delegateToGuard(f, index)
}

/** Runs `n` calls of `one`, `inFlight` at a time, adding each call's latency to `samples`; returns the elapsed ms. */
async function concurrently(n: number, one: () => Promise<unknown>, samples: number[]): Promise<number> {
  let started = 0
  const t = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started++ < n) samples.push(await time(one))
    }),
  )
  return performance.now() - t
}

function openDriver(driver: StoreDriver, schema: string): Promise<Store> {
  return driver === 'pglite' ? openStore({ memory: true }) : openStore({ databaseUrl, schema })
}

async function dropSchemas(store: Store, schemas: string[]): Promise<void> {
  for (const schema of schemas)
    for (let attempt = 1; ; attempt++) {
      try {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db)
        break
      } catch (error) {
        // A connection of a gateway just closed may still hold a lock: PostgreSQL then picks the drop as the
        // deadlock's victim (40P01). Try again; it has nothing left to wait for.
        if ((error as { code?: unknown }).code !== '40P01' || attempt >= 5) throw error
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
      }
    }
}

/**
 * The bench policy: the demo policy's shape for one USDC limit (and native transfers to listed addresses).
 *
 * @example createGateway({ config: { policy: benchPolicy(usdc, '1000', 'usdc-daily') }, … })
 */
function benchPolicy(usdc: Address, max: string, limitId: string) {
  return {
    version: 1,
    rules: [
      {
        id: 'deny-unlimited-approvals',
        effect: 'deny',
        match: { simulation: { newApprovals: 'unlimited' } },
      },
      { id: 'deny-reverting', effect: 'deny', match: { simulation: { reverts: true } } },
      {
        id: 'hold-new-recipients',
        effect: 'require_approval',
        match: { operation: ['transfer'], addressBook: 'unlisted' },
      },
      {
        id: 'usdc-to-known',
        effect: 'allow',
        match: { operation: ['transfer'], token: [usdc], addressBook: 'listed', amount: { lte: '1000' } },
        limits: [{ id: limitId, metric: 'outflow', token: usdc, window: '24h', max }],
      },
      {
        id: 'eth-to-known',
        effect: 'allow',
        match: { operation: ['transfer'], token: ['native'], addressBook: 'listed', amount: { lte: '1' } },
        limits: [{ id: 'eth-daily', metric: 'outflow', token: 'native', window: '24h', max: '1000' }],
      },
    ],
  }
}

/**
 * 16 agents (one MCP session each) send USDC transfers at once against one daily limit that fits exactly
 * `allowedCount` of them: every transfer is guarded and waits for its receipt. Counts what was allowed, what was
 * denied, what the ledger committed, and what the chain moved: the limit must hold exactly.
 */
async function agentsAgainstLimit(driver: StoreDriver, schema: string, f: DevnetFixtures, quick: boolean) {
  const perAgent = quick ? 4 : 10
  const total = agents * perAgent
  const allowedCount = total - agents // the last round of asks finds the budget spent
  const amount = parseUnits(usdcAmount, 6)
  const cap = amount * BigInt(allowedCount)
  // On PostgreSQL, two replicas (two gateways, each with its own pool) share the store and the wallet: the limit
  // and the nonces are kept in the database, so they hold across both. PGlite is one process's database: one.
  const replicas = driver === 'postgres' ? 2 : 1
  const stores = [await openDriver(driver, schema)]
  for (let i = 1; i < replicas; i++) stores.push(await openDriver(driver, schema))
  const store = stores[0]!
  const signer = await createSigner({
    backend: 'devnet',
    accountIndex: agentsAccount[driver],
    chainId: f.chainId,
  })
  const usdc = f.tokens.USDC.address
  const to = f.accounts[recipientAccount]!
  const gateways = stores.map((s) =>
    createGateway({
      config: { policy: benchPolicy(usdc, (Number(cap) / 1e6).toString(), 'agents-daily') },
      devnet: f,
      writes: { store: s, signer },
    }),
  )
  const gateway = gateways[0]!
  const viem = createPublicClient({ chain: devnetChain(f), transport: http(f.rpcUrl) })
  const balance = () =>
    viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [to] })
  try {
    await Promise.all(gateways.map((g) => g.ready))
    const operator = (await gateway.operator)!
    await operator.addressBook.add({ address: to, label: 'bench recipient', addedBy: 'bench' })
    // Agents spread over the replicas, an MCP session each.
    const sessions = await Promise.all(
      Array.from({ length: agents }, (_, i) => connectInProcess(gateways[i % replicas]!, 'agent')),
    )
    const before = await balance()
    let allowed = 0
    let denied = 0
    const started = performance.now()
    await Promise.all(
      sessions.map(async ({ client }) => {
        for (let i = 0; i < perAgent; i++) {
          const result = (await client.callTool({
            name: 'transfer',
            arguments: { chain: 'devnet', to, amount: usdcAmount, token: usdc, wait: true },
          })) as CallToolResult
          if (!result.isError && (result.structuredContent as { status?: string }).status === 'mined')
            allowed++
          else if (result.isError && JSON.stringify(result.content).includes('LIMIT_EXCEEDED')) denied++
          else throw new Error(`agents: ${JSON.stringify(result.structuredContent ?? result.content)}`)
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    await operator.maintain() // settle: mined reservations are committed
    const [usage] = await operator.limits.usage([
      {
        key: `usdc-to-known/agents-daily/${f.chainId}/${signer.address.toLowerCase()}/${usdc.toLowerCase()}`,
        windowSeconds: 86_400,
        max: cap,
      },
    ])
    const moved = (await balance()) - before
    await Promise.all(sessions.map((x) => x.close()))
    return {
      agents,
      replicas,
      asked: total,
      allowed,
      denied,
      cap: (Number(cap) / 1e6).toString(),
      committed: (Number(usage?.used ?? 0n) / 1e6).toString(),
      movedOnChain: (Number(moved) / 1e6).toString(),
      seconds,
      perSecond: allowed / seconds,
      exact: allowed === allowedCount && usage?.used === cap && moved === cap,
    }
  } finally {
    await Promise.all(gateways.map((g) => g.close()))
    for (const extra of stores.slice(1)) await extra.close()
    if (driver === 'postgres') await dropSchemas(store, [schema])
    await store.close()
  }
}
