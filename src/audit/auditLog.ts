import { createHash } from 'node:crypto'
import { type Selectable, sql, type Transaction } from 'kysely'
import { BaseError, InvalidInputError, StoreUnavailableError, scrubSecrets } from '../errors/index.js'
import type { AuditLogTable, Database } from '../store/database.js'
import type { Store } from '../store/openStore.js'

/** What a caller records: a kind (`policy.denied`, `kill_switch.engaged`, …), who, which intent, and any JSON. */
export type AuditEntryInput = {
  /** Dotted lowercase name of what happened, 1–64 characters: `approval.approved`. */
  kind: string
  /**
   * Who did it: the caller (`operator:local`, `agent:did:key:z…`), an operator name, `airlock (automatic)`. Left
   * out on an entry about an intent, it is the intent's caller (its `agent`): a denial, a hold, an expiry or a
   * breach is recorded as the doing of whoever asked for the write.
   */
  actor?: string | undefined
  intentId?: string | undefined
  /** Detail; bigints become decimal strings, `undefined` is dropped, secrets are redacted before storing. */
  data: Record<string, unknown>
}

/** An entry as the log holds it: numbered, timed and linked to the entry before it. */
export type AuditEntry = AuditEntryInput & {
  seq: number
  /** ISO 8601 time of the append (the appending gateway's clock), exactly as hashed. */
  at: string
  /** The previous entry's hash; 64 zeros for seq 1. */
  prevHash: string
  /** `sha256hex(prevHash + "\n" + canonicalJson({ seq, at, kind, actor, intentId, data }))`. */
  hash: string
}

/**
 * Result of {@link AuditLog.verify}: the whole chain holds (`head` is the last hash and `entries` its seq: keep
 * `entries:head` somewhere else to detect later that the newest entries were removed together with the stored
 * head; `kept` is the head checked against, when one was given), or the first seq where it breaks and why
 * (`entries` = entries verified before it).
 */
export type AuditVerifyReturnType =
  | { ok: true; entries: number; head: string; kept?: { seq: number; hash: string } }
  | { ok: false; entries: number; brokenAt: number; reason: string }

/**
 * A head kept outside the store (as `airlock audit export` prints it): the seq and hash of the newest entry then,
 * or the hash alone.
 */
export type AuditHead = { seq?: number | undefined; hash: string }

/** Options of {@link AuditLog.verify}. */
export type AuditVerifyOptions = {
  /** Also prove that the log still holds this entry: removing the newest entries and the stored head shows. */
  head?: AuditHead | undefined
}

/** Options of {@link AuditLog.read}. */
export type AuditReadOptions = {
  /** Only entries after this seq. Default 0 (from the start). */
  afterSeq?: number | undefined
  /** 1–1000, default 100. */
  limit?: number | undefined
  /** Newest entries first (for `airlock://audit/recent`). Default oldest first. */
  newestFirst?: boolean | undefined
}

/** The hash-chained, append-only audit log over a store. */
export type AuditLog = {
  /**
   * Appends an entry. Appends queued within the same tick go into the database in one transaction (group
   * commit); the promise resolves once that transaction has committed.
   * @throws {InvalidInputError} the kind is malformed, or the data is not JSON (a cycle)
   * @throws {StoreUnavailableError} the store refused the write
   */
  append(entry: AuditEntryInput): Promise<{ seq: number; hash: string }>
  /**
   * Records a read's entry off the request path: it is held in memory and written with the next batch, at most
   * `batchMs` later (or at once when `batchSize` are waiting), in one transaction. Its `at` is the time of this
   * call (or `at`, for an entry the caller held itself). A crash loses at most the entries of the last batch, so it is for reads only: a write's entries go
   * through {@link AuditLog.append} or {@link AuditLog.appendWithin}. Reading, verifying or exporting the log
   * writes the held entries first. A failure is reported to `onError`, never thrown.
   */
  appendSoon(entry: AuditEntryInput, at?: Date): void
  /** Writes the entries {@link AuditLog.appendSoon} holds now (the gateway calls it before closing the store). */
  flush(): Promise<void>
  /**
   * Appends inside the caller's transaction, so the entry exists exactly when the caller's change does. It locks
   * the chain's head until that transaction ends: call it last, just before commit.
   * @throws {InvalidInputError} the kind is malformed, or the data is not JSON (a cycle)
   */
  appendWithin(trx: Transaction<Database>, entry: AuditEntryInput): Promise<{ seq: number; hash: string }>
  /**
   * Walks the whole chain in one consistent snapshot: the first broken entry and why, or ok with the head. With
   * `head`, the chain must also still hold that entry, unchanged.
   */
  verify(options?: AuditVerifyOptions): Promise<AuditVerifyReturnType>
  /** Entries in order (oldest first unless `newestFirst`). */
  read(options?: AuditReadOptions): Promise<AuditEntry[]>
  /** Writes every entry, oldest first, as one JSON line (no newline) to `write`, in pages. Returns the count. */
  exportJsonl(write: (line: string) => void | Promise<void>): Promise<number>
  /** Entries of `kind` recorded within the last `seconds`, by the database clock (for the automatic kill switch). */
  countRecent(kind: string, seconds: number, actor?: string | undefined): Promise<number>
}

