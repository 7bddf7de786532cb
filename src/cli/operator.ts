import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { builtinChains } from '../chains/registry.js'
import { BaseError, InvalidInputError } from '../errors/index.js'
import type { AdminClient, AdminFetch } from '../server/admin/adminClient.js'
import type { Approval, Breach, ListApprovalsQuery, ListOrdersQuery } from '../server/admin/schemas.js'
import { authSettings } from '../server/config.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'
import { cliCommand } from './cliCommand.js'
import { dataDirOf } from './dataDir.js'
import type { CliOptions } from './options.js'

/** What the operator commands act on: a running gateway's admin API, or the same API in process over the store. */
export type AdminConnection = {
  /** How the command reached the state (said on stderr). */
  via: string
  admin: AdminClient
  close(): Promise<void>
}

/** Where a running gateway's admin API is announced (mode 0600): `{ url, token, pid }`. */
export const adminFileName = 'admin.json'

/**
 * `airlock status | approvals | approve | deny | kill | unkill | audit | address-book`: act on the gateway's state whether
 * or not a gateway is running (DESIGN: one state, many doors). A running gateway is reached through the admin API
 * it announced in the data directory (or `--url` / `AIRLOCK_ADMIN_URL` with `--token` / `AIRLOCK_ADMIN_TOKEN`);
 * with none running, the store is opened directly (PGlite in the data directory, or `DATABASE_URL`).
 */
