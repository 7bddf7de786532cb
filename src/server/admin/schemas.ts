import { z } from 'zod'
import { parseAuditHead } from '../../audit/auditLog.js'
import { toBaseError } from '../../errors/index.js'
import { AgentGrantMessage } from '../../identity/grant.js'

// The admin API's wire format, route by route: the request schemas are what the app validates (strict: an unknown
// field is refused), the response schemas are what the client checks (loose: a newer gateway may add fields, and
// `--json` prints them). Dates travel as ISO 8601 strings, amounts as decimal strings.

const isoDate = z.iso.datetime({ offset: true })
/** Who acts: a name for the audit log, cut to 64 characters (`admin-api` when absent). */
const by = z.string().transform((s) => s.slice(0, 64))
const approvalStatuses = ['pending', 'approved', 'denied', 'expired'] as const

/** `:id` of `/admin/approvals/:id/approve|deny`: the held intent's id. */
export const ApprovalParams = z.object({ id: z.string().min(1).max(200) }).strict()

/** Query of `GET /admin/approvals`. */
export const ListApprovalsQuery = z
  .object({
    status: z
      .enum(approvalStatuses, { error: 'status must be pending, approved, denied or expired' })
      .optional(),
  })
  .strict()

/** Body of `POST /admin/approvals/:id/approve|deny`. */
export const DecideApprovalBody = z
  .object({
    /** The intent hash the approver saw: the decision applies to that exact intent only. */
    hash: z
      .string()
      .regex(/^(0x)?[0-9a-fA-F]{16,128}$/, 'hash must be the hex intent hash shown with the approval')
      .optional(),
    reason: z
      .string()
      .transform((s) => s.slice(0, 500))
      .optional(),
    by: by.optional(),
  })
  .strict()

/** Body of `POST /admin/kill` and `POST /admin/unkill` (a reason only matters when engaging). */
export const KillBody = z
  .object({
    reason: z
      .string()
      .transform((s) => s.slice(0, 500))
      .optional(),
    by: by.optional(),
  })
  .strict()

/** A chain id as the store keeps it (a positive 32-bit integer). */
const chainId = z
  .number({ error: 'chainId must be the decimal chain id, a number' })
  .int()
  .positive()
  .max(2 ** 31 - 1)

/** Body of `POST /admin/kill/contract` (the kill switch checks the address and the reason's text). */
export const StopContractBody = z
  .object({
    chainId,
    address: z.string().max(200),
    reason: z
      .string()
      .transform((s) => s.slice(0, 500))
      .optional(),
    by: by.optional(),
  })
  .strict()

/** Body of `POST /admin/unkill/contract`. */
export const ReleaseContractBody = z
  .object({ chainId, address: z.string().max(200), by: by.optional() })
  .strict()

/** Query of `GET /admin/kill/contracts`: one chain's, or every chain's. */
export const StoppedContractsQuery = z
  .object({
    chainId: z
      .string()
      .regex(/^[1-9]\d{0,9}$/, 'chainId must be a decimal chain id')
      .transform(Number)
      .pipe(chainId)
      .optional(),
  })
  .strict()

/** Query of `GET /admin/audit/verify`: a head kept elsewhere (`SEQ:HASH` or `HASH`). */
export const VerifyAuditQuery = z
  .object({
    head: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseAuditHead(text)
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: toBaseError(error).shortMessage })
          return z.NEVER
        }
      })
      .optional(),
  })
  .strict()

/** Body of `POST /admin/address-book` (the address book checks the address and the label's text). */
export const AddAddressBody = z
  .object({
    address: z.string().max(200),
    label: z.string().max(200),
    note: z.string().max(2000).optional(),
    by: by.optional(),
  })
  .strict()

/** `:address` of `DELETE /admin/address-book/:address`. */
export const AddressParams = z.object({ address: z.string().min(1).max(200) }).strict()

