import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from './gatewayDir.js'
import { err, ok } from './mcp.js'
import { paid, payerClient, requiredOf } from './x402.js'

// What a new user meets in demo mode (no config): `airlock policy check` reports the demo policy that is in force,
// and `npm start`'s "try it" lines carry every address they need, so each can be pasted as printed, and the
// operator command it suggests for a held transfer runs as printed. The built CLI, as a user runs it.
const run = promisify(execFile)
const home = mkdtempSync(join(tmpdir(), 'airlock-demo-'))
const env = { PATH: process.env.PATH ?? '', HOME: home }
const children: ChildProcess[] = []
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGTERM')
    await exited
  }
  rmSync(home, { recursive: true, force: true })
})

/** Output of the started gateway up to the line that says it serves (the banner), or its exit. */
function banner(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('Press Ctrl+C to stop.')) resolve(text)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)))
  })
}

/** `npx airlock …` as printed, run the way npx runs it in a checkout: package.json's `bin`, with node. */
function runPrinted(command: string) {
  const bin = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).bin.airlock
  expect(join(import.meta.dirname, '..', bin)).toBe(cli)
  expect(command.startsWith('npx airlock ')).toBe(true)
  const args = command.slice('npx airlock '.length).split(' ')
  return run(process.execPath, [cli, ...args], { env })
}

