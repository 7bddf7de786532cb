import { createAuditLog } from '../../audit/auditLog.js'
import { localOperator } from '../../context/caller.js'
import { BaseError } from '../../errors/index.js'
import { createPassportRegistry } from '../../identity/passportRegistry.js'
import { createOrders } from '../../orders/orders.js'
import { paymentsMetrics, paymentsReport } from '../../payments/report.js'
import { listBreaches } from '../../pipeline/settle.js'
import { createAddressBook } from '../../policy/addressBook.js'
import { createApprovals } from '../../policy/approvals.js'
import { createKillSwitch } from '../../policy/killSwitch.js'
import { createLimitLedger } from '../../policy/limits.js'
import type { Store } from '../../store/openStore.js'
import type { AdminOperator } from './createAdminApp.js'

/** Options of {@link storeOperator}. */
export type StoreOperatorOptions = {
  /**
   * The gateway's public base URL, under which passports issued here name their status lists. Default:
   * `AIRLOCK_PUBLIC_URL`, else `http://127.0.0.1:8402`.
   */
  publicUrl?: string | undefined
}

/**
 * The admin API's levers over a store, with no gateway around it (the CLI when none runs): the same modules the
 * gateway uses, writing the same audit entries. There is no policy here, and `maintain` does nothing: the next
 * gateway to start on the store carries decisions out.
 *
 * @example const app = createAdminApp({ operator: storeOperator(store), token })
 */
export function storeOperator(store: Store, options: StoreOperatorOptions = {}): AdminOperator {
  const audit = createAuditLog(store)
  const publicUrl = (options.publicUrl ?? process.env.AIRLOCK_PUBLIC_URL ?? 'http://127.0.0.1:8402').replace(
    /\/+$/,
    '',
  )
  return {
    audit,
    killSwitch: createKillSwitch(store, { audit }),
    approvals: createApprovals(store, { audit }),
    addressBook: createAddressBook(store, { audit }),
    passports: createPassportRegistry(store, { audit, baseUrl: () => publicUrl }),
    payments: {
      report: (o) => paymentsReport(store, o),
      metrics: async () => paymentsMetrics(await paymentsReport(store)),
      payout: async () => {
        throw new BaseError(
          'WALLET_NOT_CONFIGURED',
          'No gateway is running: payouts are made by a running gateway.',
          {
            metaMessages: [
              'Start the gateway (it pays as its own wallet, through its policy), then run this again.',
            ],
          },
        )
      },
    },
    orders: storeOrders(store, audit),
    maintain: async () => {},
    breaches: () => listBreaches(store),
  }
}

/**
 * The operator's order levers over a store with no gateway: list, show, pause, resume and cancel (the next gateway
 * to start evaluates and fires). Nothing here reads a chain.
 */
function storeOrders(
  store: Store,
  audit: ReturnType<typeof createAuditLog>,
): NonNullable<AdminOperator['orders']> {
  const offline = () => {
    throw new BaseError(
      'PRECONDITION_FAILED',
      'No gateway is running: orders are evaluated by a running gateway.',
    )
  }
  const orders = createOrders({
    store,
    chains: { resolve: offline },
    catalog: () => undefined,
    call: offline,
    audit,
    killSwitch: createKillSwitch(store, { audit }),
    limits: createLimitLedger(store),
    wallet: () => undefined,
    router: () => undefined,
  })
  return {
    list: async (filter) =>
      Promise.all((await orders.orders.list({ ...filter, limit: 100 })).map((o) => orders.describe(o))),
    get: async (id) => orders.describe(await orders.own(id, localOperator), true),
    pause: async (id, by, reason) => orders.describe(await orders.pause(id, by, reason)),
    resume: async (id, by) => orders.describe(await orders.resume(id, by)),
    cancel: async (id, by, reason) =>
      orders.describe(await orders.cancel(id, { kind: 'operator', id: by }, reason)),
  }
}
