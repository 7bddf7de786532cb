import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AuditLog } from '../../audit/auditLog.js'
import { stringifyJson } from '../../context/json.js'
import { BaseError, InvalidConfigError, NotFoundError, toBaseError } from '../../errors/index.js'
import type { PassportRegistry } from '../../identity/passportRegistry.js'
import type { AddressBook } from '../../policy/addressBook.js'
import type { Approvals } from '../../policy/approvals.js'
import type { KillSwitch } from '../../policy/killSwitch.js'
import type { PolicySource } from '../../policy/loadPolicy.js'
import {
  AddAddressBody,
  AddressParams,
  AgentParams,
  ApprovalParams,
  DecideApprovalBody,
  DeveloperChallengeBody,
  IssuePassportBody,
  KillBody,
  ListApprovalsQuery,
  ListOrdersQuery,
  OrderActionBody,
  OrderParams,
  PassportStatusBody,
  PaymentsReportQuery,
  RegisterDeveloperBody,
  ReleaseAgentBody,
  ReleaseContractBody,
  StopAgentBody,
  StopContractBody,
  StoppedContractsQuery,
  VerifyAuditQuery,
} from './schemas.js'
import { validate } from './validate.js'

/**
 * The levers the admin API pulls: a gateway's `Operator`, or the same modules opened over a store by the CLI
 * when no gateway runs (then without a policy, and `maintain` does nothing: the next gateway carries decisions out).
 */
export type AdminOperator = {
  audit: Pick<AuditLog, 'verify' | 'exportJsonl'>
  killSwitch: Pick<
    KillSwitch,
    | 'state'
    | 'engage'
    | 'release'
    | 'stopContract'
    | 'releaseContract'
    | 'stoppedContracts'
    | 'stopAgent'
    | 'releaseAgent'
    | 'stoppedAgents'
  >
  approvals: Pick<Approvals, 'list' | 'decide'>
  addressBook: Pick<AddressBook, 'list' | 'add' | 'remove'>
  /** Agent passports (DESIGN §7): developers, passports and their live status. */
  passports: Pick<
    PassportRegistry,
    'challenge' | 'registerDeveloper' | 'developers' | 'issue' | 'list' | 'get' | 'setStatus'
  >
  /** x402 payments: the report, its metrics, payouts (a store without a gateway cannot pay out). */
  payments?:
    | {
        report(options?: { days?: number | undefined }): Promise<unknown>
        metrics(): Promise<string>
        payout(): Promise<unknown[]>
      }
    | undefined
  /** Standing orders (DESIGN §10): every order, and the operator's pause, resume and cancel. */
  orders?:
    | {
        list(filter?: {
          status?: 'active' | 'paused' | 'cancelled' | 'expired' | undefined
        }): Promise<unknown[]>
        get(id: string): Promise<unknown>
        pause(id: string, by: string, reason?: string | undefined): Promise<unknown>
        resume(id: string, by: string): Promise<unknown>
        cancel(id: string, by: string, reason?: string | undefined): Promise<unknown>
      }
    | undefined
  /** The policy in force, for `GET /admin/status`; absent: `policy: null`. */
  policy?: Pick<PolicySource, 'current'> | undefined
  /** Carries a decision out (resume or cancel the intent) before the decision's answer goes back. */
  maintain(): Promise<unknown>
  /** Recent breaches, newest first. */
  breaches(): Promise<unknown[]>
}

/** Options of {@link createAdminApp}. */
export type CreateAdminAppOptions = {
  /** The levers, or a promise of them (a gateway opens its store in the background). */
  operator: AdminOperator | Promise<AdminOperator>
  /** The bearer token every request must carry: printable ASCII, no spaces. */
  token: string
  /** Largest request body, in bytes (64 KiB by default). */
  maxBodyBytes?: number | undefined
}

/** The base path every admin route sits under. */
export const adminBasePath = '/admin'

const tokenPattern = /^[\x21-\x7e]{1,512}$/
const jsonl = 'application/jsonl; charset=utf-8'

