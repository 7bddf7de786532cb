// `npm run bench`: the performance figures of the gateway, as JSON (bench/results/latest.json) and a table: the read
// side here, the write side in bench/writes.ts.
// Every comparison interleaves its two sides so machine noise hits both. Goals are from the issue; a miss is
// printed, never hidden.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { createMcpHandler } from '@modelcontextprotocol/server'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hash,
  http,
  multicall3Abi,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { devnetArtifacts } from '../src/devnet/artifacts.js'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { createGateway } from '../src/server/createGateway.js'
import { createMcpServerFactory } from '../src/server/mcpServer.js'
import { startCountingProxy } from '../test/rpcProxy.js'
import { benchFootprint } from './footprint.js'
import { benchGuard } from './guardGas.js'
import { benchLargeInput } from './largeInput.js'
import { benchOrders } from './orders.js'
import { benchPassports } from './passports.js'
import { benchPayments } from './payments.js'
import { benchPolicy } from './policy.js'
import { benchSolana } from './solana.js'
import { interleave, summarize, time } from './stats.js'
import { benchToolsList } from './toolsList.js'
import { benchWrites } from './writes.js'

const cli = join(import.meta.dirname, 'airlock.mjs')
// The flag `npm start`, the bin's shebang and the README's client configs run the gateway with (see README).
const nodeFlags = ['--max-semi-space-size=1']
const quick = process.argv.includes('--quick')
/** `--writes-only`: skip the read figures (policy, guarded writes and reconciliation only). */
const writesOnly = process.argv.includes('--writes-only')
/** `--large-input-only`: only the large write_contract argument figure (ADVERSARIAL 52). */
const largeInputOnly = process.argv.includes('--large-input-only')
/** `--guard-gas-only`: only the gas the on-chain guard adds to a write (issue 10). */
const guardGasOnly = process.argv.includes('--guard-gas-only')
/** `--footprint-only`: only the stdio figures of issue 11 (spawn, first write, memory, store on vs read-only). */
const footprintOnly = process.argv.includes('--footprint-only')
/** `--passports-only`: only the agent passport figures of issue 12 (verification per request, exchange, budgets). */
const passportsOnly = process.argv.includes('--passports-only')
/** `--payments-only`: only the x402 figures of issue 14 (a paid call's added latency, fetch_with_payment). */
const paymentsOnly = process.argv.includes('--payments-only')
/** `--orders-only`: only the standing-order figures of issue 15 (10,000 orders per block, move → rebalance mined). */
const ordersOnly = process.argv.includes('--orders-only')
/** `--solana-only`: only the Solana figures of issue 13 (guarded SPL transfer, 100-mint balances, devnet start). */
const solanaOnly = process.argv.includes('--solana-only')
const rounds = quick ? 300 : 2000
const results: Record<string, unknown> = {}
const table: { figure: string; result: string; goal: string; met: string }[] = []
const row = (figure: string, result: string, goal: string, met: boolean | null) =>
  table.push({ figure, result, goal, met: met === null ? '—' : met ? 'yes' : 'NO' })
const ms = (v: number) => `${v.toFixed(3)} ms`
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

/** The current MCP revision: bench clients speak it (SDK v2, pinned, no fallback). */
const modernRevision = '2026-07-28'

async function connect(transport: Transport): Promise<Client> {
  const client = new Client(
    { name: 'bench', version: '0.0.0' },
    { versionNegotiation: { mode: { pin: modernRevision } } },
  )
  await client.connect(transport)
  if (client.getProtocolEra() !== 'modern') throw new Error('bench client did not negotiate 2026-07-28')
  return client
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (c: Buffer) => {
      text += c.toString()
      const m = pattern.exec(text)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`airlock exited with ${code}`)))
  })
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

