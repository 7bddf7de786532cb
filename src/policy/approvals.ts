import { createHash } from 'node:crypto'
import { type Selectable, sql, type Transaction } from 'kysely'
import { isHex } from 'viem'
import { type AuditLog, canonicalJson } from '../audit/auditLog.js'
import { BaseError, type BaseErrorParameters, InvalidInputError, NotFoundError } from '../errors/index.js'
import type { ApprovalsTable, Database } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'

/** What the approver is shown: the gateway's own summary and simulation, and the rules and reasons that held it. */
export type ApprovalRequest = {
  summary: string
  simulation: unknown
  reasons: string[]
  ruleIds: string[]
  chain: string
  operation: string
  /** Who asked (`operator:local`, `agent:did:key:z…`): the approver sees which agent wants this. */
  agent?: string | undefined
  /**
   * The call: to, value and data. Data longer than {@link maxKeptCallDataBytes} is kept as `dataBytes`,
   * `dataHash` (the SHA-256 of the whole data, hex; the intent hash binds the whole data too) and `dataPrefix` (its first bytes) instead.
   */
  call?: unknown
}

/** The statuses an approval moves through: `pending` → `approved` | `denied` | `expired`, each final. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired'

/** A held intent waiting for (or past) a human decision, bound to the intent's hash. */
export type Approval = {
  intentId: string
  intentHash: string
  status: ApprovalStatus
  request: ApprovalRequest
  expiresAt: Date
  decidedBy: string | null
  reason: string | null
  decidedAt: Date | null
  createdAt: Date
}

/** Filters of {@link Approvals.list}. */
export type ListApprovalsParameters = {
  status?: ApprovalStatus | undefined
  /** 1–1000, default 100. */
  limit?: number | undefined
}

/** Options of {@link Approvals.decide}. */
export type DecideApprovalOptions = {
  /** Why (shown in the audit log and to the agent on a denial); up to 500 characters. */
  reason?: string | undefined
  /** The intent hash the approver saw: the decision only applies to that exact intent. */
  expectHash?: string | undefined
}

/** Human approvals of held intents (DESIGN §1), decided inside the database so two deciders never both win. */
export type Approvals = {
  /**
   * Holds an intent for a human, for `ttlSeconds` (database clock). Holding the same intent again with the same
   * hash while pending returns the pending approval.
   * @throws {NotFoundError} no such intent
   * @throws {ApprovalConflictError} the intent already has a decided (or expired) approval
   * @throws {ApprovalHashMismatchError} the intent is already held under another hash
   * @throws {InvalidInputError} bad hash, ttl or request
   */
  hold(intentId: string, intentHash: string, request: ApprovalRequest, ttlSeconds: number): Promise<Approval>
  /**
   * One approval; a pending one past its deadline is marked expired first.
   * @throws {NotFoundError} no approval for this intent
   */
  get(intentId: string): Promise<Approval>
  /** Approvals, newest first; pending ones past their deadline are marked expired first. */
  list(filter?: ListApprovalsParameters): Promise<Approval[]>
  /**
   * A human's decision. Only a pending, unexpired approval can be decided, once: of concurrent deciders (two
   * replicas, the CLI and the admin API) exactly one wins.
   * @throws {NotFoundError} no approval for this intent
   * @throws {ApprovalConflictError} already decided, or expired (then it is marked so)
   * @throws {ApprovalHashMismatchError} `expectHash` differs from the intent's hash
   */
  decide(
    intentId: string,
    decision: 'approved' | 'denied',
    by: string,
    options?: DecideApprovalOptions,
  ): Promise<Approval>
  /** Approved approvals whose intent is still `held`: the gateway continues these. Oldest decision first. */
  approvedToResume(): Promise<Approval[]>
  /**
   * Marks pending approvals past their deadline as expired, then returns every expired approval whose intent is
   * still `held` (the gateway cancels those intents). Returned until the intent leaves `held`, so an approval
   * expired by `get`/`list`, or a crash between this call and the cancel, never strands an intent.
   */
  expireDue(): Promise<Approval[]>
  /** Denied approvals whose intent is still `held`: the gateway cancels these. Oldest decision first. */
  deniedToCancel(): Promise<Approval[]>
}

/**
 * An approval cannot make this move: it is already decided, or it expired. Nothing was changed (but the expiry).
 *
 * @example
 * if (e instanceof ApprovalConflictError && e.approvalStatus === 'expired') await journal.transition(id, 'held', 'cancelled', …)
 */