/**
 * The operator's HTTP API as a Hono app, separate from `/mcp` and with its own bearer token: approvals, the kill
 * switch (whole, per contract, per agent), the audit log, the address book and agent passports. Every request and answer has a zod schema (`./schemas.ts`); bad
 * input is a 400 naming the field, an unknown field included. Every answer is JSON (export is JSONL); every
 * failure is `{ "error": { code, message, hints?, field? } }` with the code's status. Serve it with
 * {@link startAdminServer}, or call it in process with `app.request(…)` (tests, the CLI on a store).
 *
 * | method | path                                  | does                                         |
 * | ------ | ------------------------------------- | -------------------------------------------- |
 * | GET    | /admin/status                         | kill switch(es), stopped agents, pending approvals, policy |
 * | GET    | /admin/approvals?status=pending       | held intents with the gateway's simulation   |
 * | POST   | /admin/approvals/:id/approve          | `{ "hash"?, "reason"?, "by"? }`              |
 * | POST   | /admin/approvals/:id/deny             | `{ "hash"?, "reason"?, "by"? }`              |
 * | GET    | /admin/kill                           | kill switch state                            |
 * | POST   | /admin/kill, /admin/unkill            | `{ "reason"?, "by"? }`                       |
 * | GET    | /admin/kill/contracts?chainId=N       | contracts stopped one by one                 |
 * | POST   | /admin/kill/contract                  | `{ "chainId", "address", "reason"?, "by"? }` |
 * | POST   | /admin/unkill/contract                | `{ "chainId", "address", "by"? }`            |
 * | GET    | /admin/kill/agents                    | agents stopped one by one                    |
 * | POST   | /admin/kill/agents                    | `{ "agent", "reason"?, "by"? }`              |
 * | DELETE | /admin/kill/agents/:agent             | `{ "by"? }`: releases one                    |
 * | POST   | /admin/passports/developers/challenge | `{ "did" }`: a challenge for it to sign      |
 * | POST   | /admin/passports/developers           | `{ "did", "proof", "label"?, "by"? }`        |
 * | GET    | /admin/passports/developers           | registered developers                        |
 * | POST   | /admin/passports                      | `{ "agent", "developer", "codeHash", "grant", "validDays"?, "by"? }` |
 * | GET    | /admin/passports                      | passports (records, not credentials)         |
 * | GET    | /admin/passports/:agent               | one agent's passport                         |
 * | POST   | /admin/passports/:agent/revoke        | `{ "reason"?, "by"? }` (final)               |
 * | POST   | /admin/passports/:agent/suspend       | `{ "reason"?, "by"? }`                       |
 * | POST   | /admin/passports/:agent/reinstate     | `{ "reason"?, "by"? }`                       |
 * | GET    | /admin/audit/verify?head=SEQ:HASH     | walks the hash chain (and finds a kept head) |
 * | GET    | /admin/audit/export                   | every entry as JSON lines                    |
 * | GET    | /admin/payments/report?days=N         | revenue per tool/payee/agent/day, spending   |
 * | POST   | /admin/payments/payout                | pays accrued revenue shares (guarded)        |
 * | GET    | /admin/metrics                        | payments figures as Prometheus text          |
 * | GET    | /admin/orders?status=S                | standing orders, newest first                |
 * | GET    | /admin/orders/:id                     | one order, its evaluations and fires         |
 * | POST   | /admin/orders/:id/pause|resume|cancel | {by?, reason?}: the operator's levers        |
 * | GET    | /admin/address-book                   | entries                                      |
 * | POST   | /admin/address-book                   | `{ "address", "label", "note"?, "by"? }`     |
 * | DELETE | /admin/address-book/:address          | removes one                                  |
 *
 * @example
 * const app = createAdminApp({ operator: gateway.operator!, token })
 * const res = await app.request('/admin/status', { headers: { authorization: `Bearer ${token}` } })
 * @throws {InvalidConfigError} the token is empty, too long or not printable ASCII; `maxBodyBytes` is not positive
 */
