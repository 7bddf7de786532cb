import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BaseError, InvalidInputError } from '../errors/index.js'
import type { Settlement } from '../pipeline/settle.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'
import { cliCommand } from './cliCommand.js'
import { dataDirOf } from './dataDir.js'
import type { CliOptions } from './options.js'

/** What the operator commands act on: a running gateway's admin API, or the store itself. */
type OperatorClient = {
  /** How the command reached the state (said on stderr). */
  via: string
  request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: Record<string, unknown>): Promise<unknown>
  /** JSONL export, line by line. */
  exportAudit(write: (line: string) => void | Promise<void>): Promise<number>
  close(): Promise<void>
}

/** Where a running gateway's admin API is announced (mode 0600): `{ url, token, pid }`. */
export const adminFileName = 'admin.json'

/**
 * `airlock approvals | approve | deny | kill | unkill | audit | address-book`: act on the gateway's state whether
 * or not a gateway is running (DESIGN: one state, many doors). A running gateway is reached through the admin API
 * it announced in the data directory (or `--url` / `AIRLOCK_ADMIN_URL` with `--token` / `AIRLOCK_ADMIN_TOKEN`);
 * with none running, the store is opened directly (PGlite in the data directory, or `DATABASE_URL`).
 */
export async function operator(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const client = await connect(options, env)
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const out = (value: unknown, text: () => string) =>
    process.stdout.write(`${options.json ? JSON.stringify(value, null, 2) : text()}\n`)
  try {
    log(`airlock: ${client.via}`)
    const [sub, arg] = options.args
    switch (options.command) {
      case 'approvals': {
        const status = options.status ?? 'pending'
        const { approvals, breaches = [] } = (await client.request(
          'GET',
          `/approvals?status=${encodeURIComponent(status)}`,
        )) as {
          approvals: ApprovalView[]
          breaches?: Settlement[]
        }
        // --json keeps its shape (the list of approvals); breaches are in the text and the admin API's answer.
        out(approvals, () =>
          [
            approvals.length
              ? approvals.map((a) => showApproval(a, cliCommand(options.configPath, env))).join('\n\n')
              : `No ${status} approvals.`,
            ...(breaches.length ? ['', showBreaches(breaches)] : []),
          ].join('\n'),
        )
        return 0
      }
      case 'approve':
      case 'deny': {
        const id = need(sub, `airlock ${options.command} INTENT_ID`)
        const { approval } = (await client.request(
          'POST',
          `/approvals/${encodeURIComponent(id)}/${options.command}`,
          {
            by: `cli:${env.USER ?? 'operator'}`,
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.hash ? { hash: options.hash } : {}),
          },
        )) as { approval: ApprovalView }
        out(approval, () =>
          options.command === 'approve'
            ? `Approved intent ${id}. ${client.via.includes('directly') ? 'The next gateway to start on this store' : 'The gateway'} re-simulates it and, if nothing changed, signs and sends it.`
            : `Denied intent ${id}; it will not be sent.`,
        )
        return 0
      }
      case 'kill': {
        const state = await client.request('POST', '/kill', {
          reason: options.reason ?? 'engaged by the operator',
          by: `cli:${env.USER ?? 'operator'}`,
        })
        out(
          state,
          () =>
            `Kill switch ENGAGED: nothing will be signed or sent until \`${cliCommand(options.configPath, env)} unkill\`.`,
        )
        return 0
      }
      case 'unkill': {
        const state = await client.request('POST', '/unkill', { by: `cli:${env.USER ?? 'operator'}` })
        out(state, () => 'Kill switch released: writes go through the policy again.')
        return 0
      }
      case 'audit': {
        if (sub === 'verify') {
          // A head kept elsewhere (what `audit export` printed): the newest entries cannot vanish unnoticed.
          const head = options.head
          if (head !== undefined) (await import('../audit/auditLog.js')).parseAuditHead(head)
          const result = (await client.request(
            'GET',
            `/audit/verify${head === undefined ? '' : `?head=${encodeURIComponent(head.trim())}`}`,
          )) as
            | { ok: true; entries: number; head: string; kept?: { seq: number } }
            | { ok: false; entries: number; brokenAt: number; reason: string }
          out(result, () =>
            result.ok
              ? `Audit log intact: ${result.entries} entries, head ${result.entries}:${result.head}.${result.kept ? ` It still holds the head you kept (entry ${result.kept.seq}).` : ''}`
              : `Audit log BROKEN at entry ${result.brokenAt}: ${result.reason}`,
          )
          return result.ok ? 0 : 1
        }
        if (sub === 'export') {
          const file = options.out
          const stream = file ? createWriteStream(file, { mode: 0o600 }) : undefined
          let last: string | undefined
          const count = await client.exportAudit((line) => {
            last = line
            if (stream) stream.write(`${line}\n`)
            else process.stdout.write(`${line}\n`)
          })
          if (stream) await new Promise((resolve) => stream.end(resolve))
          // The head of what was exported: kept elsewhere, it lets a later verify notice removed newest entries.
          const newest = last === undefined ? undefined : (JSON.parse(last) as { seq: number; hash: string })
          const head = newest ? `${newest.seq}:${newest.hash}` : `0:${'0'.repeat(64)}`
          log(`airlock: exported ${count} audit entries${file ? ` to ${file}` : ''}`)
          log(`airlock: audit head ${head}`)
          log(
            `airlock: keep it elsewhere; \`airlock audit verify --head ${head}\` later proves no entry was removed`,
          )
          return 0
        }
        throw new InvalidInputError('Use `airlock audit verify` or `airlock audit export [--out FILE]`.')
      }
      case 'address-book': {
        if (sub === 'add') {
          const address = need(arg, 'airlock address-book add ADDRESS --label LABEL')
          const entry = await client.request('POST', '/address-book', {
            address,
            label: need(options.label, 'airlock address-book add ADDRESS --label LABEL'),
            ...(options.note ? { note: options.note } : {}),
            by: `cli:${env.USER ?? 'operator'}`,
          })
          out(entry, () => `Added ${address} as "${options.label}".`)
          return 0
        }
        if (sub === 'remove') {
          const address = need(arg, 'airlock address-book remove ADDRESS')
          await client.request('DELETE', `/address-book/${encodeURIComponent(address)}`)
          out({ removed: address }, () => `Removed ${address}.`)
          return 0
        }
        if (sub === undefined || sub === 'list') {
          const { entries } = (await client.request('GET', '/address-book')) as {
            entries: { address: string; label: string; addedBy: string }[]
          }
          out(entries, () =>
            entries.length
              ? entries.map((e) => `${e.address}  ${e.label}  (added by ${e.addedBy})`).join('\n')
              : 'The address book is empty.',
          )
          return 0
        }
        throw new InvalidInputError(
          'Use `airlock address-book list | add ADDRESS --label L | remove ADDRESS`.',
        )
      }
      default:
        throw new InvalidInputError(`Unknown operator command ${options.command}.`)
    }
  } finally {
    await client.close()
  }
}

