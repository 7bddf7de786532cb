import { describe, expect, it } from 'vitest'
import {
  type BaseError,
  IdempotencyKeyReusedError,
  IllegalTransitionError,
  IntentConflictError,
  InvalidInputError,
  NotFoundError,
} from '../errors/index.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal, type IntentJournal } from './intentJournal.js'
import { canTransition, type IntentStatus, intentStatuses, intentTransitions } from './intentStatus.js'

const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const txHash = `0x${'ab'.repeat(32)}`
const request = { chain: 'devnet', to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', amount: '1.5' }

let counter = 0
const uniqueKey = (label: string) => `${label}-${Date.now()}-${counter++}`

/** Data each target status needs, so a test can drive any legal move. */
function dataFor(to: IntentStatus, replacedBy?: string) {
  if (to === 'signed') return { txHash, signedTx: '0x02f8' }
  if (to === 'failed' || to === 'cancelled') return { error: { code: 'RPC_ERROR', message: 'refused' } }
  if (to === 'replaced') return { replacedBy: replacedBy as string }
  return {}
}

/** Drives a fresh intent along `path` (which starts at `created`) and returns its id. */
async function intentAt(journal: IntentJournal, path: readonly IntentStatus[]): Promise<string> {
  const { intent } = await journal.create({ chainId: 31337, wallet, operation: 'transfer', request })
  for (let i = 1; i < path.length; i++) {
    const to = path[i] as IntentStatus
    const other =
      to === 'replaced'
        ? (await journal.create({ chainId: 31337, wallet, operation: 'cancel', request })).intent.id
        : undefined
    await journal.transition(intent.id, path[i - 1] as IntentStatus, to, dataFor(to, other))
  }
  return intent.id
}

/** A path from `created` to each status, along legal moves. */
const pathTo: Record<IntentStatus, IntentStatus[]> = {
  created: ['created'],
  signed: ['created', 'signed'],
  broadcast: ['created', 'signed', 'broadcast'],
  mined: ['created', 'signed', 'broadcast', 'mined'],
  failed: ['created', 'failed'],
  cancelled: ['created', 'cancelled'],
  completed: ['created', 'completed'],
  replaced: ['created', 'signed', 'broadcast', 'replaced'],
  dropped: ['created', 'signed', 'broadcast', 'dropped'],
  held: ['created', 'held'],
}

describe('intent state machine', () => {
  it('every path used by the tests is legal, and final statuses go nowhere', () => {
    for (const path of Object.values(pathTo))
      for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true)
    expect(intentTransitions.failed).toEqual([])
    expect(intentTransitions.cancelled).toEqual([])
    expect(intentTransitions.completed).toEqual([])
  })
})

