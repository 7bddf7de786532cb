import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import type { PgliteLike } from './pgliteThread.js'

/**
 * A Kysely dialect over one PGlite instance (in this thread, or in its own: {@link PgliteLike}). PGlite is a single PostgreSQL backend: every query shares one
 * session, so a transaction opened by one caller would swallow the statements of another. The driver therefore
 * lends its only connection to one caller at a time (a FIFO lock): a Kysely transaction, or a
 * `db.connection()` block, holds it from acquire to release, and everyone else waits.
 *
 * A consequence to keep in mind: inside `db.transaction().execute(trx => …)`, use `trx`, never the outer `db`;
 * the outer `db` waits for the connection the transaction holds. (On PostgreSQL the same mistake only escapes
 * the transaction; here it waits forever.)
 *
 * @example
 * const pg = await PGlite.create('memory://')
 * const db = new Kysely<Database>({ dialect: new PGliteDialect(pg) })
 */
export class PGliteDialect implements Dialect {
  readonly #pglite: PgliteLike

  constructor(pglite: PgliteLike) {
    this.#pglite = pglite
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#pglite)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}

class PGliteDriver implements Driver {
  readonly #pglite: PgliteLike
  readonly #connection: PGliteConnection
  // The tail of the FIFO: each acquirer waits for the previous holder's release.
  #tail: Promise<void> = Promise.resolve()
  #release: (() => void) | undefined

  constructor(pglite: PgliteLike) {
    this.#pglite = pglite
    this.#connection = new PGliteConnection(pglite)
  }

  async init(): Promise<void> {
    await this.#pglite.waitReady
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#tail
    let release!: () => void
    this.#tail = new Promise<void>((resolve) => {
      release = resolve
    })
    await previous
    this.#release = release
    return this.#connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const mode = [
      settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
      settings.accessMode ?? '',
    ]
      .filter(Boolean)
      .join(' ')
    await connection.executeQuery(CompiledQuery.raw(mode ? `start transaction ${mode}` : 'begin'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`))
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`))
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  async destroy(): Promise<void> {
    // Let the current holder finish before the backend goes away.
    await this.#tail
    if (!this.#pglite.closed) await this.#pglite.close()
  }
}

const writeCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE'])

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PgliteLike

  constructor(pglite: PgliteLike) {
    this.#pglite = pglite
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
    })
    const command = result.command?.toUpperCase()
    return {
      rows: result.rows,
      ...(command && writeCommands.has(command) ? { numAffectedRows: BigInt(result.affectedRows ?? 0) } : {}),
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // PGlite holds the whole result in memory anyway; stream it as one chunk.
    yield await this.executeQuery<R>(compiledQuery)
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