type ApprovalView = {
  intentId: string
  intentHash: string
  status: string
  expiresAt: string
  request: { summary: string; chain: string; operation: string; reasons: string[]; simulation: unknown }
}

/** Breaches as the operator reads them: which intent, which contract, what moved beyond the check. */
function showBreaches(breaches: readonly Settlement[]): string {
  const lines = ['Breaches (mined writes that moved more than was checked; the kill switch engaged):']
  for (const b of breaches) {
    const what = [
      ...b.excess.map(
        (e) =>
          `${e.asset === 'native' ? 'native coin' : `token ${e.asset}`} moved ${e.formatted?.moved ?? e.moved}, checked ${e.formatted?.checked ?? e.checked}`,
      ),
      ...b.unchecked.map((a) => `unchecked approval of token ${a.token} to ${a.spender}`),
    ]
    lines.push(`  intent ${b.intentId} (block ${b.blockNumber}): ${what.join('; ')}`)
  }
  return lines.join('\n')
}

/**
 * One held intent for the terminal. The texts are the gateway's own (third-party words in them are quoted and
 * marked when they are written); each line is sanitized again here, so nothing read back from the store can move
 * the cursor, recolour the terminal or reorder what the operator reads.
 */
function showApproval(a: ApprovalView, cli: string): string {
  return [
    `${a.intentId}  ${a.status}  ${a.request.operation} on ${a.request.chain}  (expires ${a.expiresAt})`,
    `  what:   ${a.request.summary}`,
    `  why:    ${a.request.reasons.join('; ')}`,
    `  effects (gateway simulation): ${JSON.stringify(a.request.simulation)}`,
    `  hash:   ${a.intentHash}`,
    `  → ${cli} approve ${a.intentId}   |   ${cli} deny ${a.intentId} --reason "…"`,
  ]
    .map((line) => sanitizeText(line, { maxLength: 8000 }).text)
    .join('\n')
}

