// The figures an MCP client feels first, measured on `airlock stdio` processes as a client spawns them: spawn →
// tools/list, the first write of a new process in a fresh data directory, resident memory (idle, after 10,000
// mixed calls, and 30 s later), reads at 10 in flight with the embedded store on against the same gateway
// read-only, and a guarded native transfer to an address-book name (latency and RPC calls), then the RPC calls
// the gateway makes per block at idle after 100 transfers. Comparisons interleave their sides.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { type Address, createPublicClient, http } from 'viem'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { startCountingProxy } from '../test/rpcProxy.js'
import { interleave, summarize, time } from './stats.js'

export type FootprintReport = {
  quick: boolean
  cli: string
  nodeFlags: readonly string[]
  row: (figure: string, result: string, goal: string, met: boolean | null) => void
  log: (line: string) => void
}

const goals = {
  spawnMs: 350,
  firstWriteMs: 300,
  idleStoreMb: 150,
  afterMixedMb: 200,
  readOnlyMb: 80,
  ratio: 0.8,
  perSecond: 2000,
  transferMs: 20,
  transferCalls: 6,
  idleCallsPerBlock: 1,
  addedMs: 0.3,
}
const ms = (v: number) => `${v.toFixed(1)} ms`
const mb = (v: number) => `${v.toFixed(0)} MB`
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
const sleep = (t: number) => new Promise((r) => setTimeout(r, t))

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: unknown }

