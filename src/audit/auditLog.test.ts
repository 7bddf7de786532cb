import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../store/openStore.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { type AuditEntry, canonicalJson, createAuditLog, genesisHash, parseAuditHead } from './auditLog.js'

const privateKey = `0x${'ab12'.repeat(16)}`
const txHash = `0x${'cd34'.repeat(16)}`

/** The hash of an entry, recomputed from the documented formula alone. */
function expectedHash(entry: AuditEntry): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    kind: entry.kind,
    actor: entry.actor ?? null,
    intentId: entry.intentId ?? null,
    data: entry.data,
  })
  return createHash('sha256').update(`${entry.prevHash}\n${body}`).digest('hex')
}

async function withTriggerDisabled(store: Store, change: () => Promise<unknown>): Promise<void> {
  await sql`alter table audit_log disable trigger audit_log_append_only`.execute(store.db)
  try {
    await change()
  } finally {
    await sql`alter table audit_log enable trigger audit_log_append_only`.execute(store.db)
  }
}

async function appendMany(store: Store, count: number): Promise<void> {
  const audit = createAuditLog(store)
  for (let i = 1; i <= count; i++) await audit.append({ kind: 'test.step', actor: 'tester', data: { i } })
}

describe('canonicalJson', () => {
  it('sorts keys, writes bigints as decimal strings and drops undefined members', () => {
    expect(canonicalJson({ b: 1n, a: [undefined, 'x'], c: undefined, d: { z: 1, y: null } })).toBe(
      '{"a":[null,"x"],"b":"1","d":{"y":null,"z":1}}',
    )
    expect(canonicalJson({ at: new Date('2024-01-02T03:04:05.000Z') })).toBe(
      '{"at":"2024-01-02T03:04:05.000Z"}',
    )
  })

  it('gives the same text back for its own parsed output (what verification relies on)', () => {
    const value = { n: 0.1 + 0.2, s: 'é\u0000\ud800"\\', big: 2n ** 200n, list: [{ b: 2, a: 1 }], e: {} }
    const text = canonicalJson(value)
    expect(canonicalJson(JSON.parse(text))).toBe(text)
  })

  it('refuses a value that refers to itself', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(/refers to itself/)
  })
})

describe('parseAuditHead', () => {
  it('reads SEQ:HASH and a bare hash (0x and upper case allowed), and refuses anything else', () => {
    const hash = 'AB'.repeat(32)
    expect(parseAuditHead(`42:${hash}`)).toEqual({ seq: 42, hash: hash.toLowerCase() })
    expect(parseAuditHead(`0x${hash}`)).toEqual({ hash: hash.toLowerCase() })
    for (const bad of ['', '42', `42:${hash}0`, `-1:${hash}`, `x:${hash}`])
      expect(() => parseAuditHead(bad)).toThrow(/SEQ:HASH or HASH/)
  })
})

