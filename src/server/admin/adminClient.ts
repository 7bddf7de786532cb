import type { z } from 'zod'
import { BaseError, type ErrorCode, errorCodes, InvalidConfigError } from '../../errors/index.js'
import {
  type AddAddressBody,
  AddressBookEntry,
  AddressBookList,
  AddressRemoved,
  AdminError,
  AdminStatus,
  ApprovalList,
  AuditVerification,
  type DecideApprovalBody,
  DecidedApproval,
  DeveloperChallenge,
  type DeveloperChallengeBody,
  DeveloperList,
  IssuedPassport,
  type IssuePassportBody,
  type KillBody,
  KillState,
  type ListApprovalsQuery,
  type ListOrdersQuery,
  type OrderActionBody,
  OrderList,
  OrderResult,
  PassportAnswer,
  PassportList,
  type PassportStatusBody,
  PaymentsReportAnswer,
  PayoutAnswer,
  type RegisterDeveloperBody,
  RegisteredDeveloper,
  type ReleaseAgentBody,
  type ReleaseContractBody,
  ReleasedAgent,
  ReleasedContract,
  type StopAgentBody,
  type StopContractBody,
  StoppedAgentAnswer,
  StoppedAgentList,
  StoppedContract,
  StoppedContractList,
  type StoppedContractsQuery,
  type VerifyAuditQuery,
} from './schemas.js'

/** What the client sends requests through: `fetch`, or a Hono app's `app.request` (same shape). */
export type AdminFetch = (url: string, init: RequestInit) => Response | Promise<Response>

/** Options of {@link createAdminClient}. */
export type CreateAdminClientOptions = {
  /** The admin API's base URL, `…/admin` (as `startAdminServer` and `admin.json` give it). */
  url: string
  /** Its bearer token. */
  token: string
  /** `fetch` by default. */
  fetch?: AdminFetch | undefined
}

/** The admin API, one typed function per route. */
export type AdminClient = {
  /** `GET /admin/status` */
  status(): Promise<z.infer<typeof AdminStatus>>
  /** `GET /admin/approvals` */
  listApprovals(query?: ListApprovalsQuery): Promise<z.infer<typeof ApprovalList>>
  /** `POST /admin/approvals/:id/approve` */
  approve(intentId: string, body?: DecideApprovalBody): Promise<z.infer<typeof DecidedApproval>>
  /** `POST /admin/approvals/:id/deny` */
  deny(intentId: string, body?: DecideApprovalBody): Promise<z.infer<typeof DecidedApproval>>
  /** `GET /admin/payments/report` */
  paymentsReport(query?: { days?: number | undefined }): Promise<z.infer<typeof PaymentsReportAnswer>>
  /** `POST /admin/payments/payout` */
  payout(): Promise<z.infer<typeof PayoutAnswer>>
  /** `GET /admin/orders` */
  listOrders(query?: ListOrdersQuery): Promise<z.infer<typeof OrderList>>
  /** `GET /admin/orders/:id` */
  getOrder(id: string): Promise<z.infer<typeof OrderResult>>
  /** `POST /admin/orders/:id/pause|resume|cancel` */
  orderAction(
    id: string,
    action: 'pause' | 'resume' | 'cancel',
    body?: OrderActionBody,
  ): Promise<z.infer<typeof OrderResult>>
  /** `GET /admin/kill` */
  killState(): Promise<z.infer<typeof KillState>>
  /** `POST /admin/kill` */
  kill(body?: KillBody): Promise<z.infer<typeof KillState>>
  /** `POST /admin/unkill` */
  unkill(body?: KillBody): Promise<z.infer<typeof KillState>>
  /** `GET /admin/kill/contracts` */
  stoppedContracts(query?: StoppedContractsQuery): Promise<z.infer<typeof StoppedContractList>>
  /** `POST /admin/kill/contract` */
  stopContract(body: StopContractBody): Promise<z.infer<typeof StoppedContract>>
  /** `POST /admin/unkill/contract` */
  releaseContract(body: ReleaseContractBody): Promise<z.infer<typeof ReleasedContract>>
  /** `GET /admin/audit/verify` */
  verifyAudit(query?: VerifyAuditQuery): Promise<z.infer<typeof AuditVerification>>
  /** `GET /admin/audit/export`: each entry's JSON line (no newline) to `write`, in order; returns the count. */
  exportAudit(write: (line: string) => void | Promise<void>): Promise<number>
  /** `GET /admin/address-book` */
  listAddressBook(): Promise<z.infer<typeof AddressBookList>>
  /** `POST /admin/address-book` */
  addAddress(body: AddAddressBody): Promise<z.infer<typeof AddressBookEntry>>
  /** `DELETE /admin/address-book/:address` */
  removeAddress(address: string): Promise<z.infer<typeof AddressRemoved>>
  /** `GET /admin/kill/agents` */
  stoppedAgents(): Promise<z.infer<typeof StoppedAgentList>>
  /** `POST /admin/kill/agents` */
  stopAgent(body: StopAgentBody): Promise<z.infer<typeof StoppedAgentAnswer>>
  /** `DELETE /admin/kill/agents/:agent` */
  releaseAgent(agent: string, body?: ReleaseAgentBody): Promise<z.infer<typeof ReleasedAgent>>
  /** `POST /admin/passports/developers/challenge` */
  developerChallenge(body: DeveloperChallengeBody): Promise<z.infer<typeof DeveloperChallenge>>
  /** `POST /admin/passports/developers` */
  registerDeveloper(body: RegisterDeveloperBody): Promise<z.infer<typeof RegisteredDeveloper>>
  /** `GET /admin/passports/developers` */
  listDevelopers(): Promise<z.infer<typeof DeveloperList>>
  /** `POST /admin/passports` */
  issuePassport(body: IssuePassportBody): Promise<z.infer<typeof IssuedPassport>>
  /** `GET /admin/passports` */
  listPassports(): Promise<z.infer<typeof PassportList>>
  /** `GET /admin/passports/:agent` */
  getPassport(agent: string): Promise<z.infer<typeof PassportAnswer>>
  /** `POST /admin/passports/:agent/revoke` (final) */
  revokePassport(agent: string, body?: PassportStatusBody): Promise<z.infer<typeof PassportAnswer>>
  /** `POST /admin/passports/:agent/suspend` */
  suspendPassport(agent: string, body?: PassportStatusBody): Promise<z.infer<typeof PassportAnswer>>
  /** `POST /admin/passports/:agent/reinstate` */
  reinstatePassport(agent: string, body?: PassportStatusBody): Promise<z.infer<typeof PassportAnswer>>
}

