// Issue 12's figures: what agent passports cost over HTTP. (1) The per-request verification a passport adds to a
// read (token, RFC 9421 signature, nonce recorded in the store, cached status) against the same read as the local
// operator, with what the nonce insert alone takes; (2) a cold passport exchange (discovery, token, first signed
// request); (3) 16 agents, each with a passport and a grant budget of its own, sending guarded USDC transfers at
// once: every budget must be spent exactly. Everything runs on a devnet of its own, in this process, through real
// HTTP servers on loopback ports.
import { randomBytes, randomUUID } from 'node:crypto'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { sql } from 'kysely'
import { type Address, createPublicClient, erc20Abi, http, parseUnits } from 'viem'
import type { ToolResult as CallToolResult } from '../src/context/tool.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import type { DevnetFixtures } from '../src/devnet/fixtures.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import { verifyAccessToken } from '../src/identity/accessToken.js'
import { createAssertion } from '../src/identity/assertion.js'
import { jwtBearerGrantType } from '../src/identity/authenticate.js'
import { contentDigest } from '../src/identity/contentDigest.js'
import { publicKeyOfDidKey } from '../src/identity/didKey.js'
import { signRequest, verifyRequestSignature } from '../src/identity/httpSignature.js'
import { createPassportFetch } from '../src/identity/passportFetch.js'
import { createGateway, type Gateway, type Operator } from '../src/server/createGateway.js'
import { type HttpServer, startHttpServer } from '../src/server/http.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import { openStore, type Store } from '../src/store/openStore.js'
import { passportedAgent, type TestAgent } from '../test/passports.js'
import { delegateToGuard } from './guardGas.js'
import { interleave, summarize, time } from './stats.js'
import type { WriteBenchReport } from './writes.js'

/**
 * The gateway's sender. Accounts 0–2 hold 1,000,000 USDC from the fixtures; 0 is the devnet's own wallet and the
 * funder of bench/writes.ts, 1 the signer of bench/largeInput.ts and 3–9 are bench/writes.ts's and guardGas.ts's:
 * 2 is sent from nowhere else. The PostgreSQL run reuses it after the PGlite gateway has closed (nonces are kept
 * per store, and a fresh store starts from the chain's pending nonce).
 */
const senderAccount = 2
const recipientAccount = 8
const agents = 16
/** Each agent's transfers; its budget fits a whole number of them, and one more ask finds it spent. */
const transferUsdc = '4'
const goalAddedMs = 0.3
const modernRevision = '2026-07-28'
const databaseUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const ms = (v: number) => `${v.toFixed(3)} ms`

/** Runs the passport figures; returns them for the results JSON (the table rows go through `report.row`). */
export async function benchPassports(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { log } = report
  log('(i) starting the passport devnet')
  const devnet = await startDevnet()
  try {
    const f = devnet.fixtures
    await delegateToGuard(f, senderAccount)
    const signer = await createSigner({ backend: 'devnet', accountIndex: senderAccount, chainId: f.chainId })
    const out: Record<string, unknown> = { chainId: f.chainId, sender: signer.address }
    out.pglite = await benchPglite(report, f, signer)
    const schema = `bench_pp_${randomBytes(6).toString('hex')}`
    let probe: Store
    try {
      probe = await openStore({ databaseUrl, schema })
    } catch (error) {
      log(`(i) postgres skipped: ${(error as Error).message}`)
      out.postgres = { skipped: (error as Error).message }
      report.row('(i) 16 agents with passports, PostgreSQL', 'skipped (no server)', '—', null)
      return out
    }
    try {
      log('(i) PostgreSQL: 16 agents through 2 replicas')
      const agentsOut = await agentBudgets(report, f, signer, [
        probe,
        await openStore({ databaseUrl, schema }),
      ])
      out.postgres = { agents: agentsOut }
      agentsRow(report, agentsOut, 'PostgreSQL')
    } finally {
      await dropSchema(probe, schema)
      await probe.close()
    }
    return out
  } finally {
    await devnet.stop()
  }
}

/** The operator's policy: small USDC transfers on the devnet to anyone; each agent's grant narrows it. */
function policyFor(f: DevnetFixtures) {
  return {
    version: 1,
    rules: [
      {
        id: 'small-usdc',
        effect: 'allow',
        match: {
          operation: ['transfer'],
          chain: ['devnet'],
          token: [f.tokens.USDC.address],
          amount: { lte: '20' },
        },
      },
    ],
  }
}

