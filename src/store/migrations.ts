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

// Guardrails (the policy issue): the `held` status (waiting for a human), limit reservations, approvals, the kill
// switch, the address book and the hash-chained audit log. Everything that must hold across replicas is decided
// here, in the database: reservations serialize on a `limit_locks` row, the audit chain on its `audit_head` row.
const m0002: Migration = {
  async up(db) {
    await run(db, [
      'alter table intents drop constraint intents_status_check',
      `alter table intents add constraint intents_status_check
        check (status in (${[...statuses, 'held'].map((s) => `'${s}'`).join(', ')}))`,
      'create table limit_locks (limit_key text primary key)',
      `create table limit_usage (
        limit_key text not null references limit_locks (limit_key),
        intent_id text not null references intents (id),
        amount numeric(78, 0) not null check (amount >= 0),
        state text not null check (state in ('reserved', 'committed', 'released')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (limit_key, intent_id)
      )`,
      `create index limit_usage_live on limit_usage (limit_key, created_at) where state <> 'released'`,
      'create index limit_usage_intent on limit_usage (intent_id)',
      `create table approvals (
        intent_id text primary key references intents (id),
        intent_hash text not null,
        status text not null check (status in ('pending', 'approved', 'denied', 'expired')),
        request jsonb not null,
        expires_at timestamptz not null,
        decided_by text,
        reason text,
        decided_at timestamptz,
        created_at timestamptz not null default now()
      )`,
      `create index approvals_open on approvals (created_at) where status in ('pending', 'approved')`,
      `create table kill_switch (
        id integer primary key check (id = 1),
        engaged boolean not null,
        reason text,
        actor text,
        updated_at timestamptz not null default now()
      )`,
      'insert into kill_switch (id, engaged) values (1, false)',
      `create table address_book (
        address text primary key,
        label text not null,
        note text,
        added_by text not null,
        created_at timestamptz not null default now()
      )`,
      `create table audit_log (
        seq bigint primary key check (seq >= 1),
        at text not null,
        kind text not null,
        actor text,
        intent_id text,
        data text not null,
        prev_hash text not null,
        hash text not null unique,
        recorded_at timestamptz not null default now()
      )`,
      'create index audit_log_kind on audit_log (kind, recorded_at)',
      `create trigger audit_log_append_only before update or delete on audit_log
        for each row execute function airlock_append_only()`,
      `create table audit_head (
        id integer primary key check (id = 1),
        seq bigint not null check (seq >= 0),
        hash text not null
      )`,
      `insert into audit_head (id, seq, hash) values (1, 0, '${'0'.repeat(64)}')`,
      `create table settings (
        key text primary key,
        value jsonb not null,
        updated_at timestamptz not null default now()
      )`,
    ])
  },
}

// Settlement on what actually moved (DESIGN §11): one row per mined intent, written once (also across replicas),
// with what the receipt showed and whether more moved than was checked. `reported` turns true once a breach has
// engaged the kill switch and reached the audit log, so a crash in between reports it again, never not at all.
// Intents mined before this migration are settled as they were (their reservations, unchanged).
const m0003: Migration = {
  async up(db) {
    await run(db, [
      `create table settlements (
        intent_id text primary key references intents (id),
        outcome jsonb not null,
        breach boolean not null,
        reported boolean not null,
        created_at timestamptz not null default now()
      )`,
      'create index settlements_breach on settlements (created_at) where breach',
      `insert into settlements (intent_id, outcome, breach, reported)
        select id, '{"before":"settlement on receipts"}'::jsonb, false, true from intents where status = 'mined'`,
    ])
  },
}

// Callers (DESIGN §1): every intent names who asked for it — `agent` is the caller as one string (`operator:local`,
// `agent:did:key:z…`, `order:<id>`), `caller` the whole caller (so a held intent resumes as the one who asked), and
// `origin` what started it (a tool call, a standing order firing, a revenue payout). Intents recorded before this
// migration were all asked by the local operator through a tool, and say so. Nullable: a row written by hand (or by
// a store tool) without a caller stays readable, and the journal always writes them.
const m0004: Migration = {
  async up(db) {
    await run(db, [
      'alter table intents add column agent text',
      "alter table intents add column origin text check (origin in ('tool', 'order', 'payout'))",
      'alter table intents add column caller jsonb',
      `update intents set agent = 'operator:local', origin = 'tool', caller = '{"kind":"operator","id":"local"}'::jsonb`,
      'create index intents_agent on intents (agent, created_at desc)',
    ])
  },
}

