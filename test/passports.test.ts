import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { createPublicClient, erc20Abi, http, parseUnits } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintAccessToken } from '../src/identity/accessToken.js'
import { createAssertion } from '../src/identity/assertion.js'
import { issuePassport, signVcJwt } from '../src/identity/credential.js'
import { generateEd25519Key } from '../src/identity/didKey.js'
import { signRequest } from '../src/identity/httpSignature.js'
import { createPassportFetch } from '../src/identity/passportFetch.js'
import { createGateway, type Gateway, type Operator } from '../src/server/createGateway.js'
import { type HttpServer, startHttpServer } from '../src/server/http.js'
import { createSigner } from '../src/signer/signer.js'
import { testStoreDrivers, useTestStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { type CallToolResult, err, modernRevision, ok } from './mcp.js'
import { passportedAgent, signedToolCall, strangerSigned, type TestAgent, testCodeHash } from './passports.js'

// DESIGN §7, ADVERSARIAL 42, 43, 54, 55: agents over HTTP with passports, tokens and signed requests. Every refusal
// is checked for its outcome on chain (nothing moved) as well as its answer.
const fixtures = useDevnet({ isolate: true })
const [, alice, bob] = fixtures.accounts as [string, `0x${string}`, `0x${string}`]
const usdc = fixtures.tokens.USDC.address
const viem = createPublicClient({ transport: http(fixtures.rpcUrl) })
const usdcOf = (address: `0x${string}`) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] })

// The operator allows small USDC transfers on the devnet to anyone; each agent's grant narrows that.
const policy = {
  version: 1,
  rules: [
    {
      id: 'small-usdc',
      effect: 'allow',
      match: { operation: ['transfer'], chain: ['devnet'], token: [usdc], amount: { lte: '20' } },
    },
    {
      id: 'usdc-approvals',
      effect: 'allow',
      match: { operation: ['approve'], chain: ['devnet'], token: [usdc] },
    },
  ],
}

const transferTools = ['whoami', 'transfer', 'get_balance', 'get_intent']

type Era = 'modern' | 'legacy'
type AgentClient = {
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>
  tools(): Promise<string[]>
  close(): Promise<void>
}

