import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll } from 'vitest'
import type { DevnetFixtures } from '../src/devnet/fixtures.js'
import { seedDataDir } from '../src/store/useTestStore.js'
import { tempDir } from './tempDir.js'

/** The drivers a spawned gateway runs on: PGlite always, PostgreSQL when `DATABASE_URL` is set. */
export const spawnDrivers = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])] as const

/** The built CLI (`npm test` builds first). */
export const cli = join(import.meta.dirname, '..', 'dist', 'airlock.mjs')

/**
 * A data directory and config for a gateway process attached to this worker's devnet, and its environment: on
 * PostgreSQL a schema of its own, dropped after the file. On PGlite the data directory starts with a copy of the
 * run's migrated template store (creating one takes a gateway seconds of CPU). Call at the top level of a test file;
 * call what it returns inside a test, or in a `beforeAll` (the directory is removed when that test, or the file,
 * ends).
 *
 * @example
 * const gatewayDir = useGatewayDirs(fixtures, 'crash')
 * const { config, env } = gatewayDir('postgres', { policy: allowAll })
 */
export function useGatewayDirs(fixtures: DevnetFixtures, prefix: string) {
  const schemas: string[] = []
  afterAll(async () => {
    if (!schemas.length || !process.env.DATABASE_URL) return
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await client.connect()
    for (const s of schemas) await client.query(`drop schema if exists ${s} cascade`)
    await client.end()
  })
  return (driver: (typeof spawnDrivers)[number], extra: Record<string, unknown> = {}) => {
    const dir = tempDir(prefix)
    writeFileSync(join(dir, 'fixtures.json'), JSON.stringify(fixtures))
    const config = join(dir, 'airlock.json')
    writeFileSync(
      config,
      JSON.stringify({ devnet: { fixtures: join(dir, 'fixtures.json') }, dataDir: dir, ...extra }),
    )
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir }
    if (driver === 'pglite') seedDataDir(dir)
    if (driver === 'postgres') {
      const schema = `${prefix}_${randomBytes(6).toString('hex')}`
      schemas.push(schema)
      Object.assign(env, { DATABASE_URL: process.env.DATABASE_URL!, AIRLOCK_DB_SCHEMA: schema })
    }
    return { dir, config, env }
  }
}
