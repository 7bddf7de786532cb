import { randomBytes } from 'node:crypto'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../audit/auditLog.js'
import { signDeveloperChallenge } from '../../identity/developerProof.js'
import { generateEd25519Key } from '../../identity/didKey.js'
import { signGrant } from '../../identity/grant.js'
import { createApprovals } from '../../policy/approvals.js'
import type { Store } from '../../store/openStore.js'
import { openMemoryStore } from '../../store/useTestStore.js'
import { createIntentJournal } from '../../txs/intentJournal.js'
import { type AdminServer, startAdminServer } from '../admin.js'
import { AdminApiError, type AdminClient, createAdminClient } from './adminClient.js'
import { createAdminApp } from './createAdminApp.js'
import { storeOperator } from './storeOperator.js'

// The one client of the admin API: in process over `app.request` (how the CLI works on a store), and over HTTP
// to `startAdminServer` (how it reaches a running gateway).
const token = randomBytes(32).toString('hex')
const seven = '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955'
let store: Store
let admin: AdminClient

beforeAll(async () => {
  store = await openMemoryStore()
  const app = createAdminApp({ operator: storeOperator(store), token })
  admin = createAdminClient({
    url: 'http://airlock.invalid/admin',
    token,
    fetch: (url, init) => app.request(url, init),
  })
})
afterAll(async () => {
  await store?.close()
})

async function held(): Promise<{ id: string; hash: string }> {
  const journal = createIntentJournal(store)
  const { intent } = await journal.create({
    chainId: 31337,
    wallet: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    operation: 'transfer',
    request: {},
  })
  await journal.transition(intent.id, 'created', 'held')
  const hash = randomBytes(32).toString('hex')
  const request = {
    summary: 'Send 1 ETH',
    simulation: null,
    reasons: ['r'],
    ruleIds: [],
    chain: 'devnet',
    operation: 'transfer',
  }
  await createApprovals(store, { audit: createAuditLog(store) }).hold(intent.id, hash, request, 600)
  return { id: intent.id, hash }
}

