import { createAuditLog } from '../../audit/auditLog.js'
import { BaseError } from '../../errors/index.js'
import { createPassportRegistry } from '../../identity/passportRegistry.js'
import { paymentsMetrics, paymentsReport } from '../../payments/report.js'
import { listBreaches } from '../../pipeline/settle.js'
import { createAddressBook } from '../../policy/addressBook.js'
import { createApprovals } from '../../policy/approvals.js'
import { createKillSwitch } from '../../policy/killSwitch.js'
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
    maintain: async () => {},
    breaches: () => listBreaches(store),
  }
}
