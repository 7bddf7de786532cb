import type { Executor } from './executor.js'
import type { WriteParts } from './writeParts.js'

/** Housekeeping of held intents, shared by replicas. */
export type ApprovalRunner = {
  /**
   * Expires approvals past their time and cancels their intents, cancels denied ones, carries on approved ones
   * (checked again first, by the executor), and settles limit reservations of intents that ended. Runs on a timer
   * and after each approval.
   */
  maintain(): Promise<{ resumed: number; expired: number }>
}

/**
 * The approval runner over the write path's parts and the executor that carries approved intents on.
 *
 * @example const runner = createApprovalRunner(parts, executor); setInterval(() => runner.maintain(), 1000)
 */
export function createApprovalRunner(
  parts: Pick<WriteParts, 'journal' | 'guard'>,
  executor: Pick<Executor, 'resume'>,
): ApprovalRunner {
  const { journal, guard } = parts
  return {
    async maintain() {
      const expired = await guard.parts.approvals.expireDue()
      for (const a of expired) {
        const intent = await journal.get(a.intentId)
        if (intent.status === 'held')
          await journal
            .transition(intent.id, 'held', 'cancelled', {
              error: {
                code: 'APPROVAL_REQUIRED',
                message: 'No one approved it in time; the approval expired.',
              },
            })
            .catch(() => {})
      }
      const denied = await guard.parts.approvals.deniedToCancel()
      for (const a of denied) {
        const intent = await journal.get(a.intentId)
        if (intent.status === 'held')
          await journal
            .transition(intent.id, 'held', 'cancelled', {
              error: {
                code: 'POLICY_DENIED',
                message: `Denied by ${a.decidedBy ?? 'the operator'}${a.reason ? `: ${a.reason}` : ''}.`,
              },
            })
            .catch(() => {})
      }
      const approved = await guard.parts.approvals.approvedToResume()
      for (const a of approved) await executor.resume(a)
      await guard.parts.settleLimits()
      return { resumed: approved.length, expired: expired.length }
    },
  }
}