/** The `prevHash` of the first entry. */
export const genesisHash = '0'.repeat(64)

/**
 * Reads a head kept outside the store: `SEQ:HASH` (as `airlock audit export` prints it) or the 64-hex hash alone.
 *
 * @example parseAuditHead('42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08') // { seq: 42, hash: '9f86…' }
 * @throws {InvalidInputError} not a seq and a sha256 hash
 */
export function parseAuditHead(text: string): AuditHead {
  const match = /^\s*(?:(\d{1,15}):)?(?:0x)?([0-9a-fA-F]{64})\s*$/.exec(text)
  if (!match)
    throw new InvalidInputError('The audit head must be SEQ:HASH or HASH (a 64-digit hex sha256).', {
      field: 'head',
      metaMessages: ['Use the head `airlock audit export` printed, e.g. 42:9f86d0…'],
    })
  const hash = (match[2] as string).toLowerCase()
  return match[1] === undefined ? { hash } : { seq: Number(match[1]), hash }
}

const kindPattern = /^[a-z][a-z0-9_.-]{0,63}$/
// Keys whose values are secrets whatever they look like.
const secretKey = /private.?key|password|secret|mnemonic|seed|authorization|api.?key/i
// A 32-byte hex value under a key naming a hash (txHash, intentHash, blockHash, an EIP-712 digest, an agent's
// `sha256:` codeHash) or an EIP-712 domain salt is public, not a key: kept, since scrubSecrets would otherwise redact every transaction hash as a
// possible private key.
const hashKey = /(hash(es)?|digest|salt)$/i
const hex32 = /^(0x|sha256:)?[0-9a-fA-F]{64}$/
const pageSize = 1000
const maxBatch = 500
/** Longest string value an entry keeps whole; see `capped`. */
const maxAuditString = 8192
const keptAuditPrefix = 512

/** Options of {@link createAuditLog}. */
export type CreateAuditLogOptions = {
  /** Longest a read's entry waits in memory before it is written (default 250 ms). */
  batchMs?: number | undefined
  /** Entries held by {@link AuditLog.appendSoon} that are written at once without waiting (default 500). */
  batchSize?: number | undefined
  /** Where a failed write of held entries is reported (they are lost; the log stays a valid chain). */
  onError?: ((error: unknown) => void) | undefined
}

type Prepared = { kind: string; actor: string | null; intentId: string | null; data: string; at: string }
type Queued = Prepared & {
  resolve: (value: { seq: number; hash: string }) => void
  reject: (error: unknown) => void
}

/**
 * The audit log (DESIGN §1): every step and outcome of the pipeline, hash-chained so that an edited, removed or
 * inserted entry is detected. The chain is extended under a row lock on `audit_head`, so several gateways on
 * one PostgreSQL write one chain without forks; the table itself refuses `update` and `delete` (a trigger).
 *
 * @example
 * const audit = createAuditLog(store)
 * await audit.append({ kind: 'policy.denied', actor: 'operator:local', intentId, data: { ruleIds: ['cap'] } })
 * const result = await audit.verify() // { ok: true, entries: 1, head: '…' }
 */
