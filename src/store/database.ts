import type { ColumnType, Generated } from 'kysely'

import type { JsonObject, JsonValue } from '../context/json.js'

/** A JSON value as it comes out of a `jsonb` column, and a JSON object (defined once, in src/context/json.ts). */
export type { JsonObject, JsonValue }

/**
 * A `jsonb` column: read as parsed JSON, written as JSON text. Writing text (never a JS object) matters: `pg`
 * turns a JS array into a PostgreSQL array literal, PGlite into JSON, so both drivers are given the same string.
 */
export type JsonColumn<T extends JsonValue = JsonValue> = ColumnType<T, string, string>

/** A `timestamptz` column the database fills (`default now()`), read as a `Date`. */
export type TimestampColumn = ColumnType<Date, never, Date | string>

/**
 * One write the gateway means to make (DESIGN §1): recorded before anything is signed, moved through the state
 * machine in `src/txs/intentStatus.ts`. `nonce` is handed out by the nonce manager and cleared again when the
 * intent gives it back (failed before broadcast, or re-queued after a nonce error).
 */
export type IntentsTable = {
  id: string
  idempotency_key: string | null
  chain_id: number
  wallet: string
  operation: string
  status: string
  /** The tool input that asked for this write. */
  request: JsonColumn
  /** The unsigned transaction fields, once built. */
  tx: ColumnType<JsonObject | null, string | null | undefined, string | null>
  /** A bigint column, read as a number (nonces stay far below 2^53). */
  nonce: ColumnType<number | null, number | null | undefined, number | null>
  /** The intent this one replaces (speed-up or cancel): it shares that intent's nonce. */
  replaces: ColumnType<string | null, string | null | undefined, string | null>
  tx_hash: ColumnType<string | null, string | null | undefined, string | null>
  /** The signed raw transaction, kept so a restart re-broadcasts the same bytes instead of signing anew. */
  signed_tx: ColumnType<string | null, string | null | undefined, string | null>
  replaced_by: ColumnType<string | null, string | null | undefined, string | null>
  error: ColumnType<JsonObject | null, string | null | undefined, string | null>
  created_at: TimestampColumn
  updated_at: TimestampColumn
  /** Who asked for it, as one string (`operator:local`); null only on rows written without the journal. */
  agent: ColumnType<string | null, string | null | undefined, string | null>
  /** What started it: `tool`, `order` or `payout`. */
  origin: ColumnType<string | null, string | null | undefined, string | null>
  /** The whole caller (a `Caller`), so a held intent resumes as the one who asked. */
  caller: ColumnType<JsonObject | null, string | null | undefined, string | null>
}

/** One mined intent's settlement on what its receipt showed (see src/pipeline/settle.ts). */
export type SettlementsTable = {
  intent_id: string
  outcome: ColumnType<JsonObject, string, string>
  breach: boolean
  reported: boolean
  created_at: TimestampColumn
}

/** Append-only history of an intent: one row per status change (seq 1 is the creation). */
export type IntentEventsTable = {
  intent_id: string
  seq: number
  /** `null` for the creation event. */
  from_status: string | null
  to_status: string
  data: ColumnType<JsonObject | null, string | null | undefined, never>
  at: TimestampColumn
}

/** The next nonce the database hands out per (chain, wallet). */
export type NoncesTable = {
  chain_id: number
  wallet: string
  next_nonce: number
  updated_at: TimestampColumn
}

/** Nonces handed out whose intent failed before broadcast: handed out again before any new nonce. */
export type NonceGapsTable = {
  chain_id: number
  wallet: string
  nonce: number
  /** The intent that gave it back, when known. */
  released_by: string | null
  released_at: TimestampColumn
}

/** One row per limit key; reservations for a key lock its row (`select … for update`), so they serialize. */
export type LimitLocksTable = { limit_key: string }

/**
 * What each intent takes from each limit (`<rule id>/<limit id>/<chain id>/<wallet>[/<token>]`). `amount` is in
 * the limit's unit (token base units, micro-USD, or 1 for `count`), a numeric read as a decimal string.
 * `reserved` counts until the intent ends: `committed` when mined, `released` when it failed or was cancelled.
 */
export type LimitUsageTable = {
  limit_key: string
  intent_id: string
  amount: ColumnType<string, string, string>
  state: string
  created_at: TimestampColumn
  updated_at: TimestampColumn
}

