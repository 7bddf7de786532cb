import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll } from 'vitest'
import { openStore, type Store, type StoreDriver } from './openStore.js'

/**
 * The drivers the store suite runs on: PGlite always, PostgreSQL too when `DATABASE_URL` is set (CI sets it).
 *
 * @example describe.each(testStoreDrivers)('journal on %s', (driver) => { … })
 */
export const testStoreDrivers: readonly StoreDriver[] = process.env.DATABASE_URL
  ? ['pglite', 'postgres']
  : ['pglite']

/** What {@link useTestStore} gives a test file. */
export type TestStore = {
  /** The file's store (open from `beforeAll` on). */
  readonly store: Store
  /** Another store on the same database and schema, with its own pool: a second gateway. PostgreSQL only. */
  openAnother(): Promise<Store>
}

/**
 * A store for one test file: PGlite in memory, or on PostgreSQL a schema of its own with a random name, so
 * files and workers never see each other's rows; dropped (and every store closed) after the file.
 *
 * @example
 * describe.each(testStoreDrivers)('on %s', (driver) => {
 *   const t = useTestStore(driver)
 *   it('…', async () => { await t.store.db.selectFrom('intents').selectAll().execute() })
 * })
 */
export function useTestStore(driver: StoreDriver): TestStore {
  const databaseUrl = process.env.DATABASE_URL
  const schema = `test_${randomBytes(6).toString('hex')}`
  const opened: Store[] = []
  let store: Store | undefined

  const open = async (): Promise<Store> => {
    if (driver === 'postgres' && !databaseUrl) throw new Error('The postgres test store needs DATABASE_URL.')
    const s = await (driver === 'postgres' ? openStore({ databaseUrl, schema }) : openStore({ memory: true }))
    opened.push(s)
    return s
  }

  beforeAll(async () => {
    store = await open()
  })
  afterAll(async () => {
    if (driver === 'postgres' && store)
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db)
    await Promise.all(opened.map((s) => s.close()))
  })

  return {
    get store() {
      if (!store) throw new Error('The test store opens in beforeAll; use it inside a test or hook.')
      return store
    },
    async openAnother() {
      if (driver !== 'postgres') throw new Error('A second store on one database needs PostgreSQL.')
      return open()
    },
  }
}