/** A DID as the admin API takes it (the passport registry checks its method and form). */
const did = z.string().min(1).max(300)
/** An operator's reason for the audit log, cut to 500 characters. */
const reason = z.string().transform((s) => s.slice(0, 500))

/** Body of `POST /admin/kill/agents`: stops one agent (its did:key). */
export const StopAgentBody = z.object({ agent: did, reason: reason.optional(), by: by.optional() }).strict()

/** `:agent` of `DELETE /admin/kill/agents/:agent` and `/admin/passports/:agent…`: the agent's did:key. */
export const AgentParams = z.object({ agent: did }).strict()

/** Body of `DELETE /admin/kill/agents/:agent` (optional: who releases it). */
export const ReleaseAgentBody = z.object({ by: by.optional() }).strict()

/** Body of `POST /admin/passports/developers/challenge`: the developer's did:key or did:web. */
export const DeveloperChallengeBody = z.object({ did }).strict()

/** Body of `POST /admin/passports/developers`: the developer's proof over a live challenge. */
export const RegisterDeveloperBody = z
  .object({
    did,
    /** The compact JWS (`airlock-developer-proof+jwt`) over the challenge, for its audience. */
    proof: z.string().min(1).max(8192),
    label: z.string().min(1).max(100).optional(),
    by: by.optional(),
  })
  .strict()

/** A user's signed grant as the admin API takes it: `{ grant, signature }` (the registry verifies the signature). */
export const SignedGrantBody = z
  .object({
    grant: AgentGrantMessage,
    signature: z
      .string()
      .regex(
        /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/,
        'give the 65-byte (or 64-byte compact) signature as hex',
      ),
  })
  .strict()

/** Body of `POST /admin/passports`: issue the agent's passport over the user's grant. */
export const IssuePassportBody = z
  .object({
    agent: did,
    developer: did,
    codeHash: z.string().min(1).max(100),
    grant: SignedGrantBody,
    validDays: z.number().int().min(1).max(366).optional(),
    by: by.optional(),
  })
  .strict()

/** Body of `POST /admin/passports/:agent/revoke|suspend|reinstate`. */
export const PassportStatusBody = z.object({ reason: reason.optional(), by: by.optional() }).strict()

/** The kill switch (`GET|POST /admin/kill`, `POST /admin/unkill`). */
export const KillState = z
  .object({
    engaged: z.boolean(),
    reason: z.string().nullable(),
    actor: z.string().nullable(),
    updatedAt: isoDate,
  })
  .loose()

/** One contract stopped on one chain: writes that touch it are refused until it is released. */
export const StoppedContract = z
  .object({
    chainId: z.number().int(),
    address: z.string(),
    reason: z.string(),
    actor: z.string(),
    stoppedAt: isoDate,
  })
  .loose()

/** `GET /admin/kill/contracts`, newest first. */
export const StoppedContractList = z.object({ contracts: z.array(StoppedContract) }).loose()

/** `POST /admin/unkill/contract`: what was released, or null when it was not stopped. */
export const ReleasedContract = z.object({ released: StoppedContract.nullable() }).loose()

/** One agent stopped on its own (`POST /admin/kill/agents`): none of its writes is signed until it is released. */
export const StoppedAgent = z
  .object({ agent: z.string(), reason: z.string(), actor: z.string(), stoppedAt: isoDate })
  .loose()

/** `POST /admin/kill/agents`: the agent as stopped (already stopped: the first reason stands). */
export const StoppedAgentAnswer = z.object({ stopped: StoppedAgent }).loose()

/** `DELETE /admin/kill/agents/:agent`: what was released, or null when it was not stopped. */
export const ReleasedAgent = z.object({ released: StoppedAgent.nullable() }).loose()

/** `GET /admin/kill/agents`, newest first. */
export const StoppedAgentList = z.object({ agents: z.array(StoppedAgent) }).loose()