/** A held intent waiting for a human: bound to the intent's hash, shows the gateway's own simulation. */
export type ApprovalsTable = {
  intent_id: string
  intent_hash: string
  /** `pending`, `approved` (the gateway continues it), `denied`, `expired`. */
  status: string
  /** What the approver sees: summary, simulation, the rules and reasons that held it. */
  request: JsonColumn<JsonObject>
  expires_at: ColumnType<Date, Date | string, Date | string>
  decided_by: ColumnType<string | null, string | null | undefined, string | null>
  reason: ColumnType<string | null, string | null | undefined, string | null>
  decided_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: TimestampColumn
}

/** The kill switch: one row (`id = 1`). Engaged → nothing is signed or sent. */
export type KillSwitchTable = {
  id: number
  engaged: boolean
  reason: ColumnType<string | null, string | null | undefined, string | null>
  actor: ColumnType<string | null, string | null | undefined, string | null>
  updated_at: TimestampColumn
}

/** Operator-added addresses (CLI / admin API only, never tool output). `address` is EIP-55. */
export type AddressBookTable = {
  address: string
  label: string
  note: ColumnType<string | null, string | null | undefined, string | null>
  added_by: string
  created_at: TimestampColumn
}

/**
 * The audit log: append-only (a trigger refuses update and delete), each entry hashing the one before.
 * `at` and `data` are stored as the exact text that was hashed (ISO time, canonical JSON), so a verifier
 * recomputes the same bytes on either driver.
 */
export type AuditLogTable = {
  seq: number
  at: string
  kind: string
  actor: string | null
  intent_id: string | null
  data: string
  prev_hash: string
  hash: string
  recorded_at: TimestampColumn
}

/** The audit chain's head (one row): appends lock it, so replicas extend one chain in one order. */
export type AuditHeadTable = { id: number; seq: number; hash: string }

/** Small gateway-wide facts shared by replicas, e.g. `tools.manifest` (the pinned tool definitions). */
export type SettingsTable = { key: string; value: JsonColumn; updated_at: TimestampColumn }

/**
 * Who runs a service that only one replica may run (see src/server/services.ts): taken and renewed with one
 * conditional upsert, lapsed when `expires_at` (database clock) has passed, released by its holder on stop.
 */
export type ServiceLeasesTable = {
  name: string
  /** The replica holding it (a random id per gateway process). */
  holder: string
  expires_at: ColumnType<Date, Date | string, Date | string>
  /** When the current holder took it (kept across its renewals). */
  acquired_at: TimestampColumn
}

/**
 * Contracts stopped one by one (the kill switch for a single contract on a single chain): while a row exists, no
 * write whose counterparties include `address` on `chain_id` is signed. `address` is lowercase hex.
 */
export type StoppedContractsTable = {
  chain_id: number
  address: string
  reason: string
  /** Who stopped it (`airlock (automatic)` when the gateway did). */
  actor: string
  stopped_at: TimestampColumn
}

/** A developer identity the operator registered after it signed a challenge (DESIGN §7, step 1). */
export type DevelopersTable = {
  did: string
  /** `key` or `web`. */
  method: string
  label: string | null
  registered_by: string
  registered_at: TimestampColumn
}

/** A challenge handed to a developer to sign: used once, within its time. */
export type DeveloperChallengesTable = {
  challenge: string
  did: string
  expires_at: Date | string
}

/**
 * An agent's passport (DESIGN §7, steps 4 and 5): one row per agent key. `status_index` is the agent's bit in the
 * served status lists; `id` is the credential now in force (an older one for the same key is refused).
 */
export type PassportsTable = {
  agent: string
  id: string
  status_index: ColumnType<number, number | undefined, never>
  developer: string
  user_address: string
  code_hash: string
  grant: JsonColumn
  grant_hash: string
  /** `active`, `suspended` or `revoked` (final). */
  status: ColumnType<string, string | undefined, string>
  reason: string | null
  valid_until: Date | string
  issued_at: TimestampColumn
  updated_at: TimestampColumn
}

/** A request-signature nonce (or token-assertion id) seen, kept until the signature it came with expires. */
export type RequestNoncesTable = {
  keyid: string
  nonce: string
  expires_at: Date | string
}

/** An agent stopped on its own (`airlock kill --agent`, or the automatic kill switch): none of its writes is signed. */
export type StoppedAgentsTable = {
  agent: string
  reason: string
  actor: string
  stopped_at: TimestampColumn
}