export function createAdminApp(options: CreateAdminAppOptions): Hono {
  const { token, operator } = options
  if (typeof token !== 'string' || !tokenPattern.test(token))
    throw new InvalidConfigError('The admin token must be 1–512 printable ASCII characters without spaces.', {
      field: 'token',
    })
  const maxBody = options.maxBodyBytes ?? 64 * 1024
  if (!Number.isInteger(maxBody) || maxBody < 1)
    throw new InvalidConfigError('maxBodyBytes must be a positive integer.', { field: 'maxBodyBytes' })
  if (!operator || typeof (operator as { then?: unknown }).then !== 'function') checkOperator(operator)
  // Compared as digests: equal lengths, so the comparison takes the same time whatever was sent.
  const expected = digest(`Bearer ${token}`)
  const levers = async () => {
    const op = await operator
    checkOperator(op)
    return op
  }

  const app = new Hono()
  app.onError((error) => fail(toBaseError(error)))
  app.notFound((c) => fail(new NotFoundError(`No admin route ${c.req.method} ${c.req.path.slice(0, 80)}.`)))
  // Before routing: a request without the token learns nothing, not even which routes exist.
  app.use('*', async (c, next) => {
    if (!timingSafeEqual(digest(c.req.header('authorization') ?? ''), expected))
      return fail(
        new BaseError('UNAUTHORIZED', 'The admin API needs its bearer token.', {
          metaMessages: [
            'Send "Authorization: Bearer <token>" (from <dataDir>/admin.json or AIRLOCK_ADMIN_TOKEN).',
          ],
        }),
      )
    await next()
  })
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBody,
      onError: () => {
        throw new BaseError('INVALID_INPUT', `The request body is too large (${size(maxBody)} at most).`)
      },
    }),
  )

  // Routes under /admin; the checks above run for every path, also outside it.
  const admin = app.basePath(adminBasePath)

  admin.get('/status', async () => {
    const op = await levers()
    const [kill, stopped, agents, pending] = await Promise.all([
      op.killSwitch.state(),
      op.killSwitch.stoppedContracts(),
      op.killSwitch.stoppedAgents(),
      op.approvals.list({ status: 'pending' }),
    ])
    const policy = op.policy?.current()
    return send({
      killSwitch: kill,
      stoppedContracts: stopped,
      stoppedAgents: agents,
      pendingApprovals: pending.length,
      policy: policy ? { hash: policy.policyHash, rules: policy.rules.length } : null,
    })
  })

  admin.get('/approvals', validate('query', ListApprovalsQuery), async (c) => {
    const op = await levers()
    const { status } = c.req.valid('query')
    const [approvals, breaches] = await Promise.all([
      op.approvals.list(status ? { status } : {}),
      op.breaches(),
    ])
    return send({ approvals, breaches })
  })

  for (const action of ['approve', 'deny'] as const)
    admin.post(
      `/approvals/:id/${action}`,
      validate('param', ApprovalParams),
      validate('json', DecideApprovalBody),
      async (c) => {
        const op = await levers()
        const { id } = c.req.valid('param')
        const { hash, reason, by } = c.req.valid('json')
        const approval = await op.approvals.decide(
          id,
          action === 'approve' ? 'approved' : 'denied',
          by ?? 'admin-api',
          {
            ...(reason !== undefined ? { reason } : {}),
            ...(hash !== undefined ? { expectHash: hash } : {}),
          },
        )
        await op.maintain()
        return send({ approval })
      },
    )

  const payments = async () => {
    const p = (await levers()).payments
    if (!p)
      throw new BaseError('WALLET_NOT_CONFIGURED', 'Payments are not available here.', {
        metaMessages: ['Payouts are made by a running gateway with a wallet: start it, then try again.'],
      })
    return p
  }

  admin.get('/payments/report', validate('query', PaymentsReportQuery), async (c) => {
    const { days } = c.req.valid('query')
    return send({ report: await (await payments()).report(days === undefined ? {} : { days }) })
  })

  admin.post('/payments/payout', async () => send({ payouts: await (await payments()).payout() }))

  admin.get(
    '/metrics',
    async () =>
      new Response(await (await payments()).metrics(), {
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      }),
  )

  const orders = async () => {
    const o = (await levers()).orders
    if (!o) throw new BaseError('PRECONDITION_FAILED', 'Standing orders are not available here.')
    return o
  }

  admin.get('/orders', validate('query', ListOrdersQuery), async (c) => {
    const { status } = c.req.valid('query')
    return send({ orders: await (await orders()).list(status ? { status } : {}) })
  })

  admin.get('/orders/:id', validate('param', OrderParams), async (c) =>
    send({ order: await (await orders()).get(c.req.valid('param').id) }),
  )

  for (const action of ['pause', 'resume', 'cancel'] as const)
    admin.post(
      `/orders/:id/${action}`,
      validate('param', OrderParams),
      validate('json', OrderActionBody),
      async (c) => {
        const { id } = c.req.valid('param')
        const { by, reason } = c.req.valid('json')
        const o = await orders()
        const who = by ?? 'admin-api'
        const order =
          action === 'resume' ? await o.resume(id, who) : await o[action](id, who, reason ?? undefined)
        return send({ order })
      },
    )

  admin.get('/kill', async () => send(await (await levers()).killSwitch.state()))

  admin.post('/kill', validate('json', KillBody), async (c) => {
    const { reason, by } = c.req.valid('json')
    return send(
      await (await levers()).killSwitch.engage(reason ?? 'engaged by the operator', by ?? 'admin-api'),
    )
  })

  admin.post('/unkill', validate('json', KillBody), async (c) => {
    const { by } = c.req.valid('json')
    return send(await (await levers()).killSwitch.release(by ?? 'admin-api'))
  })

  admin.get('/kill/contracts', validate('query', StoppedContractsQuery), async (c) => {
    const { chainId } = c.req.valid('query')
    return send({ contracts: await (await levers()).killSwitch.stoppedContracts({ chainId }) })
  })

  admin.post('/kill/contract', validate('json', StopContractBody), async (c) => {
    const { chainId, address, reason, by } = c.req.valid('json')
    return send(
      await (await levers()).killSwitch.stopContract(
        chainId,
        address,
        reason ?? 'stopped by the operator',
        by ?? 'admin-api',
      ),
    )
  })

  admin.post('/unkill/contract', validate('json', ReleaseContractBody), async (c) => {
    const { chainId, address, by } = c.req.valid('json')
    const released = await (await levers()).killSwitch.releaseContract(chainId, address, by ?? 'admin-api')
    return send({ released: released ?? null })
  })

  admin.get('/kill/agents', async () => send({ agents: await (await levers()).killSwitch.stoppedAgents() }))

  admin.post('/kill/agents', validate('json', StopAgentBody), async (c) => {
    const { agent, reason, by } = c.req.valid('json')
    const stopped = await (await levers()).killSwitch.stopAgent(
      agent,
      reason ?? 'stopped by the operator',
      by ?? 'admin-api',
    )
    return send({ stopped })
  })

  admin.delete(
    '/kill/agents/:agent',
    validate('param', AgentParams),
    validate('json', ReleaseAgentBody),
    async (c) => {
      const { agent } = c.req.valid('param')
      const { by } = c.req.valid('json')
      const released = await (await levers()).killSwitch.releaseAgent(agent, by ?? 'admin-api')
      return send({ released: released ?? null })
    },
  )

  // Static paths before `/passports/:agent`: the router tries routes in the order they are added.
  admin.post('/passports/developers/challenge', validate('json', DeveloperChallengeBody), async (c) => {
    const { did } = c.req.valid('json')
    return send(await (await levers()).passports.challenge(did))
  })

  admin.post('/passports/developers', validate('json', RegisterDeveloperBody), async (c) => {
    const { did, proof, label, by } = c.req.valid('json')
    const developer = await (await levers()).passports.registerDeveloper({
      did,
      proof,
      ...(label !== undefined ? { label } : {}),
      by: by ?? 'admin-api',
    })
    return send({ developer })
  })

  admin.get('/passports/developers', async () =>
    send({ developers: await (await levers()).passports.developers() }),
  )

  admin.post('/passports', validate('json', IssuePassportBody), async (c) => {
    const { agent, developer, codeHash, grant, validDays, by } = c.req.valid('json')
    const { passport, record } = await (await levers()).passports.issue({
      agent,
      developer,
      codeHash,
      grant,
      ...(validDays !== undefined ? { validDays } : {}),
      by: by ?? 'admin-api',
    })
    return send({ passport, record })
  })

  admin.get('/passports', async () => send({ passports: await (await levers()).passports.list() }))

  admin.get('/passports/:agent', validate('param', AgentParams), async (c) => {
    const { agent } = c.req.valid('param')
    const passport = await (await levers()).passports.get(agent)
    if (!passport)
      throw new NotFoundError(`No passport is issued to agent ${agent.slice(0, 80)}.`, {
        metaMessages: ['`airlock passport list` shows the agents with passports.'],
      })
    return send({ passport })
  })

  for (const [action, status] of [
    ['revoke', 'revoked'],
    ['suspend', 'suspended'],
    ['reinstate', 'active'],
  ] as const)
    admin.post(
      `/passports/:agent/${action}`,
      validate('param', AgentParams),
      validate('json', PassportStatusBody),
      async (c) => {
        const { agent } = c.req.valid('param')
        const { reason, by } = c.req.valid('json')
        const passport = await (await levers()).passports.setStatus(agent, status, {
          ...(reason !== undefined ? { reason } : {}),
          by: by ?? 'admin-api',
        })
        return send({ passport })
      },
    )

  admin.get('/audit/verify', validate('query', VerifyAuditQuery), async (c) => {
    const { head } = c.req.valid('query')
    return send(await (await levers()).audit.verify(head ? { head } : {}))
  })

  admin.get('/audit/export', async () => {
    const op = await levers()
    // Written as read, page by page, at the reader's pace. A failure half-way errors the stream (the reader sees
    // a broken body, never a shorter log that looks whole).
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    const writer = writable.getWriter()
    const encoder = new TextEncoder()
    void (async () => {
      try {
        await op.audit.exportJsonl(async (line) => {
          await writer.ready
          await writer.write(encoder.encode(`${line}\n`))
        })
        await writer.close()
      } catch (error) {
        await writer.abort(error).catch(() => {})
      }
    })()
    return new Response(readable, { status: 200, headers: { 'content-type': jsonl } })
  })

  admin.get('/address-book', async () => send({ entries: await (await levers()).addressBook.list() }))

  admin.post('/address-book', validate('json', AddAddressBody), async (c) => {
    const { address, label, note, by } = c.req.valid('json')
    return send(
      await (await levers()).addressBook.add({
        address,
        label,
        ...(note !== undefined ? { note } : {}),
        addedBy: by ?? 'admin-api',
      }),
    )
  })

  admin.delete('/address-book/:address', validate('param', AddressParams), async (c) => {
    const { address } = c.req.valid('param')
    const removed = await (await levers()).addressBook.remove(address, 'admin-api')
    if (!removed) throw new NotFoundError(`No address-book entry ${address.slice(0, 64)}.`)
    return send({ removed: true })
  })

  return app
}

function checkOperator(op: unknown): asserts op is AdminOperator {
  const o = op as Partial<Record<keyof AdminOperator, unknown>> | undefined
  if (
    !o?.audit ||
    !o.killSwitch ||
    !o.approvals ||
    !o.addressBook ||
    !o.passports ||
    typeof o.maintain !== 'function' ||
    typeof o.breaches !== 'function'
  )
    throw new InvalidConfigError(
      'The admin API needs the operator levers: audit, killSwitch, approvals, addressBook, passports, maintain, breaches.',
      { field: 'operator' },
    )
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** JSON with bigints as decimal strings (simulations carry them) and dates as ISO strings. */
function send(value: unknown, status = 200): Response {
  return new Response(stringifyJson(value), { status, headers: { 'content-type': 'application/json' } })
}

function fail(error: BaseError): Response {
  const status = error.status
  // 1xx and 202 (APPROVAL_REQUIRED) are not failures on the wire: a refusal the admin API cannot place is a 400.
  return send({ error: error.toJSON() }, status < 200 || status === 202 ? 400 : status)
}

function size(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`
}