/** `GET /admin/status`. */
export const AdminStatus = z
  .object({
    killSwitch: KillState,
    /** Always sent; absent from gateways older than the per-contract kill switch. */
    stoppedContracts: z.array(StoppedContract).optional(),
    /** Always sent; absent from gateways older than agent passports. */
    stoppedAgents: z.array(StoppedAgent).optional(),
    pendingApprovals: z.number().int().nonnegative(),
    policy: z.object({ hash: z.string(), rules: z.number().int().nonnegative() }).loose().nullable(),
  })
  .loose()

/** A held intent and its human decision, with the gateway's own summary and simulation. */
export const Approval = z
  .object({
    intentId: z.string(),
    intentHash: z.string(),
    status: z.enum(approvalStatuses),
    request: z
      .object({
        summary: z.string(),
        simulation: z.unknown(),
        reasons: z.array(z.string()),
        ruleIds: z.array(z.string()),
        chain: z.string(),
        operation: z.string(),
        agent: z.string().optional(),
        call: z.unknown().optional(),
      })
      .loose(),
    expiresAt: isoDate,
    decidedBy: z.string().nullable(),
    reason: z.string().nullable(),
    decidedAt: isoDate.nullable(),
    createdAt: isoDate,
  })
  .loose()

/** A mined write that moved more than was checked (the kill switch engaged for it). */
export const Breach = z
  .object({
    intentId: z.string(),
    blockNumber: z.string(),
    status: z.enum(['success', 'reverted']),
    outflows: z.record(z.string(), z.string()),
    excess: z.array(
      z
        .object({
          asset: z.string(),
          moved: z.string(),
          checked: z.string(),
          formatted: z.object({ moved: z.string(), checked: z.string() }).optional(),
        })
        .loose(),
    ),
    unchecked: z.array(
      z.object({ token: z.string(), spender: z.string(), amount: z.string().nullable() }).loose(),
    ),
    balancesRead: z.boolean(),
  })
  .loose()

/** `GET /admin/approvals`: the approvals, newest first, and recent breaches. */
export const ApprovalList = z
  .object({
    approvals: z.array(Approval),
    /** Always sent; absent from gateways older than the breach report. */
    breaches: z.array(Breach).optional(),
  })
  .loose()

/** `POST /admin/approvals/:id/approve|deny`. */
export const DecidedApproval = z.object({ approval: Approval }).loose()

/** `GET /admin/audit/verify`: the chain holds up to `head`, or where it breaks. */
export const AuditVerification = z.union([
  z
    .object({
      ok: z.literal(true),
      entries: z.number().int().nonnegative(),
      head: z.string(),
      kept: z.object({ seq: z.number().int(), hash: z.string() }).loose().optional(),
    })
    .loose(),
  z
    .object({
      ok: z.literal(false),
      entries: z.number().int().nonnegative(),
      brokenAt: z.number().int(),
      reason: z.string(),
    })
    .loose(),
])

/** One address-book entry. */
export const AddressBookEntry = z
  .object({
    address: z.string(),
    label: z.string(),
    note: z.string().nullable(),
    addedBy: z.string(),
    createdAt: isoDate,
  })
  .loose()

/** `GET /admin/address-book`. */
export const AddressBookList = z.object({ entries: z.array(AddressBookEntry) }).loose()

/** `DELETE /admin/address-book/:address`. */
export const AddressRemoved = z.object({ removed: z.literal(true) }).loose()

/** `POST /admin/passports/developers/challenge`: what the developer signs, for which audience, until when. */
export const DeveloperChallenge = z
  .object({ did: z.string(), challenge: z.string(), audience: z.string(), expiresAt: isoDate })
  .loose()

/** A registered developer. */
export const Developer = z
  .object({
    did: z.string(),
    method: z.enum(['key', 'web']),
    label: z.string().optional(),
    registeredAt: isoDate,
  })
  .loose()

/** `POST /admin/passports/developers`. */
export const RegisteredDeveloper = z.object({ developer: Developer }).loose()