/** A gateway on `store` serving HTTP on a free loopback port. */
async function serve(
  f: DevnetFixtures,
  store: Store,
  signer: Signer,
  auth: 'none' | 'passport',
): Promise<{ gateway: Gateway; server: HttpServer; operator: Operator; close(): Promise<void> }> {
  const gateway = createGateway({
    config: { policy: policyFor(f), auth, rpc: { publicFallback: false } },
    devnet: f,
    writes: { store, signer },
  })
  try {
    await gateway.ready
    const server = await startHttpServer({ gateway, port: 0 })
    const operator = (await gateway.operator)!
    return {
      gateway,
      server,
      operator,
      async close() {
        await server.close()
        await gateway.close()
      },
    }
  } catch (error) {
    await gateway.close()
    throw error
  }
}

/** An official v2 MCP client (2026-07-28) on `url`, through `fetch` when given (an agent's passport fetch). */
async function mcpClient(url: string, fetch?: typeof globalThis.fetch): Promise<Client> {
  const client = new Client(
    { name: 'bench-agent', version: '0.0.0' },
    { versionNegotiation: { mode: { pin: modernRevision } } },
  )
  await client.connect(new StreamableHTTPClientTransport(new URL(url), fetch ? { fetch } : {}))
  if (client.getProtocolEra() !== 'modern') throw new Error('bench client did not negotiate 2026-07-28')
  return client
}

const agentFetch = (agent: TestAgent) =>
  createPassportFetch({ passport: agent.passport, key: agent.key, codeHash: agent.codeHash })

/** The error code of a failed tool call (the text content is `{ error: { code, … } }`). */
function errorCode(result: CallToolResult): string {
  const first = result.content[0]
  try {
    return (
      (JSON.parse(first?.type === 'text' ? first.text : '{}') as { error?: { code?: string } }).error?.code ??
      '?'
    )
  } catch {
    return '?'
  }
}

