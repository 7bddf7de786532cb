import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { address, createSolanaRpc, type Signature } from '@solana/kit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SolanaDevnet, startSolanaDevnet } from '../src/devnet/solana/startSolanaDevnet.js'
import { useDevnet } from './devnet.js'
import { cli, spawnDrivers, useGatewayDirs } from './gatewayDir.js'
import { ok } from './mcp.js'
import { allowAll } from './policies.js'

// ADVERSARIAL 34 on Solana, for real: the built gateway is SIGKILLed right after signing a SOL transfer, and right
// after broadcasting it, then restarted on the same store and the same cluster (a Solana devnet of this file's own,
// in this process: it outlives the gateway). Every intent must end mined exactly once: the restart re-sends the
// very same signed bytes (after-sign) or finds them on the cluster (after-broadcast); it never signs a second one.
const fixtures = useDevnet({ isolate: true })
const drivers = spawnDrivers
const gatewayDir = useGatewayDirs(fixtures, 'solcrash')
const LAMPORTS_PER_SOL = 1_000_000_000n
/** One signature at the devnet's 5,000 lamports, no priority fee: the fee of one transaction. */
const FEE = 5_000n

let solana: SolanaDevnet
let rpc: ReturnType<typeof createSolanaRpc>

beforeAll(async () => {
  solana = await startSolanaDevnet()
  rpc = createSolanaRpc(solana.rpcUrl)
})
afterAll(async () => {
  await solana?.stop()
})

const lamports = async (a: string) => (await rpc.getBalance(address(a)).send()).value

/** A gateway dir whose fixtures file also carries this file's Solana devnet (boot signs with its account 0). */
function setup(driver: (typeof drivers)[number]) {
  // allowAll covers EVM chains only (it names no chain): one rule more for the Solana cluster.
  const policy = {
    ...allowAll,
    rules: [...allowAll.rules, { id: 'allow-solana', effect: 'allow', match: { chain: ['solana-local'] } }],
  }
  const { dir, config, env } = gatewayDir(driver, { policy })
  writeFileSync(join(dir, 'fixtures.json'), JSON.stringify({ ...fixtures, solana: solana.fixtures }))
  return { config, env }
}

/**
 * Starts the gateway with a crash point, asks for one SOL transfer, and waits for the process to be killed. An
 * answer to the transfer instead (the crash point never reached) fails the test with that answer.
 */
async function transferAndDie(config: string, env: Record<string, string>, crashAt: string, to: string) {
  const child = spawn(process.execPath, [cli, 'stdio', '--config', config], {
    env: { ...env, AIRLOCK_TEST_CRASH_AT: crashAt },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
  })
  let answer: unknown
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
    for (let i = stdout.indexOf('\n'); i >= 0; i = stdout.indexOf('\n')) {
      const line = stdout.slice(0, i)
      stdout = stdout.slice(i + 1)
      let message: { id?: number } = {}
      try {
        message = JSON.parse(line)
      } catch {}
      if (message.id === 2) {
        answer = message
        child.kill('SIGTERM')
      }
    }
  })
  const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])))
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`)
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'solcrash', version: '0' },
    },
  })
  send({ jsonrpc: '2.0', method: 'notifications/initialized' })
  send({
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'transfer', arguments: { chain: 'solana-local', to, amount: '0.5' } },
  })
  const [code, signal] = await exited
  expect(answer, `the transfer was answered instead of crashing; stderr:\n${stderr}`).toBeUndefined()
  expect(signal, `stderr:\n${stderr}`).toBe('SIGKILL')
  expect(code).toBeNull()
}

async function restart(config: string, env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'solcrash-restart', version: '0' })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'stdio', '--config', config],
      env,
      stderr: 'ignore',
    }),
  )
  return client
}

/** get_intent until the intent leaves the in-flight statuses (or 30 s pass): the tracker's word on it. */
async function settled(client: Client, intentId: string) {
  const deadline = Date.now() + 30_000
  for (;;) {
    const intent = ok(
      (await client.callTool({ name: 'get_intent', arguments: { intentId } })) as CallToolResult,
    )
    if (!['created', 'signed', 'broadcast', 'dropped'].includes(intent.status) || Date.now() > deadline)
      return intent
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe.each(drivers)('Solana: SIGKILL mid-write, then restart (%s)', (driver) => {
  it.each(['after-sign', 'after-broadcast'])(
    'killed %s: mined exactly once after restart, never sent twice',
    async (crashAt) => {
      const { config, env } = setup(driver)
      const wallet = solana.fixtures.accounts[0]!.address
      const to = solana.fixtures.accounts[crashAt === 'after-sign' ? 2 : 3]!.address
      const [walletBefore, toBefore] = await Promise.all([lamports(wallet), lamports(to)])
      await transferAndDie(config, env, crashAt, to)
      // Killed after signing, nothing reached the cluster; after broadcasting, the cluster executed it at once.
      expect((await lamports(to)) - toBefore).toBe(crashAt === 'after-sign' ? 0n : LAMPORTS_PER_SOL / 2n)
      const client = await restart(config, env)
      try {
        const { intents } = ok(
          (await client.callTool({
            name: 'list_intents',
            arguments: { chain: 'solana-local' },
          })) as CallToolResult,
        )
        expect(intents).toHaveLength(1)
        expect(intents[0]).toMatchObject({ chain: 'solana-local', from: wallet, operation: 'transfer' })
        // The restart reconciled it (re-sent the same bytes, or found them on the cluster); get_intent reads the
        // signature's status.
        const intent = await settled(client, intents[0].intentId)
        expect(intent, JSON.stringify(intent)).toMatchObject({ status: 'mined', from: wallet })
        expect(intent.error).toBeUndefined()
        // The signature the intent holds is the one the cluster executed, successfully.
        const { value } = await rpc
          .getSignatureStatuses([intent.txHash as Signature], { searchTransactionHistory: true })
          .send()
        expect(value[0]).toMatchObject({ err: null })
        expect(['confirmed', 'finalized']).toContain(value[0]?.confirmationStatus)
        // Once: the recipient got 0.5 SOL, the wallet paid 0.5 SOL and one transaction's fee.
        expect((await lamports(to)) - toBefore).toBe(LAMPORTS_PER_SOL / 2n)
        expect(walletBefore - (await lamports(wallet))).toBe(LAMPORTS_PER_SOL / 2n + FEE)
        // Still one intent, still mined, after the tracker has had its look.
        const again = ok(
          (await client.callTool({
            name: 'list_intents',
            arguments: { chain: 'solana-local' },
          })) as CallToolResult,
        )
        expect(again.intents).toHaveLength(1)
        expect(again.intents[0]).toMatchObject({ status: 'mined', txHash: intent.txHash })
        // A new write after the restart goes through, once, with a signature of its own.
        const next = ok(
          (await client.callTool({
            name: 'transfer',
            arguments: { chain: 'solana-local', to, amount: '0.5', wait: true },
          })) as CallToolResult,
        )
        expect(next).toMatchObject({ status: 'mined' })
        expect(next.txHash).not.toBe(intent.txHash)
        expect((await lamports(to)) - toBefore).toBe(LAMPORTS_PER_SOL)
        expect(walletBefore - (await lamports(wallet))).toBe(LAMPORTS_PER_SOL + 2n * FEE)
      } finally {
        await client.close()
      }
    },
    // Two gateway processes one after the other, each opening the store (PGlite: seconds of CPU on a loaded 2-core
    // machine), as in crash.test.ts.
    60_000,
  )
})