function need(value: string | undefined, usage: string): string {
  if (!value) throw new InvalidInputError(`Missing argument. Usage: ${usage}.`)
  return value
}

async function connect(options: CliOptions, env: NodeJS.ProcessEnv): Promise<OperatorClient> {
  const url = options.url ?? env.AIRLOCK_ADMIN_URL
  if (url) {
    const token = options.token ?? env.AIRLOCK_ADMIN_TOKEN
    if (!token) throw new InvalidInputError('--url needs the admin token: --token or AIRLOCK_ADMIN_TOKEN.')
    return httpClient(url, token, `admin API at ${url}`)
  }
  const dataDir = dataDirOf(options.config, env)
  const announced = readAnnouncement(join(dataDir, adminFileName))
  if (announced) return httpClient(announced.url, announced.token, `running gateway (pid ${announced.pid})`)
  // No gateway here. Act on the store directly only where one exists: never leave a new, empty store behind
  // (an operator looking for pending approvals would be told there are none).
  if (!env.DATABASE_URL && !existsSync(join(dataDir, 'db', 'PG_VERSION')))
    throw new BaseError(
      'STORE_UNAVAILABLE',
      `No Airlock gateway is running on ${dataDir} (no live ${adminFileName} there), and there is no store in it.`,
      {
        metaMessages: [
          'Start the gateway first (`airlock start --config FILE`, or `npm start` for the demo), or point this',
          'command at its data directory: the same --config, or AIRLOCK_DATA_DIR. A gateway elsewhere:',
          '--url URL --token T. A PostgreSQL store: set DATABASE_URL (and AIRLOCK_DB_SCHEMA).',
        ],
      },
    )
  return directClient(dataDir, env)
}

function readAnnouncement(file: string): { url: string; token: string; pid: number } | undefined {
  if (!existsSync(file)) return undefined
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string; pid: number }
    try {
      process.kill(value.pid, 0) // no such process: a stale file from a crashed gateway
    } catch (error) {
      // EPERM: the process exists (another user's): it is running, so go through its API, never around it.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined
    }
    return value
  } catch {
    return undefined
  }
}

function httpClient(url: string, token: string, via: string): OperatorClient {
  const base = url.replace(/\/+$/, '')
  const call = async (method: string, path: string, body?: Record<string, unknown>) => {
    let response: Response
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    } catch (error) {
      throw new BaseError(
        'STORE_UNAVAILABLE',
        `Cannot reach the gateway's admin API (${(error as Error).message}).`,
        {
          metaMessages: ['Is the gateway still running? Without one, the command opens the store directly.'],
        },
      )
    }
    return response
  }
  return {
    via: `acting through the ${via}`,
    async request(method, path, body) {
      const response = await call(method, path, body)
      const value = (await response.json().catch(() => ({}))) as Record<string, unknown>
      if (!response.ok) {
        const e = (value.error ?? {}) as { code?: string; message?: string; hints?: string[] }
        throw new BaseError(
          (e.code as never) ?? 'INTERNAL',
          e.message ?? `The admin API answered ${response.status}.`,
          { metaMessages: e.hints ?? [] },
        )
      }
      return value
    },
    async exportAudit(write) {
      const response = await call('GET', '/audit/export')
      if (!response.ok) throw new BaseError('INTERNAL', `The admin API answered ${response.status}.`)
      const text = await response.text()
      const lines = text.split('\n').filter(Boolean)
      for (const line of lines) await write(line)
      return lines.length
    },
    async close() {},
  }
}