export async function operator(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  if (options.agent !== undefined && options.contract !== undefined)
    throw new InvalidInputError(
      'Give --agent or --contract, not both: each is stopped and released on its own.',
    )
  const client = await connectAdmin(options, env)
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const out = (value: unknown, text: () => string) =>
    process.stdout.write(`${options.json ? JSON.stringify(value, null, 2) : text()}\n`)
  try {
    log(`airlock: ${client.via}`)
    const [sub, arg] = options.args
    switch (options.command) {
      case 'approvals': {
        const status = options.status ?? 'pending'
        const { approvals, breaches = [] } = await client.admin.listApprovals({
          status: status as ListApprovalsQuery['status'],
        })
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
        const { approval } = await client.admin[options.command](id, {
          by: `cli:${env.USER ?? 'operator'}`,
          ...(options.reason ? { reason: options.reason } : {}),
          ...(options.hash ? { hash: options.hash } : {}),
        })
        out(approval, () =>
          options.command === 'approve'
            ? `Approved intent ${id}. ${client.via.includes('directly') ? 'The next gateway to start on this store' : 'The gateway'} re-simulates it and, if nothing changed, signs and sends it.`
            : `Denied intent ${id}; it will not be sent.`,
        )
        return 0
      }
      case 'status': {
        const status = await client.admin.status()
        out(status, () =>
          showStatus(status, cliCommand(options.configPath, env), client.via.includes('directly')),
        )
        return 0
      }
      case 'kill': {
        if (options.agent !== undefined) {
          const { stopped } = await client.admin.stopAgent({
            agent: options.agent,
            reason: options.reason ?? 'stopped by the operator',
            by: `cli:${env.USER ?? 'operator'}`,
          })
          out(stopped, () =>
            clean(
              `Agent ${stopped.agent} STOPPED (since ${stopped.stoppedAt}): none of its writes will be signed until \`${cliCommand(options.configPath, env)} unkill --agent ${stopped.agent}\`. Other callers keep working.`,
            ),
          )
          return 0
        }
        if (options.contract !== undefined) {
          const target = contractOf(options)
          const stopped = await client.admin.stopContract({
            ...target,
            reason: options.reason ?? 'stopped by the operator',
            by: `cli:${env.USER ?? 'operator'}`,
          })
          const ref = `${stopped.chainId}:${stopped.address}`
          out(
            stopped,
            () =>
              `Contract ${stopped.address} on chain ${stopped.chainId} STOPPED (since ${stopped.stoppedAt}): no write that touches it will be signed until \`${cliCommand(options.configPath, env)} unkill --contract ${ref}\`. Other contracts keep working.`,
          )
          return 0
        }
        const state = await client.admin.kill({
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
        if (options.agent !== undefined) {
          const { released } = await client.admin.releaseAgent(options.agent, {
            by: `cli:${env.USER ?? 'operator'}`,
          })
          out({ released }, () =>
            clean(
              released
                ? `Agent ${released.agent} released: its writes go through its passport and the policy again.`
                : `Agent ${options.agent} was not stopped; nothing changed.`,
            ),
          )
          return 0
        }
        if (options.contract !== undefined) {
          const target = contractOf(options)
          const { released } = await client.admin.releaseContract({
            ...target,
            by: `cli:${env.USER ?? 'operator'}`,
          })
          out({ released }, () =>
            released
              ? `Contract ${released.address} on chain ${released.chainId} released: writes that touch it go through the policy again.`
              : `Contract ${target.address} on chain ${target.chainId} was not stopped; nothing changed.`,
          )
          return 0
        }
        const state = await client.admin.unkill({ by: `cli:${env.USER ?? 'operator'}` })
        out(state, () => 'Kill switch released: writes go through the policy again.')
        return 0
      }
      case 'audit': {
        if (sub === 'verify') {
          // A head kept elsewhere (what `audit export` printed): the newest entries cannot vanish unnoticed.
          const head = options.head
          if (head !== undefined) (await import('../audit/auditLog.js')).parseAuditHead(head)
          const result = await client.admin.verifyAudit(head === undefined ? {} : { head: head.trim() })
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
          const count = await client.admin.exportAudit((line) => {
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
          const entry = await client.admin.addAddress({
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
          await client.admin.removeAddress(address)
          out({ removed: address }, () => `Removed ${address}.`)
          return 0
        }
        if (sub === undefined || sub === 'list') {
          const { entries } = await client.admin.listAddressBook()
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
      case 'payments': {
        if (sub === 'payout') {
          const { payouts } = await client.admin.payout()
          out(payouts, () =>
            payouts.length
              ? payouts
                  .map((p) =>
                    clean(
                      `${p.status.toUpperCase()}  ${p.amount} base units of ${p.asset} to ${p.payee} on ${p.network}${p.intentId ? ` (intent ${p.intentId})` : ''}${p.error ? `: ${p.error}` : ''}`,
                    ),
                  )
                  .join('\n')
              : 'Nothing to pay out: no payee has unpaid shares.',
          )
          return payouts.some((p) => p.status === 'failed') ? 1 : 0
        }
        if (sub === undefined || sub === 'report') {
          const days = options.days === undefined ? undefined : Number.parseInt(options.days, 10)
          if (days !== undefined && !(days >= 1 && days <= 366))
            throw new InvalidInputError('--days takes a whole number of days, 1–366.')
          const { report } = await client.admin.paymentsReport(days === undefined ? {} : { days })
          out(report, () => showReport(report))
          return 0
        }
        throw new InvalidInputError('Use `airlock payments report [--days N]` or `airlock payments payout`.')
      }
      case 'orders': {
        const by = `cli:${env.USER ?? 'operator'}`
        if (sub === 'pause' || sub === 'resume' || sub === 'cancel') {
          const id = need(arg, `airlock orders ${sub} ORDER_ID`)
          const { order } = await client.admin.orderAction(id, sub, {
            by,
            ...(options.reason && sub !== 'resume' ? { reason: options.reason } : {}),
          })
          out(order, () => clean(`Order ${order.orderId} is ${order.status}.`))
          return 0
        }
        if (sub === 'show') {
          const { order } = await client.admin.getOrder(need(arg, 'airlock orders show ORDER_ID'))
          out(order, () => clean(JSON.stringify(order, null, 2)))
          return 0
        }
        if (sub === undefined || sub === 'list') {
          const status = options.status as ListOrdersQuery['status']
          const { orders } = await client.admin.listOrders(status ? { status } : {})
          out(orders, () =>
            orders.length
              ? orders.map((o) => clean(showOrder(o))).join('\n')
              : `No ${status ?? ''}${status ? ' ' : ''}standing orders.`,
          )
          return 0
        }
        throw new InvalidInputError(
          'Use `airlock orders [list] [--status S] | show ID | pause ID | resume ID | cancel ID`.',
        )
      }
      default:
        throw new InvalidInputError(`Unknown operator command ${options.command}.`)
    }
  } finally {
    await client.close()
  }
}

/** `airlock payments report` for the terminal: one line per tool, payee, agent and host, sums per asset. */
function showReport(report: Awaited<ReturnType<AdminClient['paymentsReport']>>['report']): string {
  type Line = (typeof report.revenue.byTool)[number]
  const sums = (l: Pick<Line, 'amounts'>['amounts']) =>
    l.length ? l.map((a) => `${a.formatted} of ${a.asset} (${a.network})`).join(', ') : '0'
  const section = (title: string, lines: Line[]) =>
    lines.length ? [title, ...lines.map((l) => `- ${l.key}: ${l.count} × → ${sums(l.amounts)}`)] : []
  return [
    `Payments from ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)} (UTC).`,
    `Revenue: ${report.revenue.total.count} paid calls, ${sums(report.revenue.total.amounts)}.`,
    ...section('Per tool:', report.revenue.byTool),
    ...section('Per paying caller:', report.revenue.byAgent),
    ...(report.revenue.byPayee.length
      ? [
          'Per payee (share accrued / paid out or kept / unpaid):',
          ...report.revenue.byPayee.map(
            (p) => `- ${p.key}: ${sums(p.amounts)} / ${sums(p.paid)} / ${sums(p.unpaid)}`,
          ),
        ]
      : []),
    `Spending: ${report.spending.total.count} purchases, ${sums(report.spending.total.amounts)}.`,
    ...section('Per agent:', report.spending.byAgent),
    ...section('Per host:', report.spending.byHost),
    ...section('Per day:', report.spending.byDay),
  ]
    .map(clean)
    .join('\n')
}

/** `airlock status` for the terminal: both kill switches, pending approvals, the policy; each line sanitized. */
function showStatus(
  status: Awaited<ReturnType<AdminClient['status']>>,
  cli: string,
  onStore: boolean,
): string {
  const k = status.killSwitch
  const stopped = status.stoppedContracts ?? []
  const agents = status.stoppedAgents ?? []
  return [
    clean(
      k.engaged
        ? `Kill switch: ENGAGED${k.actor ? ` by ${k.actor}` : ''} since ${k.updatedAt}: ${k.reason ?? 'no reason given'}  → ${cli} unkill`
        : 'Kill switch: off',
    ),
    stopped.length ? 'Stopped contracts (writes that touch them are refused):' : 'Stopped contracts: none',
    ...stopped.map((c) => {
      const ref = `${c.chainId}:${c.address}`
      return `  ${clean(`${ref}  by ${c.actor} since ${c.stoppedAt}: ${c.reason}  → ${cli} unkill --contract ${ref}`)}`
    }),
    agents.length ? 'Stopped agents (none of their writes is signed):' : 'Stopped agents: none',
    ...agents.map(
      (a) =>
        `  ${clean(`${a.agent}  by ${a.actor} since ${a.stoppedAt}: ${a.reason}  → ${cli} unkill --agent ${a.agent}`)}`,
    ),
    `Pending approvals: ${status.pendingApprovals}`,
    status.policy
      ? `Policy: ${clean(status.policy.hash)} (${status.policy.rules} rules)`
      : onStore
        ? 'Policy: not known here (no gateway is running; the policy is in its config)'
        : 'Policy: none (the gateway allows reads only)',
  ].join('\n')
}

/**
 * `--contract CHAIN:ADDRESS`: the chain as a decimal id, CAIP-2 (`eip155:8453`, so a CAIP-10 account id works
 * whole) or a registry name (`base`; `devnet` is the configured devnet's id). The kill switch checks the address.
 */
function contractOf(options: CliOptions): { chainId: number; address: string } {
  const usage = `airlock ${options.command} --contract CHAIN:ADDRESS (e.g. 8453:0x…, eip155:8453:0x…, base:0x…)`
  const text = (options.contract ?? '').trim()
  const at = text.lastIndexOf(':')
  if (at < 1) throw new InvalidInputError(`Missing or malformed --contract. Usage: ${usage}.`)
  const chain = text.slice(0, at).toLowerCase()
  const address = text.slice(at + 1)
  const devnet = options.config.devnet
  const chainId = /^\d{1,10}$/.test(chain)
    ? Number(chain)
    : /^eip155:\d{1,10}$/.test(chain)
      ? Number(chain.slice('eip155:'.length))
      : chain === 'devnet'
        ? ((typeof devnet === 'object' ? devnet.chainId : undefined) ?? 31337)
        : builtinChains.find((c) => c.name === chain)?.chain.id
  if (chainId === undefined)
    throw new InvalidInputError(
      `Unknown chain "${sanitizeText(chain, { maxLength: 40 }).text}" in --contract. Usage: ${usage}.`,
      { field: 'contract' },
    )
  return { chainId, address }
}

/** Breaches as the operator reads them: which intent, which contract, what moved beyond the check. */
function showBreaches(breaches: readonly Breach[]): string {
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
function showApproval(a: Approval, cli: string): string {
  return [
    `${a.intentId}  ${a.status}  ${a.request.operation} on ${a.request.chain}  (expires ${a.expiresAt})`,
    `  what:   ${a.request.summary}`,
    ...(a.request.agent ? [`  asked by: ${a.request.agent}`] : []),
    `  why:    ${a.request.reasons.join('; ')}`,
    `  effects (gateway simulation): ${JSON.stringify(a.request.simulation)}`,
    `  hash:   ${a.intentHash}`,
    `  → ${cli} approve ${a.intentId}   |   ${cli} deny ${a.intentId} --reason "…"`,
  ]
    .map((line) => sanitizeText(line, { maxLength: 8000 }).text)
    .join('\n')
}

/** One line for the terminal: hidden and control characters removed, capped. */
function clean(line: string): string {
  return sanitizeText(line, { maxLength: 2000 }).text
}

function need(value: string | undefined, usage: string): string {
  if (!value) throw new InvalidInputError(`Missing argument. Usage: ${usage}.`)
  return value
}

/**
 * Reaches the admin API the operator commands act through: `--url`/`AIRLOCK_ADMIN_URL` with its token, else the
 * gateway announced in the data directory, else the data directory's store directly (the admin app in process).
 *
 * @example const client = await connectAdmin(options, process.env); try { … } finally { await client.close() }
 * @throws {BaseError} STORE_UNAVAILABLE: no gateway runs there and there is no store to act on
 */
export async function connectAdmin(options: CliOptions, env: NodeJS.ProcessEnv): Promise<AdminConnection> {
  const url = options.url ?? env.AIRLOCK_ADMIN_URL
  if (url) {
    const token = options.token ?? env.AIRLOCK_ADMIN_TOKEN
    if (!token) throw new InvalidInputError('--url needs the admin token: --token or AIRLOCK_ADMIN_TOKEN.')
    return overHttp(url, token, `admin API at ${url}`)
  }
  const dataDir = dataDirOf(options.config, env)
  const announced = readAnnouncement(join(dataDir, adminFileName))
  if (announced) return overHttp(announced.url, announced.token, `running gateway (pid ${announced.pid})`)
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
  // Passports issued here name their status lists under the gateway's public URL, as the gateway would.
  const publicUrl =
    authSettings(options.config).publicUrl ?? env.AIRLOCK_PUBLIC_URL ?? `http://127.0.0.1:${options.port}`
  return onStore(dataDir, env, publicUrl)
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

/** A running gateway: its admin API over HTTP. */
async function overHttp(url: string, token: string, via: string): Promise<AdminConnection> {
  const { createAdminClient } = await import('../server/admin/adminClient.js')
  const reach: AdminFetch = async (input, init) => {
    try {
      return await fetch(input, init)
    } catch (error) {
      throw new BaseError(
        'STORE_UNAVAILABLE',
        `Cannot reach the gateway's admin API (${(error as Error).message}).`,
        {
          metaMessages: ['Is the gateway still running? Without one, the command opens the store directly.'],
        },
      )
    }
  }
  return {
    via: `acting through the ${via}`,
    admin: createAdminClient({ url, token, fetch: reach }),
    async close() {},
  }
}

/**
 * No gateway running: open the store and serve the admin API in process over it (the same app, the same modules
 * the gateway uses), so a command does the same thing with or without a gateway.
 */
async function onStore(dataDir: string, env: NodeJS.ProcessEnv, publicUrl: string): Promise<AdminConnection> {
  const [{ openStore }, { createAdminApp }, { storeOperator }, { createAdminClient }] = await Promise.all([
    import('../store/openStore.js'),
    import('../server/admin/createAdminApp.js'),
    import('../server/admin/storeOperator.js'),
    import('../server/admin/adminClient.js'),
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
  // The app wants a token; in process, one nobody else ever sees.
  const token = randomBytes(32).toString('hex')
  const app = createAdminApp({ operator: storeOperator(store, { publicUrl }), token })
  return {
    via: env.DATABASE_URL
      ? 'no gateway announced here: acting on the PostgreSQL store directly'
      : 'no gateway running on this data directory: acting on its store directly',
    admin: createAdminClient({
      url: 'http://airlock.invalid/admin',
      token,
      fetch: (input, init) => app.request(input, init),
    }),
    close: async () => {
      await store.close()
      await lock?.release()
    },
  }
}

/** One line per order for `airlock orders`: id, status, owner, what it watches and does, budget left. */
function showOrder(o: Record<string, unknown>): string {
  const t = o.trigger as {
    kind?: string
    pair?: string
    percent?: string
    direction?: string
    level?: string
    seconds?: number
  }
  const a = o.action as { kind?: string }
  const b = o.budget as { usd?: string; left?: string } | undefined
  const when =
    t?.kind === 'move'
      ? `${t.pair} moves > ${t.percent} %`
      : t?.kind === 'cross'
        ? `${t.pair} ${t.direction} ${t.level}`
        : `every ${t?.seconds} s`
  const reason = o.statusReason ? ` (${String(o.statusReason)})` : ''
  return `${String(o.orderId)}  ${String(o.status).toUpperCase()}${reason}  ${String(o.owner)}  ${a?.kind} when ${when}  fires ${String(o.fires)}  budget $${b?.left} of $${b?.usd} left`
}
