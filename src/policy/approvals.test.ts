import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createAuditLog } from '../audit/auditLog.js'
import type { Store } from '../store/openStore.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { type ApprovalRequest, createApprovals } from './approvals.js'

const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const hash = 'ab'.repeat(32)
const otherHash = 'cd'.repeat(32)
const request: ApprovalRequest = {
  summary: 'Send 5 USDC to 0x7099…79C8',
  simulation: { deltas: [{ kind: 'erc20', raw: -5_000_000n }] },
  reasons: ['amount above the auto-approve cap'],
  ruleIds: ['usdc-cap'],
  chain: 'devnet',
  operation: 'transfer',
  call: { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 0n },
}

async function newIntent(store: Store, held = true): Promise<string> {
  const journal = createIntentJournal(store)
  const { intent } = await journal.create({
    chainId: 31337,
    wallet,
    operation: 'transfer',
    request: { amount: '5' },
  })
  if (held) await journal.transition(intent.id, 'created', 'held')
  return intent.id
}

/** Moves an approval's deadline into the past (the database clock), instead of sleeping through a ttl. */
async function backdate(store: Store, intentId: string): Promise<void> {
  await sql`update approvals set expires_at = now() - interval '1 second' where intent_id = ${intentId}`.execute(
    store.db,
  )
}