export class ApprovalConflictError extends BaseError {
  override name = 'ApprovalConflictError'
  /** The approval's status when the move was refused. */
  readonly approvalStatus: ApprovalStatus

  constructor({
    approval,
    ...rest
  }: Pick<BaseErrorParameters, 'cause'> & {
    approval: Pick<Approval, 'intentId' | 'status' | 'decidedBy' | 'expiresAt'>
  }) {
    const { intentId, status } = approval
    super(
      'CONFLICT',
      status === 'expired'
        ? `The approval of intent ${intentId} expired at ${approval.expiresAt.toISOString()}; it can no longer be decided.`
        : `The approval of intent ${intentId} is already "${status}"${approval.decidedBy ? ` (by ${approval.decidedBy})` : ''}; it cannot be decided again.`,
      {
        ...rest,
        metaMessages:
          status === 'expired'
            ? ['The intent is not sent. The agent can make the request again to get a new approval.']
            : ['Nothing was changed. Read the approval to see the decision.'],
      },
    )
    this.approvalStatus = status
  }
}

/**
 * The approver decided on a different intent than the one held: the hashes differ. Nothing was changed.
 *
 * @example await approvals.decide(id, 'approved', 'alice', { expectHash: shownHash }) // throws when it differs
 */
export class ApprovalHashMismatchError extends BaseError {
  override name = 'ApprovalHashMismatchError'

  constructor({ intentId, ...rest }: Pick<BaseErrorParameters, 'cause'> & { intentId: string }) {
    super(
      'PRECONDITION_FAILED',
      `The approval of intent ${intentId} is bound to a different intent hash than the one given.`,
      {
        ...rest,
        field: 'expectHash',
        metaMessages: [
          'Nothing was decided. Read the approval again (its summary and simulation) and decide on what it shows.',
        ],
      },
    )
  }
}

const maxTtlSeconds = 30 * 24 * 3600
/** Call data up to this size is kept whole in an approval request; above it, as a digest, its size and a prefix. */
export const maxKeptCallDataBytes = 2048
const keptPrefixBytes = 256
const decisions = new Set(['approved', 'denied'])
const statuses = new Set<ApprovalStatus>(['pending', 'approved', 'denied', 'expired'])

type Row = Selectable<ApprovalsTable>

/**
 * Approvals over a store. Decisions are conditional updates (`status = 'pending' and expires_at > now()`), so the
 * database picks the one winner; every change is audited in its own transaction when `audit` is given
 * (`approval.requested`, `approval.approved`, `approval.denied`, `approval.expired`).
 *
 * @example
 * const approvals = createApprovals(store, { audit })
 * await approvals.hold(intent.id, hash, { summary: 'Send 5 USDC to 0x…', simulation, reasons, ruleIds, chain: 'base', operation: 'transfer' }, 900)
 * await approvals.decide(intent.id, 'approved', 'operator', { expectHash: hash })
 */