/** `GET /admin/passports/developers`, oldest first. */
export const DeveloperList = z.object({ developers: z.array(Developer) }).loose()

/** One agent's passport as the gateway keeps it (the credential itself is only in the answer to its issue). */
export const PassportRecord = z
  .object({
    agent: z.string(),
    /** The credential in force (`urn:uuid:…`). */
    id: z.string(),
    /** Its bit in the served status lists. */
    statusIndex: z.number().int().nonnegative(),
    developer: z.string(),
    user: z.string(),
    codeHash: z.string(),
    grant: z
      .object({
        tools: z.array(z.string()),
        chains: z.array(z.string()),
        payees: z.array(z.string()),
        budget: z.object({ currency: z.string(), max: z.string(), windowSeconds: z.number() }).loose(),
        amountRange: z.object({ currency: z.string(), min: z.string(), max: z.string() }).loose(),
        expiry: z.number(),
      })
      .loose(),
    grantHash: z.string(),
    status: z.enum(['active', 'suspended', 'revoked']),
    reason: z.string().optional(),
    validUntil: isoDate,
    issuedAt: isoDate,
  })
  .loose()

/** `POST /admin/passports`: the passport (a `vc+jwt` for the agent to present) and its record. */
export const IssuedPassport = z.object({ passport: z.string(), record: PassportRecord }).loose()

/** `GET /admin/passports`, oldest first. */
export const PassportList = z.object({ passports: z.array(PassportRecord) }).loose()

/** `GET /admin/passports/:agent` and `POST /admin/passports/:agent/revoke|suspend|reinstate`. */
export const PassportAnswer = z.object({ passport: PassportRecord }).loose()

/** Every failure: `{ error: { code, message, hints?, field? } }`, with the code's HTTP status. */
export const AdminError = z
  .object({
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        hints: z.array(z.string()).optional(),
        field: z.string().optional(),
      })
      .loose(),
  })
  .loose()

/** Response types, as they arrive (dates as strings). */
export type KillState = z.infer<typeof KillState>
export type StoppedContract = z.infer<typeof StoppedContract>
export type StoppedContractList = z.infer<typeof StoppedContractList>
export type ReleasedContract = z.infer<typeof ReleasedContract>
export type AdminStatus = z.infer<typeof AdminStatus>
export type Approval = z.infer<typeof Approval>
export type Breach = z.infer<typeof Breach>
export type ApprovalList = z.infer<typeof ApprovalList>
export type DecidedApproval = z.infer<typeof DecidedApproval>
export type AuditVerification = z.infer<typeof AuditVerification>
export type AddressBookEntry = z.infer<typeof AddressBookEntry>
export type AddressBookList = z.infer<typeof AddressBookList>
export type AddressRemoved = z.infer<typeof AddressRemoved>
export type AdminError = z.infer<typeof AdminError>
export type StoppedAgent = z.infer<typeof StoppedAgent>
export type StoppedAgentAnswer = z.infer<typeof StoppedAgentAnswer>
export type ReleasedAgent = z.infer<typeof ReleasedAgent>
export type StoppedAgentList = z.infer<typeof StoppedAgentList>
export type DeveloperChallenge = z.infer<typeof DeveloperChallenge>
export type Developer = z.infer<typeof Developer>
export type RegisteredDeveloper = z.infer<typeof RegisteredDeveloper>
export type DeveloperList = z.infer<typeof DeveloperList>
export type PassportRecord = z.infer<typeof PassportRecord>
export type IssuedPassport = z.infer<typeof IssuedPassport>
export type PassportList = z.infer<typeof PassportList>
export type PassportAnswer = z.infer<typeof PassportAnswer>