async function main(): Promise<void> {
  const devnets: Devnet[] = []
  const children: ChildProcess[] = []
  const clients: Client[] = []
  try {
    if (largeInputOnly) results.largeInput = await benchLargeInput({ quick, row, log })
    else if (guardGasOnly) results.guardGas = await benchGuard({ quick, row, log })
    else if (footprintOnly) results.footprint = await benchFootprint({ quick, cli, nodeFlags, row, log })
    else if (passportsOnly) results.passports = await benchPassports({ quick, row, log })
    else if (paymentsOnly) results.payments = await benchPayments({ quick, row, log })
    else if (ordersOnly) results.orders = await benchOrders({ quick, row, log })
    else if (solanaOnly) results.solana = await benchSolana({ quick, row, log })
    else await benchAll(devnets, children, clients)
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
    for (const c of children) c.kill('SIGTERM')
    await Promise.allSettled(devnets.map((d) => d.stop()))
  }
  mkdirSync('bench/results', { recursive: true })
  const out = { date: new Date().toISOString(), node: process.version, quick, results, table }
  writeFileSync('bench/results/latest.json', `${JSON.stringify(out, null, 2)}\n`)
  console.table(table)
  log('wrote bench/results/latest.json')
}

/** Every figure but the large-input one: reads (unless --writes-only), policy, writes. */
async function benchAll(devnets: Devnet[], children: ChildProcess[], clients: Client[]): Promise<void> {
  // tools/list: what a model's context pays for the tool definitions.
  const list = benchToolsList()
  results.toolsList = list
  row(
    '(t) tools/list, read + write toolsets (per tool)',
    `${list.read_write_bytes} bytes, ${list.read_write_tools} tools`,
    '≤ 20 KiB (20,480 bytes)',
    list.read_write_bytes <= 20 * 1024,
  )
  row(
    '(t) tools/list, read + write + payments toolsets',
    `${list.read_write_payments_bytes} bytes`,
    '≤ 21 KiB (21,504 bytes) since fetch_with_payment',
    list.read_write_payments_bytes <= 21 * 1024,
  )
  row(
    '(t) tools/list, every toolset, standing orders too (per tool)',
    `${list.full_bytes} bytes, ${list.full_tools} tools (${list.per_tool_bytes} B each)`,
    '≤ 24 KiB (24,576 bytes) since the order tools',
    list.full_bytes <= 24 * 1024,
  )
  row(
    '(t) tools/list, read toolset',
    `${list.read_bytes} bytes, ${list.read_tools} tools`,
    '≤ 10 KiB (10,240 bytes)',
    list.read_bytes <= 10 * 1024,
  )
  if (!writesOnly) {
    await benchReads(devnets, children, clients)
    // (f) what a client spawning the gateway over stdio feels: spawn, first write, memory, store on vs read-only
    results.footprint = await benchFootprint({ quick, cli, nodeFlags, row, log })
  }
  // Policy evaluation: pure CPU, 100 rules.
  log('policy evaluation')
  const policy = await benchPolicy()
  results.policy = policy
  for (const p of policy)
    row(
      `(p) policy evaluation, ${p.rules} rules, ${p.name} (median / p95)`,
      `${p.median_us.toFixed(1)} / ${p.p95_us.toFixed(1)} µs`,
      '≤ 50 µs median',
      p.median_us <= 50,
    )
  // (w) transfers through the write path against viem, and restart reconciliation, on a devnet of their own
  results.writes = await benchWrites({ quick, row, log })
  results.largeInput = await benchLargeInput({ quick, row, log })
  // (g) gas the on-chain guard adds to a write, on a devnet of its own (about a second)
  results.guardGas = await benchGuard({ quick, row, log })
  // (i) agent passports over HTTP: verification per request, cold exchange, 16 budgets, on a devnet of its own
  results.passports = await benchPassports({ quick, row, log })
  results.payments = await benchPayments({ quick, row, log })
  results.orders = await benchOrders({ quick, row, log })
  results.solana = await benchSolana({ quick, row, log })
}