export async function benchFootprint(report: FootprintReport): Promise<Record<string, unknown>> {
  const { quick, row, log } = report
  const out: Record<string, unknown> = {}
  const devnets: Devnet[] = []
  const clients: Client[] = []
  const dir = mkdtempSync(join(tmpdir(), 'airlock-footprint-'))
  let counter: Awaited<ReturnType<typeof startCountingProxy>> | undefined
  try {
    log('(f) starting devnets')
    // `ethereum` (chain id 1) serves the reads of both gateways; the devnet with fixtures gives the store-on
    // gateway its wallet (devnet account 0, delegating to the guard) and the demo policy, behind a counting proxy.
    const [eth, main] = await Promise.all([startDevnet({ chainId: 1, chainName: 'ethereum' }), startDevnet()])
    devnets.push(eth, main)
    counter = await startCountingProxy(main.rpcUrl)
    const fixtures = join(dir, 'fixtures.json')
    writeFileSync(fixtures, JSON.stringify({ ...main.fixtures, rpcUrl: counter.url }))
    // The embedded store (no DATABASE_URL), the figure the issue names.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AIRLOCK_RPC_ETHEREUM: eth.rpcUrl,
      DATABASE_URL: undefined,
    }
    const readOnlyConfig = join(dir, 'read-only.json')
    writeFileSync(readOnlyConfig, JSON.stringify({ rpc: { publicFallback: false } }))
    let n = 0
    /** A config with the embedded store in a data directory of its own (fresh each time). */
    const storeConfig = () => {
      const path = join(dir, `store-${++n}.json`)
      const dataDir = join(dir, `data-${n}`)
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      writeFileSync(path, JSON.stringify({ rpc: { publicFallback: false }, devnet: { fixtures }, dataDir }))
      return path
    }
    const owner = eth.fixtures.accounts[1] as Address

    // spawn → tools/list, the two kinds interleaved
    log('(f) spawn → tools/list')
    const spawnRO: number[] = []
    const spawnStore: number[] = []
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      spawnRO.push(await spawnToToolsList(report, readOnlyConfig, env))
      spawnStore.push(await spawnToToolsList(report, storeConfig(), env))
    }
    const ro = summarize(spawnRO)
    const st = summarize(spawnStore)
    out.spawnToToolsList = { readOnly: ro, store: st }
    row(
      '(f) spawn → tools/list over stdio, median: store on (read-only)',
      `${ms(st.median)} (${ms(ro.median)})`,
      `≤ ${goals.spawnMs} ms`,
      st.median <= goals.spawnMs && ro.median <= goals.spawnMs,
    )

    // the first write of a new process, in a fresh data directory
    log('(f) first write of a new process')
    const transferArgs = {
      name: 'transfer',
      arguments: { chain: 'devnet', to: 'alice.eth', amount: '0.001', wait: true },
    }
    const firstWrite: number[] = []
    const spawnToWritten: number[] = []
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const t0 = performance.now()
      const { client, close } = await spawnClient(report, storeConfig(), env)
      try {
        await client.listTools()
        const t = performance.now()
        const r = (await client.callTool(transferArgs)) as Result
        const done = performance.now()
        mined(r)
        firstWrite.push(done - t)
        spawnToWritten.push(done - t0)
      } finally {
        await close()
      }
    }
    const fw = summarize(firstWrite)
    out.firstWrite = { call: fw, spawnToMined: summarize(spawnToWritten) }
    row(
      '(f) first write of a new process (fresh data directory; after tools/list), median (spawn → mined)',
      `${ms(fw.median)} (${ms(summarize(spawnToWritten).median)})`,
      `≤ ${goals.firstWriteMs} ms`,
      fw.median <= goals.firstWriteMs,
    )

    // Two long-lived gateways: store on, and read-only.
    const store = await spawnClient(report, storeConfig(), env)
    const readOnly = await spawnClient(report, readOnlyConfig, env)
    clients.push(store.client, readOnly.client)
    mined((await store.client.callTool(transferArgs)) as Result) // the store is open, the write path warm
    await sleep(2000)
    const idleStore = rssMb(store.pid)
    const idleRO = rssMb(readOnly.pid)
    out.idleRss = { storeMb: idleStore, readOnlyMb: idleRO }
    row(
      '(f) idle RSS, embedded store on (after one write)',
      mb(idleStore),
      `≤ ${goals.idleStoreMb} MB`,
      idleStore <= goals.idleStoreMb,
    )
    row(
      '(f) idle RSS, read-only (no store)',
      mb(idleRO),
      `≤ ${goals.readOnlyMb} MB`,
      idleRO <= goals.readOnlyMb,
    )

    // added latency over a direct viem read, store on
    log('(f) added latency, store on')
    const viem = createPublicClient({ transport: http(eth.rpcUrl) })
    const balanceArgs = { name: 'get_balance', arguments: { chain: 'ethereum', address: owner } }
    const added = await interleave(
      quick ? 300 : 2000,
      200,
      () => store.client.callTool(balanceArgs),
      () => viem.getBalance({ address: owner }),
    )
    const via = summarize(added.a)
    const direct = summarize(added.b)
    out.addedLatencyStore = { airlock: via, viem: direct, addedMedianMs: via.median - direct.median }
    row(
      '(f) get_balance added latency over viem, stdio, store on (median)',
      `${(via.median - direct.median).toFixed(3)} ms (airlock ${via.median.toFixed(3)}, viem ${direct.median.toFixed(3)})`,
      `≤ ${goals.addedMs} ms`,
      via.median - direct.median <= goals.addedMs,
    )

    // 10 in flight: store on against read-only, alternating one-second runs
    log('(f) get_balance, 10 in flight')
    const rate = { store: [] as number[], readOnly: [] as number[] }
    for (let i = 0; i < (quick ? 3 : 6); i++)
      for (const side of i % 2 === 0 ? (['store', 'readOnly'] as const) : (['readOnly', 'store'] as const))
        rate[side].push(
          await inFlight(side === 'store' ? store.client : readOnly.client, balanceArgs, 10, 1000),
        )
    const perSecond = { store: summarize(rate.store).median, readOnly: summarize(rate.readOnly).median }
    out.inFlight10 = perSecond
    const ratio = perSecond.store / perSecond.readOnly
    row(
      '(f) get_balance over stdio, 10 in flight: store on / read-only',
      `${perSecond.store.toFixed(0)} / ${perSecond.readOnly.toFixed(0)} calls/s = ${(ratio * 100).toFixed(0)} %`,
      `≥ ${goals.ratio * 100} % and ≥ ${goals.perSecond}/s`,
      ratio >= goals.ratio && perSecond.store >= goals.perSecond,
    )

    // guarded native transfers to an address-book name (alice.eth): latency and RPC calls each
    log('(f) 100 guarded transfers to alice.eth')
    const latency: number[] = []
    const calls: number[] = []
    let methods: Record<string, number> = {}
    for (let i = 0; i < 100; i++) {
      counter.reset()
      let r: Result | undefined
      latency.push(await time(async () => (r = (await store.client.callTool(transferArgs)) as Result)))
      mined(r!)
      calls.push(counter.total())
      if (i === 99) methods = Object.fromEntries(counter.calls)
    }
    const tl = summarize(latency)
    const tc = summarize(calls)
    out.guardedTransfer = { latency: tl, rpcCalls: tc, lastCallMethods: methods }
    row(
      '(f) guarded native transfer to an address-book name until receipt (median): latency, RPC calls',
      `${ms(tl.median)}, ${tc.median} calls`,
      `≤ ${goals.transferMs} ms, ≤ ${goals.transferCalls} calls`,
      tl.median <= goals.transferMs && tc.median <= goals.transferCalls,
    )

    // idle after those 100 transfers: the chain makes a block a second (mined directly, not through the proxy)
    log('(f) idle RPC calls per block')
    const idleSeconds = quick ? 10 : 30
    const miner = createPublicClient({ transport: http(main.rpcUrl) })
    await sleep(1500)
    counter.reset()
    let blocks = 0
    for (let s = 0; s < idleSeconds; s++) {
      await miner.request({ method: 'evm_mine' as never })
      blocks++
      await sleep(1000)
    }
    const idleCalls = counter.total()
    out.idleAfterTransfers = {
      seconds: idleSeconds,
      blocks,
      calls: idleCalls,
      methods: Object.fromEntries(counter.calls),
    }
    row(
      '(f) idle after 100 transfers (a block a second): RPC calls per block',
      `${(idleCalls / blocks).toFixed(2)} (${idleCalls} calls, ${blocks} blocks)`,
      `≤ ${goals.idleCallsPerBlock}`,
      idleCalls / blocks <= goals.idleCallsPerBlock,
    )

    // RSS after 10,000 mixed calls (reads of every kind, a write every 100th), and 30 s later
    log('(f) 10,000 mixed calls')
    const f = main.fixtures
    const mix = [
      balanceArgs,
      { name: 'get_balance', arguments: { chain: 'devnet', address: f.accounts[1] } },
      {
        name: 'get_token_balances',
        arguments: {
          chain: 'devnet',
          address: f.accounts[1],
          tokens: [f.tokens.USDC.address, f.tokens.DAI.address],
        },
      },
      {
        name: 'read_contract',
        arguments: {
          chain: 'devnet',
          address: f.tokens.USDC.address,
          function: 'balanceOf(address) view returns (uint256)',
          args: [f.accounts[1]],
        },
      },
      { name: 'list_chains', arguments: {} },
      { name: 'get_limits', arguments: {} },
      { name: 'list_intents', arguments: { limit: 5 } },
      { name: 'get_block', arguments: { chain: 'devnet' } },
    ]
    const total = quick ? 2000 : 10_000
    for (let i = 0; i < total; i += 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          (i + j) % 100 === 99
            ? store.client.callTool(transferArgs)
            : store.client.callTool(mix[(i + j) % mix.length]!),
        ),
      )
    const afterMixed = rssMb(store.pid)
    await sleep(quick ? 10_000 : 30_000)
    const afterIdle = rssMb(store.pid)
    out.mixedCalls = { calls: total, rssRightAfterMb: afterMixed, rssAfterIdleMb: afterIdle }
    row(
      `(f) RSS after ${total.toLocaleString('en')} mixed calls, store on: right after → ${quick ? 10 : 30} s later`,
      `${mb(afterMixed)} → ${mb(afterIdle)}`,
      `≤ ${goals.afterMixedMb} MB`,
      afterMixed <= goals.afterMixedMb && afterIdle <= goals.afterMixedMb,
    )
    await store.close()
    await readOnly.close()
    return out
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
    await counter?.close()
    await Promise.allSettled(devnets.map((d) => d.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

function mined(r: Result): void {
  if (r.isError || r.structuredContent?.status !== 'mined')
    throw new Error(`transfer: ${JSON.stringify(r.structuredContent ?? r.content).slice(0, 400)}`)
}

/** Calls `args` with `width` in flight for `durationMs`; returns calls per second. */
async function inFlight(
  client: Client,
  args: { name: string; arguments: Record<string, unknown> },
  width: number,
  durationMs: number,
) {
  const end = performance.now() + durationMs
  const t0 = performance.now()
  let done = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (performance.now() < end) {
        const r = (await client.callTool(args)) as Result
        if (r.isError) throw new Error(`get_balance: ${JSON.stringify(r.content).slice(0, 200)}`)
        done++
      }
    }),
  )
  return done / ((performance.now() - t0) / 1000)
}