describe.each(testStoreDrivers)('intent journal on %s', (driver) => {
  const t = useTestStore(driver)
  const journal = () => createIntentJournal(t.store)

  it('records an intent as created, with its first history row, before anything is signed', async () => {
    const { intent, created } = await journal().create({
      chainId: 31337,
      wallet: wallet.toLowerCase(),
      operation: 'transfer',
      request,
    })
    expect(created).toBe(true)
    expect(intent).toMatchObject({
      status: 'created',
      chainId: 31337,
      wallet,
      request,
      nonce: null,
      txHash: null,
    })
    expect(intent.id).toMatch(/^int_[0-9a-z]+$/)
    expect(await journal().get(intent.id)).toEqual(intent)
    const events = await journal().events(intent.id)
    expect(events).toMatchObject([{ seq: 1, from: null, to: 'created' }])
  })

  it('persists every move of the lifecycle and its history: created → signed → broadcast → mined', async () => {
    const j = journal()
    const { intent } = await j.create({ chainId: 31337, wallet, operation: 'transfer', request })
    const tx = { to: request.to, value: '1500000000000000000', nonce: 0 }
    const signed = await j.transition(intent.id, 'created', 'signed', { tx, txHash, signedTx: '0x02f8aa' })
    expect(signed).toMatchObject({ status: 'signed', tx, txHash, signedTx: '0x02f8aa' })
    expect(signed.updatedAt.getTime()).toBeGreaterThanOrEqual(intent.updatedAt.getTime())
    await j.transition(intent.id, 'signed', 'broadcast')
    const receipt = { blockNumber: '12', status: 'success' }
    await j.transition(intent.id, 'broadcast', 'mined', { detail: { receipt } })
    expect((await j.get(intent.id)).status).toBe('mined')
    const events = await j.events(intent.id)
    expect(events.map((e) => [e.seq, e.from, e.to])).toEqual([
      [1, null, 'created'],
      [2, 'created', 'signed'],
      [3, 'signed', 'broadcast'],
      [4, 'broadcast', 'mined'],
    ])
    expect(events[1]?.data).toEqual({ tx, txHash }) // the signed bytes stay on the intent, not in the history
    expect(events[3]?.data).toEqual({ detail: { receipt } })
  })

  it('accepts exactly the moves in the table, from every status', async () => {
    const j = journal()
    for (const from of intentStatuses) {
      for (const to of intentStatuses) {
        const id = await intentAt(j, pathTo[from])
        const other = (await j.create({ chainId: 31337, wallet, operation: 'cancel', request })).intent.id
        const move = j.transition(id, from, to, dataFor(to, other))
        if (intentTransitions[from].includes(to)) await expect(move).resolves.toMatchObject({ status: to })
        else await expect(move).rejects.toBeInstanceOf(IllegalTransitionError)
      }
    }
  }, 60_000)

  it('refuses an illegal move with a clear error and writes nothing', async () => {
    const j = journal()
    const id = await intentAt(j, pathTo.mined)
    const before = await j.get(id)
    const error = await j.transition(id, 'mined', 'signed', { txHash }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IllegalTransitionError)
    expect((error as BaseError).code).toBe('CONFLICT')
    expect((error as BaseError).message).toMatch(/From "mined" an intent may move to: broadcast/)
    expect(await j.get(id)).toEqual(before)
    expect(await j.events(id)).toHaveLength(4)
  })

  it('refuses a move from a status the intent is no longer in', async () => {
    const j = journal()
    const id = await intentAt(j, pathTo.broadcast)
    await expect(j.transition(id, 'created', 'signed', { txHash })).rejects.toBeInstanceOf(
      IntentConflictError,
    )
    expect((await j.get(id)).status).toBe('broadcast')
    expect(await j.events(id)).toHaveLength(3)
  })

  it('refuses a move that lacks what it needs (a failure without a reason)', async () => {
    const j = journal()
    const id = await intentAt(j, pathTo.created)
    await expect(j.transition(id, 'created', 'failed')).rejects.toBeInstanceOf(InvalidInputError)
    await expect(j.transition(id, 'created', 'signed')).rejects.toBeInstanceOf(InvalidInputError)
    await expect(j.transition(id, 'created', 'nope' as IntentStatus)).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    expect((await j.get(id)).status).toBe('created')
    expect(await j.events(id)).toHaveLength(1)
  })

  it('of concurrent moves of one intent, exactly one wins and one history row is written', async () => {
    const j = journal()
    const id = await intentAt(j, pathTo.broadcast)
    const targets: IntentStatus[] = [
      'mined',
      'dropped',
      'failed',
      'mined',
      'dropped',
      'failed',
      'mined',
      'mined',
    ]
    const results = await Promise.allSettled(
      targets.map((to) => j.transition(id, 'broadcast', to, dataFor(to))),
    )
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IntentConflictError)
    const winner = (won[0] as PromiseFulfilledResult<{ status: IntentStatus }>).value.status
    expect((await j.get(id)).status).toBe(winner)
    const events = await j.events(id)
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(events[3]).toMatchObject({ from: 'broadcast', to: winner })
  })

  it('records who asked (agent, caller) and what started it (origin); without a caller, the local operator', async () => {
    const j = journal()
    const order = { kind: 'order', id: 'o1', agent: 'operator:local' } as const
    const { intent } = await j.create({
      chainId: 31337,
      wallet,
      operation: 'transfer',
      request,
      caller: order,
      origin: 'order',
    })
    expect(intent).toMatchObject({ agent: 'order:o1', origin: 'order', caller: order })
    expect(await j.get(intent.id)).toMatchObject({ agent: 'order:o1', origin: 'order', caller: order })
    const moved = await j.transition(intent.id, 'created', 'held')
    expect(moved).toMatchObject({ agent: 'order:o1', caller: order })
    const plain = (await j.create({ chainId: 31337, wallet, operation: 'transfer', request })).intent
    expect(plain).toMatchObject({
      agent: 'operator:local',
      origin: 'tool',
      caller: { kind: 'operator', id: 'local' },
    })
    const bad = await j
      .create({ chainId: 31337, wallet, operation: 'transfer', request, origin: 'nope' as never })
      .catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(InvalidInputError)
  })

  it("an idempotency key is its caller's: another caller's same key makes its own intent, never hands out the first", async () => {
    const j = journal()
    const idempotencyKey = uniqueKey('caller')
    const order = { kind: 'order', id: 'o2', agent: 'operator:local' } as const
    const first = await j.create({
      idempotencyKey,
      chainId: 31337,
      wallet,
      operation: 'transfer',
      request,
      caller: order,
    })
    const again = await j.create({
      idempotencyKey,
      chainId: 31337,
      wallet,
      operation: 'transfer',
      request,
      caller: order,
    })
    expect(again).toEqual({ intent: first.intent, created: false })
    const operators = await j.create({
      idempotencyKey,
      chainId: 31337,
      wallet,
      operation: 'transfer',
      request,
    })
    expect(operators.created).toBe(true)
    expect(operators.intent.id).not.toBe(first.intent.id)
    expect(operators.intent.agent).toBe('operator:local')
    // And each caller's replay still finds its own.
    const replay = await j.create({ idempotencyKey, chainId: 31337, wallet, operation: 'transfer', request })
    expect(replay).toEqual({ intent: operators.intent, created: false })
  })

  it('the same idempotency key and request return the same intent; a different request is refused', async () => {
    const j = journal()
    const idempotencyKey = uniqueKey('same')
    const first = await j.create({ idempotencyKey, chainId: 31337, wallet, operation: 'transfer', request })
    // Key order of the request does not matter; the wallet's spelling does not either.
    const reordered = { amount: request.amount, to: request.to, chain: request.chain }
    const again = await j.create({
      idempotencyKey,
      chainId: 31337,
      wallet: wallet.toLowerCase(),
      operation: 'transfer',
      request: reordered,
    })
    expect(again).toEqual({ intent: first.intent, created: false })
    const error = await j
      .create({
        idempotencyKey,
        chainId: 31337,
        wallet,
        operation: 'transfer',
        request: { ...request, amount: '2' },
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError)
    expect((error as BaseError).message).toMatch(first.intent.id)
    const rows = await t.store.db
      .selectFrom('intents')
      .select('id')
      .where('idempotency_key', '=', idempotencyKey)
      .execute()
    expect(rows).toHaveLength(1)
  })

  it('20 concurrent creates with one key make one intent', async () => {
    const j = journal()
    const idempotencyKey = uniqueKey('race')
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        j.create({ idempotencyKey, chainId: 31337, wallet, operation: 'transfer', request }),
      ),
    )
    expect(new Set(results.map((r) => r.intent.id)).size).toBe(1)
    expect(results.filter((r) => r.created)).toHaveLength(1)
    const rows = await t.store.db
      .selectFrom('intents')
      .select('id')
      .where('idempotency_key', '=', idempotencyKey)
      .execute()
    expect(rows).toHaveLength(1)
    expect(await j.events(rows[0]!.id)).toHaveLength(1)
  })

  it('rejects a malformed intent and records nothing', async () => {
    const j = journal()
    const before = await t.store.db
      .selectFrom('intents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    for (const bad of [
      { chainId: 0, wallet, operation: 'transfer', request },
      { chainId: 1.5, wallet, operation: 'transfer', request },
      { chainId: 1, wallet: '', operation: 'transfer', request },
      { chainId: 1, wallet, operation: '', request },
      { chainId: 1, wallet, operation: 'transfer', request: { n: Number.NaN } },
      { chainId: 1, wallet, operation: 'transfer', request: { n: 1n } as never },
      { idempotencyKey: '', chainId: 1, wallet, operation: 'transfer', request },
    ]) {
      await expect(j.create(bad)).rejects.toBeInstanceOf(InvalidInputError)
    }
    const after = await t.store.db
      .selectFrom('intents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    expect(after.n).toBe(before.n)
  })

  it('unfinished() lists what a restart must reconcile, oldest first', async () => {
    const j = journal()
    const ids: Partial<Record<IntentStatus, string>> = {}
    for (const status of intentStatuses) ids[status] = await intentAt(j, pathTo[status])
    const unfinished = await j.unfinished()
    const mine = unfinished.filter((i) => Object.values(ids).includes(i.id))
    expect(mine.map((i) => i.status)).toEqual(['created', 'signed', 'broadcast', 'dropped'])
    const times = unfinished.map((i) => i.createdAt.getTime())
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('lists by wallet and status, newest first, and refuses an absurd limit', async () => {
    const j = journal()
    const other = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
    const a = (await j.create({ chainId: 31337, wallet: other, operation: 'transfer', request })).intent
    const b = (await j.create({ chainId: 31337, wallet: other, operation: 'transfer', request })).intent
    await j.transition(b.id, 'created', 'cancelled', {
      error: { code: 'POLICY_DENIED', message: 'over limit' },
    })
    const all = await j.list({ wallet: other.toLowerCase() })
    expect(all.map((i) => i.id)).toEqual([b.id, a.id])
    expect((await j.list({ wallet: other, status: 'cancelled' })).map((i) => i.id)).toEqual([b.id])
    expect((await j.list({ wallet: other, status: ['created', 'signed'] })).map((i) => i.id)).toEqual([a.id])
    expect(await j.list({ wallet: other, status: [] })).toEqual([])
    expect(await j.list({ wallet: other, limit: 1 })).toHaveLength(1)
    await expect(j.list({ limit: 0 })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(j.list({ limit: 5000 })).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('amends what a completed intent keeps without moving it, with a history row; not once it moved on', async () => {
    const id = await intentAt(journal(), ['created', 'completed'])
    const amended = await journal().amend(id, 'completed', {
      tx: { summary: 'paid', details: { delivered: true } },
      detail: { payment: { delivered: true } },
    })
    expect(amended).toMatchObject({
      status: 'completed',
      tx: { summary: 'paid', details: { delivered: true } },
    })
    const events = await journal().events(id)
    expect(events.at(-1)).toMatchObject({
      from: 'completed',
      to: 'completed',
      data: { detail: { payment: { delivered: true } } },
    })
    const created = await intentAt(journal(), ['created'])
    await expect(journal().amend(created, 'completed', { tx: {} })).rejects.toBeInstanceOf(
      IntentConflictError,
    )
    expect((await journal().get(created)).tx).toBeNull()
  })

  it('an unknown intent is NOT_FOUND', async () => {
    await expect(journal().get('int_missing')).rejects.toBeInstanceOf(NotFoundError)
    await expect(
      journal().transition('int_missing', 'created', 'cancelled', dataFor('cancelled')),
    ).rejects.toBeInstanceOf(NotFoundError)
  })

  it('replaced names the intent that took its place', async () => {
    const j = journal()
    const id = await intentAt(j, pathTo.broadcast)
    await expect(
      j.transition(id, 'broadcast', 'replaced', { replacedBy: 'int_missing' }),
    ).rejects.toBeInstanceOf(NotFoundError)
    await expect(j.transition(id, 'broadcast', 'replaced', { replacedBy: id })).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    expect(await j.events(id)).toHaveLength(3)
    const replacement = (await j.create({ chainId: 31337, wallet, operation: 'speed_up', request })).intent
    const replaced = await j.transition(id, 'broadcast', 'replaced', { replacedBy: replacement.id })
    expect(replaced.replacedBy).toBe(replacement.id)
    await expect(j.transition(id, 'replaced', 'mined')).resolves.toMatchObject({ status: 'mined' })
  })
})
