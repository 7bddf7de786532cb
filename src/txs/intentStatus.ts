/**
 * Where an intent stands. Every move between them is one row in `intent_events`.
 *
 * - `created`: recorded; simulation, policy and approval happen here. May hold a nonce.
 * - `held`: a policy rule asked for a human; waits for `airlock approve` (→ `created`, carried on) or a denial /
 *   expiry (→ `cancelled`). Holds no nonce.
 * - `signed`: a signed transaction exists (`tx_hash`, `signed_tx`); it may or may not have reached a node.
 * - `broadcast`: a node accepted it; waiting for a receipt.
 * - `mined`: included in a block (a reverted transaction is mined too, with its receipt in the event data).
 * - `failed`: final; `error` says why.
 * - `cancelled`: final; withdrawn before signing (denied, approval refused, operator cancel).
 * - `completed`: final; an intent that needs no transaction (an EIP-712 signature) was carried out.
 * - `replaced`: another intent with the same nonce (speed-up, cancel) took its place; `replaced_by` names it.
 * - `dropped`: no longer seen by the node and not mined; re-checked, never blindly re-sent.
 *
 * @example intentStatuses.includes(intent.status)
 */
export const intentStatuses = [
  'created',
  'signed',
  'broadcast',
  'mined',
  'failed',
  'cancelled',
  'completed',
  'replaced',
  'dropped',
  'held',
] as const

/** One of {@link intentStatuses}. */
export type IntentStatus = (typeof intentStatuses)[number]

/**
 * The state machine: from each status, the statuses an intent may move to. Anything else is refused.
 *
 * | from        | to                                  | when                                                      |
 * | ----------- | ----------------------------------- | --------------------------------------------------------- |
 * | created     | signed                              | the signer signed it                                      |
 * | created     | failed, cancelled                   | refused before signing (its nonce, if any, is given back) |
 * | created     | completed                           | done without a transaction (an EIP-712 signature)         |
 * | created     | held                                | a policy rule requires approval                           |
 * | held        | created                             | approved: the gateway re-simulates and carries it on      |
 * | held        | cancelled, failed                   | denied, expired, or the re-simulation differs             |
 * | signed      | broadcast                           | a node accepted it                                        |
 * | signed      | failed                              | a node refused it for good (its nonce is given back)      |
 * | signed      | created                             | a node refused its nonce (too low, replacement            |
 * |             |                                     | underpriced): nonce and signature cleared, to sign again  |
 * | broadcast   | mined, failed, replaced, dropped    | the tracker saw a receipt, a definitive failure, a        |
 * |             |                                     | replacement, or the transaction vanished                  |
 * | dropped     | broadcast, mined, failed, replaced  | re-checked: re-sent (same bytes), found, or given up      |
 * | mined       | broadcast                           | a reorg removed its block: pending again, re-checked      |
 * | replaced    | mined                               | the original was mined after all                          |
 * | failed      | —                                   | final                                                     |
 * | cancelled   | —                                   | final                                                     |
 * | completed   | —                                   | final                                                     |
 *
 * `signed → failed` is for a node's refusal only. After a crash, a `signed` intent is re-broadcast with its
 * stored `signed_tx` (same bytes, same hash), never failed blind: it may already be in a mempool.
 *
 * @example intentTransitions.broadcast // ['mined', 'failed', 'replaced', 'dropped']
 */
export const intentTransitions: { readonly [S in IntentStatus]: readonly IntentStatus[] } = {
  created: ['signed', 'failed', 'cancelled', 'completed', 'held'],
  held: ['created', 'cancelled', 'failed'],
  signed: ['broadcast', 'failed', 'created'],
  broadcast: ['mined', 'failed', 'replaced', 'dropped'],
  dropped: ['broadcast', 'mined', 'failed', 'replaced'],
  mined: ['broadcast'],
  replaced: ['mined'],
  failed: [],
  cancelled: [],
  completed: [],
}

/**
 * Statuses an intent may still leave by itself: what a restart reconciles.
 *
 * @example unfinishedStatuses.includes('signed') // true
 */
export const unfinishedStatuses: readonly IntentStatus[] = ['created', 'signed', 'broadcast', 'dropped']

/**
 * Whether the state machine allows `from → to`.
 *
 * @example canTransition('broadcast', 'mined') // true
 */
export function canTransition(from: IntentStatus, to: IntentStatus): boolean {
  return intentTransitions[from].includes(to)
}

/**
 * Whether `value` names a status.
 *
 * @example isIntentStatus('mined') // true
 */
export function isIntentStatus(value: unknown): value is IntentStatus {
  return typeof value === 'string' && (intentStatuses as readonly string[]).includes(value)
}
