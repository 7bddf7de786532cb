import { describe, expect, it } from 'vitest'
import { createAuditLog } from '../audit/auditLog.js'
import { auditTransitions } from '../audit/auditTransitions.js'
import type { ChainContext } from '../chains/chains.js'
import type { Caller } from '../context/caller.js'
import { requestContext } from '../context/requestContext.js'
import { BaseError } from '../errors/index.js'
import { createApprovals } from '../policy/approvals.js'
import type { PolicyDecision } from '../policy/types.js'
import type { Signer } from '../signer/signer.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import type { WriteResultValue } from '../tools/shared/write.js'
import { createIntentJournal, type Intent, type IntentJournal } from '../txs/intentJournal.js'
import { createApprovalRunner } from './approvalRunner.js'
import { createExecutor, type WriteDraftKind } from './executor.js'
import type { Guard, GuardSubject } from './guard.js'
import type { IntentQueries } from './intents.js'
import type { WriteParts } from './writeParts.js'

// The executor carries any draft kind: a kind it has never seen (a "memo" that completes its intent with a note)
// goes through journal → guard → hold → approval → resume → deliver without a change to the executor, and keeps
// the caller who asked all the way through.
const wallet = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const chain = { id: 31337, name: 'devnet', caip2: 'eip155:31337' } as ChainContext
const order: Caller = { kind: 'order', id: 'o1', agent: 'operator:local' }

type Memo = { note: string }

function memoKind(delivered: string[], journal: IntentJournal): WriteDraftKind<Memo> {
  const draft = (note: string) => ({
    chain,
    summary: `Write the memo "${note}".`,
    details: { note },
    check: { operation: 'write_contract' as const, details: { note } },
    bound: { typedData: { note } },
  })
  return {
    name: 'memo',
    recheckOnResume: true,
    carries: (intent) => intent.operation === 'memo',
    identify: ({ note }) => ({ chain, operation: 'memo', record: { tool: 'memo', args: { note } } }),
    guarded: () => true,
    prepare: async ({ note }) => draft(note),
    restore: async (intent) => draft(String((intent.tx?.details as { note?: string } | undefined)?.note)),
    ready() {},
    async deliver(intent, prepared, evidence) {
      delivered.push(String(prepared.details.note))
      return {
        intent: await journal.transition(intent.id, 'created', 'completed', {
          tx: { summary: prepared.summary, details: { note: String(prepared.details.note) } },
          ...(evidence.approvedBy ? { detail: { approvedBy: evidence.approvedBy } } : {}),
        }),
      }
    },
    answer: async (intent) => ({ intentId: intent.id, status: intent.status }) as WriteResultValue,
  }
}

describe.each(testStoreDrivers)('the executor over a draft kind it does not know (%s)', (driver) => {
  const t = useTestStore(driver)

  function setup(effect: (subject: GuardSubject) => PolicyDecision['effect']) {
    const audit = createAuditLog(t.store)
    const journal = createIntentJournal(t.store, { onTransition: auditTransitions(audit) })
    const approvals = createApprovals(t.store, { audit })
    const asked: GuardSubject[] = []
    const guard = {
      parts: {
        approvals,
        approvalTtlSeconds: 600,
        limits: { release: async () => {} },
        settleLimits: async () => {},
      },
      assertLive: async () => {},
      async check(subject: GuardSubject) {
        asked.push(subject)
        const decision: PolicyDecision = {
          effect: effect(subject),
          ruleIds: ['memo-rule'],
          reasons: ['memos are checked'],
          limits: [],
          policyHash: 'test',
        }
        return { decision, facts: {} as never, simulation: undefined }
      },
      reserve: async () => {},
      refused: async () => {},
      denied: async () => new BaseError('POLICY_DENIED', 'Denied: no memos.'),
    } as unknown as Guard
    const parts = {
      journal,
      guard,
      signer: { address: wallet } as unknown as Signer,
    } as unknown as WriteParts
    const intents = {
      describe: async (intent: Intent) =>
        ({ intentId: intent.id, status: intent.status }) as WriteResultValue,
    } as IntentQueries
    const delivered: string[] = []
    const memo = memoKind(delivered, journal)
    const executor = createExecutor(parts, intents, [memo])
    const runner = createApprovalRunner(parts, executor)
    return { journal, approvals, audit, asked, delivered, executor, runner, memo }
  }

  it('an allowed draft is recorded as its caller, checked, and delivered by its kind', async () => {
    const s = setup(() => 'allow')
    const ctx = requestContext({ transport: 'internal', origin: 'order', caller: order })
    const out = await s.executor.execute(s.memo, { note: 'hello' }, {}, ctx)
    expect(out.status).toBe('completed')
    expect(s.delivered).toEqual(['hello'])
    // The policy sees an order as the caller who created it (issue 15: an order acts for its creator), and the guard
    // gets the order itself as the caller.
    expect(s.asked[0]).toMatchObject({
      operation: 'write_contract',
      agent: 'local',
      wallet,
      chain,
      caller: order,
    })
    const intent = await s.journal.get(out.intentId)
    expect(intent).toMatchObject({ operation: 'memo', agent: 'order:o1', origin: 'order', caller: order })
  })

  it('a denied draft is cancelled, never delivered', async () => {
    const s = setup(() => 'deny')
    const error = await s.executor
      .execute(s.memo, { note: 'no' }, {}, requestContext({ transport: 'memory' }))
      .catch((e: unknown) => e as BaseError)
    expect(error).toMatchObject({ code: 'POLICY_DENIED' })
    expect(s.delivered).toEqual([])
  })

  it('a held draft, once approved, is checked again as the caller who asked and then delivered', async () => {
    const s = setup(() => 'require_approval')
    const ctx = requestContext({ transport: 'internal', origin: 'order', caller: order })
    const held = await s.executor.execute(s.memo, { note: 'later' }, {}, ctx)
    expect(held.status).toBe('held')
    expect(s.delivered).toEqual([])
    await s.approvals.decide(held.intentId, 'approved', 'ops')
    const done = await s.runner.maintain()
    expect(done.resumed).toBe(1)
    expect(s.asked.map((a) => [a.agent, a.caller])).toEqual([
      ['local', order],
      ['local', order],
    ])
    expect((await s.journal.get(held.intentId)).status).toBe('completed')
    const entries = (await s.audit.read({ limit: 1000 })).filter((e) => e.intentId === held.intentId)
    expect(entries.map((e) => [e.kind, e.actor])).toEqual([
      ['approval.requested', 'order:o1'],
      ['intent.held', 'order:o1'],
      ['approval.approved', 'ops'],
      ['intent.created', 'order:o1'],
      ['intent.completed', 'order:o1'],
    ])
  })
})