/** A payment authorization taken for a paid tool call (DESIGN §9): unique per network, asset and nonce. */
export type PaymentClaimsTable = {
  network: string
  asset: string
  nonce: string
  payer: string
  tool: string
  state: ColumnType<string, string | undefined, string>
  created_at: TimestampColumn
}

/** One settled charge for a tool call: what was paid, by whom, in which transaction. */
export type PaymentChargesTable = {
  id: string
  tool: string
  /** The caller (`agent:did:key:…`, `operator:local`). */
  actor: string
  payer: string
  /** The wallet the charge was paid to (its own share stays there; payouts come only from it). */
  pay_to: string
  network: string
  asset: string
  decimals: number
  amount: ColumnType<string, string, string>
  transaction: string
  created_at: TimestampColumn
}

/** A payee's share of a charge (base units); `payout_id` once a payout took it. */
export type PaymentSharesTable = {
  charge_id: string
  payee: string
  amount: ColumnType<string, string, string>
  payout_id: string | null
}

/** One payout of accrued shares to one payee: an ordinary guarded transfer (`intent_id`). */
export type PaymentPayoutsTable = {
  id: string
  payee: string
  network: string
  asset: string
  amount: ColumnType<string, string, string>
  /** `pending` (its transfer under way), `paid`, `failed` (its shares released). */
  status: ColumnType<string, string | undefined, string>
  intent_id: string | null
  error: string | null
  created_at: TimestampColumn
  updated_at: TimestampColumn
}

/** A standing order (DESIGN §10): who created it, what it watches and does, where its trigger stands, its budget. */
export type StandingOrdersTable = {
  id: string
  /** The creator as an actor (`agent:did:key:…`, `operator:local`). */
  owner: string
  caller: ColumnType<unknown, string, string>
  chain_id: number
  spec: ColumnType<unknown, string, string>
  status: ColumnType<string, string | undefined, string>
  status_reason: string | null
  state: ColumnType<unknown, string, string>
  /** micro-USD. */
  budget: ColumnType<string, string, string>
  spent: ColumnType<string, string | undefined, string>
  reserved: ColumnType<string, string | undefined, string>
  fires: ColumnType<number, number | undefined, number>
  version: ColumnType<number, number | undefined, number>
  intent_id: string
  expires_at: ColumnType<Date, Date | string, Date | string>
  created_at: TimestampColumn
  updated_at: TimestampColumn
}

/** One fire of a standing order: the evaluation that fired it, its plan and its actions' intents. */
export type StandingOrderFiresTable = {
  order_id: string
  seq: number
  status: ColumnType<string, string | undefined, string>
  block_number: ColumnType<string, string, string>
  block_time: ColumnType<string, string, string>
  price: string | null
  plan: ColumnType<unknown, string | null | undefined, string | null>
  actions: ColumnType<unknown, string | undefined, string>
  error: string | null
  created_at: TimestampColumn
  updated_at: TimestampColumn
}

/** An evaluation of a standing order that changed its state (armed, skipped and why, fired, paused, …). */
export type StandingOrderEventsTable = {
  id: Generated<string>
  order_id: string
  kind: string
  reason: string | null
  block_number: ColumnType<string | null, string | null | undefined, string | null>
  detail: ColumnType<unknown, string | null | undefined, string | null>
  created_at: TimestampColumn
}

/** Every table of the store, as Kysely sees it. */
export type Database = {
  intents: IntentsTable
  intent_events: IntentEventsTable
  nonces: NoncesTable
  nonce_gaps: NonceGapsTable
  limit_locks: LimitLocksTable
  limit_usage: LimitUsageTable
  approvals: ApprovalsTable
  kill_switch: KillSwitchTable
  address_book: AddressBookTable
  audit_log: AuditLogTable
  audit_head: AuditHeadTable
  settings: SettingsTable
  settlements: SettlementsTable
  service_leases: ServiceLeasesTable
  stopped_contracts: StoppedContractsTable
  developers: DevelopersTable
  developer_challenges: DeveloperChallengesTable
  passports: PassportsTable
  request_nonces: RequestNoncesTable
  stopped_agents: StoppedAgentsTable
  payment_claims: PaymentClaimsTable
  payment_charges: PaymentChargesTable
  payment_shares: PaymentSharesTable
  payment_payouts: PaymentPayoutsTable
  standing_orders: StandingOrdersTable
  standing_order_fires: StandingOrderFiresTable
  standing_order_events: StandingOrderEventsTable
}
