import { existsSync } from 'node:fs'
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type BaseError, InvalidConfigError, StoreUnavailableError } from '../errors/index.js'
import { DataDirInUseError, lockDataDir, lockFileName } from './lockDataDir.js'
import { migrations } from './migrations.js'
import { openStore, type Store } from './openStore.js'
import { openMemoryStore, seedDataDir, testStoreDrivers, useTestStore } from './useTestStore.js'

const migrationNames = Object.keys(migrations)

async function appliedMigrations(store: Store): Promise<string[]> {
  const { rows } = await sql<{
    name: string
  }>`select name from ${sql.id(store.schema, 'kysely_migration')} order by name`.execute(store.db)
  return rows.map((r) => r.name)
}

describe.each(testStoreDrivers)('store on %s', (driver) => {
  const t = useTestStore(driver)

  it('creates every table and records each migration once', async () => {
    expect(t.store.driver).toBe(driver)
    expect(await appliedMigrations(t.store)).toEqual(migrationNames)
    const tables = await t.store.db.introspection.getTables()
    expect(tables.filter((x) => x.schema === t.store.schema).map((x) => x.name)).toEqual(
      expect.arrayContaining(['intents', 'intent_events', 'nonces', 'nonce_gaps']),
    )
  })

  it('reads bigint as a number and JSON arrays as arrays on both drivers', async () => {
    const { rows } = await sql<{
      n: number
      j: unknown
    }>`select 9007199254740991::bigint as n, ${JSON.stringify([1, { a: [2] }])}::jsonb as j`.execute(
      t.store.db,
    )
    expect(rows[0]).toEqual({ n: 9007199254740991, j: [1, { a: [2] }] })
  })

  it('keeps intent history append-only: updates and deletes are refused by the database', async () => {
    const id = `int_append_${driver}`
    await t.store.db
      .insertInto('intents')
      .values({ id, chain_id: 1, wallet: 'w', operation: 'op', status: 'created', request: '{}' })
      .execute()
    await t.store.db
      .insertInto('intent_events')
      .values({ intent_id: id, seq: 1, from_status: null, to_status: 'created' })
      .execute()
    await expect(
      t.store.db
        .updateTable('intent_events')
        .set({ to_status: 'mined' })
        .where('intent_id', '=', id)
        .execute(),
    ).rejects.toThrow(/append-only/)
    await expect(
      t.store.db.deleteFrom('intent_events').where('intent_id', '=', id).execute(),
    ).rejects.toThrow(/append-only/)
    const events = await t.store.db
      .selectFrom('intent_events')
      .selectAll()
      .where('intent_id', '=', id)
      .execute()
    expect(events.map((e) => e.to_status)).toEqual(['created'])
  })

  it('rolls a failed transaction back whole', async () => {
    await expect(
      t.store.db.transaction().execute(async (trx) => {
        await trx.insertInto('nonces').values({ chain_id: 7, wallet: 'rollback', next_nonce: 1 }).execute()
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const rows = await t.store.db.selectFrom('nonces').selectAll().where('wallet', '=', 'rollback').execute()
    expect(rows).toEqual([])
  })
})

describe('store on pglite: one data directory, one process', () => {
  const dirs: string[] = []
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-store-'))
    dirs.push(dir)
    return dir
  }
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('migrations are idempotent: reopening keeps the data and applies nothing twice', {
    timeout: 60_000,
  }, async () => {
    const dataDir = await tempDir()
    const first = await openStore({ dataDir, template: false }) // created by initdb, as without a build
    await first.db.insertInto('nonces').values({ chain_id: 1, wallet: 'kept', next_nonce: 42 }).execute()
    await first.close()
    const second = await openStore({ dataDir })
    try {
      expect(await appliedMigrations(second)).toEqual(migrationNames)
      const row = await second.db
        .selectFrom('nonces')
        .select('next_nonce')
        .where('wallet', '=', 'kept')
        .executeTakeFirst()
      expect(row?.next_nonce).toBe(42)
    } finally {
      await second.close()
    }
  })

  it('a fresh data directory starts from the template: a working migrated store, private, nothing staged left', async () => {
    const run = inject('storeTemplate')
    if (!run) return // no template this run (globalSetup makes one)
    // The run's template plus a marker row: finding the row proves the store came from the template.
    const maker = await PGlite.create({ loadDataDir: new Blob([await readFile(run.dump)]) })
    await maker.query(`insert into nonces (chain_id, wallet, next_nonce) values (1, 'from-template', 7)`)
    const template = await maker.dumpDataDir('gzip')
    await maker.close()
    const dataDir = await tempDir()
    await mkdir(join(dataDir, '.creating-db-0123456789ab')) // as a crash midway through unpacking leaves it
    const lock = await lockDataDir(dataDir, { role: 'gateway' })
    const store = await openStore({ dataDir, lock, template })
    try {
      expect(await appliedMigrations(store)).toEqual(migrationNames)
      const marker = await store.db
        .selectFrom('nonces')
        .select('next_nonce')
        .where('wallet', '=', 'from-template')
        .executeTakeFirst()
      expect(marker?.next_nonce).toBe(7)
      await store.db.insertInto('nonces').values({ chain_id: 1, wallet: 'written', next_nonce: 1 }).execute()
      expect((await readdir(dataDir)).sort()).toEqual([lockFileName, 'db'])
      if (process.platform !== 'win32') expect(await loose(dataDir)).toEqual([])
    } finally {
      await store.close()
      await lock.release()
    }
    // Opened again, it is the same database: the template is only for creating one.
    const again = await openStore({ dataDir, template })
    try {
      expect(await again.db.selectFrom('nonces').select('wallet').orderBy('wallet').execute()).toEqual([
        { wallet: 'from-template' },
        { wallet: 'written' },
      ])
    } finally {
      await again.close()
    }
  })

  it('a template that cannot be unpacked is not fatal: the store is created as without one', {
    timeout: 60_000,
  }, async () => {
    const dataDir = await tempDir()
    const store = await openStore({ dataDir, template: new Blob(['not a tarball']) })
    try {
      expect(await appliedMigrations(store)).toEqual(migrationNames)
      expect((await readdir(dataDir)).sort()).toEqual([lockFileName, 'db'])
    } finally {
      await store.close()
    }
  })

  it('refuses a second open of a data directory in use, and frees it on close', async () => {
    const dataDir = await tempDir()
    seedDataDir(dataDir) // about the lock, not about creating the database: start from the run's template
    const first = await openStore({ dataDir })
    const error = await openStore({ dataDir }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect((error as BaseError).message).toMatch(/in use by another Airlock process/)
    expect((error as BaseError).message).toMatch(/DATABASE_URL/)
    await first.close()
    const again = await openStore({ dataDir })
    await again.close()
  })

  it('takes over a lock left by a process that no longer runs', async () => {
    const dataDir = await tempDir()
    seedDataDir(dataDir)
    await writeFile(join(dataDir, lockFileName), JSON.stringify({ pid: 2147483646, role: 'gateway' }))
    const store = await openStore({ dataDir })
    expect(JSON.parse(await readFile(join(dataDir, lockFileName), 'utf8')).pid).toBe(process.pid)
    await store.close()
    expect(existsSync(join(dataDir, lockFileName))).toBe(false)
  })

  it('a lock naming a live pid that is another program now (the pid was reused) is taken over', async () => {
    const boot = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => undefined)
    if (boot === undefined) return // no /proc here: the pid alone decides
    // This process's own pid, but a start time it never had: the process that held the lock is gone.
    const dataDir = await tempDir()
    const reused = { pid: process.pid, role: 'gateway', boot: boot.trim(), start: '1' }
    await writeFile(join(dataDir, lockFileName), JSON.stringify(reused))
    const lock = await lockDataDir(dataDir)
    expect(JSON.parse(await readFile(lock.path, 'utf8')).start).not.toBe('1')
    await lock.release()
  })

  it('a second lock is refused naming the holder; only the holder removes the lock file', async () => {
    const dataDir = await tempDir()
    const lock = await lockDataDir(dataDir, { role: 'gateway' })
    const refused = await lockDataDir(dataDir, { role: 'gateway' }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DataDirInUseError)
    expect((refused as DataDirInUseError).holder.pid).toBe(process.pid)
    expect((refused as Error).message).toMatch(new RegExp(`running Airlock gateway \\(pid ${process.pid}`))
    expect((refused as Error).message).toMatch(/DATABASE_URL/)
    // A lock file replaced behind its back (by hand) is not removed by the old holder.
    await writeFile(lock.path, JSON.stringify({ pid: 2147483646 }))
    await lock.release()
    expect(existsSync(lock.path)).toBe(true)
  })

  it('of many processes taking a free directory at once, exactly one gets it', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, lockFileName), JSON.stringify({ pid: 2147483646 })) // stale, to take over
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockDataDir(dataDir)))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirInUseError)
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release()
    expect(await readdir(dataDir)).toEqual([])
  })

  // ADVERSARIAL 69: limits, approvals, the kill switch and the audit are the owner's alone.
  it.runIf(process.platform !== 'win32')(
    'makes an existing 0777 data directory and everything in it private (dirs 0700, files 0600), also what PGlite creates',
    async () => {
      const dataDir = await tempDir()
      await mkdir(join(dataDir, 'keystore'), { mode: 0o777 })
      await writeFile(join(dataDir, 'keystore', 'stray.json'), '{}', { mode: 0o666 })
      await chmod(dataDir, 0o777)
      await chmod(join(dataDir, 'keystore'), 0o777)
      await chmod(join(dataDir, 'keystore', 'stray.json'), 0o666)
      // As a gateway does: the directory is taken first, and the store opens on the held lock.
      const lock = await lockDataDir(dataDir, { role: 'gateway' })
      const store = await openStore({ dataDir, lock })
      try {
        await store.db.insertInto('nonces').values({ chain_id: 1, wallet: 'w', next_nonce: 1 }).execute()
        expect(await loose(dataDir)).toEqual([])
      } finally {
        await store.close()
      }
      expect(await loose(dataDir)).toEqual([])
      expect(existsSync(lock.path)).toBe(true) // the store leaves a lock it was given to its holder
      await lock.release()
      expect(existsSync(lock.path)).toBe(false)
    },
  )

  it.runIf(process.getuid?.() === 0)(
    'refuses a data directory that belongs to another user, and says why',
    async () => {
      const dataDir = await tempDir()
      await chown(dataDir, 4242, 4242)
      const error = await openStore({ dataDir }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect((error as Error).message).toMatch(/belongs to another user \(uid 4242/)
      expect((error as Error).message).toMatch(/chown|AIRLOCK_DATA_DIR/)
      expect(await readdir(dataDir)).toEqual([]) // the lock was given back, no store was created
    },
  )

  it('mustExist: no directory, no store: refused, and nothing is created', async () => {
    const parent = await tempDir()
    const missing = join(parent, 'not-here')
    const error = await openStore({ dataDir: missing, mustExist: true }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect((error as Error).message).toMatch(/no Airlock store/)
    expect(existsSync(missing)).toBe(false)
    const empty = await tempDir()
    await expect(openStore({ dataDir: empty, mustExist: true })).rejects.toThrow(/no Airlock store/)
    expect(await readdir(empty)).toEqual([])
  })

  it('serializes its one connection: a rolled-back transaction never swallows a concurrent write', async () => {
    const store = await openMemoryStore()
    try {
      let inside!: () => void
      const entered = new Promise<void>((resolve) => {
        inside = resolve
      })
      const failing = store.db.transaction().execute(async (trx) => {
        await trx.insertInto('nonces').values({ chain_id: 1, wallet: 'in-trx', next_nonce: 1 }).execute()
        inside()
        await new Promise((resolve) => setTimeout(resolve, 50))
        throw new Error('abort')
      })
      await entered
      // Issued while the transaction is open: it must wait, not run inside the transaction.
      const outside = store.db
        .insertInto('nonces')
        .values({ chain_id: 1, wallet: 'outside', next_nonce: 1 })
        .execute()
      await expect(failing).rejects.toThrow('abort')
      await outside
      const wallets = await store.db.selectFrom('nonces').select('wallet').orderBy('wallet').execute()
      expect(wallets.map((w) => w.wallet)).toEqual(['outside'])
    } finally {
      await store.close()
    }
  })
})

/** Paths under `dir` (and `dir`) whose mode lets anyone but the owner in: dirs not 0700, files not 0600. */
async function loose(dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (path: string) => {
    const info = await lstat(path)
    if (info.isSymbolicLink()) return
    const want = info.isDirectory() ? 0o700 : 0o600
    if ((info.mode & 0o777) !== want) found.push(`${path} ${(info.mode & 0o777).toString(8)}`)
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name))
  }
  await walk(dir)
  return found
}

