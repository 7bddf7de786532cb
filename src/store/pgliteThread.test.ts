import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PgliteLike, pgliteWorkerFile, startPgliteThread } from './pgliteThread.js'

describe('the embedded database in a thread of its own', () => {
  let pglite: PgliteLike
  beforeAll(async () => {
    const file = pgliteWorkerFile()
    expect(file, 'the worker code ships beside the module').toBeDefined()
    pglite = await startPgliteThread(file!, { dataDir: 'memory://', extraStartParams: [] })
  }, 60_000)
  afterAll(() => pglite?.close())

  it('answers queries with the types an in-process PGlite gives (int8 as a number, dates, JSON)', async () => {
    await pglite.query('create table t (id int8 primary key, at timestamptz, doc jsonb, note text)', [], {
      rowMode: 'object',
    })
    const inserted = await pglite.query(
      'insert into t values ($1, $2, $3, $4)',
      [7, new Date('2026-01-02T03:04:05Z'), JSON.stringify({ a: [1, 'x'] }), 'é'],
      { rowMode: 'object' },
    )
    expect(inserted.affectedRows).toBe(1)
    const { rows } = await pglite.query<{ id: number; at: Date; doc: unknown; note: string }>(
      'select * from t',
      [],
      { rowMode: 'object' },
    )
    expect(rows).toEqual([{ id: 7, at: new Date('2026-01-02T03:04:05Z'), doc: { a: [1, 'x'] }, note: 'é' }])
  })

  it('keeps an error’s PostgreSQL fields (code, constraint) and keeps serving after it', async () => {
    await pglite.query('create table u (id int primary key)', [], { rowMode: 'object' })
    await pglite.query('insert into u values (1)', [], { rowMode: 'object' })
    const error = await pglite.query('insert into u values (1)', [], { rowMode: 'object' }).catch((e) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ code: '23505', constraint: 'u_pkey' })
    const { rows } = await pglite.query<{ n: number }>('select count(*)::int as n from u', [], {
      rowMode: 'object',
    })
    expect(rows[0]?.n).toBe(1)
  })

  it('leaves this thread free while it works: a timer fires during a 300 ms query', async () => {
    let fired = 0
    const started = performance.now()
    const timer = setInterval(() => fired++, 10)
    try {
      await pglite.query('select pg_sleep(0.3)', [], { rowMode: 'object' })
    } finally {
      clearInterval(timer)
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    // In this thread, PGlite's WebAssembly would run the sleep synchronously and no timer could fire.
    expect(fired).toBeGreaterThan(3)
  })

  it('a database that cannot start is an error, and the thread ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-pglite-thread-'))
    try {
      const notADirectory = join(dir, 'file')
      writeFileSync(notADirectory, 'not a database')
      await expect(
        startPgliteThread(pgliteWorkerFile()!, { dataDir: notADirectory, extraStartParams: [] }),
      ).rejects.toBeInstanceOf(Error)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('after close, a query is refused', async () => {
    const other = await startPgliteThread(pgliteWorkerFile()!, { dataDir: 'memory://', extraStartParams: [] })
    await other.close()
    expect(other.closed).toBe(true)
    await expect(other.query('select 1', [], { rowMode: 'object' })).rejects.toThrow(/ended/)
  }, 60_000)
})
