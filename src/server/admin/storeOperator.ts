import { createAuditLog } from '../../audit/auditLog.js'
import { listBreaches } from '../../pipeline/settle.js'
import { createAddressBook } from '../../policy/addressBook.js'
import { createApprovals } from '../../policy/approvals.js'
import { createKillSwitch } from '../../policy/killSwitch.js'
import type { Store } from '../../store/openStore.js'
import type { AdminOperator } from './createAdminApp.js'

/**
 * The admin API's levers over a store, with no gateway around it (the CLI when none runs): the same modules the
 * gateway uses, writing the same audit entries. There is no policy here, and `maintain` does nothing: the next
 * gateway to start on the store carries decisions out.
 *
 * @example const app = createAdminApp({ operator: storeOperator(store), token })
 */
export function storeOperator(store: Store): AdminOperator {
  const audit = createAuditLog(store)
  return {
    audit,
    killSwitch: createKillSwitch(store, { audit }),
    approvals: createApprovals(store, { audit }),
    addressBook: createAddressBook(store, { audit }),
    maintain: async () => {},
    breaches: () => listBreaches(store),
  }
}
