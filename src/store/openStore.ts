import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, Migrator, PostgresDialect, type PostgresPool, sql } from 'kysely'
import pg from 'pg'
import {
  BaseError,
  InvalidConfigError,
  redactUrl,
  StoreUnavailableError,
  scrubSecrets,
} from '../errors/index.js'
import { createFromTemplate } from './createFromTemplate.js'
import type { Database } from './database.js'
import { type DataDirLock, lockDataDir } from './lockDataDir.js'
import { makePrivate } from './makePrivate.js'
import { migrationProvider } from './migrations.js'
import { PGliteDialect } from './pgliteDialect.js'
import { type PgliteLike, type PgliteThread, pgliteWorkerFile, preparePgliteThread } from './pgliteThread.js'
import { shippedStoreTemplate } from './shippedStoreTemplate.js'

/** Options of {@link openStore}. The first that applies wins: `databaseUrl`, then `memory`, then `dataDir`. */
export type OpenStoreParameters = {
  /** A PostgreSQL connection string (`postgres://user:password@host:5432/db`). Uses the PostgreSQL server. */
  databaseUrl?: string | undefined
  /** Airlock's data directory; the embedded database lives in `<dataDir>/db`. Default `~/.airlock`. */
  dataDir?: string | undefined
  /** An in-memory embedded database (tests, demos): gone when the store closes. */
  memory?: boolean | undefined
  /**
   * A new embedded database (in memory, or a `dataDir` without one) starts from this dump of a migrated database
   * (PGlite `dumpDataDir`, gzip or plain tar) instead of being created, which takes seconds of CPU and leaves
   * hundreds of MB behind. Default: the template the build ships ({@link shippedStoreTemplate}), when there is
   * one; `false`: always create. Migrations still run, so an older dump is brought up to date.
   */
  template?: Blob | false | undefined
  /**
   * The embedded database runs in a worker thread of its own (default), so its start and its queries never hold
   * up the caller's thread; `false` runs it in this thread. A thread the caller started ahead
   * ({@link preparePgliteThread}, compiling while the caller did other work) is used and owned from here on.
   */
  thread?: boolean | PgliteThread | undefined
  /**
   * The PostgreSQL schema the tables live in (default `public`): created if missing, and put first on the
   * search path of every connection. Lets several gateways (or test files) share one database apart.
   */
  schema?: string | undefined
  /** Most connections the PostgreSQL pool opens. Default 10. */
  poolSize?: number | undefined
  /**
   * The lock on `dataDir` when the caller already holds it (a gateway takes its data directory before anything
   * else): the store then neither takes nor releases it. Without it, the store takes the lock itself.
   */
  lock?: DataDirLock | undefined
  /**
   * Open only a store that exists: never create the data directory, the database or the schema (the operator
   * commands, which must not leave an empty store behind where they looked for a gateway).
   */
  mustExist?: boolean | undefined
}

/** Which database the store runs on. */
export type StoreDriver = 'pglite' | 'postgres'