export function createAuditLog(store: Store, options: CreateAuditLogOptions = {}): AuditLog {
  const { db } = store
  const batchMs = options.batchMs ?? 250
  const batchSize = options.batchSize ?? maxBatch
  let queue: Queued[] = []
  let flushing = false
  let scheduled = false
  // Reads' entries (appendSoon): held with their time, prepared and queued together when the batch is due.
  let held: { entry: AuditEntryInput; at: string }[] = []
  let heldTimer: NodeJS.Timeout | undefined

  function writeHeld(): Promise<void> {
    if (heldTimer) clearTimeout(heldTimer)
    heldTimer = undefined
    const batch = held
    held = []
    const written: Promise<unknown>[] = []
    for (const { entry, at } of batch) {
      let prepared: Prepared
      try {
        prepared = prepare(entry, at)
      } catch (error) {
        options.onError?.(error)
        continue
      }
      written.push(
        new Promise((resolve, reject) => queue.push({ ...prepared, resolve, reject })).catch(
          (error: unknown) => options.onError?.(error),
        ),
      )
    }
    if (written.length > 0) schedule()
    return Promise.all(written).then(() => {})
  }

  // Group commit: one transaction per batch; entries that arrive while a batch is being written form the next.
  function schedule() {
    if (scheduled || flushing) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      void flush()
    })
  }

  async function flush() {
    flushing = true
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch)
        queue = queue.slice(maxBatch)
        try {
          const results = await db.transaction().execute((trx) => insertEntries(trx, batch))
          for (const [i, entry] of batch.entries()) entry.resolve(results[i] as { seq: number; hash: string })
        } catch (error) {
          const failure = storeError(store, error)
          for (const entry of batch) entry.reject(failure)
        }
      }
    } finally {
      flushing = false
    }
  }

  return {
    append(entry) {
      let prepared: Prepared
      try {
        prepared = prepare(entry)
      } catch (error) {
        return Promise.reject(error)
      }
      return new Promise((resolve, reject) => {
        queue.push({ ...prepared, resolve, reject })
        schedule()
      })
    },

    appendSoon(entry, at = new Date()) {
      held.push({ entry, at: at.toISOString() })
      if (held.length >= batchSize) void writeHeld()
      else if (!heldTimer) {
        heldTimer = setTimeout(() => void writeHeld(), batchMs)
        heldTimer.unref()
      }
    },

    flush: writeHeld,

    async appendWithin(trx, entry) {
      const [result] = await insertEntries(trx, [prepare(entry)])
      return result as { seq: number; hash: string }
    },

    async verify(options = {}) {
      await writeHeld()
      const kept = options.head
      let keptHash: string | undefined
      let keptSeq: number | undefined
      return db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          const head = await trx
            .selectFrom('audit_head')
            .select(['seq', 'hash'])
            .where('id', '=', 1)
            .executeTakeFirst()
          let expected = 1
          let prevHash = genesisHash
          let entries = 0
          for (;;) {
            const rows = await trx
              .selectFrom('audit_log')
              .select(['seq', 'at', 'kind', 'actor', 'intent_id', 'data', 'prev_hash', 'hash'])
              .where('seq', '>=', expected)
              .orderBy('seq', 'asc')
              .limit(pageSize)
              .execute()
            for (const row of rows) {
              const broken = (reason: string) => ({ ok: false as const, entries, brokenAt: expected, reason })
              if (row.seq !== expected)
                return broken(`entry ${expected} is missing (the next entry is ${row.seq})`)
              if (row.prev_hash !== prevHash)
                return broken(`entry ${expected} does not link to entry ${expected - 1} (prevHash differs)`)
              if (entryHash(row.prev_hash, row) !== row.hash)
                return broken(`entry ${expected} was altered (its hash does not match its contents)`)
              if (kept && (kept.seq === undefined ? row.hash === kept.hash : row.seq === kept.seq)) {
                keptSeq = row.seq
                keptHash = row.hash
              }
              prevHash = row.hash
              expected++
              entries++
            }
            if (rows.length < pageSize) break
          }
          const last = expected - 1
          if (!head)
            return { ok: false, entries, brokenAt: last + 1, reason: 'the chain head row is missing' }
          if (head.seq > last)
            return {
              ok: false,
              entries,
              brokenAt: last + 1,
              reason: `the head records ${head.seq} entries but the log ends at ${last}: entries were removed`,
            }
          if (head.seq < last)
            return {
              ok: false,
              entries,
              brokenAt: head.seq + 1,
              reason: `the log holds entries past the head (${head.seq}): entry ${head.seq + 1} was not appended through the chain`,
            }
          if (head.hash !== prevHash)
            return {
              ok: false,
              entries,
              brokenAt: last,
              reason: `the head's hash differs from entry ${last}'s: the last entry was replaced`,
            }
          if (!kept) return { ok: true, entries, head: prevHash }
          if (kept.seq === 0 && kept.hash === genesisHash) {
            keptSeq = 0
            keptHash = genesisHash
          }
          if (kept.seq !== undefined && kept.seq > last)
            return {
              ok: false,
              entries,
              brokenAt: last + 1,
              reason: `the head you kept is entry ${kept.seq} but the log ends at ${last}: ${kept.seq === last + 1 ? `entry ${kept.seq} was` : `entries ${last + 1} to ${kept.seq} were`} removed, and the stored head with them`,
            }
          if (keptSeq === undefined)
            return {
              ok: false,
              entries,
              brokenAt: last + 1,
              reason: `no entry has the hash of the head you kept (${kept.hash.slice(0, 16)}…): entries were removed or rewritten`,
            }
          if (keptHash !== kept.hash)
            return {
              ok: false,
              entries: keptSeq - 1,
              brokenAt: keptSeq,
              reason: `entry ${keptSeq} is not the entry the head you kept names (its hash differs): the log was rewritten up to there`,
            }
          return { ok: true, entries, head: prevHash, kept: { seq: keptSeq, hash: kept.hash } }
        })
    },

    async read(options = {}) {
      await writeHeld()
      const afterSeq = options.afterSeq ?? 0
      const limit = options.limit ?? 100
      if (!Number.isSafeInteger(afterSeq) || afterSeq < 0)
        throw new InvalidInputError('afterSeq must be a non-negative integer.', { field: 'afterSeq' })
      if (!Number.isInteger(limit) || limit < 1 || limit > pageSize)
        throw new InvalidInputError(`limit must be an integer from 1 to ${pageSize}.`, { field: 'limit' })
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq', options.newestFirst ? 'desc' : 'asc')
        .limit(limit)
        .execute()
      return rows.map(toEntry)
    },

    async exportJsonl(write) {
      await writeHeld()
      let afterSeq = 0
      let count = 0
      for (;;) {
        const rows = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', afterSeq)
          .orderBy('seq', 'asc')
          .limit(pageSize)
          .execute()
        for (const row of rows) {
          await write(JSON.stringify(toEntry(row)))
          count++
          afterSeq = row.seq
        }
        if (rows.length < pageSize) return count
      }
    },

    async countRecent(kind, seconds, actor) {
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new InvalidInputError('seconds must be a positive number.', { field: 'seconds' })
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('kind', '=', kind)
        .where('recorded_at', '>', sql<Date>`now() - make_interval(secs => ${seconds})`)
        .$if(actor !== undefined, (q) => q.where('actor', '=', actor!))
        .executeTakeFirstOrThrow()
      return Number(row.count)
    },
  }
}