describe('store options and errors', () => {
  it('refuses to guess where to store: no location is a config error', async () => {
    const error = await openStore({}).catch((e: unknown) => e)
    expect((error as BaseError).code).toBe('INVALID_CONFIG')
    expect((error as Error).message).toMatch(/data directory, memory, or a PostgreSQL URL/)
  })

  it('rejects a DATABASE_URL that is not postgres:// without echoing it', async () => {
    const error = await openStore({ databaseUrl: 'mysql://root:hunter2@db/x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidConfigError)
    expect(JSON.stringify((error as BaseError).toJSON())).not.toMatch(/hunter2/)
  })

  it('rejects a schema that is not a plain identifier', async () => {
    await expect(openStore({ memory: true, schema: 'x; drop table intents' })).rejects.toBeInstanceOf(
      InvalidConfigError,
    )
  })

  it('an unreachable server is STORE_UNAVAILABLE, and the password never shows', async () => {
    const error = await openStore({ databaseUrl: 'postgres://airlock:hunter2@127.0.0.1:1/airlock' }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StoreUnavailableError)
    const e = error as BaseError
    expect(e.code).toBe('STORE_UNAVAILABLE')
    expect(e.status).toBe(503)
    expect(e.message).toMatch(/127\.0\.0\.1:1/)
    expect(e.message).toMatch(/DATABASE_URL/)
    expect(e.message).not.toMatch(/hunter2/)
    expect(JSON.stringify(e.toJSON())).not.toMatch(/hunter2/)
  })

  it.runIf(process.env.DATABASE_URL)(
    'a missing database is STORE_UNAVAILABLE, and the password never shows',
    async () => {
      const url = new URL(process.env.DATABASE_URL as string)
      url.password = 'hunter2'
      url.pathname = '/airlock_no_such_database'
      const error = await openStore({ databaseUrl: url.toString() }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect((error as BaseError).message).toMatch(/does not exist|refused the login/)
      expect((error as BaseError).message).not.toMatch(/hunter2/)
    },
  )

  it.runIf(process.env.DATABASE_URL)(
    'concurrent opens of a fresh schema migrate once (advisory lock)',
    async () => {
      const schema = `test_race_${Date.now().toString(36)}`
      const databaseUrl = process.env.DATABASE_URL as string
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ databaseUrl, schema })))
      try {
        for (const s of stores) expect(await appliedMigrations(s)).toEqual(migrationNames)
      } finally {
        await sql`drop schema ${sql.id(schema)} cascade`.execute(stores[0]!.db)
        await Promise.all(stores.map((s) => s.close()))
      }
    },
  )
})