/** The read-side figures (a)–(e). */
async function benchReads(devnets: Devnet[], children: ChildProcess[], clients: Client[]): Promise<void> {
  {
    // A devnet that answers as chain id 1, so a registry chain ("ethereum") can point at it through
    // AIRLOCK_RPC_ETHEREUM, and the gateway process runs without its own devnet (no demo mode).
    log('starting devnets')
    const eth = await startDevnet({ chainId: 1, chainName: 'ethereum' })
    devnets.push(eth)
    const dir = join(tmpdir(), `airlock-bench-${process.pid}`)
    mkdirSync(dir, { recursive: true })
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    const config = join(dir, 'airlock.json')
    writeFileSync(config, JSON.stringify({ rpc: { publicFallback: false } }))
    const env = { ...process.env, AIRLOCK_RPC_ETHEREUM: eth.rpcUrl }
    const viem = createPublicClient({ transport: http(eth.rpcUrl) })
    const owner = eth.fixtures.accounts[1]! as Address
    const usdc = eth.fixtures.tokens.USDC.address

    // (a) stdio
    const stdioTransport = new StdioClientTransport({
      command: process.execPath,
      args: [...nodeFlags, cli, 'stdio', '--config', config],
      env,
      stderr: 'ignore',
    })
    const stdio = await connect(stdioTransport)
    clients.push(stdio)
    const stdioPid = stdioTransport.pid!
    await new Promise((r) => setTimeout(r, 300))
    const idleRss = rssMb(stdioPid)
    const balanceArgs = { name: 'get_balance', arguments: { chain: 'ethereum', address: owner } }
    const readArgs = {
      name: 'read_contract',
      arguments: {
        chain: 'ethereum',
        address: usdc,
        function: 'balanceOf(address) view returns (uint256)',
        args: [owner],
      },
    }
    const added = async (label: string, client: Client, kind: string) => {
      const bal = await interleave(
        rounds,
        200,
        () => client.callTool(balanceArgs),
        () => viem.getBalance({ address: owner }),
      )
      const rd = await interleave(
        rounds,
        200,
        () => client.callTool(readArgs),
        () => viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [owner] }),
      )
      for (const [tool, r] of [
        ['get_balance', bal],
        ['read_contract', rd],
      ] as const) {
        const via = summarize(r.a)
        const direct = summarize(r.b)
        const addedMedian = via.median - direct.median
        const addedP95 = via.p95 - direct.p95
        results[`added_${kind}_${tool}`] = {
          airlock: via,
          viem: direct,
          addedMedianMs: addedMedian,
          addedP95Ms: addedP95,
        }
        row(
          `(a) ${tool} added latency over ${label} (median / p95)`,
          `${ms(addedMedian)} / ${ms(addedP95)}  (airlock ${ms(via.median)}, viem ${ms(direct.median)})`,
          kind === 'stdio' ? '≤ 0.1 ms median' : '≤ 0.3 ms median',
          addedMedian <= (kind === 'stdio' ? 0.1 : 0.3),
        )
      }
    }
    log('(a) stdio')
    await added('stdio', stdio, 'stdio')

    // (d) RSS after 10,000 calls: right after them, and after 20 s idle (V8 gives the enlarged young generation
    // back when the process goes quiet); then 40,000 more at 50 in flight, to show the plateau (no leak).
    log('(d) 10,000 calls')
    const rssAfter = async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms))
      return rssMb(stdioPid)
    }
    for (let i = 0; i < 10_000; i++) await stdio.callTool(balanceArgs)
    const rightAfter = await rssAfter(500)
    const settled = await rssAfter(20_000)
    for (let i = 0; i < (quick ? 10_000 : 40_000); i += 50)
      await Promise.all(Array.from({ length: 50 }, () => stdio.callTool(balanceArgs)))
    const afterBurst = await rssAfter(500)
    const afterBurstSettled = await rssAfter(20_000)
    const growth = (v: number) => ((v - idleRss) / idleRss) * 100
    results.memory = {
      idleRssMb: idleRss,
      after10kSequentialMb: rightAfter,
      after10kSequentialIdle20sMb: settled,
      afterBurstMb: afterBurst,
      afterBurstIdle20sMb: afterBurstSettled,
    }
    row('(d) idle RSS (stdio server)', `${idleRss.toFixed(1)} MB`, '≤ 80 MB', idleRss <= 80)
    row(
      '(d) RSS growth after 10,000 calls: after 20 s idle (right after)',
      `${growth(settled).toFixed(1)} % (${growth(rightAfter).toFixed(1)} %)`,
      '≤ 20 %',
      growth(settled) <= 20,
    )
    row(
      '(d) RSS after 40,000 more at 50 in flight, then idle',
      `${afterBurst.toFixed(1)} MB → ${afterBurstSettled.toFixed(1)} MB`,
      'no leak',
      afterBurstSettled <= idleRss * 1.2,
    )

    // (a) HTTP and (e) throughput
    log('(a) http')
    const server = spawn(process.execPath, [...nodeFlags, cli, 'start', '--config', config, '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    children.push(server)
    const url = await waitForLine(server, /MCP endpoint \(Streamable HTTP\): (\S+)/)
    const httpTransport = new StreamableHTTPClientTransport(new URL(url))
    const httpClient = await connect(httpTransport)
    clients.push(httpClient)
    await added('HTTP', httpClient, 'http')
    log('(e) throughput')
    const tput = await throughput(url, owner, quick ? 2000 : 4000)
    results.httpThroughput = tput
    row(
      '(e) get_balance over HTTP, 50 in flight',
      `${tput.callsPerSecond.toFixed(0)} calls/s (${tput.errors} errors)`,
      '≥ 3,000 calls/s',
      tput.callsPerSecond >= 3000,
    )

    // (b) and (c): in process, on devnets with the fixtures
    log('(b) token balances')
    const main = await startDevnet()
    devnets.push(main)
    const counting = await startCountingProxy(main.rpcUrl)
    const f = main.fixtures
    // 100 real ERC-20s (clones of the devnet DAI, each with a balance for account 1), so every balanceOf runs
    // token code and every token's facts end up cached, as in steady state.
    const real = await deployTokens(main.rpcUrl, f.accounts[1]! as Address, 100)
    const tokenList = (n: number) => real.slice(0, n)
    const inMemory = async (opts: Parameters<typeof createGateway>[0]) => {
      const gateway = createGateway(opts)
      const handler = createMcpHandler(createMcpServerFactory(gateway, { transport: 'memory' }))
      const client = await connect(
        new StreamableHTTPClientTransport(new URL('http://127.0.0.1/mcp'), {
          fetch: (u, init) => handler.fetch(new Request(u, init)),
        }),
      )
      clients.push(client)
      return { client, gateway }
    }
    const counted = await inMemory({ devnet: { ...f, rpcUrl: counting.url } })
    const direct = await inMemory({ devnet: f })
    const tb: Record<string, unknown> = {}
    let oneTokenMedian = 0
    for (const n of [1, 10, 100]) {
      const args = {
        name: 'get_token_balances',
        arguments: { chain: 'devnet', address: f.accounts[1], tokens: tokenList(n) },
      }
      await counted.client.callTool(args) // warm the token-facts cache, as in steady state
      counting.reset()
      await counted.client.callTool(args)
      const calls = counting.total('eth_call')
      // The floor: the same Multicall3 batch (native + n balanceOf) as one raw eth_call, interleaved.
      const batch = encodeFunctionData({
        abi: multicall3Abi,
        functionName: 'aggregate3',
        args: [
          [f.multicall3, ...tokenList(n)].map((target, i) => ({
            target,
            allowFailure: true,
            callData:
              i === 0
                ? encodeFunctionData({
                    abi: multicall3Abi,
                    functionName: 'getEthBalance',
                    args: [f.accounts[1]!],
                  })
                : encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [f.accounts[1]!] }),
          })),
        ],
      })
      const raw = createPublicClient({ transport: http(main.rpcUrl) })
      const { a: samples, b: floorSamples } = await interleave(
        quick ? 100 : 400,
        20,
        () => direct.client.callTool(args),
        () => raw.call({ to: f.multicall3, data: batch }),
      )
      const s = summarize(samples)
      const floor = summarize(floorSamples)
      if (n === 1) oneTokenMedian = s.median
      tb[n] = { rpcCalls: calls, latency: s, rawBatchEthCall: floor }
      row(
        `(b) get_token_balances, ${n} token(s): RPC calls, median (raw eth_call of the batch)`,
        `${calls} call(s), ${ms(s.median)} (${ms(floor.median)})`,
        n === 100 ? '1 call, ≤ 2× the 1-token latency' : '1 call',
        n === 100 ? calls === 1 && s.median <= 2 * oneTokenMedian : calls === 1,
      )
    }
    results.tokenBalances = tb
    await counting.close()

    log('(c) portfolio over 10 chains')
    const ten = await Promise.all(
      Array.from({ length: 9 }, (_, i) => startDevnet({ chainId: 31338 + i, chainName: `devnet-${i + 1}` })),
    )
    devnets.push(...ten)
    const portfolio = await inMemory({ devnet: f, extraDevnets: ten.map((d) => d.fixtures) })
    const names = ['devnet', ...ten.map((d) => d.fixtures.chain)]
    const address = f.accounts[1]
    const single: Record<string, number> = {}
    const all: number[] = []
    const perChain: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
    for (let i = 0; i < (quick ? 50 : 200); i++) {
      all.push(
        await time(() =>
          portfolio.client.callTool({ name: 'get_portfolio', arguments: { address, chains: names } }),
        ),
      )
      for (const n of names)
        perChain[n]!.push(
          await time(() =>
            portfolio.client.callTool({ name: 'get_portfolio', arguments: { address, chains: [n] } }),
          ),
        )
    }
    for (const n of names) single[n] = summarize(perChain[n]!).median
    const slowest = Math.max(...Object.values(single))
    const allS = summarize(all)
    results.portfolio = { chains: 10, allChains: allS, singleChainMedians: single, slowestSingleMs: slowest }
    row(
      '(c) get_portfolio over 10 chains (median)',
      `${ms(allS.median)} (slowest single chain ${ms(slowest)})`,
      '≤ slowest + 5 ms',
      allS.median <= slowest + 5,
    )
  }
}