async function ok(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`)
  return result.structuredContent as Record<string, unknown>
}

/** Figures 1–3 on PGlite: one passport gateway, and beside it an operator gateway (`auth: 'none'`) on its own PGlite. */
async function benchPglite(report: WriteBenchReport, f: DevnetFixtures, signer: Signer) {
  const { quick, row, log } = report
  const rounds = quick ? 300 : 2000
  const warmup = 200
  const out: Record<string, unknown> = {}
  const stores: Store[] = []
  // Closed in reverse; all but the passport gateway (figure 1's clients, the operator's gateway) after figure 2.
  const closing: (() => Promise<void>)[] = []
  try {
    stores.push(await openStore({ memory: true }), await openStore({ memory: true }))
    const withPassports = await serve(f, stores[0]!, signer, 'passport')
    closing.push(withPassports.close)
    // The operator's gateway never writes: it shares the sender but not its nonces.
    const asOperator = await serve(f, stores[1]!, signer, 'none')
    closing.push(asOperator.close)
    const registry = withPassports.operator.passports
    const chains = [`eip155:${f.chainId}`]

    // (1) the same read, with a passport and as the local operator, interleaved
    log('(i) PGlite: get_balance with a passport vs as the operator')
    const agent = await passportedAgent(registry, { tools: ['whoami', 'get_balance'], chains })
    const passportClient = await mcpClient(withPassports.server.url, agentFetch(agent))
    closing.push(() => passportClient.close())
    const operatorClient = await mcpClient(asOperator.server.url)
    closing.push(() => operatorClient.close())
    const me = await ok(passportClient, 'whoami', {})
    if (me.id !== agent.did) throw new Error(`whoami answered ${JSON.stringify(me)}`)
    const balance = { chain: 'devnet', address: f.accounts[1]! }
    const r = await interleave(
      rounds,
      warmup,
      () => ok(passportClient, 'get_balance', balance),
      () => ok(operatorClient, 'get_balance', balance),
    )
    const passport = summarize(r.a)
    const operator = summarize(r.b)

    // Where the added time goes: the nonce insert alone, then the server's whole authenticate() in process and
    // its parts, and the client's digest and signature of one request.
    const n = quick ? 1000 : 5000
    const nonceSamples: number[] = []
    const expires = Math.floor(Date.now() / 1000) + 60
    for (let i = 0; i < n; i++)
      nonceSamples.push(
        await time(async () => {
          if (!(await registry.useNonce(agent.did, randomUUID(), expires)))
            throw new Error('nonce seen twice')
        }),
      )
    const nonce = summarize(nonceSamples)
    // The same insert once between each two reads as the operator: as in a request, the database has been idle.
    const spaced = summarize(
      (
        await interleave(
          quick ? 300 : 1000,
          50,
          () => registry.useNonce(agent.did, randomUUID(), expires),
          () => ok(operatorClient, 'get_balance', balance),
        )
      ).a,
    )
    const parts = await verificationParts(
      withPassports.gateway,
      registry,
      withPassports.server.url,
      agent,
      balance,
      n,
    )
    const added = passport.median - operator.median
    out.addedPerRead = {
      passport,
      operator,
      addedMedianMs: added,
      addedP95Ms: passport.p95 - operator.p95,
      nonceInsert: nonce,
      nonceInsertBetweenReads: spaced,
      inProcess: parts,
    }
    row(
      '(i) get_balance over HTTP with a passport, added to the local operator’s, PGlite (median / p95)',
      `${ms(added)} / ${ms(passport.p95 - operator.p95)}  (passport ${ms(passport.median)}, operator ${ms(operator.median)})`,
      `≤ ${goalAddedMs} ms median`,
      added <= goalAddedMs,
    )
    row(
      '(i) of which: request nonce recorded (registry.useNonce alone), PGlite: back to back; between two reads (median / p95)',
      `${ms(nonce.median)} / ${ms(nonce.p95)}  (${n} calls); ${ms(spaced.median)} / ${ms(spaced.p95)}  (${spaced.n})`,
      'report',
      null,
    )
    row(
      '(i) of which, in process (median): authenticate() = token + signature + nonce + status; client digest and signature',
      `${ms(parts.authenticate.median)} = ${ms(parts.tokenVerify.median)} + ${ms(parts.signatureVerify.median)} + nonce (above) + ${ms(parts.cachedStatus.median)}; client ${ms(parts.clientSigning.median)}`,
      'report',
      null,
    )

    // (2) cold exchange: a fresh agent's passport fetch to its first whoami answered
    log('(i) PGlite: cold passport exchanges')
    const cold = await coldExchanges(registry, withPassports.server.url, chains, quick ? 10 : 40)
    out.coldExchange = cold
    row(
      '(i) cold passport exchange (discovery, token, first signed whoami), PGlite: median (p95)',
      `${ms(cold.cold.median)} (${ms(cold.cold.p95)})  (next whoami ${ms(cold.warm.median)}; ${cold.agents} agents)`,
      'report',
      null,
    )

    // (3) 16 agents on their own budgets
    log('(i) PGlite: 16 agents on their own budgets')
    for (const c of closing.splice(1).reverse()) await c()
    const agentsOut = await agentBudgetsOn(report, f, [withPassports])
    out.agents = agentsOut
    agentsRow(report, agentsOut, 'PGlite')
    return out
  } finally {
    for (const c of closing.reverse()) await c().catch(() => {})
    for (const s of stores) await s.close().catch(() => {})
  }
}

/** The components an agent's signature must cover when present (src/identity/authenticate.ts requires them). */
const covered = [
  '@method',
  '@target-uri',
  'authorization',
  'content-digest',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
]

/**
 * Where a passport request's verification goes, in process, over `n` signed `get_balance` requests: the server's
 * whole `authenticate()` (token, signature, nonce, status), and apart from it the token's verification, the
 * signature's (nonce not recorded), the cached status read, and the client's share (content digest and signature).
 */
async function verificationParts(
  gateway: Gateway,
  registry: Operator['passports'],
  url: string,
  agent: TestAgent,
  args: Record<string, unknown>,
  n: number,
) {
  const authenticator = gateway.authenticator!
  const assertion = await createAssertion({
    agent: agent.did,
    key: agent.key,
    audience: `${gateway.publicUrl}/oauth/token`,
    passport: agent.passport,
    codeHash: agent.codeHash,
  })
  const { access_token: token } = await authenticator.exchange(
    new URLSearchParams({ grant_type: jwtBearerGrantType, assertion }),
  )
  const issuer = await registry.issuer()
  const body = new TextEncoder().encode(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'get_balance',
        arguments: args,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': modernRevision,
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  )
  const samples = { authenticate: [] as number[], token: [] as number[], signature: [] as number[] }
  const status: number[] = []
  const signing: number[] = []
  for (let i = 0; i < n; i++) {
    const headers = new Headers({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': modernRevision,
      'mcp-method': 'tools/call',
      'mcp-name': 'get_balance',
      authorization: `Bearer ${token}`,
    })
    const t = performance.now()
    headers.set('content-digest', contentDigest(body))
    const signed = await signRequest({ method: 'POST', url, headers, key: agent.key, keyid: agent.did })
    headers.set('signature-input', signed.signatureInput)
    headers.set('signature', signed.signature)
    signing.push(performance.now() - t)
    samples.token.push(
      await time(() =>
        verifyAccessToken(token, {
          issuer: { url: gateway.publicUrl, key: issuer.key },
          resource: `${gateway.publicUrl}/mcp`,
        }),
      ),
    )
    samples.signature.push(
      await time(() =>
        verifyRequestSignature({
          method: 'POST',
          url,
          headers,
          body,
          resolveKey: publicKeyOfDidKey,
          required: covered,
          useNonce: async () => true,
        }),
      ),
    )
    status.push(await time(() => registry.current(agent.did, agent.record.id)))
    samples.authenticate.push(
      await time(() => authenticator.authenticate({ method: 'POST', url, headers, body })),
    )
  }
  return {
    authenticate: summarize(samples.authenticate),
    tokenVerify: summarize(samples.token),
    signatureVerify: summarize(samples.signature),
    cachedStatus: summarize(status),
    clientSigning: summarize(signing),
  }
}

/**
 * `count` fresh agents, one after another: from `createPassportFetch` to the first `whoami` answered, as a raw
 * 2026-07-28 request through the passport fetch (discovery, token exchange, one signed request), then the same
 * request once more with the token in hand.
 */
async function coldExchanges(registry: Operator['passports'], url: string, chains: string[], count: number) {
  const cold: number[] = []
  const warm: number[] = []
  let id = 1
  const whoami = (fetch: typeof globalThis.fetch, did: string) => async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': modernRevision,
        'mcp-method': 'tools/call',
        'mcp-name': 'whoami',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: id++,
        method: 'tools/call',
        params: {
          name: 'whoami',
          arguments: {},
          _meta: {
            'io.modelcontextprotocol/protocolVersion': modernRevision,
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    })
    const text = await response.text()
    if (response.status !== 200 || !text.includes(did) || text.includes('"isError":true'))
      throw new Error(`whoami: HTTP ${response.status} ${text.slice(0, 300)}`)
  }
  // One agent first, unmeasured: the first token exchange of the process pays for loading and warming its code.
  for (let i = -1; i < count; i++) {
    const agent = await passportedAgent(registry, { tools: ['whoami'], chains })
    const t = performance.now()
    const fetch = agentFetch(agent)
    await whoami(fetch, agent.did)()
    const dt = performance.now() - t
    const again = await time(whoami(fetch, agent.did))
    if (i < 0) continue
    cold.push(dt)
    warm.push(again)
  }
  return { agents: count, cold: summarize(cold), warm: summarize(warm) }
}

/** What {@link agentBudgets} measured. */
type AgentsResult = Awaited<ReturnType<typeof agentBudgetsOn>>

/** Opens a passport gateway and HTTP server on each store (replicas sharing it), runs the agents, closes them. */
async function agentBudgets(report: WriteBenchReport, f: DevnetFixtures, signer: Signer, stores: Store[]) {
  const replicas: Awaited<ReturnType<typeof serve>>[] = []
  try {
    for (const s of stores) replicas.push(await serve(f, s, signer, 'passport'))
    return await agentBudgetsOn(report, f, replicas)
  } finally {
    for (const r of replicas) await r.close().catch(() => {})
    for (const s of stores.slice(1)) await s.close().catch(() => {})
  }
}

/**
 * 16 agents, each with its own passport and a grant budget that fits exactly `perAgent` transfers of 4 USDC, spread
 * over the replicas, each asking `perAgent + 1` guarded transfers (waiting for the receipt) at once with the others.
 * Exact means, per agent: `perAgent` transfers mined for exactly its budget, then LIMIT_EXCEEDED, and whoami shows
 * the budget used up; and the chain moved 16 budgets.
 */
async function agentBudgetsOn(
  report: WriteBenchReport,
  f: DevnetFixtures,
  replicas: { server: HttpServer; operator: Operator }[],
) {
  const perAgent = report.quick ? 2 : 5
  const budget = (Number(transferUsdc) * perAgent).toString()
  const usdc = f.tokens.USDC.address
  const to = f.accounts[recipientAccount]! as Address
  const viem = createPublicClient({ chain: devnetChain(f), transport: http(f.rpcUrl) })
  const balance = () =>
    viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [to] })
  const registry = replicas[0]!.operator.passports
  const issued = await Promise.all(
    Array.from({ length: agents }, () =>
      passportedAgent(registry, {
        tools: ['whoami', 'transfer'],
        chains: [`eip155:${f.chainId}`],
        budget: { currency: 'USD', max: budget, windowSeconds: 86_400 },
        amountRange: { currency: 'USD', min: '0', max: '50' },
      }),
    ),
  )
  const clients: Client[] = []
  try {
    for (const [i, agent] of issued.entries())
      clients.push(await mcpClient(replicas[i % replicas.length]!.server.url, agentFetch(agent)))
    // Every agent holds its token before the clock starts.
    await Promise.all(clients.map((c) => ok(c, 'whoami', {})))
    const before = await balance()
    const outcomes: string[][] = clients.map(() => [])
    const started = performance.now()
    await Promise.all(
      clients.map(async (client, i) => {
        for (let k = 0; k <= perAgent; k++) {
          const result = (await client.callTool({
            name: 'transfer',
            arguments: { chain: 'devnet', to, amount: transferUsdc, token: usdc, wait: true },
          })) as CallToolResult
          const status = (result.structuredContent as { status?: string } | undefined)?.status
          outcomes[i]!.push(result.isError ? errorCode(result) : (status ?? '?'))
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    const moved = (await balance()) - before
    const expected = [...Array.from({ length: perAgent }, () => 'mined'), 'LIMIT_EXCEEDED']
    const perAgentResult = await Promise.all(
      clients.map(async (client, i) => {
        const me = await ok(client, 'whoami', {})
        const used = (me.budget as { used?: string; remaining?: string } | undefined) ?? {}
        const mined = outcomes[i]!.filter((o) => o === 'mined').length
        const spent = (mined * Number(transferUsdc)).toString()
        return {
          outcomes: outcomes[i]!,
          spent,
          budgetUsed: used.used,
          budgetRemaining: used.remaining,
          exact:
            outcomes[i]!.join() === expected.join() &&
            spent === budget &&
            used.used === budget &&
            used.remaining === '0',
        }
      }),
    )
    const mined = perAgentResult.reduce((s, a) => s + a.outcomes.filter((o) => o === 'mined').length, 0)
    const wanted = parseUnits(budget, 6) * BigInt(agents)
    const exactAgents = perAgentResult.filter((a) => a.exact).length
    return {
      agents,
      replicas: replicas.length,
      budgetUsd: budget,
      transferUsdc,
      asked: agents * (perAgent + 1),
      mined,
      limitExceeded: perAgentResult.reduce(
        (s, a) => s + a.outcomes.filter((o) => o === 'LIMIT_EXCEEDED').length,
        0,
      ),
      movedOnChain: (Number(moved) / 1e6).toString(),
      expectedOnChain: (Number(wanted) / 1e6).toString(),
      seconds,
      perSecond: mined / seconds,
      exactAgents,
      exact: exactAgents === agents && moved === wanted,
      // Only the agents whose budget was not exact, to keep the JSON short.
      wrong: perAgentResult.filter((a) => !a.exact),
    }
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
  }
}

function agentsRow(report: WriteBenchReport, a: AgentsResult, label: string): void {
  report.row(
    `(i) guarded USDC transfers, ${a.agents} agents with a passport and a $${a.budgetUsd} grant budget each, over HTTP through ${a.replicas} replica(s), ${label}: mined/s; budgets`,
    `${a.perSecond.toFixed(0)}/s; ${a.exactAgents}/${a.agents} budgets exact (${a.mined} × ${a.transferUsdc} USDC mined, ${a.limitExceeded} LIMIT_EXCEEDED), moved ${a.movedOnChain} of ${a.expectedOnChain} USDC`,
    'every budget exact',
    a.exact,
  )
}

async function dropSchema(store: Store, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db)
      return
    } catch (error) {
      // A replica's connection just closed may still hold a lock (40P01: the drop picked as deadlock victim).
      if ((error as { code?: unknown }).code !== '40P01' || attempt >= 5) throw error
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
    }
  }
}