/**
 * Extends the chain by `entries`, in order, inside `trx`: locks the head row (so concurrent writers, in this
 * process or another replica, queue behind it), numbers and hashes the entries, inserts them, moves the head.
 */
async function insertEntries(
  trx: Transaction<Database>,
  entries: readonly Prepared[],
): Promise<{ seq: number; hash: string }[]> {
  const callers = await intentCallers(trx, entries)
  const head = await trx
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow()
  let seq = head.seq
  let prevHash = head.hash
  const rows = entries.map((entry) => {
    seq++
    const row = {
      seq,
      at: entry.at,
      kind: entry.kind,
      actor: entry.actor ?? (entry.intentId === null ? null : (callers.get(entry.intentId) ?? null)),
      intent_id: entry.intentId,
      data: entry.data,
      prev_hash: prevHash,
    }
    const hash = entryHash(prevHash, row)
    prevHash = hash
    return { ...row, hash }
  })
  // One statement for both: the insert runs as a data-modifying CTE of the head's update.
  await trx
    .with('inserted', (db) => db.insertInto('audit_log').values(rows).returning('seq'))
    .updateTable('audit_head')
    .set({ seq, hash: prevHash })
    .where('id', '=', 1)
    .execute()
  return rows.map((r) => ({ seq: r.seq, hash: r.hash }))
}

/** The callers (`intents.agent`) of the intents that entries without an actor are about: one read per batch. */
async function intentCallers(
  trx: Transaction<Database>,
  entries: readonly Prepared[],
): Promise<Map<string, string>> {
  const ids = new Set<string>()
  for (const e of entries) if (e.actor === null && e.intentId !== null) ids.add(e.intentId)
  if (ids.size === 0) return new Map()
  const rows = await trx
    .selectFrom('intents')
    .select(['id', 'agent'])
    .where('id', 'in', [...ids])
    .execute()
  const out = new Map<string, string>()
  for (const r of rows) if (r.agent !== null) out.set(r.id, r.agent)
  return out
}

/**
 * `sha256hex(prevHash + "\n" + canonicalJson({ seq, at, kind, actor, intentId, data }))`, with `data` spliced in
 * as the stored canonical text: the exact bytes that were hashed, on either driver.
 */
function entryHash(
  prevHash: string,
  row: Pick<Selectable<AuditLogTable>, 'seq' | 'at' | 'kind' | 'actor' | 'intent_id' | 'data'>,
): string {
  const body =
    `{"actor":${JSON.stringify(row.actor)},"at":${JSON.stringify(row.at)},"data":${row.data},` +
    `"intentId":${JSON.stringify(row.intent_id)},"kind":${JSON.stringify(row.kind)},"seq":${row.seq}}`
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex')
}