/** An SDK v2 client on a spawned `airlock stdio --config F`. */
async function spawnClient(report: FootprintReport, config: string, env: NodeJS.ProcessEnv) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...report.nodeFlags, report.cli, 'stdio', '--config', config],
    env: env as Record<string, string>,
    stderr: 'ignore',
  })
  const client = new Client(
    { name: 'bench', version: '0.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  )
  await client.connect(transport)
  return { client, pid: transport.pid!, close: () => client.close() }
}

/** Spawns `airlock stdio` and times initialize + tools/list (raw JSON lines, as a client sends them). */
export function spawnToToolsList(
  report: Pick<FootprintReport, 'cli' | 'nodeFlags'>,
  config: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child: ChildProcess = spawn(
      process.execPath,
      [...report.nodeFlags, report.cli, 'stdio', '--config', config],
      {
        env,
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    )
    let buffer = ''
    child.stdout!.on('data', (c: Buffer) => {
      buffer += c.toString()
      if (/"id":2/.test(buffer)) {
        const dt = performance.now() - t0
        child.kill('SIGTERM')
        child.once('exit', () => resolve(dt))
      }
    })
    child.once('error', reject)
    const send = (m: object) => child.stdin!.write(`${JSON.stringify(m)}\n`)
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'b', version: '0' } },
    })
    send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })
  })
}
