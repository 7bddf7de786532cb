import { randomBytes } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../audit/auditLog.js'
import { signDeveloperChallenge } from '../../identity/developerProof.js'
import { generateEd25519Key } from '../../identity/didKey.js'
import { type AgentGrant, signGrant } from '../../identity/grant.js'
import { createApprovals } from '../../policy/approvals.js'
import { testStoreDrivers, useTestStore } from '../../store/useTestStore.js'
import { createIntentJournal } from '../../txs/intentJournal.js'
import { type AdminOperator, createAdminApp } from './createAdminApp.js'
import {
  AddressBookEntry,
  AddressBookList,
  AdminError,
  AdminStatus,
  ApprovalList,
  AuditVerification,
  DecidedApproval,
  DeveloperChallenge,
  DeveloperList,
  IssuedPassport,
  KillState,
  PassportAnswer,
  PassportList,
  RegisteredDeveloper,
  ReleasedAgent,
  ReleasedContract,
  StoppedAgentAnswer,
  StoppedAgentList,
  StoppedContract,
  StoppedContractList,
} from './schemas.js'
import { storeOperator } from './storeOperator.js'

// The admin API without a port: every request goes through `app.request`, against a real store.
const token = 'c0ffee'.repeat(8)
const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const seven = '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955'
const request = {
  summary: 'Send 0.25 ETH to 0xa0Ee…9720',
  simulation: { deltas: [{ kind: 'native', raw: '-250000000000000000' }] },
  reasons: ['new recipient'],
  ruleIds: ['new-recipient'],
  chain: 'devnet',
  operation: 'transfer',
}

type Init = { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }

describe.each(testStoreDrivers)('admin app on %s', (driver) => {
  const t = useTestStore(driver)
  let app: ReturnType<typeof createAdminApp>
  let maintained = 0
  beforeAll(() => {
    const operator: AdminOperator = {
      ...storeOperator(t.store),
      policy: { current: () => ({ policyHash: 'ab'.repeat(32), rules: [{}, {}, {}] }) as never },
      maintain: async () => {
        maintained++
      },
    }
    app = createAdminApp({ operator, token, maxBodyBytes: 1024 })
  })

  const api = (path: string, init: Init = {}) => {
    const auth = init.token === undefined ? token : init.token
    return app.request(`/admin${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    })
  }
  const error = async (response: Response) => AdminError.parse(await response.json()).error

  async function held(): Promise<{ id: string; hash: string }> {
    const journal = createIntentJournal(t.store)
    const { intent } = await journal.create({ chainId: 31337, wallet, operation: 'transfer', request: {} })
    await journal.transition(intent.id, 'created', 'held')
    const hash = randomBytes(32).toString('hex')
    await createApprovals(t.store, { audit: createAuditLog(t.store) }).hold(intent.id, hash, request, 600)
    return { id: intent.id, hash }
  }

  describe('auth', () => {
    it('refuses a request without the bearer token, or with another one, before routing (401)', async () => {
      for (const auth of [null, '', 'not-the-token', `${token}x`]) {
        const response = await api('/status', { token: auth })
        expect(response.status).toBe(401)
        expect(await error(response)).toMatchObject({
          code: 'UNAUTHORIZED',
          message: 'The admin API needs its bearer token.',
          hints: [expect.stringMatching(/Authorization: Bearer/)],
        })
      }
      // Another scheme with the right token, and an unknown route: still 401, no hint of what exists.
      expect((await api('/status', { headers: { authorization: `Basic ${token}` } })).status).toBe(401)
      expect((await api('/nothing-here', { token: null })).status).toBe(401)
      expect((await app.request('/elsewhere')).status).toBe(401)
    })

    it('answers an unknown route or method with 404 and the route it looked for', async () => {
      const response = await api('/nothing-here')
      expect(response.status).toBe(404)
      expect(await error(response)).toMatchObject({
        code: 'NOT_FOUND',
        message: 'No admin route GET /admin/nothing-here.',
      })
      expect((await api('/kill', { method: 'PUT' })).status).toBe(404)
      expect((await api('/approvals/x/maybe', { body: {} })).status).toBe(404)
      expect((await api('/audit/everything')).status).toBe(404)
    })
  })

  describe('options', () => {
    it('are checked when the app is built, not per request', () => {
      const operator = storeOperator(t.store)
      for (const bad of ['', 'has space', 'line\nbreak', 'é'.repeat(4)])
        expect(() => createAdminApp({ operator, token: bad })).toThrow(
          expect.objectContaining({ code: 'INVALID_CONFIG', field: 'token' }),
        )
      expect(() => createAdminApp({ operator: {} as never, token })).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', field: 'operator' }),
      )
      expect(() => createAdminApp({ operator, token, maxBodyBytes: 0 })).toThrow(
        expect.objectContaining({ field: 'maxBodyBytes' }),
      )
    })

    it('a gateway whose store failed to open answers with that error', async () => {
      const broken = createAdminApp({
        operator: Promise.reject(new Error('store gone')),
        token,
      })
      const response = await broken.request('/admin/status', {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(response.status).toBe(500)
      expect(await error(response)).toMatchObject({ code: 'INTERNAL' })
    })
  })

  describe('GET /admin/status', () => {
    it('says the kill switch, the pending approvals and the policy in force', async () => {
      await held()
      const response = await api('/status')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('application/json')
      const status = AdminStatus.parse(await response.json())
      expect(status.killSwitch.engaged).toBe(false)
      expect(status.pendingApprovals).toBeGreaterThanOrEqual(1)
      expect(status.policy).toEqual({ hash: 'ab'.repeat(32), rules: 3 })
    })

    it('says policy: null where there is none (the CLI on a store)', async () => {
      const bare = createAdminApp({ operator: storeOperator(t.store), token })
      const response = await bare.request('/admin/status', { headers: { authorization: `Bearer ${token}` } })
      expect(AdminStatus.parse(await response.json()).policy).toBeNull()
    })
  })

  describe('approvals', () => {
    it('lists held intents with the gateway simulation, and the breaches', async () => {
      const { id } = await held()
      await t.store.db
        .insertInto('settlements')
        .values({
          intent_id: id,
          outcome: JSON.stringify({
            intentId: id,
            blockNumber: '7',
            status: 'success',
            outflows: { native: '2' },
            excess: [{ asset: 'native', moved: '2', checked: '1' }],
            unchecked: [],
            balancesRead: true,
          }) as never,
          breach: true,
          reported: true,
        })
        .execute()
      const list = ApprovalList.parse(await (await api('/approvals?status=pending')).json())
      const mine = list.approvals.find((a) => a.intentId === id)
      expect(mine).toMatchObject({
        status: 'pending',
        request: { summary: request.summary, chain: 'devnet' },
      })
      expect(list.breaches).toContainEqual(expect.objectContaining({ intentId: id, blockNumber: '7' }))
      // No status: every approval.
      const all = ApprovalList.parse(await (await api('/approvals')).json())
      expect(all.approvals.length).toBeGreaterThanOrEqual(list.approvals.length)
    })

    it('refuses an unknown status or query field, naming it (400)', async () => {
      const bad = await api('/approvals?status=maybe')
      expect(bad.status).toBe(400)
      expect(await error(bad)).toMatchObject({
        code: 'INVALID_INPUT',
        field: 'status',
        message: expect.stringMatching(/status must be pending, approved, denied or expired/),
      })
      const extra = await api('/approvals?status=pending&limit=5')
      expect(extra.status).toBe(400)
      expect(await error(extra)).toMatchObject({
        field: 'limit',
        message: 'The query has an unknown field "limit" (it takes status).',
      })
    })

    it('approves the exact intent the approver saw, then carries the decision out before answering', async () => {
      const { id, hash } = await held()
      const wrong = await api(`/approvals/${id}/approve`, { body: { hash: 'f'.repeat(64) } })
      expect(wrong.status).toBe(412)
      expect(await error(wrong)).toMatchObject({ code: 'PRECONDITION_FAILED' })
      const before = maintained
      const response = await api(`/approvals/${id}/approve`, { body: { hash, by: 'ops' } })
      expect(response.status).toBe(200)
      const { approval } = DecidedApproval.parse(await response.json())
      expect(approval).toMatchObject({ intentId: id, status: 'approved', decidedBy: 'ops' })
      expect(maintained).toBe(before + 1)
      // Decided once: the second decision is a conflict.
      const again = await api(`/approvals/${id}/deny`, { body: {} })
      expect(again.status).toBe(409)
      expect(await error(again)).toMatchObject({ code: 'CONFLICT' })
    })

    it('denies with a reason; a body-less decision is by admin-api', async () => {
      const first = await held()
      const denied = DecidedApproval.parse(
        await (await api(`/approvals/${first.id}/deny`, { body: { reason: 'not today' } })).json(),
      )
      expect(denied.approval).toMatchObject({ status: 'denied', reason: 'not today', decidedBy: 'admin-api' })
      const second = await held()
      const bare = await api(`/approvals/${second.id}/deny`, { method: 'POST', headers: {} })
      expect(bare.status).toBe(200)
      // Cut, not refused: a long `by` is a name for the audit log.
      const third = await held()
      const long = DecidedApproval.parse(
        await (await api(`/approvals/${third.id}/approve`, { body: { by: 'x'.repeat(100) } })).json(),
      )
      expect(long.approval.decidedBy).toBe('x'.repeat(64))
    })

    it('answers an unknown intent with 404', async () => {
      const response = await api('/approvals/int_nope/approve', { body: {} })
      expect(response.status).toBe(404)
      expect(await error(response)).toMatchObject({ code: 'NOT_FOUND' })
    })

    it('refuses a malformed body, naming the field (400)', async () => {
      const { id } = await held()
      const cases: [unknown, RegExp, string | undefined][] = [
        ['{"hash":', /must be a JSON object/, undefined],
        ['[1,2]', /must be a JSON object/, undefined],
        ['"approve"', /must be a JSON object/, undefined],
        [{ hash: 'abc' }, /hash must be the hex intent hash/, 'hash'],
        [{ by: 42 }, /"by".*expected string/, 'by'],
        [{ reason: ['a'] }, /"reason"/, 'reason'],
        [{ approve: true }, /unknown field "approve" \(it takes hash, reason, by\)/, 'approve'],
      ]
      for (const [body, message, field] of cases) {
        const response = await api(`/approvals/${id}/approve`, { body })
        expect(response.status, JSON.stringify(body)).toBe(400)
        const e = await error(response)
        expect(e.code).toBe('INVALID_INPUT')
        expect(e.message).toMatch(message)
        expect(e.field).toBe(field)
      }
      // Nothing was decided.
      const list = ApprovalList.parse(await (await api('/approvals?status=pending')).json())
      expect(list.approvals.map((a) => a.intentId)).toContain(id)
    })

    it('reads the body as JSON whatever its content type says', async () => {
      const { id } = await held()
      const response = await api(`/approvals/${id}/deny`, {
        body: JSON.stringify({ reason: 'curl -d' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(response.status).toBe(200)
      expect(DecidedApproval.parse(await response.json()).approval.reason).toBe('curl -d')
    })

    it('refuses a body over the limit (400)', async () => {
      const { id } = await held()
      const response = await api(`/approvals/${id}/deny`, { body: { reason: 'x'.repeat(2000) } })
      expect(response.status).toBe(400)
      expect(await error(response)).toMatchObject({
        code: 'INVALID_INPUT',
        message: 'The request body is too large (1 KiB at most).',
      })
    })
  })

  describe('one stopped contract', () => {
    const usdc = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'

    it('stops a contract on one chain, lists it (also in the status), and releases it; idempotent both ways', async () => {
      const stopped = StoppedContract.parse(
        await (
          await api('/kill/contract', {
            body: { chainId: 8453, address: usdc, reason: 'drained', by: 'ops' },
          })
        ).json(),
      )
      expect(stopped).toMatchObject({
        chainId: 8453,
        address: usdc.toLowerCase(),
        reason: 'drained',
        actor: 'ops',
      })
      const again = StoppedContract.parse(
        await (await api('/kill/contract', { body: { chainId: 8453, address: usdc.toLowerCase() } })).json(),
      )
      expect(again).toEqual(stopped)
      const listed = StoppedContractList.parse(await (await api('/kill/contracts?chainId=8453')).json())
      expect(listed.contracts).toEqual([stopped])
      expect(
        StoppedContractList.parse(await (await api('/kill/contracts?chainId=1')).json()).contracts,
      ).toEqual([])
      const status = AdminStatus.parse(await (await api('/status')).json())
      expect(status.stoppedContracts).toEqual([stopped])
      expect(status.killSwitch.engaged).toBe(false)

      const released = ReleasedContract.parse(
        await (await api('/unkill/contract', { body: { chainId: 8453, address: usdc } })).json(),
      )
      expect(released.released).toEqual(stopped)
      const none = ReleasedContract.parse(
        await (await api('/unkill/contract', { body: { chainId: 8453, address: usdc } })).json(),
      )
      expect(none.released).toBeNull()
      expect(AdminStatus.parse(await (await api('/status')).json()).stoppedContracts).toEqual([])
    })

    it('refuses a bad chain id or address, and unknown fields, naming the field (400)', async () => {
      for (const [body, field] of [
        [{ chainId: '8453', address: usdc }, 'chainId'],
        [{ chainId: 0, address: usdc }, 'chainId'],
        [{ chainId: 8453, address: '0x1234' }, 'address'],
        [{ chainId: 8453, address: usdc, extra: 1 }, 'extra'],
      ] as const) {
        const response = await api('/kill/contract', { body })
        expect(response.status).toBe(400)
        expect(await error(response)).toMatchObject({ code: 'INVALID_INPUT', field })
      }
      const response = await api('/kill/contracts?chainId=base')
      expect(response.status).toBe(400)
      expect(await error(response)).toMatchObject({ code: 'INVALID_INPUT', field: 'chainId' })
    })
  })

  describe('agent passports', () => {
    const developer = generateEd25519Key()
    const user = privateKeyToAccount(generatePrivateKey())
    const codeHash = `sha256:${'ab'.repeat(32)}`

    async function grantFor(agent: string, overrides: Partial<AgentGrant> = {}) {
      const now = Math.floor(Date.now() / 1000)
      return signGrant(
        {
          user: user.address,
          agent,
          codeHash,
          tools: ['get_balance', 'transfer'],
          chains: ['eip155:31337'],
          payees: [],
          budget: { currency: 'USD', max: '100', windowSeconds: 86_400 },
          amountRange: { currency: 'USD', min: '0', max: '25' },
          notBefore: now - 60,
          expiry: now + 30 * 86_400,
          nonce: `0x${randomBytes(32).toString('hex')}`,
          ...overrides,
        },
        user,
      )
    }

    async function registered(): Promise<void> {
      const { developers } = DeveloperList.parse(await (await api('/passports/developers')).json())
      if (developers.some((d) => d.did === developer.did)) return
      const asked = DeveloperChallenge.parse(
        await (await api('/passports/developers/challenge', { body: { did: developer.did } })).json(),
      )
      const proof = await signDeveloperChallenge({
        did: developer.did,
        key: developer.jwk,
        challenge: asked.challenge,
        audience: asked.audience,
      })
      const response = await api('/passports/developers', {
        body: { did: developer.did, proof, label: 'acme agents', by: 'ops' },
      })
      expect(response.status).toBe(200)
    }

    async function issued(agent: string) {
      const response = await api('/passports', {
        body: { agent, developer: developer.did, codeHash, grant: await grantFor(agent), validDays: 7 },
      })
      expect(response.status).toBe(200)
      return IssuedPassport.parse(await response.json())
    }

    it('registers a did:key developer after a signed challenge, and lists it', async () => {
      const response = await api('/passports/developers/challenge', { body: { did: developer.did } })
      expect(response.status).toBe(200)
      const asked = DeveloperChallenge.parse(await response.json())
      expect(asked).toMatchObject({ did: developer.did, audience: expect.any(String) })
      expect(Date.parse(asked.expiresAt)).toBeGreaterThan(Date.now())
      const proof = await signDeveloperChallenge({
        did: developer.did,
        key: developer.jwk,
        challenge: asked.challenge,
        audience: asked.audience,
      })
      const done = await api('/passports/developers', {
        body: { did: developer.did, proof, label: 'acme agents', by: 'ops' },
      })
      expect(done.status).toBe(200)
      expect(RegisteredDeveloper.parse(await done.json()).developer).toMatchObject({
        did: developer.did,
        method: 'key',
        label: 'acme agents',
      })
      // The challenge was used: the same proof again is refused.
      const replay = await api('/passports/developers', { body: { did: developer.did, proof } })
      expect(replay.status).toBe(401)
      const { developers } = DeveloperList.parse(await (await api('/passports/developers')).json())
      expect(developers).toEqual([expect.objectContaining({ did: developer.did, method: 'key' })])
    })

    it('refuses a proof over a challenge the gateway did not hand out (401), and a malformed DID (400)', async () => {
      const other = generateEd25519Key()
      await api('/passports/developers/challenge', { body: { did: other.did } })
      const proof = await signDeveloperChallenge({
        did: other.did,
        key: other.jwk,
        challenge: randomBytes(32).toString('base64url'),
        audience: 'airlock:developer-registration',
      })
      const response = await api('/passports/developers', { body: { did: other.did, proof } })
      expect(response.status).toBe(401)
      expect(await error(response)).toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(/does not answer a live challenge/),
      })
      const { developers } = DeveloperList.parse(await (await api('/passports/developers')).json())
      expect(developers.map((d) => d.did)).not.toContain(other.did)
      const bad = await api('/passports/developers/challenge', { body: { did: 'did:example:123' } })
      expect(bad.status).toBe(400)
      expect(await error(bad)).toMatchObject({ code: 'INVALID_INPUT', field: 'did' })
    })

    it('issues a vc+jwt passport over the user grant; lists, reads, revokes; a revoked one is not reinstated (409)', async () => {
      await registered()
      const agent = generateEd25519Key().did
      const { passport, record } = await issued(agent)
      expect(decodeProtectedHeader(passport)).toMatchObject({ alg: 'EdDSA', typ: 'vc+jwt' })
      expect(record).toMatchObject({
        agent,
        developer: developer.did,
        user: user.address.toLowerCase(),
        codeHash,
        status: 'active',
        grant: { tools: ['get_balance', 'transfer'], chains: ['eip155:31337'] },
      })
      expect(record.id).toMatch(/^urn:uuid:/)
      expect(Date.parse(record.validUntil) - Date.now()).toBeLessThanOrEqual(7 * 86_400_000)

      const { passports } = PassportList.parse(await (await api('/passports')).json())
      expect(passports).toContainEqual(expect.objectContaining({ agent, id: record.id }))
      const read = PassportAnswer.parse(await (await api(`/passports/${encodeURIComponent(agent)}`)).json())
      expect(read.passport).toEqual(record)

      const revoked = await api(`/passports/${encodeURIComponent(agent)}/revoke`, {
        body: { reason: 'key leaked', by: 'ops' },
      })
      expect(revoked.status).toBe(200)
      expect(PassportAnswer.parse(await revoked.json()).passport).toMatchObject({
        agent,
        status: 'revoked',
        reason: 'key leaked',
      })
      const reinstated = await api(`/passports/${encodeURIComponent(agent)}/reinstate`, { body: {} })
      expect(reinstated.status).toBe(409)
      expect(await error(reinstated)).toMatchObject({ code: 'CONFLICT' })
      const again = await api('/passports', {
        body: { agent, developer: developer.did, codeHash, grant: await grantFor(agent) },
      })
      expect(again.status).toBe(403)
    })

    it('suspends and reinstates a passport', async () => {
      await registered()
      const agent = generateEd25519Key().did
      await issued(agent)
      const path = `/passports/${encodeURIComponent(agent)}`
      const suspended = PassportAnswer.parse(
        await (await api(`${path}/suspend`, { body: { reason: 'odd calls' } })).json(),
      )
      expect(suspended.passport).toMatchObject({ status: 'suspended', reason: 'odd calls' })
      const active = PassportAnswer.parse(await (await api(`${path}/reinstate`, { method: 'POST' })).json())
      expect(active.passport.status).toBe('active')
      const audit = await (await api('/audit/export')).text()
      expect(audit).toMatch(/"kind":"passport\.suspended"/)
      expect(audit).toMatch(/"kind":"passport\.reinstated"/)
    })

    it('refuses a grant for another agent (403), an unregistered developer (403) and a malformed grant (400)', async () => {
      await registered()
      const agent = generateEd25519Key().did
      const other = generateEd25519Key().did
      const forOther = await api('/passports', {
        body: { agent, developer: developer.did, codeHash, grant: await grantFor(other) },
      })
      expect(forOther.status).toBe(403)
      expect(await error(forOther)).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/another agent key/),
      })
      const stranger = await api('/passports', {
        body: { agent, developer: generateEd25519Key().did, codeHash, grant: await grantFor(agent) },
      })
      expect(stranger.status).toBe(403)
      const signed = await grantFor(agent)
      const malformed = await api('/passports', {
        body: {
          agent,
          developer: developer.did,
          codeHash,
          grant: { ...signed, grant: { ...signed.grant, budget: { ...signed.grant.budget, max: '1e3' } } },
        },
      })
      expect(malformed.status).toBe(400)
      expect(await error(malformed)).toMatchObject({ code: 'INVALID_INPUT', field: 'grant.grant.budget.max' })
      // Changed after signing: the signature no longer recovers the user.
      const changed = await api('/passports', {
        body: {
          agent,
          developer: developer.did,
          codeHash,
          grant: { ...signed, grant: { ...signed.grant, tools: ['transfer'] } },
        },
      })
      expect(changed.status).toBe(401)
      const missing = await api(`/passports/${encodeURIComponent(agent)}`)
      expect(missing.status).toBe(404)
      expect(await error(missing)).toMatchObject({ code: 'NOT_FOUND' })
      expect((await api(`/passports/${encodeURIComponent(agent)}/suspend`, { body: {} })).status).toBe(404)
    })
  })

  describe('one stopped agent', () => {
    it('stops an agent, shows it in the status, and releases it; idempotent both ways', async () => {
      const agent = generateEd25519Key().did
      const response = await api('/kill/agents', { body: { agent, reason: 'runaway loop', by: 'ops' } })
      expect(response.status).toBe(200)
      const { stopped } = StoppedAgentAnswer.parse(await response.json())
      expect(stopped).toMatchObject({ agent, reason: 'runaway loop', actor: 'ops' })
      const again = StoppedAgentAnswer.parse(
        await (await api('/kill/agents', { body: { agent, reason: 'again' } })).json(),
      )
      expect(again.stopped).toEqual(stopped)
      expect(AdminStatus.parse(await (await api('/status')).json()).stoppedAgents).toContainEqual(stopped)
      expect(StoppedAgentList.parse(await (await api('/kill/agents')).json()).agents).toContainEqual(stopped)

      const path = `/kill/agents/${encodeURIComponent(agent)}`
      const released = ReleasedAgent.parse(
        await (await api(path, { method: 'DELETE', body: { by: 'ops' } })).json(),
      )
      expect(released.released).toEqual(stopped)
      const none = ReleasedAgent.parse(await (await api(path, { method: 'DELETE' })).json())
      expect(none.released).toBeNull()
      const status = AdminStatus.parse(await (await api('/status')).json())
      expect(status.stoppedAgents?.map((a) => a.agent)).not.toContain(agent)
      const audit = await (await api('/audit/export')).text()
      expect(audit).toMatch(/"kind":"kill_switch\.agent_stopped"/)
      expect(audit).toMatch(/"kind":"kill_switch\.agent_released"/)
    })

    it('refuses an agent id that is not a DID, and unknown fields (400)', async () => {
      for (const [body, field] of [
        [{ agent: '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955' }, 'agent'],
        [{ reason: 'no agent' }, 'agent'],
        [{ agent: 'did:key:z6Mk', force: true }, 'force'],
      ] as const) {
        const response = await api('/kill/agents', { body })
        expect(response.status).toBe(400)
        expect(await error(response)).toMatchObject({ code: 'INVALID_INPUT', field })
      }
    })
  })

  describe('kill switch', () => {
    it('engages with a reason and who did it, reads back, and releases without a body', async () => {
      const engaged = KillState.parse(
        await (await api('/kill', { body: { reason: 'api stop', by: 'ops' } })).json(),
      )
      expect(engaged).toMatchObject({ engaged: true, reason: 'api stop', actor: 'ops' })
      expect(KillState.parse(await (await api('/kill')).json())).toMatchObject({ engaged: true })
      expect(AdminStatus.parse(await (await api('/status')).json()).killSwitch.engaged).toBe(true)
      const released = await api('/unkill', { method: 'POST' })
      expect(released.status).toBe(200)
      expect(KillState.parse(await released.json())).toMatchObject({ engaged: false, actor: 'admin-api' })
      const defaulted = KillState.parse(await (await api('/kill', { body: {} })).json())
      expect(defaulted.reason).toBe('engaged by the operator')
      await api('/unkill', { body: { by: 'ops' } })
    })

    it('refuses a malformed kill or unkill body (400)', async () => {
      const bad = await api('/kill', { body: { reason: 7 } })
      expect(bad.status).toBe(400)
      expect(await error(bad)).toMatchObject({ field: 'reason' })
      const extra = await api('/unkill', { body: { force: true } })
      expect(extra.status).toBe(400)
      expect(await error(extra)).toMatchObject({ field: 'force' })
      expect(KillState.parse(await (await api('/kill')).json()).engaged).toBe(false)
    })
  })

  describe('audit', () => {
    it('verifies the chain, and finds a head kept from an export', async () => {
      await api('/kill', { body: { reason: 'for the log' } })
      await api('/unkill', { body: {} })
      const exported = await api('/audit/export')
      expect(exported.status).toBe(200)
      expect(exported.headers.get('content-type')).toBe('application/jsonl; charset=utf-8')
      const lines = (await exported.text()).trim().split('\n')
      const entries = lines.map((l) => JSON.parse(l) as { seq: number; hash: string; kind: string })
      expect(entries.map((e) => e.kind)).toEqual(
        expect.arrayContaining(['kill_switch.engaged', 'kill_switch.released', 'approval.requested']),
      )
      expect(entries.map((e) => e.seq)).toEqual([...entries.keys()].map((i) => i + 1))
      const newest = entries.at(-1)!
      const verified = AuditVerification.parse(await (await api('/audit/verify')).json())
      expect(verified).toMatchObject({ ok: true, head: newest.hash, entries: newest.seq })
      const kept = AuditVerification.parse(
        await (await api(`/audit/verify?head=${newest.seq}:${newest.hash}`)).json(),
      )
      expect(kept).toMatchObject({ ok: true, kept: { seq: newest.seq } })
    })

    it('refuses a malformed head or an unknown query field, naming it (400)', async () => {
      const bad = await api('/audit/verify?head=12:nothex')
      expect(bad.status).toBe(400)
      expect(await error(bad)).toMatchObject({
        code: 'INVALID_INPUT',
        field: 'head',
        message: expect.stringMatching(/The audit head must be SEQ:HASH or HASH/),
      })
      const extra = await api('/audit/verify?from=1')
      expect(extra.status).toBe(400)
      expect(await error(extra)).toMatchObject({ field: 'from' })
    })
  })

  describe('address book', () => {
    it('adds (EIP-55 on the way out), lists and removes an entry', async () => {
      const added = await api('/address-book', {
        body: { address: seven.toLowerCase(), label: 'seven', note: 'cold wallet', by: 'ops' },
      })
      expect(added.status).toBe(200)
      expect(AddressBookEntry.parse(await added.json())).toMatchObject({
        address: seven,
        label: 'seven',
        note: 'cold wallet',
        addedBy: 'ops',
      })
      const { entries } = AddressBookList.parse(await (await api('/address-book')).json())
      expect(entries.map((e) => e.address)).toContain(seven)
      const removed = await api(`/address-book/${seven}`, { method: 'DELETE' })
      expect(removed.status).toBe(200)
      expect(await removed.json()).toEqual({ removed: true })
      const gone = await api(`/address-book/${seven}`, { method: 'DELETE' })
      expect(gone.status).toBe(404)
      expect(await error(gone)).toMatchObject({
        code: 'NOT_FOUND',
        message: `No address-book entry ${seven}.`,
      })
    })

    it('refuses a bad address, a missing label or an unknown field (400)', async () => {
      const badAddress = await api('/address-book', { body: { address: '0x123', label: 'x' } })
      expect(badAddress.status).toBe(400)
      expect(await error(badAddress)).toMatchObject({ code: 'INVALID_ADDRESS' })
      const noLabel = await api('/address-book', { body: { address: seven } })
      expect(noLabel.status).toBe(400)
      expect(await error(noLabel)).toMatchObject({
        field: 'label',
        message: 'The request body needs "label" (string).',
      })
      const extra = await api('/address-book', { body: { address: seven, label: 'x', trusted: true } })
      expect(extra.status).toBe(400)
      expect(await error(extra)).toMatchObject({ field: 'trusted' })
      expect((await api('/address-book/0x123', { method: 'DELETE' })).status).toBe(400)
    })
  })
})