describe.each(testStoreDrivers)('agent passports over HTTP (%s)', (driver) => {
  const t = useTestStore(driver)
  let gateway: Gateway
  let server: HttpServer
  let operator: Operator

  beforeAll(async () => {
    const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
    gateway = createGateway({
      // An agent's third refused write in a minute stops that agent (and only it).
      config: { policy, auth: 'passport', rpc: { publicFallback: false }, killSwitch: { maxDenials: 3 } },
      devnet: fixtures,
      writes: { store: t.store, signer, trackerIntervalMs: 100 },
    })
    await gateway.ready
    server = await startHttpServer({ gateway, port: 0 })
    operator = (await gateway.operator) as Operator
  })
  afterAll(async () => {
    await server?.close()
    await gateway?.close()
  })

  /** An official MCP client of one revision whose every request carries the agent's token and signature. */
  async function connect(
    agent: TestAgent,
    era: Era,
    options: { codeHash?: string; fetch?: typeof fetch } = {},
  ): Promise<AgentClient> {
    const signed = createPassportFetch({
      passport: agent.passport,
      key: agent.key,
      codeHash: options.codeHash ?? agent.codeHash,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    })
    if (era === 'modern') {
      const client = new Client(
        { name: 'agent', version: '0.0.0' },
        { versionNegotiation: { mode: { pin: modernRevision } } },
      )
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { fetch: signed }))
      return {
        call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
        tools: async () => (await client.listTools()).tools.map((t) => t.name),
        close: () => client.close(),
      }
    }
    const client = new LegacyClient({ name: 'agent-2025', version: '0.0.0' })
    await client.connect(new LegacyHttpTransport(new URL(server.url), { fetch: signed }))
    return {
      call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
      tools: async () => (await client.listTools()).tools.map((t) => t.name),
      close: () => client.close(),
    }
  }

  const intentsOf = async (did: string) =>
    (await t.store.db.selectFrom('intents').select('id').where('agent', '=', `agent:${did}`).execute()).length

  describe.each(['modern', 'legacy'] as const)('with a %s client', (era) => {
    it('an agent within its grant: whoami shows who it is and its budget; a granted transfer is mined and charged to it', async () => {
      const agent = await passportedAgent(operator.passports, {
        tools: transferTools,
        payees: [alice],
        budget: { currency: 'USD', max: '10', windowSeconds: 86_400 },
        amountRange: { currency: 'USD', min: '0', max: '5' },
      })
      const mcp = await connect(agent, era)
      try {
        // Listed: only what the user granted.
        expect((await mcp.tools()).sort()).toEqual([...transferTools].sort())
        const me = ok(await mcp.call('whoami', {}))
        expect(me).toMatchObject({
          kind: 'agent',
          id: agent.did,
          actor: `agent:${agent.did}`,
          passport: {
            id: agent.record.id,
            developer: agent.developer,
            user: agent.record.user,
            codeHash: testCodeHash,
          },
          scopes: { tools: transferTools, chains: ['eip155:31337'], payees: [alice.toLowerCase()] },
          budget: { max: '10', used: '0', remaining: '10' },
        })
        const before = await usdcOf(alice)
        const sent = ok(
          await mcp.call('transfer', { chain: 'devnet', to: alice, amount: '4', token: usdc, wait: true }),
        )
        expect(sent).toMatchObject({ status: 'mined', agent: `agent:${agent.did}` })
        expect((await usdcOf(alice)) - before).toBe(parseUnits('4', 6))
        expect(ok(await mcp.call('whoami', {})).budget).toMatchObject({ used: '4', remaining: '6' })
        // Its own intent it can read back.
        expect(ok(await mcp.call('get_intent', { intentId: sent.intentId })).status).toBe('mined')
      } finally {
        await mcp.close()
      }
    })

    it('outside its grant: another payee, an amount over its range, a tool and a chain it was not granted are refused, and nothing moves', async () => {
      const agent = await passportedAgent(operator.passports, {
        tools: transferTools,
        payees: [alice],
        amountRange: { currency: 'USD', min: '0', max: '5' },
      })
      const mcp = await connect(agent, era)
      try {
        const [aliceBefore, bobBefore] = [await usdcOf(alice), await usdcOf(bob)]
        const toBob = err(await mcp.call('transfer', { chain: 'devnet', to: bob, amount: '1', token: usdc }))
        expect(toBob.code).toBe('POLICY_DENIED')
        expect(toBob.message).toMatch(/not one of the 1 payee\(s\) the grant allows/)
        const tooMuch = err(
          await mcp.call('transfer', { chain: 'devnet', to: alice, amount: '6', token: usdc }),
        )
        expect(tooMuch.code).toBe('POLICY_DENIED')
        expect(tooMuch.message).toMatch(/outside the grant's range of \$0 to \$5/)
        expect(
          err(await mcp.call('transfer', { chain: 'ethereum', to: alice, amount: '1', token: usdc })),
        ).toMatchObject({
          code: 'FORBIDDEN',
          field: 'chain',
        })
        expect(await usdcOf(alice)).toBe(aliceBefore)
        expect(await usdcOf(bob)).toBe(bobBefore)
        // A tool outside the grant never runs; the agent is told what it may call.
        const tool = err(await mcp.call('get_block', { chain: 'devnet' }))
        expect(tool.code).toBe('FORBIDDEN')
        expect(tool.hints?.join(' ')).toContain('whoami, transfer, get_balance, get_intent')
      } finally {
        await mcp.close()
      }
    })

    it('the grant budget is exact across writes: the write that would pass it is refused, and what moved is what was charged', async () => {
      const agent = await passportedAgent(operator.passports, {
        tools: transferTools,
        budget: { currency: 'USD', max: '10', windowSeconds: 86_400 },
      })
      const mcp = await connect(agent, era)
      try {
        const before = await usdcOf(alice)
        for (const amount of ['4', '4', '2'])
          ok(await mcp.call('transfer', { chain: 'devnet', to: alice, amount, token: usdc, wait: true }))
        const over = err(
          await mcp.call('transfer', { chain: 'devnet', to: alice, amount: '0.000001', token: usdc }),
        )
        expect(over.code).toBe('LIMIT_EXCEEDED')
        expect(over.message).toContain('rule grant')
        expect((await usdcOf(alice)) - before).toBe(parseUnits('10', 6))
        expect(ok(await mcp.call('whoami', {})).budget).toMatchObject({ used: '10', remaining: '0' })
      } finally {
        await mcp.close()
      }
    })

    it('revoked or suspended: refused at once on the replica that changed it, the chain untouched; a suspended one comes back when reinstated', async () => {
      const revoked = await passportedAgent(operator.passports, { tools: transferTools })
      const suspended = await passportedAgent(operator.passports, { tools: transferTools })
      const a = await connect(revoked, era)
      const b = await connect(suspended, era)
      try {
        ok(await a.call('whoami', {}))
        ok(await b.call('whoami', {}))
        // The reason is the operator's text as kept and audited: hidden characters removed.
        const record = await operator.passports.setStatus(revoked.did, 'revoked', {
          reason: 'key\u202e leaked\u200b',
          by: 'test',
        })
        expect(record.reason).toBe('key leaked')
        await operator.passports.setStatus(suspended.did, 'suspended', { by: 'test' })
        const before = await usdcOf(alice)
        await expect(
          a.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc }),
        ).rejects.toThrow(/401|revoked/)
        await expect(b.call('whoami', {})).rejects.toThrow(/401|suspended/)
        expect(await usdcOf(alice)).toBe(before)
        expect(await intentsOf(revoked.did)).toBe(0)
        await operator.passports.setStatus(suspended.did, 'active', { by: 'test' })
        ok(await b.call('whoami', {}))
        await expect(
          operator.passports.setStatus(revoked.did, 'active', { by: 'test' }),
        ).rejects.toMatchObject({ code: 'CONFLICT' })
      } finally {
        await a.close().catch(() => {})
        await b.close().catch(() => {})
      }
    })

    it('the agent runs other code than its passport locks: no token', async () => {
      const agent = await passportedAgent(operator.passports, { tools: transferTools })
      await expect(connect(agent, era, { codeHash: `sha256:${'cd'.repeat(32)}` })).rejects.toThrow(
        /other code than its passport locks/,
      )
    })

    it("agent A's passport with agent B's key: no token", async () => {
      const a = await passportedAgent(operator.passports, { tools: transferTools })
      const b = await passportedAgent(operator.passports, { tools: transferTools })
      await expect(connect({ ...a, key: b.key }, era)).rejects.toThrow(/another agent key/)
    })

    it('a body changed after signing, or a signature replayed, is refused before anything runs', async () => {
      const agent = await passportedAgent(operator.passports, { tools: transferTools })
      let mode: 'pass' | 'tamper' | 'replay' = 'pass'
      let last: { url: string; init: RequestInit & { body: string } } | undefined
      const meddling: typeof fetch = async (input, init) => {
        const request = new Request(input, init)
        const body = request.method === 'POST' ? await request.text() : ''
        const headers = new Headers(request.headers)
        if (mode === 'tamper' && body.includes('"transfer"'))
          return fetch(request.url, {
            method: 'POST',
            headers,
            body: body.replace('"amount":"1"', '"amount":"19"'),
          })
        if (body.includes('"transfer"')) last = { url: request.url, init: { method: 'POST', headers, body } }
        return fetch(request.url, { method: request.method, headers, ...(body ? { body } : {}) })
      }
      const mcp = await connect(agent, era, { fetch: meddling })
      try {
        const before = await usdcOf(alice)
        ok(await mcp.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true }))
        expect((await usdcOf(alice)) - before).toBe(parseUnits('1', 6))
        mode = 'tamper'
        await expect(
          mcp.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc }),
        ).rejects.toThrow(/401|digest/i)
        // The exact bytes of the first, signed transfer, sent again.
        const replay = await fetch(last!.url, last!.init)
        expect(replay.status).toBe(401)
        expect(await replay.text()).toMatch(/already used/)
        expect((await usdcOf(alice)) - before).toBe(parseUnits('1', 6))
        expect(await intentsOf(agent.did)).toBe(1)
      } finally {
        await mcp.close().catch(() => {})
      }
    })
  })

  describe('requests that never reach a tool (ADVERSARIAL 42, 43, 54, 55)', () => {
    let agent: TestAgent
    let base: string
    beforeAll(async () => {
      // Valid since three hours ago, so a passport over its grant can be dated back (the expired one below).
      agent = await passportedAgent(operator.passports, {
        tools: transferTools,
        notBefore: Math.floor(Date.now() / 1000) - 10_800,
      })
      base = new URL(server.url).origin
    })

    /** A token for `agent` from the token endpoint, as the client helper gets it. */
    async function tokenFor(a: TestAgent): Promise<string> {
      const assertion = await createAssertion({
        agent: a.did,
        key: a.key,
        audience: `${base}/oauth/token`,
        passport: a.passport,
        codeHash: a.codeHash,
      })
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      })
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string }
      if (!json.access_token) throw new Error(`${res.status} ${json.error}: ${json.error_description}`)
      return json.access_token
    }

    /** A transfer of 1 USDC to alice as a raw 2026-07-28 request, signed by `key` with the given token. */
    async function transferRequest(options: {
      token: string
      key: TestAgent['key']
      keyid: string
      created?: number
    }) {
      const { headers, body } = await signedToolCall({
        ...options,
        signUrl: server.url,
        name: 'transfer',
        // Waits for the receipt: nothing may still be pending when the file reverts the devnet (a transaction
        // left in the pool would take nonces from the next file's writes).
        args: { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true },
      })
      return fetch(server.url, { method: 'POST', headers, body })
    }

    async function expectNothingRan(response: Response, pattern: RegExp, status = 401) {
      expect(response.status).toBe(status)
      expect(response.headers.get('www-authenticate')).toContain(
        `resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
      )
      expect(await response.text()).toMatch(pattern)
    }

    it('serves its metadata (RFC 9728, RFC 8414) and answers a request without credentials with 401 naming it', async () => {
      const meta = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()
      expect(meta).toMatchObject({ resource: server.url, authorization_servers: [base] })
      const as = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()
      expect(as).toMatchObject({ issuer: base, token_endpoint: `${base}/oauth/token` })
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      await expectNothingRan(res, /needs an access token/)
    })

    it('a signed request with a valid token goes through; the same kinds of requests with any part wrong do not', async () => {
      const before = await usdcOf(alice)
      const intentsBefore = await intentsOf(agent.did)
      const token = await tokenFor(agent)
      const good = await transferRequest({ token, key: agent.key, keyid: agent.did })
      expect(good.status).toBe(200)
      expect(await good.text()).toContain('"status":"mined"')
      const other = generateEd25519Key()
      // A token used with another key.
      await expectNothingRan(
        await transferRequest({ token, key: other.jwk, keyid: other.did }),
        /names no key this server accepts/,
      )
      // Clock skew beyond the window.
      await expectNothingRan(
        await transferRequest({
          token,
          key: agent.key,
          keyid: agent.did,
          created: Math.floor(Date.now() / 1000) - 3600,
        }),
        /expired|window|old/i,
      )
      // A token for another audience, minted by this gateway's own issuer key.
      const issuer = await operator.passports.issuer()
      const foreign = await mintAccessToken({
        issuer: { url: base, key: issuer.key, kid: issuer.kid },
        agent: agent.did,
        resource: 'http://127.0.0.1:1/mcp',
        passportId: agent.record.id,
      })
      await expectNothingRan(
        await transferRequest({ token: foreign.token, key: agent.key, keyid: agent.did }),
        /another resource/,
      )
      // A token forged with another key.
      const forgedToken = await mintAccessToken({
        issuer: { url: base, key: other.jwk, kid: issuer.kid },
        agent: agent.did,
        resource: server.url,
        passportId: agent.record.id,
      })
      await expectNothingRan(
        await transferRequest({ token: forgedToken.token, key: agent.key, keyid: agent.did }),
        /401|signature|verif/i,
      )
      // Only the good request moved anything.
      expect((await usdcOf(alice)) - before).toBe(parseUnits('1', 6))
      expect((await intentsOf(agent.did)) - intentsBefore).toBe(1)
    })

    it('a replayed read is answered 401, its answer withheld, though the read ran while the nonce was being recorded', async () => {
      const token = await tokenFor(agent)
      const { headers, body } = await signedToolCall({
        signUrl: server.url,
        token,
        key: agent.key,
        keyid: agent.did,
        name: 'get_balance',
        args: { chain: 'devnet', address: alice },
      })
      const first = await fetch(server.url, { method: 'POST', headers, body })
      expect(first.status).toBe(200)
      expect(await first.text()).toContain('"formatted"')
      const again = await fetch(server.url, { method: 'POST', headers, body })
      expect(again.status).toBe(401)
      const text = await again.text()
      expect(text).toMatch(/already used/)
      expect(text).not.toContain('"formatted"')
    })

    it('the token endpoint refuses a forged, tampered, expired or stranger-signed passport, and a replayed assertion', async () => {
      const exchange = async (passport: string, a: TestAgent = agent) => {
        const assertion = await createAssertion({
          agent: a.did,
          key: a.key,
          audience: `${base}/oauth/token`,
          passport,
          codeHash: a.codeHash,
        })
        const res = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
        })
        return {
          status: res.status,
          body: (await res.json()) as { error?: string; error_description?: string },
          assertion,
        }
      }
      const issuer = await operator.passports.issuer()
      const stranger = generateEd25519Key()
      const fields = {
        agent: agent.did,
        developer: agent.developer,
        codeHash: agent.codeHash,
        grant: agent.grant,
        status: { url: `${base}/status`, index: agent.record.statusIndex },
        validFrom: new Date(Date.now() - 60_000),
        validUntil: new Date(Date.now() + 3_600_000),
        id: agent.record.id,
      }
      // Forged: the gateway's issuer DID, another key's signature.
      const forged = await issuePassport({ ...fields, issuer: { did: stranger.did, key: stranger.jwk } })
      const forgedAsIssuer = forged.split('.').with(0, agent.passport.split('.')[0]!).join('.')
      for (const passport of [forged, forgedAsIssuer]) {
        const r = await exchange(passport)
        expect(r.status).toBe(400)
        expect(r.body.error).toBe('invalid_grant')
      }
      // Tampered: one character of the payload changed.
      const [h, p, s] = agent.passport.split('.') as [string, string, string]
      const tampered = [h, p.slice(0, 40) + (p[40] === 'A' ? 'B' : 'A') + p.slice(41), s].join('.')
      expect((await exchange(tampered)).body.error).toBe('invalid_grant')
      // Expired: issued by the gateway's own key, valid until an hour ago.
      const expired = await issuePassport({
        ...fields,
        issuer: { did: issuer.did, key: issuer.key },
        validFrom: new Date(Date.now() - 7_200_000),
        validUntil: new Date(Date.now() - 3_600_000),
      })
      expect((await exchange(expired)).body.error_description).toMatch(/expired/i)
      // A grant the named user never signed (another wallet signed it): refused when issued…
      await expect(
        passportedAgent(operator.passports, { tools: transferTools, userIndex: 5, signerIndex: 6 }),
      ).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
      // …and inside a passport the gateway's key signed.
      const strangeGrant = await strangerSigned(agent.grant.grant, 7)
      const payload = JSON.parse(Buffer.from(agent.passport.split('.')[1]!, 'base64url').toString('utf8'))
      payload.credentialSubject.grant.signature = strangeGrant.signature
      const withStrangeGrant = await signVcJwt(payload, { did: issuer.did, key: issuer.key })
      expect((await exchange(withStrangeGrant)).body.error).toBe('invalid_grant')
      // The real passport works once per assertion: the same assertion again is a replay.
      const first = await exchange(agent.passport)
      expect(first.status).toBe(200)
      const again = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: first.assertion,
        }),
      })
      expect(((await again.json()) as { error_description: string }).error_description).toMatch(/Replayed/)
    })

    it('an approval counts like what it lets the spender take: over the range it is refused, within it the budget is charged', async () => {
      const agent = await passportedAgent(operator.passports, {
        tools: ['whoami', 'approve'],
        payees: [bob],
        budget: { currency: 'USD', max: '10', windowSeconds: 86_400 },
        amountRange: { currency: 'USD', min: '0', max: '5' },
      })
      const mcp = await connect(agent, 'modern')
      const allowance = () =>
        viem.readContract({
          address: usdc,
          abi: erc20Abi,
          functionName: 'allowance',
          args: [fixtures.accounts[0] as `0x${string}`, bob],
        })
      try {
        const before = await allowance()
        const big = err(
          await mcp.call('approve', { chain: 'devnet', token: usdc, spender: bob, amount: '1000' }),
        )
        expect(big.code).toBe('POLICY_DENIED')
        expect(big.message).toMatch(/moves or approves \$1000, outside the grant's range/)
        expect(await allowance()).toBe(before)
        ok(await mcp.call('approve', { chain: 'devnet', token: usdc, spender: bob, amount: '3', wait: true }))
        expect(await allowance()).toBe(parseUnits('3', 6))
        expect(ok(await mcp.call('whoami', {})).budget).toMatchObject({ used: '3', remaining: '7' })
        // The same allowance again, then none, grant nothing: no budget taken, and the receipts' Approval events
        // (3, then 0) are no breach.
        ok(await mcp.call('approve', { chain: 'devnet', token: usdc, spender: bob, amount: '3', wait: true }))
        expect((await operator.killSwitch.state()).engaged).toBe(false)
        ok(await mcp.call('approve', { chain: 'devnet', token: usdc, spender: bob, amount: '0', wait: true }))
        expect(await allowance()).toBe(0n)
        expect(ok(await mcp.call('whoami', {})).budget).toMatchObject({ used: '3', remaining: '7' })
        expect((await operator.killSwitch.state()).engaged).toBe(false)
      } finally {
        await mcp.close()
      }
    })

    it('the automatic kill switch stops only the agent whose writes keep being refused', async () => {
      const prober = await passportedAgent(operator.passports, { tools: transferTools, payees: [alice] })
      const bystander = await passportedAgent(operator.passports, { tools: transferTools })
      const mcp = await connect(prober, 'modern')
      const other = await connect(bystander, 'modern')
      try {
        const before = await usdcOf(bob)
        for (let i = 0; i < 3; i++)
          expect(
            err(await mcp.call('transfer', { chain: 'devnet', to: bob, amount: '1', token: usdc })).code,
          ).toBe('POLICY_DENIED')
        const stopped = err(
          await mcp.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc }),
        )
        expect(stopped.code).toBe('KILL_SWITCH_ENGAGED')
        expect(stopped.message).toContain(`Agent ${prober.did} is stopped by airlock (automatic)`)
        expect(await usdcOf(bob)).toBe(before)
        expect((await operator.killSwitch.state()).engaged).toBe(false)
        ok(await other.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true }))
      } finally {
        await mcp.close()
        await other.close()
        await operator.killSwitch.releaseAgent(prober.did, 'operator')
      }
    })

    it.runIf(driver === 'postgres')(
      'two replicas behind one address: a signature used on one is refused on the other, and a revocation on one is seen by the other',
      async () => {
        const publicUrl = 'http://airlock.test'
        const signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
        const config = {
          policy,
          rpc: { publicFallback: false },
          auth: { mode: 'passport' as const, publicUrl, statusCacheSeconds: 0 },
        }
        const replicas = await Promise.all(
          [t.store, await t.openAnother()].map(async (store) => {
            const g = createGateway({
              config,
              devnet: fixtures,
              writes: { store, signer, trackerIntervalMs: 100 },
            })
            await g.ready
            return { gateway: g, server: await startHttpServer({ gateway: g, port: 0 }) }
          }),
        )
        try {
          const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]]
          const registry = ((await a.gateway.operator) as Operator).passports
          const agent = await passportedAgent(registry, { tools: transferTools })
          const assertion = await createAssertion({
            agent: agent.did,
            key: agent.key,
            audience: `${publicUrl}/oauth/token`,
            passport: agent.passport,
            codeHash: agent.codeHash,
          })
          const tokenRes = await fetch(`${a.server.url.replace('/mcp', '')}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
              assertion,
            }),
          })
          const { access_token: token } = (await tokenRes.json()) as { access_token: string }
          const { headers, body } = await signedToolCall({
            signUrl: `${publicUrl}/mcp`,
            token,
            key: agent.key,
            keyid: agent.did,
            name: 'transfer',
            args: { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true },
          })
          const before = await usdcOf(alice)
          expect((await fetch(a.server.url, { method: 'POST', headers, body })).status).toBe(200)
          const replay = await fetch(b.server.url, { method: 'POST', headers, body })
          expect(replay.status).toBe(401)
          expect(await replay.text()).toMatch(/already used/)
          // Revoked on replica A: replica B (no status cache here) refuses the next request at once.
          await registry.setStatus(agent.did, 'revoked', { by: 'test' })
          const fresh = await signRequest({
            method: 'POST',
            url: `${publicUrl}/mcp`,
            headers,
            key: agent.key,
            keyid: agent.did,
          })
          headers.set('signature-input', fresh.signatureInput)
          headers.set('signature', fresh.signature)
          const afterRevoke = await fetch(b.server.url, { method: 'POST', headers, body })
          expect(afterRevoke.status).toBe(401)
          expect(await afterRevoke.text()).toMatch(/revoked/)
          // Only the first request moved anything.
          expect((await usdcOf(alice)) - before).toBe(parseUnits('1', 6))
          expect(await intentsOf(agent.did)).toBe(1)
        } finally {
          for (const r of replicas) {
            await r.server.close()
            await r.gateway.close()
          }
        }
      },
    )

    it('serves the status lists, with the revoked agent’s bit set', async () => {
      const gone = await passportedAgent(operator.passports, { tools: transferTools })
      await operator.passports.setStatus(gone.did, 'revoked', { by: 'test' })
      const res = await fetch(`${base}/status/revocation`)
      expect(res.headers.get('content-type')).toBe('application/vc+jwt')
      const { readStatusListCredential, statusAt } = await import('../src/identity/statusList.js')
      const issuer = await operator.passports.issuer()
      const list = await readStatusListCredential(await res.text(), {
        issuers: [{ did: issuer.did, key: issuer.key }],
      })
      expect(statusAt(list.bits, gone.record.statusIndex)).toBe(true)
      expect(statusAt(list.bits, agent.record.statusIndex)).toBe(false)
    })

    it('one agent stopped on its own: its writes are refused, other agents and the audit log go on, all under their names', async () => {
      const stopped = await passportedAgent(operator.passports, { tools: transferTools })
      const other = await passportedAgent(operator.passports, { tools: transferTools })
      await operator.killSwitch.stopAgent(stopped.did, 'test stop', 'operator')
      const a = await connect(stopped, 'modern')
      const b = await connect(other, 'modern')
      try {
        const before = await usdcOf(alice)
        expect(
          err(await a.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc })).code,
        ).toBe('KILL_SWITCH_ENGAGED')
        expect(await usdcOf(alice)).toBe(before)
        ok(await b.call('transfer', { chain: 'devnet', to: alice, amount: '1', token: usdc, wait: true }))
        expect((await usdcOf(alice)) - before).toBe(parseUnits('1', 6))
      } finally {
        await a.close()
        await b.close()
        await operator.killSwitch.releaseAgent(stopped.did, 'operator')
      }
      await operator.audit.flush()
      const entries = await operator.audit.read({ limit: 1000, newestFirst: true })
      const actors = new Set(entries.map((e) => e.actor))
      expect(actors).toContain(`agent:${other.did}`)
      const kinds = new Set(entries.filter((e) => e.actor === `agent:${other.did}`).map((e) => e.kind))
      for (const kind of ['passport.token_issued', 'tool.call']) expect(kinds).toContain(kind)
      expect(
        entries.some(
          (e) => e.kind === 'passport.issued' && (e.data as { agent?: string }).agent === other.did,
        ),
      ).toBe(true)
      expect(entries.some((e) => e.kind === 'auth.refused')).toBe(true)
      expect((await operator.audit.verify()).ok).toBe(true)
    })
  })
})