/** An open store: a typed Kysely instance over migrated tables. */
export type Store = {
  db: Kysely<Database>
  driver: StoreDriver
  /** The schema the tables live in. */
  schema: string
  /** Closes the pool or the embedded database (and frees its data directory). Safe to call more than once. */
  close(): Promise<void>
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/

// bigint (int8) and its array read as JS numbers on both drivers: nonces and counts stay far below 2^53, and one
// type for both drivers keeps the code above the store free of driver cases.
const int8 = 20
const parseInt8 = (text: string): number => Number(text)

// PGlite starts PostgreSQL with the server defaults of its postgresql.conf: 128 MB of shared buffers and room for
// 100 connections, sized for a server. The gateway is one session writing small rows: 8 MB of buffers and two
// connection slots open in about half the time and memory (PGlite alone: ~290 -> ~155 MB resident after open) with
// no measurable change in write speed. Given at every start (nothing is written into the data directory).
const extraStartParams = ['-c', 'shared_buffers=8MB', '-c', 'max_connections=2']

/**
 * Opens the store (DESIGN §5) and brings its schema up to date. PostgreSQL when `databaseUrl` is given, else
 * the embedded PGlite: in memory, or in `<dataDir>/db` (one process at a time: `<dataDir>/airlock.lock` says
 * which, see {@link lockDataDir}; the directory and its files are kept private to this user).
 * Migrations run on every open and are idempotent; on PostgreSQL they run under an advisory lock, so gateways
 * starting together do not race.
 *
 * @example
 * const store = await openStore({ dataDir: '/var/lib/airlock' })
 * const intents = await store.db.selectFrom('intents').selectAll().execute()
 * await store.close()
 * @throws {StoreUnavailableError} the server cannot be reached or refused the login, the data directory is
 *   unusable, not private, or held by another process ({@link DataDirInUseError}), a migration failed, or
 *   `mustExist` and there is no store
 * @throws {InvalidConfigError} `databaseUrl` is not a postgres:// URL, or `schema` is not a plain identifier
 */
export async function openStore(parameters: OpenStoreParameters = {}): Promise<Store> {
  const schema = parameters.schema ?? 'public'
  if (!schemaPattern.test(schema)) {
    throw new InvalidConfigError(`Invalid store schema "${schema.slice(0, 70)}".`, {
      field: 'schema',
      metaMessages: ['Use lowercase letters, digits and underscores, starting with a letter or underscore.'],
    })
  }
  if (parameters.databaseUrl !== undefined) return openPostgres(parameters.databaseUrl, schema, parameters)
  if (parameters.memory) return openPglite(undefined, schema, parameters)
  if (parameters.dataDir === undefined)
    throw new InvalidConfigError('The store needs a place: a data directory, memory, or a PostgreSQL URL.', {
      metaMessages: ['Pass dataDir (the CLI uses the config `dataDir`, AIRLOCK_DATA_DIR or ~/.airlock).'],
    })
  return openPglite(resolve(parameters.dataDir), schema, parameters)
}

async function openPostgres(databaseUrl: string, schema: string, parameters: OpenStoreParameters) {
  let url: URL | undefined
  try {
    url = new URL(databaseUrl)
  } catch {}
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw new InvalidConfigError('DATABASE_URL is not a PostgreSQL connection URL.', {
      field: 'DATABASE_URL',
      metaMessages: [
        'Use postgres://user:password@host:5432/database, or unset it to use the embedded store.',
      ],
    })
  }
  const target = redactUrl(databaseUrl)
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: parameters.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    // Every connection sees this schema first, so unqualified table names resolve to it.
    options: `-c search_path=${schema}`,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === int8
          ? parseInt8
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  })
  // An idle connection that the server drops emits 'error' on the pool; unhandled, it would end the process.
  // The pool discards that connection and opens a new one for the next query.
  pool.on('error', () => {})
  const guarded: PostgresPool = {
    // Connection failures surface as one clear error, without the password of the URL.
    connect: async () => {
      try {
        return await pool.connect()
      } catch (error) {
        throw unavailable(target, error)
      }
    },
    end: () => pool.end(),
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) })
  const store: Store = { db, driver: 'postgres', schema, close: once(() => db.destroy()) }
  try {
    await db.connection().execute(async (conn) => {
      if (parameters.mustExist) {
        const found = await sql<{
          found: number
        }>`select 1 as found from information_schema.tables where table_schema = ${schema} and table_name = 'kysely_migration'`.execute(
          conn,
        )
        if (found.rows.length === 0)
          throw new StoreUnavailableError({
            target: `${target} (schema "${schema}")`,
            reason: 'it holds no Airlock store',
            metaMessages: [
              'A gateway creates its store when it first starts with this DATABASE_URL and AIRLOCK_DB_SCHEMA.',
            ],
          })
      }
      // Session-level advisory lock on this one connection: concurrent opens wait here, one migrates, the
      // others then find nothing to do. Released explicitly, or by the server if this process dies.
      await sql`select pg_advisory_lock(hashtext(${`airlock.migrate.${schema}`}))`.execute(conn)
      try {
        await migrate(conn, schema)
      } finally {
        await sql`select pg_advisory_unlock(hashtext(${`airlock.migrate.${schema}`}))`.execute(conn)
      }
    })
  } catch (error) {
    await store.close().catch(() => {})
    throw error instanceof BaseError ? error : unavailable(target, error)
  }
  return store
}