describe.each(testStoreDrivers)('audit log on %s', (driver) => {
  describe('appending and reading', () => {
    const t = useTestStore(driver)

    it('chains entries from the genesis hash, and verify recomputes every hash', async () => {
      const audit = createAuditLog(t.store)
      const a = await audit.append({ kind: 'test.first', actor: 'alice', data: { amount: 10n, note: 'hi' } })
      const b = await audit.append({
        kind: 'test.second',
        intentId: 'int_1',
        data: { nested: { b: 1, a: 2 } },
      })
      expect(a.seq).toBe(1)
      expect(b.seq).toBe(2)
      const entries = await audit.read()
      expect(entries.map((e) => e.seq)).toEqual([1, 2])
      expect(entries[0]).toMatchObject({ kind: 'test.first', actor: 'alice', prevHash: genesisHash })
      expect(entries[0]?.data).toEqual({ amount: '10', note: 'hi' })
      expect(entries[1]).toMatchObject({ intentId: 'int_1', prevHash: a.hash, hash: b.hash })
      for (const entry of entries) expect(expectedHash(entry)).toBe(entry.hash)
      expect(await audit.verify()).toEqual({ ok: true, entries: 2, head: b.hash })
    })

    it("appendSoon holds reads' entries off the request path and writes them as one batch, with their own times", async () => {
      const audit = createAuditLog(t.store, { batchMs: 60_000 })
      const count = async () =>
        Number(
          (
            await t.store.db
              .selectFrom('audit_log')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      const before = await count()
      const at = new Date('2026-01-02T03:04:05.000Z')
      audit.appendSoon({ kind: 'tool.call', actor: 'reader', data: { tool: 'get_balance', i: 1 } }, at)
      audit.appendSoon({ kind: 'tool.call', actor: 'reader', data: { tool: 'get_balance', i: 2 } })
      // A write's entry goes in at once; the held ones are still only in memory.
      const written = await audit.append({ kind: 'test.write', data: {} })
      expect(await count()).toBe(before + 1)
      // Reading the log writes what is held first, in order, one chain.
      const entries = await audit.read({ afterSeq: written.seq })
      expect(entries.map((e) => [e.kind, (e.data as { i: number }).i])).toEqual([
        ['tool.call', 1],
        ['tool.call', 2],
      ])
      expect(entries[0]?.at).toBe(at.toISOString())
      expect(entries[1]?.prevHash).toBe(entries[0]?.hash)
      expect((await audit.verify()).ok).toBe(true)
    })

    it('appendSoon writes a batch once batchSize entries wait, and flush() writes the rest', async () => {
      const audit = createAuditLog(t.store, { batchMs: 60_000, batchSize: 3 })
      const head = async () =>
        (await t.store.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq
      const before = await head()
      for (let i = 0; i < 4; i++) audit.appendSoon({ kind: 'tool.call', data: { i } })
      // The first three are a batch of their own; wait for it through the store, not the log (a read would flush).
      for (let tries = 0; (await head()) < before + 3 && tries < 500; tries++)
        await new Promise((r) => setTimeout(r, 10))
      expect(await head()).toBe(before + 3)
      await audit.flush()
      expect(await head()).toBe(before + 4)
    })

    it('refuses a plain UPDATE and DELETE of the log (append-only trigger)', async () => {
      const audit = createAuditLog(t.store)
      await audit.append({ kind: 'test.kept', data: {} })
      await expect(sql`update audit_log set kind = 'x'`.execute(t.store.db)).rejects.toThrow(/append-only/)
      await expect(sql`delete from audit_log`.execute(t.store.db)).rejects.toThrow(/append-only/)
      expect((await audit.verify()).ok).toBe(true)
    })

    it('appendWithin commits with the caller’s transaction and vanishes with its rollback', async () => {
      const audit = createAuditLog(t.store)
      const before = (await audit.read({ newestFirst: true, limit: 1 }))[0]?.seq ?? 0
      await expect(
        t.store.db.transaction().execute(async (trx) => {
          await audit.appendWithin(trx, { kind: 'test.rolled_back', data: {} })
          throw new Error('caller failed')
        }),
      ).rejects.toThrow('caller failed')
      const kept = await t.store.db
        .transaction()
        .execute((trx) => audit.appendWithin(trx, { kind: 'test.committed', data: { x: 1 } }))
      expect(kept.seq).toBe(before + 1)
      const last = await audit.read({ newestFirst: true, limit: 1 })
      expect(last[0]).toMatchObject({ seq: before + 1, kind: 'test.committed' })
      expect((await audit.verify()).ok).toBe(true)
    })

    it('never stores secrets: secret-named keys are redacted and every string is scrubbed', async () => {
      const audit = createAuditLog(t.store)
      const { seq } = await audit.append({
        kind: 'test.secrets',
        actor: 'https://admin:hunter2@rpc.example',
        data: {
          privateKey,
          wallet: { password: 'correct horse', mnemonic: 'test test junk', apiKey: 'k-123456' },
          rpc: 'https://user:pass@rpc.example.com/v2/abcdefabcdefabcdef1234',
          note: `leaked ${privateKey} in text`,
          headers: { Authorization: 'Bearer s3cr3t-token' },
          txHash,
        },
      })
      const rows = await t.store.db.selectFrom('audit_log').selectAll().where('seq', '=', seq).execute()
      const stored = JSON.stringify(rows)
      for (const secret of [
        privateKey.slice(2),
        'hunter2',
        'correct horse',
        'test test junk',
        'k-123456',
        'user:pass',
        'abcdefabcdefabcdef1234',
        's3cr3t-token',
      ])
        expect(stored).not.toContain(secret)
      const [entry] = await audit.read({ afterSeq: seq - 1, limit: 1 })
      expect(entry?.data).toMatchObject({ privateKey: '[redacted]', wallet: { password: '[redacted]' } })
      // A transaction hash is a hash, not a key: kept, or the audit log would lose every tx reference.
      expect(entry?.data.txHash).toBe(txHash)
      expect((await audit.verify()).ok).toBe(true)
    })

    it('refuses a malformed kind and data that is not JSON, and appends nothing', async () => {
      const audit = createAuditLog(t.store)
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expect(audit.append({ kind: 'Not A Kind', data: {} })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      })
      await expect(audit.append({ kind: 'test.cycle', data: cyclic })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      })
      expect((await audit.verify()).ok).toBe(true)
    })

    it('puts 200 concurrent appends in one transaction and keeps one valid chain', async () => {
      const audit = createAuditLog(t.store)
      const start = (await audit.read({ newestFirst: true, limit: 1 }))[0]?.seq ?? 0
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => audit.append({ kind: 'test.batch', data: { i } })),
      )
      expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => start + 1 + i))
      // recorded_at is the transaction's start time: one value means one transaction.
      const times = await t.store.db
        .selectFrom('audit_log')
        .select('recorded_at')
        .distinct()
        .where('kind', '=', 'test.batch')
        .execute()
      expect(times).toHaveLength(1)
      const verified = await audit.verify()
      expect(verified).toMatchObject({ ok: true, entries: start + 200 })
    })

    it('exports every entry as one JSON line each, in order, matching read()', async () => {
      const audit = createAuditLog(t.store)
      const lines: string[] = []
      const count = await audit.exportJsonl(async (line) => {
        lines.push(line)
      })
      expect(count).toBe(lines.length)
      const all = await audit.read({ limit: 1000 })
      expect(all.length).toBe(count)
      expect(lines.map((line) => JSON.parse(line))).toEqual(all)
      for (const line of lines) expect(line).not.toContain('\n')
    })

    it('counts entries of a kind within a recent window', async () => {
      const audit = createAuditLog(t.store)
      await Promise.all([1, 2, 3].map((i) => audit.append({ kind: 'test.counted', data: { i } })))
      await audit.append({ kind: 'test.other', data: {} })
      expect(await audit.countRecent('test.counted', 60)).toBe(3)
      expect(await audit.countRecent('test.never', 60)).toBe(0)
    })

    it.runIf(driver === 'postgres')(
      'rejects appends with STORE_UNAVAILABLE once the store is gone',
      async () => {
        const gone = await t.openAnother()
        const audit = createAuditLog(gone)
        await gone.close()
        await expect(audit.append({ kind: 'test.lost', data: {} })).rejects.toMatchObject({
          code: 'STORE_UNAVAILABLE',
        })
      },
    )

    it.runIf(driver === 'postgres')('extends one chain from two replicas without forks', async () => {
      const other = await t.openAnother()
      const logs = [createAuditLog(t.store), createAuditLog(other)]
      const start = (await logs[0]!.read({ newestFirst: true, limit: 1 }))[0]?.seq ?? 0
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const log = logs[i % 2]!
          // Spread over several ticks so both replicas write several batches that interleave.
          return new Promise<{ seq: number }>((resolve, reject) =>
            setTimeout(() => log.append({ kind: 'test.replica', data: { i } }).then(resolve, reject), i % 7),
          )
        }),
      )
      const seqs = results.map((r) => r.seq).sort((a, b) => a - b)
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => start + 1 + i))
      expect(await logs[1]!.verify()).toMatchObject({ ok: true, entries: start + 100 })
    })
  })

  describe('tampering', () => {
    const t = useTestStore(driver)
    // Each case starts from an empty chain (the test empties it the way only a superuser could).
    beforeEach(async () => {
      await withTriggerDisabled(t.store, () => sql`delete from audit_log`.execute(t.store.db))
      await t.store.db.updateTable('audit_head').set({ seq: 0, hash: genesisHash }).execute()
    })

    describe('an edited entry', () => {
      it('is reported at its seq', async () => {
        await appendMany(t.store, 5)
        await withTriggerDisabled(t.store, () =>
          sql`update audit_log set data = ${'{"i":99}'} where seq = 3`.execute(t.store.db),
        )
        const result = await createAuditLog(t.store).verify()
        expect(result).toMatchObject({ ok: false, brokenAt: 3, entries: 2 })
        expect(result.ok || result.reason).toMatch(/altered/)
      })
    })

    describe('a deleted last entry', () => {
      it('is detected through the head', async () => {
        await appendMany(t.store, 4)
        await withTriggerDisabled(t.store, () => sql`delete from audit_log where seq = 4`.execute(t.store.db))
        const result = await createAuditLog(t.store).verify()
        expect(result).toMatchObject({ ok: false, brokenAt: 4, entries: 3 })
        expect(result.ok || result.reason).toMatch(/removed/)
      })
    })

    describe('the newest entries removed together with the stored head', () => {
      it('pass a plain verify, and are caught against a head kept elsewhere', async () => {
        await appendMany(t.store, 5)
        const audit = createAuditLog(t.store)
        const before = await audit.verify()
        expect(before).toMatchObject({ ok: true, entries: 5 })
        const kept = { seq: 5, hash: (before as { head: string }).head }
        const third = (await audit.read({ afterSeq: 2, limit: 1 }))[0]!
        await withTriggerDisabled(t.store, () => sql`delete from audit_log where seq > 3`.execute(t.store.db))
        await t.store.db.updateTable('audit_head').set({ seq: 3, hash: third.hash }).execute()
        // What the store holds is consistent again: only a head kept outside it shows the loss.
        expect(await audit.verify()).toMatchObject({ ok: true, entries: 3 })
        const caught = await audit.verify({ head: kept })
        expect(caught).toMatchObject({ ok: false, brokenAt: 4, entries: 3 })
        expect(caught.ok || caught.reason).toMatch(/head you kept is entry 5 .*4 to 5 were removed/)
        const byHash = await audit.verify({ head: { hash: kept.hash } })
        expect(byHash).toMatchObject({ ok: false })
        expect(byHash.ok || byHash.reason).toMatch(/no entry has the hash of the head you kept/)
        // An older head still held verifies; a kept head whose entry was rewritten does not.
        expect(await audit.verify({ head: { seq: 3, hash: third.hash } })).toMatchObject({
          ok: true,
          kept: { seq: 3 },
        })
        expect(await audit.verify({ head: { seq: 3, hash: kept.hash } })).toMatchObject({
          ok: false,
          brokenAt: 3,
        })
        expect(await audit.verify({ head: { seq: 0, hash: genesisHash } })).toMatchObject({ ok: true })
      })
    })

    describe('a deleted middle entry', () => {
      it('is reported as missing', async () => {
        await appendMany(t.store, 4)
        await withTriggerDisabled(t.store, () => sql`delete from audit_log where seq = 2`.execute(t.store.db))
        expect(await createAuditLog(t.store).verify()).toMatchObject({ ok: false, brokenAt: 2 })
      })
    })

    describe('a forged entry inserted in the middle', () => {
      it('is detected even when the forger computed its hash correctly', async () => {
        await appendMany(t.store, 5)
        const audit = createAuditLog(t.store)
        const before = await audit.read()
        const forged: AuditEntry = {
          seq: 3,
          at: new Date().toISOString(),
          kind: 'test.step',
          actor: 'tester',
          data: { i: 'forged' },
          prevHash: before[1]!.hash,
          hash: '',
        }
        forged.hash = expectedHash(forged)
        await withTriggerDisabled(t.store, async () => {
          // Make room at seq 3 by shifting the later entries up by one.
          await sql`update audit_log set seq = seq + 100 where seq >= 3`.execute(t.store.db)
          await sql`update audit_log set seq = seq - 99 where seq >= 100`.execute(t.store.db)
          await t.store.db
            .insertInto('audit_log')
            .values({
              seq: 3,
              at: forged.at,
              kind: forged.kind,
              actor: 'tester',
              intent_id: null,
              data: canonicalJson(forged.data),
              prev_hash: forged.prevHash,
              hash: forged.hash,
            })
            .execute()
        })
        // The forged entry is self-consistent; the original entry after it no longer links.
        expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: 4 })
      })
    })

    describe('an entry written without moving the head', () => {
      it('is detected through the head even with a correct hash', async () => {
        await appendMany(t.store, 3)
        const audit = createAuditLog(t.store)
        const [, second] = await audit.read()
        const forged: AuditEntry = {
          seq: 4,
          at: new Date().toISOString(),
          kind: 'test.step',
          data: { i: 'appended behind the head' },
          prevHash: (await audit.read({ afterSeq: 2 }))[0]!.hash,
          hash: '',
        }
        forged.hash = expectedHash(forged)
        expect(second?.seq).toBe(2)
        await t.store.db
          .insertInto('audit_log')
          .values({
            seq: 4,
            at: forged.at,
            kind: forged.kind,
            actor: null,
            intent_id: null,
            data: canonicalJson(forged.data),
            prev_hash: forged.prevHash,
            hash: forged.hash,
          })
          .execute()
        const result = await audit.verify()
        expect(result).toMatchObject({ ok: false, brokenAt: 4 })
        expect(result.ok || result.reason).toMatch(/past the head/)
      })
    })
  })
})

