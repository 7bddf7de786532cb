import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseAuditHead } from '../audit/auditLog.js'
import { BaseError, errorCodes, NotFoundError, toBaseError } from '../errors/index.js'
import type { Operator } from './createGateway.js'

/** Options of {@link startAdminServer}. */
export type AdminServerOptions = {
  operator: Promise<Operator>
  /** Loopback by default; the admin API is for the operator's machine. */
  host?: string | undefined
  /** 0 (default) picks a free port. */
  port?: number | undefined
  /** The bearer token; a random one (32 bytes) when absent. */
  token?: string | undefined
}

/** A running admin API. */
export type AdminServer = { url: string; token: string; close(): Promise<void> }

const maxBody = 64 * 1024

/**
 * The operator's HTTP API, separate from `/mcp` and with its own bearer token: approvals, the kill switch, the
 * audit log and the address book. Agents never hold this token. Every answer is JSON (export is JSONL).
 *
 * | method | path                                  | does                                         |
 * | ------ | ------------------------------------- | -------------------------------------------- |
 * | GET    | /admin/status                         | kill switch, pending approvals, policy hash  |
 * | GET    | /admin/approvals?status=pending       | held intents with the gateway's simulation   |
 * | POST   | /admin/approvals/:id/approve          | `{ "hash"?: "…", "by"?: "…" }`               |
 * | POST   | /admin/approvals/:id/deny             | `{ "reason"?: "…", "by"?: "…" }`             |
 * | GET    | /admin/kill                           | kill switch state                            |
 * | POST   | /admin/kill, /admin/unkill            | `{ "reason"?: "…", "by"?: "…" }`             |
 * | GET    | /admin/audit/verify?head=SEQ:HASH     | walks the hash chain (and finds a kept head) |
 * | GET    | /admin/audit/export                   | every entry as JSON lines                    |
 * | GET    | /admin/address-book                   | entries                                      |
 * | POST   | /admin/address-book                   | `{ "address", "label", "note"? }`            |
 * | DELETE | /admin/address-book/:address          | removes one                                  |
 *
 * @example const admin = await startAdminServer({ operator: gateway.operator! }) // admin.url, admin.token
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  // Hex, never base64url: a token starting with '-' would read as an option in `airlock … --token T`.
  const token = options.token ?? randomBytes(32).toString('hex')
  const expected = Buffer.from(`Bearer ${token}`)
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, toBaseError(error)))
  })

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const given = Buffer.from(req.headers.authorization ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return send(
        res,
        new BaseError('UNAUTHORIZED', 'The admin API needs its bearer token.', {
          metaMessages: [
            'Send "Authorization: Bearer <token>" (from <dataDir>/admin.json or AIRLOCK_ADMIN_TOKEN).',
          ],
        }),
      )
    const url = new URL(req.url ?? '/', 'http://admin.invalid')
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts[0] !== 'admin') throw new NotFoundError(`No admin route ${url.pathname.slice(0, 80)}.`)
    const op = await options.operator
    const body = req.method === 'POST' ? await readJson(req) : {}
    const by = typeof body.by === 'string' ? body.by.slice(0, 64) : 'admin-api'
    const route = `${req.method} /${parts.slice(1, 2).join('/')}`
    switch (route) {
      case 'GET /status': {
        const [kill, pending] = await Promise.all([
          op.killSwitch.state(),
          op.approvals.list({ status: 'pending' }),
        ])
        const policy = op.policy.current()
        return send(res, {
          killSwitch: kill,
          pendingApprovals: pending.length,
          policy: policy ? { hash: policy.policyHash, rules: policy.rules.length } : null,
        })
      }
      case 'GET /approvals': {
        const status = url.searchParams.get('status') ?? undefined
        if (status && !['pending', 'approved', 'denied', 'expired'].includes(status))
          throw new BaseError('INVALID_INPUT', 'status must be pending, approved, denied or expired.', {
            field: 'status',
          })
        return send(res, {
          approvals: await op.approvals.list(status ? { status: status as never } : {}),
          breaches: await op.breaches(),
        })
      }
      case 'POST /approvals': {
        const id = parts[2]
        const action = parts[3]
        if (!id || (action !== 'approve' && action !== 'deny'))
          throw new NotFoundError('Use POST /admin/approvals/<intent id>/approve or …/deny.')
        const approval = await op.approvals.decide(id, action === 'approve' ? 'approved' : 'denied', by, {
          ...(typeof body.reason === 'string' ? { reason: body.reason.slice(0, 500) } : {}),
          ...(typeof body.hash === 'string' ? { expectHash: body.hash } : {}),
        })
        await op.maintain()
        return send(res, { approval })
      }
      case 'GET /kill':
        return send(res, await op.killSwitch.state())
      case 'POST /kill':
        return send(
          res,
          await op.killSwitch.engage(
            typeof body.reason === 'string' ? body.reason.slice(0, 500) : 'engaged by the operator',
            by,
          ),
        )
      case 'POST /unkill':
        return send(res, await op.killSwitch.release(by))
      case 'GET /audit': {
        if (parts[2] === 'verify') {
          // A head the operator kept elsewhere (`?head=SEQ:HASH`): removing the newest entries then shows.
          const head = url.searchParams.get('head')
          return send(res, await op.audit.verify(head ? { head: parseAuditHead(head) } : {}))
        }
        if (parts[2] === 'export') {
          res.writeHead(200, { 'content-type': 'application/jsonl; charset=utf-8' })
          await op.audit.exportJsonl((line) => {
            res.write(`${line}\n`)
          })
          res.end()
          return
        }
        throw new NotFoundError('Use GET /admin/audit/verify or /admin/audit/export.')
      }
      case 'GET /address-book':
        return send(res, { entries: await op.addressBook.list() })
      case 'POST /address-book':
        return send(
          res,
          await op.addressBook.add({
            address: String(body.address ?? ''),
            label: String(body.label ?? ''),
            ...(typeof body.note === 'string' ? { note: body.note } : {}),
            addedBy: by,
          }),
        )
      case 'DELETE /address-book': {
        const removed = await op.addressBook.remove(parts[2] ?? '')
        if (!removed) throw new NotFoundError(`No address-book entry ${String(parts[2]).slice(0, 64)}.`)
        return send(res, { removed: true })
      }
      default:
        throw new NotFoundError(`No admin route ${req.method} ${url.pathname.slice(0, 80)}.`)
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}/admin`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBody)
      throw new BaseError('INVALID_INPUT', 'The request body is too large (64 KiB at most).')
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {}
  throw new BaseError('INVALID_INPUT', 'The request body must be a JSON object.')
}

function send(res: ServerResponse, value: unknown) {
  if (res.headersSent) return void res.end()
  const error = value instanceof BaseError ? value : undefined
  const status = error ? errorCodes[error.code] : 200
  const body = JSON.stringify(error ? { error: error.toJSON() } : value, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  )
  res.writeHead(status < 200 || status === 202 ? 400 : status, { 'content-type': 'application/json' })
  res.end(body)
}
