import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { sql } from 'kysely'
import { maxUint256 } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../src/store/openStore.js'
import { useDevnet } from './devnet.js'
import { cli, spawnDrivers, useGatewayDirs } from './gatewayDir.js'
import { err, ok } from './mcp.js'
import { tempDir } from './tempDir.js'

// The "done when", for real: the built gateway over stdio on the devnet with the demo policy, and the
// `airlock` operator commands as separate processes (they reach the running gateway through its data directory,
// or open the store when none runs). On PGlite (on disk) and on PostgreSQL.
const fixtures = useDevnet({ isolate: true })
const run = promisify(execFile)
const usdc = fixtures.tokens.USDC.address
const [, alice] = fixtures.accounts as [string, string]
const stranger = fixtures.accounts[8]!
const drivers = spawnDrivers
const gatewayDir = useGatewayDirs(fixtures, 'guard')

function setup(driver: (typeof drivers)[number]) {
  // No policy in the config: on the devnet, the demo policy applies.
  return gatewayDir(driver, { rpc: { publicFallback: false } })
}

async function connect(config: string, env: Record<string, string>) {
  const client = new Client({ name: 'guardrails-e2e', version: '0' })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'stdio', '--config', config],
      env,
      stderr: 'ignore',
    }),
  )
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult
  // The admin API is announced once the store is open: wait for the first write-path answer.
  ok(await call('list_intents', { chain: 'devnet' }))
  return { client, call }
}

async function airlock(args: string[], config: string, env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args, '--config', config], { env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe.each(drivers)('guardrails end to end (%s)', (driver) => {
  // One story on one gateway process, told in steps: each step is a test of its own, so a slow machine gives each
  // its own time budget (spawning processes and opening the store on disk take seconds there), and a failure names
  // the step. Steps run in order and build on each other.
  let dir: string
  let config: string
  let env: Record<string, string>
  let g: Awaited<ReturnType<typeof connect>> | undefined
  beforeAll(async () => {
    ;({ dir, config, env } = setup(driver))
    g = await connect(config, env)
  })
  afterAll(async () => {
    await g?.client.close()
  })
  const gateway = () => {
    if (!g) throw new Error('the gateway did not start')
    return g
  }

  it('within limits goes through; over the daily limit is denied with the reason and what is left', async () => {
    const sent = ok(
      await gateway().call('transfer', {
        chain: 'devnet',
        to: alice,
        amount: '900',
        token: usdc,
        wait: true,
      }),
    )
    expect(sent.status).toBe('mined')
    ok(
      await gateway().call('transfer', {
        chain: 'devnet',
        to: alice,
        amount: '900',
        token: usdc,
        wait: true,
      }),
    )
    const over = err(
      await gateway().call('transfer', { chain: 'devnet', to: alice, amount: '900', token: usdc }),
    )
    expect(over.code).toBe('LIMIT_EXCEEDED')
    expect(over.message).toMatch(/usdc-daily.*700 left of 2500/)
  })

  it('a new recipient waits for a human; `airlock approve` (another process) has it sent', async () => {
    const held = ok(await gateway().call('transfer', { chain: 'devnet', to: stranger, amount: '0.25' }))
    expect(held.status).toBe('held')
    const listed = await airlock(['approvals', '--json'], config, env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).map((a: { intentId: string }) => a.intentId)).toContain(held.intentId)
    const approved = await airlock(['approve', held.intentId], config, env)
    expect(approved.code, approved.stderr).toBe(0)
    // The gateway answers the approval once it has carried it out; get_intent re-reads the chain (automine).
    const intent = ok(await gateway().call('get_intent', { intentId: held.intentId }))
    expect(intent.status).toBe('mined')
  })

  it('an unlimited approval is denied', async () => {
    const unlimited = err(
      await gateway().call('write_contract', {
        chain: 'devnet',
        address: usdc,
        function: 'approve(address,uint256)',
        args: [fixtures.uniswapV3.router, maxUint256.toString()],
      }),
    )
    expect(unlimited.code).toBe('POLICY_DENIED')
  })

  it('the kill switch, engaged from the CLI, stops every write at once', async () => {
    const kill = await airlock(['kill', '--reason', 'e2e stop'], config, env)
    expect(kill.code, kill.stderr).toBe(0)
    const killed = err(
      await gateway().call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc }),
    )
    expect(killed.code).toBe('KILL_SWITCH_ENGAGED')
  })

  it('the kill switch survives a restart', async () => {
    await gateway().client.close()
    g = undefined
    g = await connect(config, env)
    const still = err(
      await gateway().call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc }),
    )
    expect(still.code).toBe('KILL_SWITCH_ENGAGED')
    expect(still.message).toMatch(/e2e stop/)
  })

  it('released from the CLI, writes go through again', async () => {
    const unkill = await airlock(['unkill'], config, env)
    expect(unkill.code, unkill.stderr).toBe(0)
    ok(await gateway().call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true }))
  })

  it('the audit log verifies while the gateway runs (through it)', async () => {
    const verified = await airlock(['audit', 'verify'], config, env)
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/intact/)
  })

  it('with the gateway stopped, an audit entry is edited in the store', async () => {
    await gateway().client.close()
    g = undefined
    const store = await openStore(
      env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL, schema: env.AIRLOCK_DB_SCHEMA } : { dataDir: dir },
    )
    try {
      await sql`alter table audit_log disable trigger audit_log_append_only`.execute(store.db)
      const edited =
        await sql`update audit_log set data = replace(data, '900000000', '9000000') where seq = (select min(seq) from audit_log where data like '%900000000%')`.execute(
          store.db,
        )
      expect(edited.numAffectedRows).toBe(1n)
    } finally {
      await store.close()
    }
  })

  it('… and `airlock audit verify`, opening the store itself, finds the edited entry', async () => {
    const broken = await airlock(['audit', 'verify'], config, env)
    expect(broken.code, broken.stderr).toBe(1)
    expect(broken.stdout).toMatch(/BROKEN at entry \d+/)
  })
})

describe('airlock policy check', () => {
  it('names the bad field of an invalid policy (exit 2), prints the hash and rules of a valid one', async () => {
    const dir = tempDir('policy-check')
    const bad = join(dir, 'bad.json')
    const good = join(dir, 'good.json')
    writeFileSync(
      bad,
      JSON.stringify({
        version: 1,
        rules: [{ id: 'a', effect: 'allow', match: { amount: { lte: '1e3' } } }],
      }),
    )
    writeFileSync(
      good,
      JSON.stringify({
        version: 1,
        rules: [
          {
            id: 'daily',
            effect: 'allow',
            match: { operation: ['transfer'] },
            limits: [{ id: 'five', metric: 'count', window: '24h', max: '5' }],
          },
        ],
      }),
    )
    const env = { PATH: process.env.PATH ?? '', HOME: dir }
    const invalid = await run(process.execPath, [cli, 'policy', 'check', bad], { env }).catch((e) => e)
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(/policy\.rules\[0\]\.match\.amount\.lte/)
    const valid = await run(process.execPath, [cli, 'policy', 'check', good, '--json'], { env })
    expect(JSON.parse(valid.stdout)).toMatchObject({
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      rules: [{ id: 'daily', effect: 'allow', limits: ['five'] }],
    })
  })
})