describe.each(testStoreDrivers)('approvals on %s', (driver) => {
  const t = useTestStore(driver)

  it('holds an intent (audited), gets it, lists newest first; holding again is idempotent', async () => {
    const audit = createAuditLog(t.store)
    const approvals = createApprovals(t.store, { audit })
    const first = await newIntent(t.store)
    const second = await newIntent(t.store)
    const held = await approvals.hold(first, hash, request, 600)
    expect(held).toMatchObject({ intentId: first, intentHash: hash, status: 'pending', decidedBy: null })
    const ttl = held.expiresAt.getTime() - held.createdAt.getTime()
    expect(ttl).toBeGreaterThanOrEqual(599_000)
    expect(ttl).toBeLessThanOrEqual(601_000)
    // Bigints of the simulation come back as decimal strings.
    expect(held.request).toMatchObject({
      summary: request.summary,
      simulation: { deltas: [{ raw: '-5000000' }] },
    })
    await approvals.hold(second, hash, request, 600)

    expect(await approvals.get(first)).toEqual(held)
    expect(await approvals.hold(first, hash, request, 600)).toEqual(held)
    const listed = (await approvals.list({ status: 'pending' })).map((a) => a.intentId)
    expect(listed.indexOf(second)).toBeLessThan(listed.indexOf(first))
    expect(listed).toContain(first)

    const [entry] = await audit.read({ newestFirst: true, limit: 1 })
    expect(entry).toMatchObject({ kind: 'approval.requested', intentId: second, data: { intentHash: hash } })
  })

  it('refuses to hold an intent that does not exist, or one already held under another hash', async () => {
    const approvals = createApprovals(t.store)
    await expect(approvals.hold('int_missing', hash, request, 600)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    await expect(approvals.get('int_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const id = await newIntent(t.store)
    await approvals.hold(id, hash, request, 600)
    await expect(approvals.hold(id, otherHash, request, 600)).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    })
    await expect(approvals.hold(id, hash, request, 0)).rejects.toMatchObject({ code: 'INVALID_INPUT' })
  })

  it('approves and denies (audited, with who and why); deciding twice is a CONFLICT naming the status', async () => {
    const audit = createAuditLog(t.store)
    const approvals = createApprovals(t.store, { audit })
    const a = await newIntent(t.store)
    const d = await newIntent(t.store)
    await approvals.hold(a, hash, request, 600)
    await approvals.hold(d, hash, request, 600)

    const approved = await approvals.decide(a, 'approved', 'alice', { expectHash: hash })
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'alice', reason: null })
    expect(approved.decidedAt).toBeInstanceOf(Date)
    const denied = await approvals.decide(d, 'denied', 'bob', { reason: 'not this week' })
    expect(denied).toMatchObject({ status: 'denied', decidedBy: 'bob', reason: 'not this week' })

    const again = await approvals.decide(a, 'denied', 'bob').catch((e: unknown) => e)
    expect(again).toMatchObject({ code: 'CONFLICT', approvalStatus: 'approved' })
    expect((again as Error).message).toContain('already "approved"')
    await expect(approvals.decide(d, 'approved', 'alice')).rejects.toThrow(/already "denied"/)
    expect((await approvals.get(a)).status).toBe('approved')

    const entries = await audit.read({ newestFirst: true, limit: 2 })
    expect(entries.map((e) => [e.kind, e.actor, e.intentId])).toEqual([
      ['approval.denied', 'bob', d],
      ['approval.approved', 'alice', a],
    ])
  })

  it('lets exactly one of concurrent approve and deny win (two replicas on PostgreSQL)', async () => {
    const second = driver === 'postgres' ? await t.openAnother() : t.store
    const deciders = [createApprovals(t.store), createApprovals(second)]
    for (let round = 0; round < 10; round++) {
      const id = await newIntent(t.store)
      await deciders[0]!.hold(id, hash, request, 600)
      const results = await Promise.allSettled([
        deciders[0]!.decide(id, 'approved', 'cli'),
        deciders[1]!.decide(id, 'denied', 'admin-api'),
      ])
      const won = results.filter((r) => r.status === 'fulfilled')
      const lost = results.filter((r) => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' })
      const final = await deciders[0]!.get(id)
      expect(final.status).toBe((won[0] as PromiseFulfilledResult<{ status: string }>).value.status)
    }
  })

  it('cannot approve an expired approval: it is marked expired (audited) and says so', async () => {
    const audit = createAuditLog(t.store)
    const approvals = createApprovals(t.store, { audit })
    const id = await newIntent(t.store)
    await approvals.hold(id, hash, request, 600)
    await backdate(t.store, id)
    const error = await approvals.decide(id, 'approved', 'alice').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONFLICT', approvalStatus: 'expired' })
    expect((error as Error).message).toMatch(/expired/)
    expect(await approvals.get(id)).toMatchObject({ status: 'expired', decidedBy: null })
    const [entry] = await audit.read({ newestFirst: true, limit: 1 })
    expect(entry).toMatchObject({ kind: 'approval.expired', intentId: id })
  })

  it('reports pending approvals past their deadline as expired in get and list', async () => {
    const approvals = createApprovals(t.store)
    const viaGet = await newIntent(t.store)
    const viaList = await newIntent(t.store)
    for (const id of [viaGet, viaList]) await approvals.hold(id, hash, request, 600)
    for (const id of [viaGet, viaList]) await backdate(t.store, id)

    expect((await approvals.get(viaGet)).status).toBe('expired')
    const listed = await approvals.list()
    expect(listed.find((a) => a.intentId === viaList)?.status).toBe('expired')
    expect((await approvals.list({ status: 'pending' })).map((a) => a.intentId)).not.toContain(viaList)
  })

  it('expireDue returns expired approvals until their intent leaves held (also those expired by get/list)', async () => {
    const audit = createAuditLog(t.store)
    const approvals = createApprovals(t.store, { audit })
    const journal = createIntentJournal(t.store)
    const due = await newIntent(t.store)
    const seen = await newIntent(t.store)
    const open = await newIntent(t.store)
    for (const id of [due, seen, open]) await approvals.hold(id, hash, request, 600)
    await backdate(t.store, due)
    await backdate(t.store, seen)
    expect((await approvals.get(seen)).status).toBe('expired')

    const ids = (await approvals.expireDue()).map((a) => a.intentId)
    expect(ids).toEqual(expect.arrayContaining([due, seen]))
    expect(ids).not.toContain(open)
    const expiredEntries = (await audit.read({ newestFirst: true, limit: 10 })).filter(
      (e) => e.kind === 'approval.expired' && (e.intentId === due || e.intentId === seen),
    )
    expect(expiredEntries).toHaveLength(2)

    for (const id of [due, seen])
      await journal.transition(id, 'held', 'cancelled', {
        error: { code: 'APPROVAL_REQUIRED', message: 'expired' },
      })
    const after = (await approvals.expireDue()).map((a) => a.intentId)
    expect(after).not.toContain(due)
    expect(after).not.toContain(seen)
  })

  it('refuses a decision bound to a different intent hash, and changes nothing', async () => {
    const approvals = createApprovals(t.store)
    const id = await newIntent(t.store)
    await approvals.hold(id, hash, request, 600)
    const error = await approvals
      .decide(id, 'approved', 'alice', { expectHash: otherHash })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', field: 'expectHash' })
    expect((await approvals.get(id)).status).toBe('pending')
    await expect(approvals.decide(id, 'approved', 'alice', { expectHash: hash })).resolves.toMatchObject({
      status: 'approved',
    })
  })

  it('lists approved (and denied) approvals whose intent is still held, for the gateway to resume (cancel)', async () => {
    const approvals = createApprovals(t.store)
    const journal = createIntentJournal(t.store)
    const resumable = await newIntent(t.store)
    const pending = await newIntent(t.store)
    const denied = await newIntent(t.store)
    const notHeld = await newIntent(t.store, false)
    for (const id of [resumable, pending, denied, notHeld]) await approvals.hold(id, hash, request, 600)
    await approvals.decide(resumable, 'approved', 'alice')
    await approvals.decide(denied, 'denied', 'alice')
    await approvals.decide(notHeld, 'approved', 'alice')
    const ids = (await approvals.approvedToResume()).map((a) => a.intentId)
    expect(ids).toContain(resumable)
    for (const id of [pending, denied, notHeld]) expect(ids).not.toContain(id)

    expect((await approvals.deniedToCancel()).map((a) => a.intentId)).toContain(denied)

    await journal.transition(resumable, 'held', 'created')
    expect((await approvals.approvedToResume()).map((a) => a.intentId)).not.toContain(resumable)
    await journal.transition(denied, 'held', 'cancelled', {
      error: { code: 'POLICY_DENIED', message: 'denied' },
    })
    expect((await approvals.deniedToCancel()).map((a) => a.intentId)).not.toContain(denied)
  })
})