/** No gateway running: open the store and act on it with the same modules the gateway uses. */
async function directClient(dataDir: string, env: NodeJS.ProcessEnv): Promise<OperatorClient> {
  const [
    { openStore },
    { createAuditLog },
    { createKillSwitch },
    { createApprovals },
    { createAddressBook },
    { listBreaches },
  ] = await Promise.all([
    import('../store/openStore.js'),
    import('../audit/auditLog.js'),
    import('../policy/killSwitch.js'),
    import('../policy/approvals.js'),
    import('../policy/addressBook.js'),
    import('../pipeline/settle.js'),
  ])
  // On PGlite the directory is this command's while it runs (a gateway starting meanwhile is refused).
  const lock = env.DATABASE_URL
    ? undefined
    : await (await import('../store/lockDataDir.js')).lockDataDir(dataDir, {
        role: 'operator',
        create: false,
      })
  const store = await openStore(
    env.DATABASE_URL
      ? { databaseUrl: env.DATABASE_URL, schema: env.AIRLOCK_DB_SCHEMA, mustExist: true }
      : { dataDir, lock, mustExist: true },
  ).catch(async (error: unknown) => {
    await lock?.release()
    throw error
  })
  const audit = createAuditLog(store)
  const killSwitch = createKillSwitch(store, { audit })
  const approvals = createApprovals(store, { audit })
  const addressBook = createAddressBook(store, { audit })
  return {
    via: env.DATABASE_URL
      ? 'no gateway announced here: acting on the PostgreSQL store directly'
      : 'no gateway running on this data directory: acting on its store directly',
    async request(method, path, body = {}) {
      const [route, query] = path.split('?')
      const parts = (route ?? '').split('/').filter(Boolean).map(decodeURIComponent)
      const by = typeof body.by === 'string' ? body.by : 'cli'
      switch (`${method} /${parts[0]}`) {
        case 'GET /approvals': {
          const status = new URLSearchParams(query).get('status') ?? undefined
          return {
            approvals: await approvals.list(status ? { status: status as never } : {}),
            breaches: await listBreaches(store),
          }
        }
        case 'POST /approvals':
          return {
            approval: await approvals.decide(
              parts[1] ?? '',
              parts[2] === 'approve' ? 'approved' : 'denied',
              by,
              {
                ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
                ...(typeof body.hash === 'string' ? { expectHash: body.hash } : {}),
              },
            ),
          }
        case 'POST /kill':
          return killSwitch.engage(String(body.reason ?? 'engaged by the operator'), by)
        case 'POST /unkill':
          return killSwitch.release(by)
        case 'GET /audit': {
          const head = new URLSearchParams(query).get('head')
          const { parseAuditHead } = await import('../audit/auditLog.js')
          return audit.verify(head ? { head: parseAuditHead(head) } : {})
        }
        case 'GET /address-book':
          return { entries: await addressBook.list() }
        case 'POST /address-book':
          return addressBook.add({
            address: String(body.address ?? ''),
            label: String(body.label ?? ''),
            ...(typeof body.note === 'string' ? { note: body.note } : {}),
            addedBy: by,
          })
        case 'DELETE /address-book':
          if (!(await addressBook.remove(parts[1] ?? '')))
            throw new BaseError('NOT_FOUND', `No address-book entry ${String(parts[1]).slice(0, 64)}.`)
          return { removed: true }
        default:
          throw new BaseError('INTERNAL', `No direct route for ${method} ${path}.`)
      }
    },
    exportAudit: (write) => audit.exportJsonl(write),
    close: async () => {
      await store.close()
      await lock?.release()
    },
  }
}