/**
 * The admin API refused a request: the gateway's error (code, message, hints, field) as it sent it, or a
 * malformed answer (`INTERNAL`).
 *
 * @example if (error instanceof AdminApiError && error.code === 'NOT_FOUND') …
 */
export class AdminApiError extends BaseError {
  override name = 'AdminApiError'
  /** The HTTP status the admin API answered with. */
  readonly httpStatus: number

  constructor(
    code: ErrorCode,
    message: string,
    httpStatus: number,
    hints: readonly string[],
    field?: string,
  ) {
    super(code, message, { metaMessages: hints, ...(field ? { field } : {}) })
    this.httpStatus = httpStatus
  }
}

/**
 * A typed client of the admin API over a `fetch`-like function: over HTTP to a running gateway, or in process to
 * an app built over a store (`fetch: app.request`). Answers are checked against the route's response schema and
 * returned as sent (fields a newer gateway adds are kept).
 *
 * @example
 * const admin = createAdminClient({ url: announced.url, token: announced.token })
 * const { approvals } = await admin.listApprovals({ status: 'pending' })
 * @throws {InvalidConfigError} the URL is not an http(s) URL, or the token is empty
 */
export function createAdminClient(options: CreateAdminClientOptions): AdminClient {
  let base: URL
  try {
    base = new URL(options.url)
  } catch {
    throw new InvalidConfigError('The admin API URL must be an http(s) URL.', { field: 'url' })
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new InvalidConfigError('The admin API URL must be an http(s) URL.', { field: 'url' })
  if (typeof options.token !== 'string' || options.token.length === 0)
    throw new InvalidConfigError('The admin API needs its token.', { field: 'token' })
  const root = base.href.replace(/\/+$/, '')
  const send = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init))
  const headers = { authorization: `Bearer ${options.token}` }

  async function request(method: string, path: string, body?: object): Promise<Response> {
    const response = await send(`${root}${path}`, {
      method,
      headers: body ? { ...headers, 'content-type': 'application/json' } : headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    if (!response.ok) throw await refusal(response)
    return response
  }

  async function call<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body?: object,
  ): Promise<z.infer<S>> {
    const response = await request(method, path, body)
    const value = (await response.json().catch(() => undefined)) as unknown
    const checked = schema.safeParse(value)
    if (!checked.success)
      throw new AdminApiError(
        'INTERNAL',
        `The admin API's answer to ${method} ${path.split('?')[0]} is not what the client expects.`,
        response.status,
        [checked.error.issues[0]?.message ?? 'Check that the CLI and the gateway are the same version.'],
      )
    // As sent: the schema is loose, but its output would put the keys in its own order.
    return value as z.infer<S>
  }

  const query = (params: Record<string, string | undefined>) => {
    const search = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v)
    const text = search.toString()
    return text ? `?${text}` : ''
  }
  const segment = (value: string) => encodeURIComponent(value)

  return {
    status: () => call(AdminStatus, 'GET', '/status'),
    listApprovals: (q = {}) => call(ApprovalList, 'GET', `/approvals${query({ status: q.status })}`),
    approve: (id, body = {}) => call(DecidedApproval, 'POST', `/approvals/${segment(id)}/approve`, body),
    deny: (id, body = {}) => call(DecidedApproval, 'POST', `/approvals/${segment(id)}/deny`, body),
    killState: () => call(KillState, 'GET', '/kill'),
    paymentsReport: (q = {}) =>
      call(PaymentsReportAnswer, 'GET', `/payments/report${query({ days: q.days?.toString() })}`),
    payout: () => call(PayoutAnswer, 'POST', '/payments/payout', {}),
    listOrders: (q = {}) => call(OrderList, 'GET', `/orders${query({ status: q.status })}`),
    getOrder: (id) => call(OrderResult, 'GET', `/orders/${segment(id)}`),
    orderAction: (id, action, body = {}) =>
      call(OrderResult, 'POST', `/orders/${segment(id)}/${action}`, body),
    kill: (body = {}) => call(KillState, 'POST', '/kill', body),
    unkill: (body = {}) => call(KillState, 'POST', '/unkill', body),
    stoppedContracts: (q = {}) =>
      call(
        StoppedContractList,
        'GET',
        `/kill/contracts${query({ chainId: q.chainId === undefined ? undefined : String(q.chainId) })}`,
      ),
    stopContract: (body) => call(StoppedContract, 'POST', '/kill/contract', body),
    releaseContract: (body) => call(ReleasedContract, 'POST', '/unkill/contract', body),
    verifyAudit: (q = {}) => call(AuditVerification, 'GET', `/audit/verify${query({ head: q.head })}`),
    async exportAudit(write) {
      const response = await request('GET', '/audit/export')
      let count = 0
      let rest = ''
      const decoder = new TextDecoder()
      const emit = async (line: string) => {
        if (line === '') return
        count++
        await write(line)
      }
      if (response.body)
        for await (const chunk of response.body) {
          const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n')
          rest = lines.pop() ?? ''
          for (const line of lines) await emit(line)
        }
      await emit(rest + decoder.decode())
      return count
    },
    listAddressBook: () => call(AddressBookList, 'GET', '/address-book'),
    addAddress: (body) => call(AddressBookEntry, 'POST', '/address-book', body),
    removeAddress: (address) => call(AddressRemoved, 'DELETE', `/address-book/${segment(address)}`),
    stoppedAgents: () => call(StoppedAgentList, 'GET', '/kill/agents'),
    stopAgent: (body) => call(StoppedAgentAnswer, 'POST', '/kill/agents', body),
    releaseAgent: (agent, body = {}) => call(ReleasedAgent, 'DELETE', `/kill/agents/${segment(agent)}`, body),
    developerChallenge: (body) => call(DeveloperChallenge, 'POST', '/passports/developers/challenge', body),
    registerDeveloper: (body) => call(RegisteredDeveloper, 'POST', '/passports/developers', body),
    listDevelopers: () => call(DeveloperList, 'GET', '/passports/developers'),
    issuePassport: (body) => call(IssuedPassport, 'POST', '/passports', body),
    listPassports: () => call(PassportList, 'GET', '/passports'),
    getPassport: (agent) => call(PassportAnswer, 'GET', `/passports/${segment(agent)}`),
    revokePassport: (agent, body = {}) =>
      call(PassportAnswer, 'POST', `/passports/${segment(agent)}/revoke`, body),
    suspendPassport: (agent, body = {}) =>
      call(PassportAnswer, 'POST', `/passports/${segment(agent)}/suspend`, body),
    reinstatePassport: (agent, body = {}) =>
      call(PassportAnswer, 'POST', `/passports/${segment(agent)}/reinstate`, body),
  }
}

/** The admin API's error body as an error; an answer without one names the status. */
async function refusal(response: Response): Promise<AdminApiError> {
  const parsed = AdminError.safeParse(await response.json().catch(() => undefined))
  if (!parsed.success)
    return new AdminApiError('INTERNAL', `The admin API answered ${response.status}.`, response.status, [])
  const { code, message, hints = [], field } = parsed.data.error
  const known = Object.hasOwn(errorCodes, code) ? (code as ErrorCode) : 'INTERNAL'
  return new AdminApiError(known, message, response.status, hints, field)
}