// Services with a lifecycle (DESIGN §5): background work that only one replica may run at a time (the standing
// orders' firing service, payouts) holds a lease here. Taking and renewing one is a single conditional upsert, by
// the database clock, so replicas never disagree on who holds it or when it lapses.
const m0005: Migration = {
  async up(db) {
    await run(db, [
      `create table service_leases (
        name text primary key,
        holder text not null,
        expires_at timestamptz not null,
        acquired_at timestamptz not null default now()
      )`,
    ])
  },
}

// A kill switch for one contract on one chain (DESIGN §11, issue 10): a contract that made a write move more than
// was checked is stopped alone, so every write whose counterparties include it is refused while other contracts keep
// working. One row per stopped (chain, contract); releasing it deletes the row (the audit log keeps the history).
// Addresses are EVM addresses in lowercase, so one comparison finds a contract however it was spelled.
const m0006: Migration = {
  async up(db) {
    await run(db, [
      `create table stopped_contracts (
        chain_id integer not null check (chain_id > 0),
        address text not null check (address ~ '^0x[0-9a-f]{40}$'),
        reason text not null,
        actor text not null,
        stopped_at timestamptz not null default now(),
        primary key (chain_id, address)
      )`,
    ])
  },
}

// Agent passports (DESIGN §7, issue 12). Developers registered after a signed challenge (challenges are single-use
// rows, deleted when used); one passport per agent key with its bit in the status lists (`status_index`, from a
// sequence so two replicas never hand out the same bit); request-signature nonces and token-assertion ids, unique
// per key, so a replay is refused on every replica until the signature expires; and agents stopped on their own.
const m0007: Migration = {
  async up(db) {
    await run(db, [
      `create table developers (
        did text primary key check (did ~ '^did:(key|web):'),
        method text not null check (method in ('key', 'web')),
        label text,
        registered_by text not null,
        registered_at timestamptz not null default now()
      )`,
      `create table developer_challenges (
        challenge text primary key,
        did text not null,
        expires_at timestamptz not null
      )`,
      'create sequence passport_status_index minvalue 0 start 0',
      `create table passports (
        agent text primary key check (agent ~ '^did:key:z'),
        id text not null unique,
        status_index integer not null unique default nextval('passport_status_index') check (status_index >= 0 and status_index < 131072),
        developer text not null references developers (did),
        user_address text not null check (user_address ~ '^0x[0-9a-f]{40}$'),
        code_hash text not null,
        "grant" jsonb not null,
        grant_hash text not null,
        status text not null default 'active' check (status in ('active', 'suspended', 'revoked')),
        reason text,
        valid_until timestamptz not null,
        issued_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
      `create table request_nonces (
        keyid text not null,
        nonce text not null,
        expires_at timestamptz not null,
        primary key (keyid, nonce)
      )`,
      'create index request_nonces_expires on request_nonces (expires_at)',
      `create table stopped_agents (
        agent text primary key,
        reason text not null,
        actor text not null,
        stopped_at timestamptz not null default now()
      )`,
      'create index audit_log_actor_kind on audit_log (actor, kind, recorded_at)',
    ])
  },
}

// Idempotency keys are per caller (DESIGN §7, issue 12): two agents may use the same key for their own writes, and
// neither can claim (or learn of) the other's. The key was unique across the table; now per `agent`. Rows written
// before callers existed have `operator:local` (0004), so every existing key keeps its intent.
const m0008: Migration = {
  async up(db) {
    await run(db, [
      'alter table intents drop constraint intents_idempotency_key_key',
      'create unique index intents_agent_idempotency_key on intents (agent, idempotency_key)',
    ])
  },
}

// x402 payments (DESIGN §9, issue 14). A payment is claimed (its authorization nonce, unique per network and asset)
// (EIP-3009 nonces are per payer) before the paid tool runs, so a replay — also on another replica, also before the first one settled — is refused;
// the claim is released when the tool fails or settlement fails, and kept once settled. Every settled charge is one
// row, split into payees' shares (exact base units); a payout takes unpaid shares of one payee and pays them as an
// ordinary guarded transfer (its intent id kept), so a crash or a second run never pays a share twice.
const m0009: Migration = {
  async up(db) {
    await run(db, [
      `create table payment_claims (
        network text not null,
        asset text not null check (asset ~ '^0x[0-9a-f]{40}$'),
        nonce text not null,
        payer text not null,
        tool text not null,
        state text not null default 'claimed' check (state in ('claimed', 'settled')),
        created_at timestamptz not null default now(),
        primary key (network, asset, payer, nonce)
      )`,
      `create table payment_charges (
        id text primary key,
        tool text not null,
        actor text not null,
        payer text not null,
        pay_to text not null check (pay_to ~ '^0x[0-9a-f]{40}$'),
        network text not null,
        asset text not null,
        decimals integer not null,
        amount numeric(78, 0) not null check (amount > 0),
        transaction text not null,
        created_at timestamptz not null default now()
      )`,
      'create index payment_charges_created on payment_charges (created_at)',
      `create table payment_payouts (
        id text primary key,
        payee text not null,
        network text not null,
        asset text not null,
        amount numeric(78, 0) not null check (amount > 0),
        status text not null default 'pending' check (status in ('pending', 'paid', 'failed')),
        intent_id text,
        error text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
      `create table payment_shares (
        charge_id text not null references payment_charges (id),
        payee text not null,
        amount numeric(78, 0) not null check (amount >= 0),
        payout_id text references payment_payouts (id),
        primary key (charge_id, payee)
      )`,
      'create index payment_shares_unpaid on payment_shares (payee) where payout_id is null',
    ])
  },
}

// Standing orders (DESIGN §10, issue 15). An order belongs to the caller that created it (`owner`, with the whole
// creator as `caller`) and is activated only when its creation intent was allowed (or approved). Its trigger state
// (`state`: reference price, armed, last fire, fires today, streaks) changes only by a conditional update on
// `version`, and a fire is one row per (order, seq) inserted in the same transaction: a second replica, or a pass
// after a crash, can never fire the same evaluation twice. The budget is kept on the row: `reserved` while a fire's
// action is under way, `spent` once it went through, never more than `budget` (a check constraint).
const m0010: Migration = {
  async up(db) {
    await run(db, [
      `create table standing_orders (
        id text primary key,
        owner text not null,
        caller jsonb not null,
        chain_id integer not null,
        spec jsonb not null,
        status text not null default 'active' check (status in ('active', 'paused', 'cancelled', 'expired')),
        status_reason text,
        state jsonb not null,
        budget numeric(78, 0) not null check (budget > 0),
        spent numeric(78, 0) not null default 0 check (spent >= 0),
        reserved numeric(78, 0) not null default 0 check (reserved >= 0),
        fires integer not null default 0,
        version integer not null default 0,
        intent_id text not null,
        expires_at timestamptz not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        check (spent + reserved <= budget)
      )`,
      'create index standing_orders_owner on standing_orders (owner, created_at)',
      "create index standing_orders_active on standing_orders (chain_id) where status = 'active'",
      `create table standing_order_fires (
        order_id text not null references standing_orders (id),
        seq integer not null,
        status text not null default 'pending' check (status in ('pending', 'done', 'failed', 'stopped')),
        block_number numeric(78, 0) not null,
        block_time bigint not null,
        price text,
        plan jsonb,
        actions jsonb not null default '[]'::jsonb,
        error text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (order_id, seq)
      )`,
      "create index standing_order_fires_pending on standing_order_fires (order_id) where status = 'pending'",
      `create table standing_order_events (
        id bigserial primary key,
        order_id text not null references standing_orders (id),
        kind text not null,
        reason text,
        block_number numeric(78, 0),
        detail jsonb,
        created_at timestamptz not null default now()
      )`,
      'create index standing_order_events_order on standing_order_events (order_id, id)',
    ])
  },
}

/**
 * Every migration, by name, in the order they run.
 *
 * @example Object.keys(migrations) // ['0001_intents_and_nonces', '0002_guardrails']
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_intents_and_nonces': m0001,
  '0002_guardrails': m0002,
  '0003_settlements': m0003,
  '0004_callers': m0004,
  '0005_service_leases': m0005,
  '0006_stopped_contracts': m0006,
  '0007_passports': m0007,
  '0008_idempotency_per_caller': m0008,
  '0009_payments': m0009,
  '0010_standing_orders': m0010,
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
