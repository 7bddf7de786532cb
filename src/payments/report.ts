import { formatUnits } from 'viem'
import type { Store } from '../store/openStore.js'

/** One line of the report: a key, how many payments, and their sum per asset (base units and display units). */
export type ReportLine = {
  key: string
  count: number
  amounts: { network: string; asset: string; raw: string; formatted: string }[]
}

/** The gateway's "agentic GDP" (DESIGN §9): what it earned per tool, payee and agent, and what agents spent. */
export type PaymentsReport = {
  since: string
  until: string
  revenue: {
    total: ReportLine
    byTool: ReportLine[]
    byAgent: ReportLine[]
    byDay: ReportLine[]
    /** Per payee: accrued shares, how much of them is paid out (or kept: the charged wallet's own), and unpaid. */
    byPayee: (ReportLine & { paid: ReportLine['amounts']; unpaid: ReportLine['amounts'] })[]
  }
  spending: {
    total: ReportLine
    byAgent: ReportLine[]
    byHost: ReportLine[]
    byPayee: ReportLine[]
    byDay: ReportLine[]
  }
}

type Row = { key: string[]; network: string; asset: string; decimals: number; raw: bigint }

/**
 * The payments report over the last `days` days (UTC days): revenue from the charge ledger (tools priced with
 * x402) and its shares, spending from the `pay` intents the gateway completed (fetch_with_payment). Amounts are
 * summed per asset, never converted.
 *
 * @example const report = await paymentsReport(store, { days: 7 })
 */
export async function paymentsReport(
  store: Store,
  options: { days?: number | undefined } = {},
): Promise<PaymentsReport> {
  const days = Math.min(Math.max(Math.trunc(options.days ?? 30), 1), 366)
  const until = new Date()
  const since = new Date(
    Date.UTC(until.getUTCFullYear(), until.getUTCMonth(), until.getUTCDate() - (days - 1)),
  )
  const charges = await store.db
    .selectFrom('payment_charges')
    .select(['id', 'tool', 'actor', 'network', 'asset', 'decimals', 'amount', 'created_at'])
    .where('created_at', '>=', since)
    .execute()
  const shares = await store.db
    .selectFrom('payment_shares as s')
    .innerJoin('payment_charges as c', 'c.id', 's.charge_id')
    .leftJoin('payment_payouts as p', 'p.id', 's.payout_id')
    .select([
      's.payee',
      's.amount',
      'c.network',
      'c.asset',
      'c.decimals',
      'c.pay_to',
      'p.status as payoutStatus',
    ])
    .where('c.created_at', '>=', since)
    .execute()
  const pays = await store.db
    .selectFrom('intents')
    .select(['agent', 'tx', 'created_at'])
    .where('operation', '=', 'pay')
    .where('status', '=', 'completed')
    .where('created_at', '>=', since)
    .execute()

  const day = (d: Date | string) => new Date(d).toISOString().slice(0, 10)
  const charged: Row[] = charges.map((c) => ({
    key: [c.tool, c.actor, day(c.created_at)],
    network: c.network,
    asset: c.asset,
    decimals: c.decimals,
    raw: BigInt(c.amount),
  }))
  const spent: Row[] = []
  for (const p of pays) {
    const details = ((p.tx as { details?: Record<string, unknown> } | null)?.details ?? {}) as {
      host?: string
      payee?: string
      token?: string
      amount?: { raw?: string; decimals?: number }
      payment?: { payload?: { accepted?: { network?: string } } }
    }
    const raw = details.amount?.raw
    if (!raw || !/^\d+$/.test(raw) || !details.token) continue
    const decimals = typeof details.amount?.decimals === 'number' ? details.amount.decimals : 0
    spent.push({
      key: [
        p.agent ?? 'operator:local',
        String(details.host ?? ''),
        String(details.payee ?? '').toLowerCase(),
        day(p.created_at),
      ],
      network: details.payment?.payload?.accepted?.network ?? '',
      asset: details.token.toLowerCase(),
      decimals,
      raw: BigInt(raw),
    })
  }
  const payees = new Map<string, { all: Row[]; paid: Row[]; unpaid: Row[] }>()
  for (const s of shares) {
    const row: Row = {
      key: [s.payee],
      network: s.network,
      asset: s.asset,
      decimals: s.decimals,
      raw: BigInt(s.amount),
    }
    const entry = payees.get(s.payee) ?? { all: [], paid: [], unpaid: [] }
    entry.all.push(row)
    // The charged wallet's own share is where it belongs already: kept, not owed.
    ;(s.payoutStatus === 'paid' || s.payee === s.pay_to ? entry.paid : entry.unpaid).push(row)
    payees.set(s.payee, entry)
  }

  return {
    since: since.toISOString(),
    until: until.toISOString(),
    revenue: {
      total: line('total', charged),
      byTool: group(charged, 0),
      byAgent: group(charged, 1),
      byDay: group(charged, 2),
      byPayee: [...payees].map(([payee, rows]) => ({
        ...line(payee, rows.all),
        paid: line(payee, rows.paid).amounts,
        unpaid: line(payee, rows.unpaid).amounts,
      })),
    },
    spending: {
      total: line('total', spent),
      byAgent: group(spent, 0),
      byHost: group(spent, 1),
      byPayee: group(spent, 2),
      byDay: group(spent, 3),
    },
  }
}