describe('demo mode, as a new user meets it', () => {
  let demoHash: string

  it('`airlock policy check` reports the demo policy in force, not "reads only"', async () => {
    const text = await run(process.execPath, [cli, 'policy', 'check'], { env })
    expect(text.stdout).toMatch(/the gateway runs the demo policy/)
    expect(text.stdout).not.toMatch(/would allow reads only/)
    expect(text.stdout).toMatch(/allow\s+usdc-to-known\s+\(limits: usdc-daily\)/)
    const json = JSON.parse((await run(process.execPath, [cli, 'policy', 'check', '--json'], { env })).stdout)
    expect(json).toMatchObject({ source: 'demo', hash: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(json.rules.map((r: { id: string }) => r.id)).toContain('hold-new-recipients')
    demoHash = json.hash
  })

  // A gateway process with its own devnet, and two CLI runs: minutes are not needed, but 20 s is tight on a busy machine.
  it('`npm start` prints try-it lines that work as pasted, and a runnable command for the held one', {
    timeout: 90_000,
  }, async () => {
    const child = spawn(process.execPath, [cli, 'start', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    const text = await banner(child)
    const url = /MCP endpoint \(Streamable HTTP\): (\S+)/.exec(text)![1]!
    const client = new Client({ name: 'new-user', version: '0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(url)))
    try {
      const call = async (line: string) => {
        const [, tool, args] = /^ {2}(\w+) (\{.*\})$/.exec(line)!
        return (await client.callTool({ name: tool!, arguments: JSON.parse(args!) })) as CallToolResult
      }
      const lines = text.split('\n').filter((l) => /^ {2}\w+ \{/.test(l))
      expect(lines.map((l) => l.trim().split(' ')[0])).toEqual([
        'get_token_balances',
        'transfer',
        'transfer',
        'get_limits',
        'transfer',
        'quote_swap',
        'create_standing_order',
        'transfer',
        'transfer',
      ])
      // No placeholder is left to fill in: every address is printed.
      expect(lines.join('\n')).not.toMatch(/<[A-Za-z]+>/)
      const [balances, within, over, limits, held, priced, order, solanaWithin, solanaRisky] = lines as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ]
      // Solana, as printed: USDC to a known address goes through; a permanent-delegate mint is denied.
      expect(ok(await call(solanaWithin))).toMatchObject({
        chain: 'solana-local',
        status: expect.any(String),
      })
      const risky = err(await call(solanaRisky))
      expect(risky.code).toBe('POLICY_DENIED')
      expect(risky.message).toMatch(/deny-risky-solana-mints/)

      expect(ok(await call(balances)).tokens.length).toBeGreaterThan(0)
      expect(['signed', 'broadcast', 'mined']).toContain(ok(await call(within)).status)
      const denied = err(await call(over))
      expect(denied.code).toBe('POLICY_DENIED')
      expect(denied.message).toMatch(
        /amount 5000 is above rule usdc-to-known's cap of 1000 \(match\.amount\.lte\)/,
      )
      expect(denied.message).toMatch(/Left under rule usdc-to-known: 2400 of 2500/)
      const budgets = ok(await call(limits))
      expect(budgets.policyHash).toBe(demoHash)
      expect(budgets.perWrite).toContainEqual(
        expect.objectContaining({ rule: 'usdc-to-known', field: 'match.amount', bounds: { lte: '1000' } }),
      )

      const waiting = ok(await call(held))
      expect(waiting.status).toBe('held')
      const printed = /^ {6}(npx airlock approve) <intentId>$/m.exec(text)
      expect(printed, text).not.toBeNull()
      expect(text).toMatch(/^ {6}npx airlock approvals$/m)
      // The intent's own hint names the same command.
      expect(waiting.approval.how).toContain(`\`npx airlock approve ${waiting.intentId}\``)
      const approved = await runPrinted(`${printed![1]} ${waiting.intentId}`)
      expect(approved.stdout).toMatch(new RegExp(`Approved intent ${waiting.intentId}`))
      const after = ok(
        (await client.callTool({
          name: 'get_intent',
          arguments: { intentId: waiting.intentId },
        })) as CallToolResult,
      )
      expect(['signed', 'broadcast', 'mined']).toContain(after.status)

      // The priced demo tool: the answer is an x402 payment requirement; a client that pays (the official x402
      // client, devnet account 2) gets the quote, and the operator sees the revenue and pays the author's share.
      const required = requiredOf((await call(priced)) as never)
      expect(required.accepts[0]).toMatchObject({ amount: '10000', network: 'eip155:31337' })
      const [, tool, args] = /^ {2}(\w+) (\{.*\})$/.exec(priced)!
      const quote = (await client.callTool({
        name: tool!,
        arguments: JSON.parse(args!),
        _meta: paid(await payerClient(2).createPaymentPayload(required)),
      })) as CallToolResult & { _meta?: Record<string, { success?: boolean }> }
      expect(ok(quote).amountOut).toBeDefined()
      expect(quote._meta?.['x402/payment-response']?.success).toBe(true)
      expect(text).toMatch(/^ {6}npx airlock payments report {3}· {3}npx airlock payments payout$/m)
      const report = JSON.parse((await runPrinted('npx airlock payments report --json')).stdout)
      expect(report.revenue.byTool).toEqual([
        expect.objectContaining({
          key: 'quote_swap',
          count: 1,
          amounts: [expect.objectContaining({ raw: '10000' })],
        }),
      ])
      const payout = await runPrinted('npx airlock payments payout')
      expect(payout.stdout).toMatch(
        /^PAID {2}2000 base units of 0x[0-9a-f]{40} to 0x[0-9a-f]{40} on eip155:31337/m,
      )

      // The standing order: created as printed, then the printed market move makes it rebalance, exactly once.
      const created = ok(await call(order))
      expect(created).toMatchObject({ status: 'completed', orderStatus: 'active' })
      const market = /^ {6}(npx airlock devnet market .*?) {3}· {3}(npx airlock orders list)$/m.exec(text)
      expect(market, text).not.toBeNull()
      const listOrders = async () =>
        JSON.parse((await runPrinted(`${market![2]} --json`)).stdout) as {
          orderId: string
          fires: number
          reference?: string
        }[]
      // The firing service takes the reference price on its next pass (every 2 s): wait for that event.
      while (!(await listOrders()).find((o) => o.orderId === created.orderId)?.reference)
        await new Promise((r) => setTimeout(r, 200))
      expect((await runPrinted(market![1]!)).stdout).toMatch(/ETH\/USD\s+feed\s+3000 → 3018 USD/)
      let fired: { fires: number } | undefined
      while (!fired?.fires) {
        await new Promise((r) => setTimeout(r, 200))
        fired = (await listOrders()).find((o) => o.orderId === created.orderId)
      }
      expect(fired.fires).toBe(1)
    } finally {
      await client.close()
    }
  })
})