/** Deploys `count` ERC-20 tokens from account 0, each holding 1 token for `holder`. */
async function deployTokens(rpcUrl: string, holder: Address, count: number): Promise<Address[]> {
  const account = mnemonicToAccount('test test test test test test test test test test test junk')
  const wallet = createWalletClient({ account, chain: undefined, transport: http(rpcUrl) })
  const reader = createPublicClient({ transport: http(rpcUrl) })
  const { abi, bytecode } = devnetArtifacts.contracts.DAI
  const nonce = await reader.getTransactionCount({ address: account.address })
  const chainId = await reader.getChainId()
  const hashes: Hash[] = []
  for (let i = 0; i < count; i++)
    hashes.push(
      await wallet.deployContract({
        abi,
        bytecode,
        args: [[holder], 10n ** 18n],
        nonce: nonce + i,
        gas: 3_000_000n,
        chain: { id: chainId },
      } as never),
    )
  const receipts = await Promise.all(hashes.map((hash) => reader.waitForTransactionReceipt({ hash })))
  return receipts.map((r) => getAddress(r.contractAddress!))
}

/** Raw keep-alive HTTP POSTs of get_balance on one session, 50 in flight, for `durationMs`. */
/** `get_balance` as raw 2026-07-28 requests (no session: each request stands alone), 50 in flight. */
async function throughput(url: string, address: string, durationMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 })
  const target = new URL(url)
  let done = 0
  let errors = 0
  let id = 1000
  const one = () =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: id++,
        method: 'tools/call',
        params: {
          name: 'get_balance',
          arguments: { chain: 'ethereum', address },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': modernRevision,
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      })
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': modernRevision,
            'mcp-method': 'tools/call',
            'mcp-name': 'get_balance',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = ''
          res.on('data', (c: Buffer) => (text += c))
          res.on('end', () => {
            if (res.statusCode === 200 && text.includes('"balance"') && !text.includes('"isError":true'))
              done++
            else errors++
            resolve()
          })
        },
      )
      req.on('error', () => {
        errors++
        resolve()
      })
      req.end(body)
    })
  const end = performance.now() + durationMs
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (performance.now() < end) await one()
    }),
  )
  const elapsed = performance.now() - t0
  agent.destroy()
  return {
    inFlight: 50,
    seconds: elapsed / 1000,
    calls: done,
    errors,
    callsPerSecond: done / (elapsed / 1000),
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
