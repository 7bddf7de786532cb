import { randomBytes } from 'node:crypto'
import { cpSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, inject } from 'vitest'
import { openStore, type Store, type StoreDriver } from './openStore.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * A migrated embedded store made once per run by test/globalSetup.ts: `dataDir` holds it on disk (`db`),
     * `dump` is its PGlite dump. Copying or loading it is seconds faster than creating a store.
     */
    storeTemplate: { dataDir: string; dump: string } | undefined
  }
}

let dump: Promise<Blob | undefined> | undefined

/**
 * An in-memory PGlite store for a test, started from the run's template (see {@link ProvidedContext.storeTemplate})
 * when there is one. Close it after the test or file.
 *
 * @example const store = await openMemoryStore()
 */
export async function openMemoryStore(): Promise<Store> {
  dump ??= (async () => {
    const template = inject('storeTemplate')
    return template ? new Blob([await readFile(template.dump)]) : undefined
  })()
  return openStore({ memory: true, template: await dump })
}

/** The run's on-disk template store (`<dataDir>/db`), when globalSetup made one. */
export function storeTemplateDir(): string | undefined {
  const template = inject('storeTemplate')
  return template && join(template.dataDir, 'db')
}

/**
 * Puts a copy of the run's template store in `<dataDir>/db` (when there is one), so that the first open of this
 * data directory, by the test or by a gateway it starts, finds a store instead of creating one.
 *
 * @example const dataDir = tempDir('restart'); seedDataDir(dataDir); const store = await openStore({ dataDir })
 */
export function seedDataDir(dataDir: string): void {
  const template = storeTemplateDir()
  if (template) cpSync(template, join(dataDir, 'db'), { recursive: true })
}

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
    const s = await (driver === 'postgres' ? openStore({ databaseUrl, schema }) : openMemoryStore())
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
