import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { describe, expect, it } from 'vitest'
import { createPassportRegistry } from '../src/identity/passportRegistry.js'
import { openStore } from '../src/store/openStore.js'
import { useDevnet } from './devnet.js'
import { type CallToolResult, err, modernRevision, ok } from './mcp.js'
import { passportedAgent } from './passports.js'
import { tempDir } from './tempDir.js'

// DESIGN §7: stdio is the local operator unless the config gives it a passport; then every call is that agent's,
// held to its grant, and its passport's status is checked on every call.
const cli = join(import.meta.dirname, '..', 'dist', 'airlock.mjs')
const fixtures = useDevnet()

describe('airlock stdio with a passport in the config', () => {
  it('acts as that agent: whoami names it, tools outside its grant are refused, a revoked passport stops it', async () => {
    const dir = tempDir('stdio-passport')
    writeFileSync(join(dir, 'fixtures.json'), JSON.stringify(fixtures))
    // The passport is issued on the store the gateway will open (no gateway runs yet).
    const store = await openStore({ dataDir: dir })
    const registry = createPassportRegistry(store, { baseUrl: () => 'http://127.0.0.1:8402' })
    const agent = await passportedAgent(registry, { tools: ['whoami', 'get_balance'] })
    await store.close()
    writeFileSync(join(dir, 'passport.jwt'), agent.passport)
    const config = join(dir, 'airlock.json')
    writeFileSync(
      config,
      JSON.stringify({
        devnet: { fixtures: join(dir, 'fixtures.json') },
        dataDir: dir,
        auth: { stdioPassport: 'passport.jwt', statusCacheSeconds: 0 },
      }),
    )
    const client = new Client(
      { name: 'stdio-agent', version: '0.0.0' },
      { versionNegotiation: { mode: { pin: modernRevision } } },
    )
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [cli, 'stdio', '--config', config],
        env: { PATH: process.env.PATH ?? '', HOME: dir },
        stderr: 'ignore',
      }),
    )
    try {
      const call = async (name: string, args: Record<string, unknown>) =>
        (await client.callTool({ name, arguments: args })) as CallToolResult
      expect(ok(await call('whoami', {}))).toMatchObject({ kind: 'agent', id: agent.did })
      ok(await call('get_balance', { chain: 'devnet', address: fixtures.accounts[1] }))
      expect(err(await call('get_block', { chain: 'devnet' })).code).toBe('FORBIDDEN')
      expect(
        err(await call('transfer', { chain: 'devnet', to: fixtures.accounts[1], amount: '1' })).code,
      ).toBe('FORBIDDEN')
      // Revoked through the running gateway's admin API: the next call is refused.
      const admin = JSON.parse(readFileSync(join(dir, 'admin.json'), 'utf8')) as {
        url: string
        token: string
      }
      const revoked = await fetch(`${admin.url}/passports/${encodeURIComponent(agent.did)}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'test' }),
      })
      expect(revoked.status).toBe(200)
      const refused = err(await call('whoami', {}))
      expect(refused.code).toBe('UNAUTHORIZED')
      expect(refused.message).toMatch(/revoked/)
    } finally {
      await client.close()
    }
  }, 60_000)
})
