import type { JsonObject, JsonValue } from './json.js'

/**
 * A draft kind (DESIGN §1): what a write is — an EVM transaction, EIP-712 typed data, later a Solana transaction or
 * an x402 payment — brings its own prepare, sign and deliver; the executor around it (journal, guard, approval,
 * kill switch, audit) is shared. The types the executor works with (its intent, chain, guard question and answer)
 * are parameters, so this file stays at the bottom of the import graph and a kind can live in any folder.
 */
export type DraftEnvironment = {
  /** The journal's intent. */
  intent: { id: string; chainId: number; wallet: string; operation: string; tx: JsonObject | null }
  /** A resolved chain. */
  chain: { id: number; name: string }
  /** What the guard is asked about a draft, less what the executor adds (chain, wallet, caller). */
  check: unknown
  /** The caller's options for the write (mode, wait, idempotency key). */
  options: unknown
  /** A write's answer. */
  result: unknown
  /** What the guard decided about a draft (its simulation, decision and limits). */
  outcome: unknown
}

/** What was decided for a draft, kept with what is signed (the audit and the settlement read it). */
export type DraftEvidence = {
  /** The guard's decision and its evidence, as JSON. */
  decision?: JsonObject | undefined
  /** The effects the guard checked (simulation deltas, approvals), which the settlement compares with a receipt. */
  checked?: JsonObject | undefined
  /** Who approved it, when a human did. */
  approvedBy?: string | undefined
}

/** A draft ready for the guard: what to check, what to show, and what an approval is bound to. */
export type PreparedDraft<E extends DraftEnvironment> = {
  chain: E['chain']
  /** One sentence in the gateway's words (never the agent's). */
  summary: string
  /** Resolved facts as the intent keeps and shows them. */
  details: Record<string, unknown>
  check: E['check']
  /**
   * What an approval is bound to besides the simulated effects (a call, a typed-data message), and what a held
   * intent keeps to be carried on once approved.
   */
  bound: { call?: { to: `0x${string}`; data: `0x${string}`; value: bigint } | undefined; typedData?: unknown }
}

/**
 * One kind of draft. The executor records the intent, asks the guard, holds it for a human or reserves its limits,
 * and then hands it to `deliver`; after an approval it `restore`s it and, when `recheckOnResume`, asks the guard
 * again before delivering.
 */
export type DraftKind<
  E extends DraftEnvironment,
  Request,
  Prepared extends PreparedDraft<E> = PreparedDraft<E>,
> = {
  readonly name: string
  /** Whether an approved intent is simulated and checked again (its effects must be the ones approved). */
  readonly recheckOnResume: boolean
  /** Whether a recorded intent is this kind's (to carry it on after an approval). */
  carries(intent: E['intent']): boolean
  /** The chain, the operation and the request as the journal records them (an idempotency key stands for these). */
  identify(request: Request): { chain: E['chain']; operation: string; record: JsonValue }
  /**
   * The wallet that signs this kind's drafts, when it is not the gateway's EVM wallet (a Solana transaction is
   * signed by the Solana wallet). Throws when that wallet is not configured.
   */
  wallet?(): `0x${string}`
  /** Whether the guard checks this write (an unsigned hand-off signs nothing, so the external wallet guards it). */
  guarded(options: E['options']): boolean
  /** Builds the draft for the wallet: reads the chain, records nothing. */
  prepare(request: Request, wallet: `0x${string}`): Promise<Prepared>
  /** The draft of a held intent again, from what the intent kept, to carry it on once approved. */
  restore(intent: E['intent'], wallet: `0x${string}`): Promise<Prepared>
  /**
   * Throws what must stop an allowed draft before signing (e.g. its fees could not be estimated), and binds what
   * the guard decided to what is signed where the kind can (an EVM transaction's on-chain post-conditions).
   * `outcome` is absent when the guard did not check the draft (unsigned mode).
   */
  ready(prepared: Prepared, outcome?: E['outcome']): void
  /** Signs and delivers; the intent as it then stands, and the answer when the kind has a special one. */
  deliver(
    intent: E['intent'],
    prepared: Prepared,
    evidence: DraftEvidence,
    options: E['options'],
  ): Promise<{ intent: E['intent']; answer?: E['result'] | undefined }>
  /** The caller's answer for an intent of this kind (after delivery, or for a replayed idempotency key). */
  answer(intent: E['intent'], options: E['options']): Promise<E['result']>
}