async function openPglite(
  dir: string | undefined,
  schema: string,
  parameters: OpenStoreParameters = {},
): Promise<Store> {
  const target = dir === undefined ? 'memory://' : join(dir, 'db')
  if (dir !== undefined && parameters.mustExist && !existsSync(join(target, 'PG_VERSION')))
    throw new StoreUnavailableError({
      target,
      reason: 'there is no Airlock store there',
      metaMessages: [
        'A gateway creates it when it first starts with this data directory (config `dataDir`, AIRLOCK_DATA_DIR,',
        'default ~/.airlock). Check the directory, or set DATABASE_URL for a PostgreSQL store.',
      ],
    })
  let unlock = async () => {}
  if (dir !== undefined) {
    if (parameters.lock) {
      if (resolve(parameters.lock.dir) !== dir)
        throw new InvalidConfigError(`The lock given is on ${parameters.lock.dir}, not on ${dir}.`)
    } else {
      const lock = await lockDataDir(dir, { create: !parameters.mustExist })
      unlock = lock.release
    }
  }
  // PGlite gives the files it creates mode 0666: tighten them once it has, and again on close.
  const tighten = dir === undefined ? async () => {} : () => makePrivate(target)
  let pglite: PgliteLike
  try {
    // The template is only looked for, and read, where a database is to be created; its bytes are garbage once
    // the database exists (nothing here keeps a reference).
    const creating = dir === undefined || (!parameters.mustExist && !existsSync(join(target, 'PG_VERSION')))
    const template =
      !creating || parameters.template === false
        ? undefined
        : (parameters.template ?? (await shippedStoreTemplate()))
    let loadDataDir: Blob | undefined
    if (template && dir === undefined) loadDataDir = template
    else if (template) {
      // A template that cannot be unpacked is not fatal: PGlite then creates the database (initdb), as without one.
      await createFromTemplate(target, template).catch(() => {})
    }
    // In a thread of its own where its code ships (the build and the sources); in this one otherwise.
    const given = typeof parameters.thread === 'object' ? parameters.thread : undefined
    const file = given || parameters.thread === false ? undefined : pgliteWorkerFile()
    const thread = given ?? (file ? preparePgliteThread(file) : undefined)
    if (thread) pglite = await thread.open({ dataDir: target, extraStartParams, loadDataDir })
    else {
      baselineWasmOnly()
      pglite = await PGlite.create({
        dataDir: target,
        parsers: { [int8]: parseInt8 },
        startParams: [...PGlite.defaultStartParams, ...extraStartParams],
        ...(loadDataDir ? { loadDataDir } : {}),
      })
    }
  } catch (error) {
    await unlock()
    throw unavailable(target, error, [
      `Check that ${target} is a PGlite data directory this user can read and write,`,
      'or point AIRLOCK_DATA_DIR at another directory.',
    ])
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  const store: Store = {
    db,
    driver: 'pglite',
    schema,
    close: once(async () => {
      await db.destroy()
      await tighten().catch(() => {})
      await unlock()
    }),
  }
  try {
    await db.connection().execute(async (conn) => {
      await migrate(conn, schema)
      // The only session there is: set once, it holds for every later query.
      await sql`select set_config('search_path', ${schema}, false)`.execute(conn)
    })
    await tighten()
  } catch (error) {
    await store.close().catch(() => {})
    throw error instanceof BaseError ? error : unavailable(target, error)
  }
  return store
}

async function migrate(db: Kysely<Database>, schema: string): Promise<void> {
  await sql`select set_config('search_path', ${schema}, false)`.execute(db)
  const exists = await sql<{
    found: number
  }>`select 1 as found from pg_namespace where nspname = ${schema}`.execute(db)
  if (exists.rows.length === 0) await sql`create schema if not exists ${sql.id(schema)}`.execute(db)
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: schema })
  const { error, results } = await migrator.migrateToLatest()
  if (error === undefined) return
  const failed = results?.find((r) => r.status === 'Error')?.migrationName
  const reason = error instanceof Error ? error.message : String(error)
  throw new StoreUnavailableError({
    target: `schema "${schema}"`,
    reason: failed ? `migration ${failed} failed: ${reason}` : `migrations could not run: ${reason}`,
    metaMessages: /missing|corrupted/i.test(reason)
      ? ['The database was migrated by a newer Airlock: upgrade Airlock, or use another database or schema.']
      : [
          'Nothing was changed by the failed migration (it ran in a transaction). Check the database and retry.',
        ],
    cause: error,
  })
}

function unavailable(target: string, error: unknown, metaMessages?: readonly string[]): BaseError {
  if (error instanceof BaseError) return error
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  const reason =
    code === '28P01' || code === '28000'
      ? 'the server refused the login (user or password)'
      : code === '3D000'
        ? 'the database does not exist'
        : scrubSecrets(message.split('\n')[0] ?? '').slice(0, 200) || 'unknown error'
  return new StoreUnavailableError({ target, reason, metaMessages, cause: error })
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => {
    done ??= fn()
    return done
  }
}

let baseline = false
/**
 * Compiles WebAssembly with V8's baseline compiler (Liftoff) only, before PGlite compiles its module (the only
 * WebAssembly in the process). PGlite's queries spend their time in JavaScript and protocol handling, not in hot
 * WebAssembly loops: measured on 12,000 inserts and 3,000 selects, steady-state speed is the same, while the
 * optimizing tier's background compilation slows the first thousands of queries (3.3 s instead of 5.5 s for the
 * first 5,000 here) and leaves ~30 MB more resident. The flag is read when a module is compiled, so setting it now
 * affects only modules compiled from now on.
 */
function baselineWasmOnly(): void {
  if (baseline) return
  baseline = true
  setFlagsFromString('--liftoff-only')
}
