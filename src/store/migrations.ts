import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely'

// One schema, one migration list, both drivers (DESIGN §5). Migrations are append-only: a released one is never
// edited; a change is a new entry. Names sort in the order they run. Later issues add policy limits and
// reservations, approvals, the kill switch and the hash-chained audit log as 0002_…, 0003_….

/** Statuses the `intents.status` check constraint accepts; the state machine lives in `src/txs/intentStatus.ts`. */
const statuses = [
  'created',
  'signed',
  'broadcast',
  'mined',
  'failed',
  'cancelled',
  'completed',
  'replaced',
  'dropped',
]

async function run(db: Kysely<unknown>, statements: readonly string[]): Promise<void> {
  // One statement per query: PGlite's extended protocol takes a single statement at a time.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

const m0001: Migration = {
  async up(db) {
    await run(db, [
      `create table intents (
        id text primary key,
        idempotency_key text unique,
        chain_id integer not null,
        wallet text not null,
        operation text not null,
        status text not null check (status in (${statuses.map((s) => `'${s}'`).join(', ')})),
        request jsonb not null,
        tx jsonb,
        nonce bigint check (nonce >= 0),
        replaces text references intents (id),
        tx_hash text,
        signed_tx text,
        replaced_by text references intents (id),
        error jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
      // The database itself refuses a second live holder of a nonce; only a replacement (speed-up, cancel)
      // shares one, and it names the intent it replaces.
      `create unique index intents_nonce_unique on intents (chain_id, wallet, nonce)
        where nonce is not null and replaces is null`,
      `create index intents_unfinished on intents (created_at)
        where status in ('created', 'signed', 'broadcast', 'dropped')`,
      'create index intents_wallet on intents (wallet, created_at desc)',
      `create table intent_events (
        intent_id text not null references intents (id),
        seq integer not null,
        from_status text,
        to_status text not null,
        data jsonb,
        at timestamptz not null default now(),
        primary key (intent_id, seq)
      )`,
      `create function airlock_append_only() returns trigger language plpgsql as $$
        begin
          raise exception '% is append-only', tg_table_name using errcode = 'insufficient_privilege';
        end
      $$`,
      `create trigger intent_events_append_only before update or delete on intent_events
        for each row execute function airlock_append_only()`,
      `create table nonces (
        chain_id integer not null,
        wallet text not null,
        next_nonce bigint not null check (next_nonce >= 0),
        updated_at timestamptz not null default now(),
        primary key (chain_id, wallet)
      )`,
      `create table nonce_gaps (
        chain_id integer not null,
        wallet text not null,
        nonce bigint not null check (nonce >= 0),
        released_by text references intents (id),
        released_at timestamptz not null default now(),
        primary key (chain_id, wallet, nonce)
      )`,
    ])
  },
}

/**
 * Every migration, by name, in the order they run.
 *
 * @example Object.keys(migrations) // ['0001_intents_and_nonces']
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_intents_and_nonces': m0001,
}

/**
 * Hands Kysely's Migrator the in-code list (no files to find at run time, so a bundled build works).
 *
 * @example await new Migrator({ db, provider: migrationProvider }).migrateToLatest()
 */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...migrations }
  },
}
