import { spawn } from 'node:child_process'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { createPublicClient, http, parseEther } from 'viem'
import { describe, expect, it } from 'vitest'
import { useDevnet } from './devnet.js'
import { cli, spawnDrivers, useGatewayDirs } from './gatewayDir.js'
import { ok } from './mcp.js'
import { allowAll } from './policies.js'

// ADVERSARIAL 34, for real: the built gateway (`npm test` builds first) is SIGKILLed right after signing, and right
// after broadcasting, then restarted on the same store and chain. Every intent must end mined exactly once.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ transport: http(fixtures.rpcUrl) })
const wallet = fixtures.accounts[0]!
const drivers = spawnDrivers
const gatewayDir = useGatewayDirs(fixtures, 'crash')

function setup(driver: (typeof drivers)[number]) {
  const { config, env } = gatewayDir(driver, { policy: allowAll })
  return { config, env }
}

/** Starts the gateway with a crash point, asks for one transfer, and waits for the process to be killed. */
async function transferAndDie(config: string, env: Record<string, string>, crashAt: string, to: string) {
  const child = spawn(process.execPath, [cli, 'stdio', '--config', config], {
    env: { ...env, AIRLOCK_TEST_CRASH_AT: crashAt },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`)
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'crash', version: '0' } },
  })
  send({ jsonrpc: '2.0', method: 'notifications/initialized' })
  send({
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'transfer', arguments: { chain: 'devnet', to, amount: '0.5' } },
  })
  const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
    child.once('exit', (c, s) => r([c, s])),
  )
  expect(signal).toBe('SIGKILL')
  expect(code).toBeNull()
}

async function restart(config: string, env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'crash-restart', version: '0' })
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

describe.each(drivers)('SIGKILL mid-write, then restart (%s)', (driver) => {
  it.each(['after-sign', 'after-broadcast'])(
    'killed %s: mined exactly once after restart, never sent twice',
    async (crashAt) => {
      const { config, env } = setup(driver)
      const to = fixtures.accounts[crashAt === 'after-sign' ? 6 : 7]!
      const before = await viem.getBalance({ address: to })
      const nonceBefore = await viem.getTransactionCount({ address: wallet })
      await transferAndDie(config, env, crashAt, to)
      const client = await restart(config, env)
      try {
        const { intents } = ok(
          (await client.callTool({ name: 'list_intents', arguments: { chain: 'devnet' } })) as CallToolResult,
        )
        expect(intents).toHaveLength(1)
        // The restart reconciled it before answering (re-sent the same bytes, or found them mined); get_intent
        // reads the receipt (the devnet mines at once).
        const intent = ok(
          (await client.callTool({
            name: 'get_intent',
            arguments: { intentId: intents[0].intentId },
          })) as CallToolResult,
        )
        expect(intent.status).toBe('mined')
        expect((await viem.getBalance({ address: to })) - before).toBe(parseEther('0.5'))
        expect(await viem.getTransactionCount({ address: wallet })).toBe(nonceBefore + 1)
        // a new write after the restart takes the next nonce
        const next = ok(
          (await client.callTool({
            name: 'transfer',
            arguments: { chain: 'devnet', to, amount: '0.5', wait: true },
          })) as CallToolResult,
        )
        expect(next).toMatchObject({ status: 'mined', nonce: nonceBefore + 1 })
        expect((await viem.getBalance({ address: to })) - before).toBe(parseEther('1'))
      } finally {
        await client.close()
      }
    },
    // Two gateway processes one after the other, each opening the store (on PGlite, an embedded database on
    // disk: seconds of CPU on a loaded 2-core machine), plus the devnet transactions: inherently longer than 20 s
    // can allow there.
    60_000,
  )
})
