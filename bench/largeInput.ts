// ADVERSARIAL 52's figure: while one session sends write_contract calls with very large arguments, how long do
// the other sessions' reads take? Four reader sessions call get_balance in a loop on the same gateway (MCP over
// in-memory transports, so the figure is the gateway's own work, not a socket's); the write session sends, one
// after another, calls with a 1 MiB argument (refused at validation: beyond what a node accepts) and calls with
// the largest argument accepted (~127 KiB of call data, simulated, held for approval and audited).
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { createSigner } from '../src/signer/signer.js'
import { openStore } from '../src/store/openStore.js'
import { connectInProcess } from './connectInProcess.js'
import { summarize } from './stats.js'
import type { WriteBenchReport } from './writes.js'

const readers = 4
const goalMaxMs = 50
/** Devnet account of the write session (bench/writes.ts uses 3–9). */
const signerAccount = 1
const ms = (v: number) => `${v.toFixed(1)} ms`

async function session(gateway: Gateway): Promise<Client> {
  return (await connectInProcess(gateway)).client
}

/** Reads in a loop on every reader session until `stop`; returns each read's latency in ms. */
function readLoop(clients: Client[], address: string, stop: { done: boolean }): Promise<number[]> {
  const samples: number[] = []
  return Promise.all(
    clients.map(async (client) => {
      while (!stop.done) {
        const t = performance.now()
        const r = (await client.callTool({
          name: 'get_balance',
          arguments: { chain: 'devnet', address },
        })) as CallToolResult
        samples.push(performance.now() - t)
        if (r.isError) throw new Error(`get_balance failed: ${JSON.stringify(r.content)}`)
      }
    }),
  ).then(() => samples)
}

/** Runs the large-input figures; returns them for the results JSON (rows go through `report.row`). */
export async function benchLargeInput(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { quick, row, log } = report
  log('(l) large write_contract arguments: starting a devnet')
  const devnet = await startDevnet()
  const store = await openStore({ memory: true })
  const f = devnet.fixtures
  const gateway = createGateway({
    config: {
      rpc: { publicFallback: false },
      policy: {
        version: 1,
        rules: [{ id: 'hold-calls', effect: 'require_approval', match: { operation: ['write_contract'] } }],
      },
    },
    devnet: f,
    writes: {
      store,
      signer: await createSigner({ backend: 'devnet', accountIndex: signerAccount, chainId: f.chainId }),
    },
  })
  const clients: Client[] = []
  try {
    await gateway.ready
    for (let i = 0; i < readers + 1; i++) clients.push(await session(gateway))
    const [writer, ...others] = clients as [Client, ...Client[]]
    const address = f.accounts[2]!
    const target = f.accounts[8]!
    // Each phase sends at least `rounds` calls and lasts at least `windowMs`, so every phase has enough reads.
    const rounds = quick ? 5 : 20
    const windowMs = quick ? 1000 : 3000
    const measure = async (send: (() => Promise<CallToolResult>) | undefined) => {
      const stop = { done: false }
      const reads = readLoop(others, address, stop)
      const handled: number[] = []
      const started = performance.now()
      if (send)
        for (let i = 0; i < rounds || performance.now() - started < windowMs; i++) {
          // A message from a socket arrives as an I/O event; an in-memory one is a chain of microtasks that would
          // starve the readers' I/O until the whole loop ends. One turn of the event loop between calls puts
          // them on the same footing.
          await new Promise((resolve) => setImmediate(resolve))
          const t = performance.now()
          const r = await send()
          handled.push(performance.now() - t)
          if (i === 0)
            log(`(l)   first answer: ${JSON.stringify(r.structuredContent ?? r.content).slice(0, 160)}`)
        }
      else await new Promise((resolve) => setTimeout(resolve, windowMs))
      stop.done = true
      const samples = await reads
      const s = summarize(samples)
      return {
        reads: { n: s.n, p50: s.median, p95: s.p95, max: Math.max(...samples) },
        ...(handled.length ? { handled: summarize(handled) } : {}),
      }
    }
    const call = (bytes: number) => {
      // Parsed from JSON, as a transport delivers it: one flat string (a string built by concatenation would
      // make the gateway's first read of it pay for flattening, which no real transport causes).
      const blob = JSON.parse(`"0x${'ab'.repeat(bytes)}"`) as string
      return () =>
        writer.callTool({
          name: 'write_contract',
          arguments: {
            chain: 'devnet',
            address: target,
            function: 'function store(bytes blob)',
            args: [blob],
          },
        }) as Promise<CallToolResult>
    }

    // Warm up both paths, then measure.
    await call(1024)()
    await measure(undefined)
    log('(l) reads alone')
    const alone = await measure(undefined)
    log('(l) reads while 1 MiB arguments are handled')
    const mib = await measure(call(1024 * 1024))
    log('(l) reads while the largest accepted arguments are simulated, held and audited')
    const largest = await measure(call(128 * 1024 - 100))
    const out = { readers, rounds, windowMs, alone, oneMiB: mib, largestAccepted: largest }
    const fmt = (r: typeof alone) =>
      `p50 ${ms(r.reads.p50)}, p95 ${ms(r.reads.p95)}, max ${ms(r.reads.max)} (${r.reads.n} reads)`
    row(
      '(l) other sessions’ get_balance, no large call: the machine’s own noise (p50, p95, max)',
      fmt(alone),
      'report',
      null,
    )
    row(
      '(l) 1 MiB write_contract argument: other sessions’ reads while it is handled (p50, p95, max)',
      `${fmt(mib)}; each call ${ms(mib.handled?.median ?? Number.NaN)}`,
      `< ${goalMaxMs} ms`,
      mib.reads.max < goalMaxMs,
    )
    row(
      '(l) largest accepted argument (~128 KiB call data, held): other sessions’ reads (p50, p95, max)',
      `${fmt(largest)}; each call ${ms(largest.handled?.median ?? Number.NaN)}`,
      `< ${goalMaxMs} ms`,
      largest.reads.max < goalMaxMs,
    )
    return out
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
    gateway.close()
    await store.close()
    await devnet.stop()
  }
}