describe.each(testStoreDrivers)('audit actors on %s', (driver) => {
  const t = useTestStore(driver)

  it("an entry about an intent, with no actor given, is the intent's caller's; a given actor is kept", async () => {
    const audit = createAuditLog(t.store)
    const { intent } = await createIntentJournal(t.store).create({
      chainId: 31337,
      wallet: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      operation: 'transfer',
      request: {},
      caller: { kind: 'order', id: 'o9', agent: 'operator:local' },
      origin: 'order',
    })
    await Promise.all([
      audit.append({ kind: 'policy.denied', intentId: intent.id, data: {} }),
      audit.append({ kind: 'approval.approved', actor: 'ops', intentId: intent.id, data: {} }),
      audit.append({ kind: 'test.unknown', intentId: 'int_nobody', data: {} }),
    ])
    await t.store.db
      .transaction()
      .execute((trx) =>
        audit.appendWithin(trx, { kind: 'approval.requested', intentId: intent.id, data: {} }),
      )
    const entries = (await audit.read({ limit: 1000 })).filter(
      (e) => e.intentId === intent.id || e.intentId === 'int_nobody',
    )
    expect(entries.map((e) => [e.kind, e.actor])).toEqual([
      ['policy.denied', 'order:o9'],
      ['approval.approved', 'ops'],
      ['test.unknown', undefined],
      ['approval.requested', 'order:o9'],
    ])
    expect(await audit.verify()).toMatchObject({ ok: true })
  })
})