function prepare(entry: AuditEntryInput, at = new Date().toISOString()): Prepared {
  if (typeof entry.kind !== 'string' || !kindPattern.test(entry.kind))
    throw new InvalidInputError(
      `Audit kind "${String(entry.kind).slice(0, 70)}" is not a dotted lowercase name (1–64 characters).`,
      { field: 'kind', metaMessages: ['Use a name like "policy.denied".'] },
    )
  if (entry.data === null || typeof entry.data !== 'object' || Array.isArray(entry.data))
    throw new InvalidInputError('Audit data must be a JSON object.', { field: 'data' })
  const short = (value: string | undefined) =>
    value === undefined || value === null ? null : scrubSecrets(String(value)).slice(0, 200)
  return {
    kind: entry.kind,
    actor: short(entry.actor),
    intentId: short(entry.intentId),
    data: canonicalJson(redact(entry.data, undefined, new Set())),
    at,
  }
}

/** A copy of `value` with secret-named keys' values replaced by "[redacted]" and every string scrubbed. */
function redact(value: unknown, key: string | undefined, seen: Set<object>): unknown {
  if (typeof value === 'string')
    return key !== undefined && hashKey.test(key) && hex32.test(value) ? value : capped(scrubSecrets(value))
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value))
    throw new InvalidInputError('Audit data is not JSON: it refers to itself.', { field: 'data' })
  seen.add(value)
  try {
    if (Array.isArray(value)) return value.map((item) => redact(item, key, seen))
    const json = (value as { toJSON?: unknown }).toJSON
    if (typeof json === 'function') return redact(json.call(value), key, seen)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const name = scrubSecrets(k)
      out[name] = secretKey.test(k) && v !== undefined && v !== null ? '[redacted]' : redact(v, k, seen)
    }
    return out
  } finally {
    seen.delete(value)
  }
}

/**
 * A string kept whole up to {@link maxAuditString} characters; a longer one (a payload a caller did not digest
 * itself) as its first characters, its length and the SHA-256 of the whole, so no entry grows with a request.
 */
function capped(text: string): string {
  if (text.length <= maxAuditString) return text
  const digest = createHash('sha256').update(text).digest('hex')
  // Never half a surrogate pair: PostgreSQL refuses a lone surrogate in JSON.
  const high = text.charCodeAt(keptAuditPrefix - 1)
  const cut = high >= 0xd800 && high <= 0xdbff ? keptAuditPrefix - 1 : keptAuditPrefix
  return `${text.slice(0, cut)}… [${text.length} characters in all, sha256 ${digest}]`
}

/**
 * JSON with object keys sorted (by UTF-16 code unit), bigints as decimal strings and `undefined` object members
 * dropped (`undefined` in an array becomes `null`, as in JSON). The same value always gives the same text, and
 * `canonicalJson(JSON.parse(canonicalJson(x)))` gives that text again, which is what the audit chain hashes.
 *
 * @example canonicalJson({ b: 1n, a: [undefined, 'x'], c: undefined }) // '{"a":[null,"x"],"b":"1"}'
 * @throws {InvalidInputError} the value refers to itself
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set()) ?? 'null'
}

function write(value: unknown, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return JSON.stringify(value.toString())
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined
  }
  if (value === null) return 'null'
  const json = (value as { toJSON?: unknown }).toJSON
  if (typeof json === 'function') return write(json.call(value), seen)
  const object = value as object
  if (seen.has(object)) throw new InvalidInputError('The value is not JSON: it refers to itself.')
  seen.add(object)
  try {
    if (Array.isArray(object)) return `[${object.map((item) => write(item, seen) ?? 'null').join(',')}]`
    const members: string[] = []
    for (const key of Object.keys(object).sort()) {
      const text = write((object as Record<string, unknown>)[key], seen)
      if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`)
    }
    return `{${members.join(',')}}`
  } finally {
    seen.delete(object)
  }
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    kind: row.kind,
    ...(row.actor !== null ? { actor: row.actor } : {}),
    ...(row.intent_id !== null ? { intentId: row.intent_id } : {}),
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  }
}

function storeError(store: Store, error: unknown): unknown {
  if (error instanceof BaseError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreUnavailableError({
    target: store.driver === 'postgres' ? `PostgreSQL (schema "${store.schema}")` : 'the embedded database',
    reason: `the audit entry could not be written (${scrubSecrets(message.split('\n')[0] ?? '').slice(0, 200)})`,
    metaMessages: ['Nothing was recorded for this entry. Check the store and retry.'],
    cause: error,
  })
}