/**
 * The report's totals as Prometheus text (counters over the report's window): revenue per tool and asset, spending
 * per agent, host and asset, unpaid shares per payee.
 *
 * @example const text = paymentsMetrics(await paymentsReport(store))
 */
export function paymentsMetrics(report: PaymentsReport): string {
  const out: string[] = []
  const metric = (name: string, help: string, lines: ReportLine[], label: string, counts = true) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`)
    for (const l of lines)
      for (const a of l.amounts)
        out.push(
          `${name}{${label}="${esc(l.key)}",network="${esc(a.network)}",asset="${esc(a.asset)}"} ${a.formatted}`,
        )
    if (counts) {
      out.push(`# HELP ${name}_count Payments counted in ${name}.`, `# TYPE ${name}_count gauge`)
      for (const l of lines) out.push(`${name}_count{${label}="${esc(l.key)}"} ${l.count}`)
    }
  }
  metric(
    'airlock_revenue',
    `Revenue from priced tools since ${report.since}, per tool (display units).`,
    report.revenue.byTool,
    'tool',
  )
  metric(
    'airlock_revenue_by_agent',
    'Revenue per paying caller (display units).',
    report.revenue.byAgent,
    'agent',
  )
  metric(
    'airlock_spending',
    `What agents paid through fetch_with_payment since ${report.since}, per agent.`,
    report.spending.byAgent,
    'agent',
  )
  metric(
    'airlock_spending_by_host',
    'What agents paid, per host bought from.',
    report.spending.byHost,
    'host',
  )
  metric(
    'airlock_payee_unpaid',
    'Revenue shares accrued and not yet paid out, per payee.',
    report.revenue.byPayee.map((p) => ({ key: p.key, count: 0, amounts: p.unpaid })),
    'payee',
    false,
  )
  return `${out.join('\n')}\n`
}

function group(rows: Row[], index: number): ReportLine[] {
  const by = new Map<string, Row[]>()
  for (const r of rows) {
    const key = r.key[index] ?? ''
    const list = by.get(key)
    if (list) list.push(r)
    else by.set(key, [r])
  }
  return [...by]
    .map(([key, rs]) => line(key, rs))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

function line(key: string, rows: Row[]): ReportLine {
  const sums = new Map<string, { network: string; asset: string; decimals: number; raw: bigint }>()
  for (const r of rows) {
    const k = `${r.network}/${r.asset}`
    const s = sums.get(k) ?? { network: r.network, asset: r.asset, decimals: r.decimals, raw: 0n }
    s.raw += r.raw
    sums.set(k, s)
  }
  return {
    key,
    count: rows.length,
    amounts: [...sums.values()].map((s) => ({
      network: s.network,
      asset: s.asset,
      raw: s.raw.toString(),
      formatted: formatUnits(s.raw, s.decimals),
    })),
  }
}

function esc(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)).slice(0, 200)
}