export function createApprovals(store: Store, options: { audit?: AuditLog | undefined } = {}): Approvals {
  const { db } = store
  const { audit } = options

  /** Expires due pending approvals (all, or one), audited; rows another transaction holds are left to it. */
  async function expire(trx: Transaction<Database>, intentId?: string): Promise<Row[]> {
    const due = trx
      .selectFrom('approvals')
      .select('intent_id')
      .where('status', '=', 'pending')
      .where('expires_at', '<=', sql<Date>`now()`)
      .$if(intentId !== undefined, (q) => q.where('intent_id', '=', intentId as string))
      .forUpdate()
      .skipLocked()
    const rows = await trx
      .updateTable('approvals')
      .set({ status: 'expired', decided_at: sql<Date>`now()` })
      .where('intent_id', 'in', due)
      .where('status', '=', 'pending')
      .returningAll()
      .execute()
    rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime())
    if (audit)
      for (const row of rows)
        await audit.appendWithin(trx, {
          kind: 'approval.expired',
          intentId: row.intent_id,
          data: { intentHash: row.intent_hash, expiresAt: row.expires_at.toISOString() },
        })
    return rows
  }

  /** Decided approvals of `status` whose intent is still `held`: work the gateway has not done yet. */
  async function stillHeld(status: ApprovalStatus): Promise<Approval[]> {
    const rows = await db
      .selectFrom('approvals')
      .innerJoin('intents', 'intents.id', 'approvals.intent_id')
      .selectAll('approvals')
      .where('approvals.status', '=', status)
      .where('intents.status', '=', 'held')
      .orderBy('approvals.decided_at', 'asc')
      .orderBy('approvals.intent_id', 'asc')
      .execute()
    return rows.map(toApproval)
  }

  return {
    async hold(intentId, intentHash, request, ttlSeconds) {
      checkId(intentId)
      if (typeof intentHash !== 'string' || !/^(0x)?[0-9a-fA-F]{16,128}$/.test(intentHash))
        throw new InvalidInputError('intentHash must be a hex digest.', { field: 'intentHash' })
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds)
        throw new InvalidInputError(`ttlSeconds must be an integer from 1 to ${maxTtlSeconds} (30 days).`, {
          field: 'ttlSeconds',
        })
      if (request === null || typeof request !== 'object' || typeof request.summary !== 'string')
        throw new InvalidInputError('The approval request needs at least a summary.', { field: 'request' })
      const requestJson = canonicalJson(compactRequest(request))
      let result: { row: Row } | { conflict: Row }
      try {
        result = await db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto('approvals')
            .values({
              intent_id: intentId,
              intent_hash: intentHash,
              status: 'pending',
              request: requestJson,
              expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})`,
            })
            .onConflict((oc) => oc.column('intent_id').doNothing())
            .returningAll()
            .executeTakeFirst()
          if (!inserted) {
            const existing = await trx
              .selectFrom('approvals')
              .selectAll()
              .where('intent_id', '=', intentId)
              .executeTakeFirstOrThrow()
            const [expired] = await expire(trx, intentId)
            const current = expired ?? existing
            return current.status === 'pending' && current.intent_hash === intentHash
              ? { row: current }
              : { conflict: current }
          }
          if (audit)
            await audit.appendWithin(trx, {
              kind: 'approval.requested',
              intentId,
              data: {
                intentHash,
                expiresAt: inserted.expires_at.toISOString(),
                request: JSON.parse(requestJson),
              },
            })
          return { row: inserted }
        })
      } catch (error) {
        if ((error as { code?: string }).code === '23503') throw intentNotFound(intentId)
        throw error
      }
      if ('conflict' in result) {
        const approval = toApproval(result.conflict)
        if (approval.status === 'pending') throw new ApprovalHashMismatchError({ intentId })
        throw new ApprovalConflictError({ approval })
      }
      return toApproval(result.row)
    },

    async get(intentId) {
      checkId(intentId)
      const read = () =>
        db
          .selectFrom('approvals')
          .selectAll()
          .select(sql<boolean>`status = 'pending' and expires_at <= now()`.as('due'))
          .where('intent_id', '=', intentId)
          .executeTakeFirst()
      const row = await read()
      if (!row) throw approvalNotFound(intentId)
      if (!row.due) return toApproval(row)
      const [expired] = await db.transaction().execute((trx) => expire(trx, intentId))
      // Not expired here: another transaction held it (deciding or expiring it); read what it left.
      const current = expired ?? (await read()) ?? row
      return toApproval(current.status === 'pending' ? { ...current, status: 'expired' } : current)
    },

    async list(filter = {}) {
      const limit = filter.limit ?? 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InvalidInputError('limit must be an integer from 1 to 1000.', { field: 'limit' })
      if (filter.status !== undefined && !statuses.has(filter.status))
        throw new InvalidInputError(`"${String(filter.status).slice(0, 20)}" is not an approval status.`, {
          field: 'status',
        })
      await db.transaction().execute((trx) => expire(trx))
      const rows = await db
        .selectFrom('approvals')
        .selectAll()
        .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status as ApprovalStatus))
        .orderBy('created_at', 'desc')
        .orderBy('intent_id', 'desc')
        .limit(limit)
        .execute()
      return rows.map(toApproval)
    },

    async decide(intentId, decision, by, options = {}) {
      checkId(intentId)
      if (!decisions.has(decision))
        throw new InvalidInputError('The decision must be "approved" or "denied".', { field: 'decision' })
      const decidedBy = line(by, 'by', 200)
      if (!decidedBy) throw new InvalidInputError('Say who decides (by).', { field: 'by' })
      const reason = options.reason === undefined ? null : line(options.reason, 'reason', 500) || null
      const { expectHash } = options
      const result = await db.transaction().execute(async (trx) => {
        const decided = await trx
          .updateTable('approvals')
          .set({ status: decision, decided_by: decidedBy, reason, decided_at: sql<Date>`now()` })
          .where('intent_id', '=', intentId)
          .where('status', '=', 'pending')
          .where('expires_at', '>', sql<Date>`now()`)
          .$if(expectHash !== undefined, (q) => q.where('intent_hash', '=', expectHash as string))
          .returningAll()
          .executeTakeFirst()
        if (decided) {
          if (audit)
            await audit.appendWithin(trx, {
              kind: decision === 'approved' ? 'approval.approved' : 'approval.denied',
              actor: decidedBy,
              intentId,
              data: { intentHash: decided.intent_hash, reason },
            })
          return { decided }
        }
        // Lost, or never could win: say why (a concurrent winner has committed by now: the update waited for it).
        const row = await trx
          .selectFrom('approvals')
          .selectAll()
          .select(sql<boolean>`expires_at <= now()`.as('due'))
          .where('intent_id', '=', intentId)
          .executeTakeFirst()
        if (!row) return { missing: true as const }
        if (row.status === 'pending' && row.due) {
          const [expired] = await expire(trx, intentId)
          return { refused: expired ?? { ...row, status: 'expired' } }
        }
        if (row.status === 'pending') return { mismatch: true as const }
        return { refused: row }
      })
      if ('decided' in result) return toApproval(result.decided)
      if ('missing' in result) throw approvalNotFound(intentId)
      if ('mismatch' in result) throw new ApprovalHashMismatchError({ intentId })
      throw new ApprovalConflictError({ approval: toApproval(result.refused) })
    },

    approvedToResume() {
      return stillHeld('approved')
    },

    async expireDue() {
      await db.transaction().execute((trx) => expire(trx))
      return stillHeld('expired')
    },

    deniedToCancel() {
      return stillHeld('denied')
    },
  }
}

/**
 * The request as stored and audited: large call data as `{ dataBytes, dataHash, dataPrefix }` (SHA-256: native,
 * where keccak-256 in JavaScript would take tens of milliseconds for 128 KiB), so that an
 * approval (and its audit entry) costs the same for 100 KiB of call data as for 2 KiB.
 */
function compactRequest(request: ApprovalRequest): ApprovalRequest {
  const call = request.call as { data?: unknown } | null | undefined
  if (!call || typeof call !== 'object' || typeof call.data !== 'string') return request
  const data = call.data
  if (!isHex(data) || data.length <= 2 + 2 * maxKeptCallDataBytes) return request
  const { data: _, ...rest } = call
  return {
    ...request,
    call: {
      ...rest,
      dataBytes: (data.length - 2) / 2,
      dataHash: `0x${createHash('sha256')
        .update(Buffer.from(data.slice(2), 'hex'))
        .digest('hex')}`,
      dataPrefix: `${data.slice(0, 2 + 2 * keptPrefixBytes)}…`,
    },
  }
}

function checkId(intentId: string): void {
  if (typeof intentId !== 'string' || intentId.length === 0 || intentId.length > 200)
    throw new InvalidInputError('intentId must be a non-empty id.', { field: 'intentId' })
}

/** Operator text on one line: hidden characters removed, capped; an over-long value is refused, not cut. */
function line(value: string, field: string, maxLength: number): string {
  if (typeof value !== 'string') throw new InvalidInputError(`${field} must be text.`, { field })
  const { text, truncated } = sanitizeText(value, { maxLength })
  if (truncated) throw new InvalidInputError(`${field} is longer than ${maxLength} characters.`, { field })
  return text
}

function toApproval(row: Row): Approval {
  return {
    intentId: row.intent_id,
    intentHash: row.intent_hash,
    status: row.status as ApprovalStatus,
    request: row.request as unknown as ApprovalRequest,
    expiresAt: row.expires_at,
    decidedBy: row.decided_by,
    reason: row.reason,
    decidedAt: row.decided_at,
    createdAt: row.created_at,
  }
}

function approvalNotFound(intentId: string): NotFoundError {
  return new NotFoundError(`No approval for intent ${intentId.slice(0, 80)}.`, {
    metaMessages: ['Check the intent id; list the approvals to see the pending ones.'],
  })
}

function intentNotFound(intentId: string): NotFoundError {
  return new NotFoundError(`No intent ${intentId.slice(0, 80)} to hold for approval.`, {
    field: 'intentId',
    metaMessages: ['Record the intent in the journal first; an approval is bound to an intent.'],
  })
}