/** Request types, as a client sends them. */
export type ListApprovalsQuery = z.input<typeof ListApprovalsQuery>
export type DecideApprovalBody = z.input<typeof DecideApprovalBody>
export type KillBody = z.input<typeof KillBody>
export type StopContractBody = z.input<typeof StopContractBody>
export type ReleaseContractBody = z.input<typeof ReleaseContractBody>
export type StoppedContractsQuery = z.input<typeof StoppedContractsQuery>
export type VerifyAuditQuery = z.input<typeof VerifyAuditQuery>
export type AddAddressBody = z.input<typeof AddAddressBody>
export type StopAgentBody = z.input<typeof StopAgentBody>
export type ReleaseAgentBody = z.input<typeof ReleaseAgentBody>
export type DeveloperChallengeBody = z.input<typeof DeveloperChallengeBody>
export type RegisterDeveloperBody = z.input<typeof RegisterDeveloperBody>
export type IssuePassportBody = z.input<typeof IssuePassportBody>
export type PassportStatusBody = z.input<typeof PassportStatusBody>

/** `GET /admin/payments/report?days=N`: the last N days (default 30, at most 366). */
export const PaymentsReportQuery = z
  .object({
    days: z
      .string()
      .regex(/^[1-9]\d{0,2}$/, 'days must be a whole number of days, 1–366')
      .transform(Number)
      .pipe(z.number().int().min(1).max(366))
      .optional(),
  })
  .strict()
export type PaymentsReportQuery = z.input<typeof PaymentsReportQuery>

const ReportAmount = z.object({
  network: z.string(),
  asset: z.string(),
  raw: z.string(),
  formatted: z.string(),
})
const ReportLine = z.object({ key: z.string(), count: z.number(), amounts: z.array(ReportAmount) })

/** The answer of `GET /admin/payments/report`: revenue (per tool, agent, day, payee) and spending. */
export const PaymentsReportAnswer = z.object({
  report: z.object({
    since: z.string(),
    until: z.string(),
    revenue: z.object({
      total: ReportLine,
      byTool: z.array(ReportLine),
      byAgent: z.array(ReportLine),
      byDay: z.array(ReportLine),
      byPayee: z.array(ReportLine.extend({ paid: z.array(ReportAmount), unpaid: z.array(ReportAmount) })),
    }),
    spending: z.object({
      total: ReportLine,
      byAgent: z.array(ReportLine),
      byHost: z.array(ReportLine),
      byPayee: z.array(ReportLine),
      byDay: z.array(ReportLine),
    }),
  }),
})

/** The answer of `POST /admin/payments/payout`: what each payout did. */
export const PayoutAnswer = z.object({
  payouts: z.array(
    z.object({
      id: z.string(),
      payee: z.string(),
      network: z.string(),
      asset: z.string(),
      amount: z.string(),
      status: z.enum(['pending', 'paid', 'failed']),
      intentId: z.string().optional(),
      error: z.string().optional(),
    }),
  ),
})

/** `GET /admin/orders?status=`: standing orders, newest first. */
export const ListOrdersQuery = z
  .object({ status: z.enum(['active', 'paused', 'cancelled', 'expired']).optional() })
  .strict()
export type ListOrdersQuery = z.input<typeof ListOrdersQuery>

/** `/admin/orders/:id…`: a standing order's id. */
export const OrderParams = z
  .object({ id: z.string().regex(/^ord_[A-Za-z0-9_-]{1,64}$/, 'an order id (ord_…)') })
  .strict()

/** `POST /admin/orders/:id/pause|resume|cancel`: who acts, and why (pause, cancel). */
export const OrderActionBody = KillBody
export type OrderActionBody = z.input<typeof OrderActionBody>

/** A standing order as the admin API shows it (the tools' shape). */
export const OrderAnswer = z
  .object({ orderId: z.string(), status: z.string(), owner: z.string(), chain: z.string() })
  .catchall(z.unknown())

/** The answer of `GET /admin/orders`. */
export const OrderList = z.object({ orders: z.array(OrderAnswer) })

/** The answer of `GET /admin/orders/:id` and of the order actions. */
export const OrderResult = z.object({ order: OrderAnswer })
