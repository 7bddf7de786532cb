import type { ColumnType } from 'kysely'

/** A JSON value as it comes out of a `jsonb` column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object as it comes out of a `jsonb` column. */
export type JsonObject = { [key: string]: JsonValue }

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

/** Every table of the store, as Kysely sees it. Later issues add policy, approvals and audit here. */
export type Database = {
  intents: IntentsTable
  intent_events: IntentEventsTable
  nonces: NoncesTable
  nonce_gaps: NonceGapsTable
}