describe('admin client', () => {
  it('checks its options when built', () => {
    expect(() => createAdminClient({ url: 'not a url', token })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', field: 'url' }),
    )
    expect(() => createAdminClient({ url: 'file:///etc/admin', token })).toThrow(
      expect.objectContaining({ field: 'url' }),
    )
    expect(() => createAdminClient({ url: 'http://127.0.0.1:1/admin', token: '' })).toThrow(
      expect.objectContaining({ field: 'token' }),
    )
  })

  it('lists, approves and denies approvals', async () => {
    const a = await held()
    const b = await held()
    const { approvals, breaches } = await admin.listApprovals({ status: 'pending' })
    expect(approvals.map((x) => x.intentId)).toEqual(expect.arrayContaining([a.id, b.id]))
    expect(breaches).toEqual([])
    expect((await admin.status()).pendingApprovals).toBeGreaterThanOrEqual(2)
    const approved = await admin.approve(a.id, { hash: a.hash, by: 'cli:ops' })
    expect(approved.approval).toMatchObject({ status: 'approved', decidedBy: 'cli:ops' })
    // Dates as they travel: ISO strings.
    expect(typeof approved.approval.decidedAt).toBe('string')
    const denied = await admin.deny(b.id, { reason: 'no' })
    expect(denied.approval).toMatchObject({ status: 'denied', reason: 'no' })
  })

  it("throws the admin API's error: code, message, hints, field and status", async () => {
    const error = await admin.approve('int_missing').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AdminApiError)
    expect(error).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 })
    const bad = await admin.listApprovals({ status: 'sometimes' as never }).catch((e: unknown) => e)
    expect(bad).toMatchObject({ code: 'INVALID_INPUT', field: 'status', httpStatus: 400 })
    const odd = createAdminClient({
      url: 'http://airlock.invalid/admin',
      token,
      fetch: () => new Response('{}', { status: 200 }),
    })
    // An answer that is not the route's shape is an error, not a value.
    await expect(odd.status()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/GET \/status is not what the client expects/),
    })
    const unreadable = createAdminClient({
      url: 'http://airlock.invalid/admin',
      token,
      fetch: () => new Response('<html>bad gateway</html>', { status: 502 }),
    })
    await expect(unreadable.killState()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'The admin API answered 502.',
    })
  })

  it('engages and releases the kill switch', async () => {
    expect(await admin.kill({ reason: 'stop', by: 'cli:ops' })).toMatchObject({
      engaged: true,
      reason: 'stop',
    })
    expect((await admin.killState()).engaged).toBe(true)
    expect(await admin.unkill({ by: 'cli:ops' })).toMatchObject({ engaged: false, actor: 'cli:ops' })
  })

  it('verifies and exports the audit log, line by line', async () => {
    const lines: string[] = []
    const count = await admin.exportAudit((line) => {
      lines.push(line)
    })
    expect(count).toBe(lines.length)
    expect(count).toBeGreaterThan(3)
    const newest = JSON.parse(lines.at(-1)!) as { seq: number; hash: string }
    expect(await admin.verifyAudit({ head: `${newest.seq}:${newest.hash}` })).toMatchObject({
      ok: true,
      entries: newest.seq,
      kept: { seq: newest.seq },
    })
  })

  it('adds, lists and removes address-book entries', async () => {
    expect(await admin.addAddress({ address: seven.toLowerCase(), label: 'seven' })).toMatchObject({
      address: seven,
      addedBy: 'admin-api',
    })
    expect((await admin.listAddressBook()).entries.map((e) => e.address)).toContain(seven)
    expect(await admin.removeAddress(seven)).toEqual({ removed: true })
    await expect(admin.removeAddress(seven)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('stops, lists and releases one agent', async () => {
    const agent = generateEd25519Key().did
    const { stopped } = await admin.stopAgent({ agent, reason: 'loop', by: 'cli:ops' })
    expect(stopped).toMatchObject({ agent, reason: 'loop', actor: 'cli:ops' })
    expect((await admin.stoppedAgents()).agents).toContainEqual(stopped)
    expect((await admin.status()).stoppedAgents).toContainEqual(stopped)
    expect((await admin.releaseAgent(agent, { by: 'cli:ops' })).released).toEqual(stopped)
    expect((await admin.releaseAgent(agent)).released).toBeNull()
  })

  it('registers a developer, issues a passport, and changes its status', async () => {
    const developer = generateEd25519Key()
    const asked = await admin.developerChallenge({ did: developer.did })
    const proof = await signDeveloperChallenge({ ...asked, key: developer.jwk })
    expect((await admin.registerDeveloper({ did: developer.did, proof })).developer).toMatchObject({
      did: developer.did,
      method: 'key',
    })
    expect((await admin.listDevelopers()).developers.map((d) => d.did)).toContain(developer.did)

    const agent = generateEd25519Key().did
    const user = privateKeyToAccount(generatePrivateKey())
    const now = Math.floor(Date.now() / 1000)
    const codeHash = `sha256:${'cd'.repeat(32)}`
    const grant = await signGrant(
      {
        user: user.address,
        agent,
        codeHash,
        tools: ['get_balance'],
        chains: ['eip155:31337'],
        payees: [seven],
        budget: { currency: 'USD', max: '10', windowSeconds: 3600 },
        amountRange: { currency: 'USD', min: '0', max: '1.5' },
        notBefore: now - 60,
        expiry: now + 86_400,
        nonce: `0x${randomBytes(32).toString('hex')}`,
      },
      user,
    )
    const issued = await admin.issuePassport({ agent, developer: developer.did, codeHash, grant })
    expect(issued.passport.split('.')).toHaveLength(3)
    expect(issued.record).toMatchObject({ agent, status: 'active' })
    // The passport lives no longer than the grant.
    expect(Date.parse(issued.record.validUntil)).toBeLessThanOrEqual((now + 86_400) * 1000)
    expect((await admin.listPassports()).passports.map((p) => p.agent)).toContain(agent)
    expect((await admin.getPassport(agent)).passport).toEqual(issued.record)
    expect((await admin.suspendPassport(agent, { reason: 'check' })).passport.status).toBe('suspended')
    expect((await admin.reinstatePassport(agent)).passport.status).toBe('active')
    expect((await admin.revokePassport(agent, { by: 'cli:ops' })).passport.status).toBe('revoked')
    await expect(admin.reinstatePassport(agent)).rejects.toMatchObject({ code: 'CONFLICT', httpStatus: 409 })
    await expect(admin.getPassport(generateEd25519Key().did)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('startAdminServer', () => {
  let server: AdminServer | undefined
  afterAll(async () => {
    await server?.close()
  })

  it('serves the same app on 127.0.0.1 and a free port, streaming the export', async () => {
    server = await startAdminServer({ operator: storeOperator(store) })
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin$/)
    expect(server.token).toMatch(/^[0-9a-f]{64}$/)
    const http = createAdminClient({ url: server.url, token: server.token })
    await http.kill({ reason: 'over http' })
    expect((await http.status()).killSwitch).toMatchObject({ engaged: true, reason: 'over http' })
    await http.unkill()
    const lines: string[] = []
    expect(await http.exportAudit((l) => void lines.push(l))).toBe(lines.length)
    expect(lines.map((l) => JSON.parse(l).kind)).toContain('kill_switch.engaged')
    const denied = await fetch(`${server.url}/status`, { headers: { authorization: 'Bearer nope' } })
    expect(denied.status).toBe(401)
    // Over the body limit (64 KiB): the app's own 400, and the connection still answers.
    const big = await fetch(`${server.url}/kill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ reason: 'x'.repeat(100_000) }),
    })
    expect(big.status).toBe(400)
    expect(await big.json()).toMatchObject({ error: { message: expect.stringMatching(/too large/) } })
  })
})
