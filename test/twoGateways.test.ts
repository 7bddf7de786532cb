import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import pg from 'pg'
import { createPublicClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { useDevnet } from './devnet.js'
import { ok } from './mcp.js'
import { allowAll } from './policies.js'
import { tempDir } from './tempDir.js'

// ADVERSARIAL 33 across processes: two gateway processes (the built CLI) share one PostgreSQL schema and one
// wallet, and send 25 transfers each at once. Nonces come from the database: 50 consecutive, no gap, no duplicate.
const fixtures = useDevnet({ isolate: true })
const cli = join(import.meta.dirname, '..', 'dist', 'airlock.mjs')
const databaseUrl = process.env.DATABASE_URL

describe.skipIf(!databaseUrl)('two gateway processes sharing PostgreSQL', () => {
  it('50 concurrent transfers from one wallet get 50 consecutive nonces and all mine', async () => {
    const dir = tempDir('two')
    writeFileSync(join(dir, 'fixtures.json'), JSON.stringify(fixtures))
    writeFileSync(
      join(dir, 'airlock.json'),
      JSON.stringify({
        devnet: { fixtures: join(dir, 'fixtures.json') },
        dataDir: dir,
        policy: allowAll,
      }),
    )
    const schema = `two_${randomBytes(6).toString('hex')}`
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl!, AIRLOCK_DB_SCHEMA: schema }
    const viem = createPublicClient({ transport: http(fixtures.rpcUrl) })
    const start = await viem.getTransactionCount({ address: fixtures.accounts[0]!, blockTag: 'pending' })
    const clients = await Promise.all(
      [0, 1].map(async () => {
        const client = new Client({ name: 'two', version: '0' })
        await client.connect(
          new StdioClientTransport({
            command: process.execPath,
            args: [cli, 'stdio', '--config', join(dir, 'airlock.json')],
            env,
            stderr: 'ignore',
          }),
        )
        return client
      }),
    )
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          clients[i % 2]!.callTool({
            name: 'transfer',
            arguments: { chain: 'devnet', to: fixtures.accounts[8], amount: `0.0${i + 10}`, wait: true },
          }),
        ),
      )
      const nonces = results.map((r) => ok(r as CallToolResult).nonce as number).sort((a, b) => a - b)
      expect(nonces).toEqual(Array.from({ length: 50 }, (_, i) => start + i))
      for (const r of results) expect(ok(r as CallToolResult).status).toBe('mined')
      expect(await viem.getTransactionCount({ address: fixtures.accounts[0]! })).toBe(start + 50)
    } finally {
      await Promise.all(clients.map((c) => c.close()))
      const admin = new pg.Client({ connectionString: databaseUrl })
      await admin.connect()
      await admin.query(`drop schema if exists ${schema} cascade`)
      await admin.end()
    }
  }, 60_000)
})
