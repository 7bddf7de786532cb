import { randomUUID } from 'node:crypto'
import { type Selectable, sql } from 'kysely'
import type { AuditLog } from '../audit/auditLog.js'
import type { Caller, GrantScope } from '../context/caller.js'
import { toJson } from '../context/json.js'
import { BaseError, InvalidInputError, scrubSecrets } from '../errors/index.js'
import type { PassportsTable } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { sharedSecret } from '../store/sharedSecret.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'
import { issuePassport, verifyPassport } from './credential.js'
import { developerChallenge, verifyDeveloperProof } from './developerProof.js'
import { didKeyOf, type Ed25519Jwk, ed25519KeyFromSeed, publicKeyOfDidKey } from './didKey.js'
import { resolveDeveloperKeys } from './didWeb.js'
import { type AgentGrant, grantHash, type SignedGrant, verifyGrant } from './grant.js'
import { issueStatusListCredential } from './statusList.js'

/** A passport's live status (DESIGN §7, step 5). `revoked` is final; `suspended` can be reinstated. */
export type PassportStatus = 'active' | 'suspended' | 'revoked'

/** A registered developer. */
export type Developer = { did: string; method: 'key' | 'web'; label?: string | undefined; registeredAt: Date }

/** One agent's passport as the gateway keeps it. */
export type PassportRecord = {
  agent: string
  /** The credential in force (`urn:uuid:…`); an older one for the same agent key is refused. */
  id: string
  statusIndex: number
  developer: string
  user: string
  codeHash: string
  grant: AgentGrant
  grantHash: string
  status: PassportStatus
  reason?: string | undefined
  validUntil: Date
  issuedAt: Date
}

/** The operator's Ed25519 issuer key (every replica on the store derives the same one). */
export type Issuer = { did: string; key: Ed25519Jwk; kid: string }

/** Options of {@link createPassportRegistry}. */
export type PassportRegistryOptions = {
  audit?: AuditLog | undefined
  /** The gateway's public base URL (`http://127.0.0.1:8402`): status lists are served under it. */
  baseUrl: () => string
  /** How long a replica trusts a passport status it read (default 60 s); the replica that changes it, not at all. */
  statusCacheSeconds?: number | undefined
  /** did:web resolution over loopback HTTP (tests only). */
  allowLoopbackHttp?: boolean | undefined
  /** The clock (tests). */
  now?: () => Date
}

/** The five steps' state in the store: developers, passports and their status, replay nonces. */
export type PassportRegistry = {
  issuer(): Promise<Issuer>
  /** Step 1a: a challenge for `did` to sign (single use, 10 minutes). */
  challenge(did: string): Promise<{ did: string; challenge: string; audience: string; expiresAt: Date }>
  /** Step 1b: registers `did` once its proof over the challenge verifies. */
  registerDeveloper(input: {
    did: string
    proof: string
    label?: string | undefined
    by: string
  }): Promise<Developer>
  developers(): Promise<Developer[]>
  /** Step 4: issues the agent's passport over a verified grant from a registered developer. */
  issue(input: {
    agent: string
    developer: string
    codeHash: string
    grant: unknown
    validDays?: number | undefined
    by: string
  }): Promise<{ passport: string; record: PassportRecord }>
  list(): Promise<PassportRecord[]>
  get(agent: string): Promise<PassportRecord | undefined>
  /** Step 5: revokes (final), suspends or reinstates an agent's passport; effective at once on this replica. */
  setStatus(
    agent: string,
    status: PassportStatus,
    input: { reason?: string | undefined; by: string },
  ): Promise<PassportRecord>
  /**
   * The passport of `agent` in force now, through the status cache: throws UNAUTHORIZED for an unknown, revoked,
   * suspended or expired one, or one whose credential id is not `id` (a superseded passport).
   */
  current(agent: string, id?: string | undefined): Promise<PassportRecord>
  /** Verifies a presented passport (signature, issuer, grant) and that it is the one in force for its agent. */
  verify(passport: string): Promise<PassportRecord>
  /** The served Bitstring Status List credential (vc+jwt) of one purpose. */
  statusList(purpose: 'revocation' | 'suspension'): Promise<string>
  /**
   * Records a request-signature nonce (or a token assertion's `jti`) for `keyid` until `expires` (unix seconds):
   * false when it was seen before, on any replica.
   */
  useNonce(keyid: string, nonce: string, expires: number): Promise<boolean>
}

const challengeAudience = 'airlock:developer-registration'

/**
 * The passport registry over the store (DESIGN §7): developers registered after a signed challenge, one passport
 * per agent key with its bit in the served status lists, and the replay nonces of signed requests. What must hold
 * across replicas (status, nonces, status bits) is decided in the database; a replica caches a status for at most
 * `statusCacheSeconds` and forgets it when it changes the status itself.
 *
 * @example const passports = createPassportRegistry(store, { audit, baseUrl: () => 'http://127.0.0.1:8402' })
 */
export function createPassportRegistry(store: Store, options: PassportRegistryOptions): PassportRegistry {
  const { db } = store
  const now = options.now ?? (() => new Date())
  const cacheMs = (options.statusCacheSeconds ?? 60) * 1000
  const cache = new Map<string, { record: PassportRecord | undefined; at: number }>()
  let issuerKey: Promise<Issuer> | undefined
  let lastPurge = 0

  function issuer(): Promise<Issuer> {
    issuerKey ??= sharedSecret(store, 'passport.issuer').then((seed) => {
      const key = ed25519KeyFromSeed(seed)
      const did = didKeyOf(key)
      return { did, key, kid: `${did}#${did.slice('did:key:'.length)}` }
    })
    issuerKey.catch(() => {
      issuerKey = undefined
    })
    return issuerKey
  }

  async function read(agent: string): Promise<PassportRecord | undefined> {
    const row = await guarded(() =>
      db.selectFrom('passports').selectAll().where('agent', '=', agent).executeTakeFirst(),
    )
    return row ? toRecord(row) : undefined
  }

  async function cached(agent: string): Promise<PassportRecord | undefined> {
    const hit = cache.get(agent)
    const t = Date.now()
    if (hit && t - hit.at < cacheMs) return hit.record
    const record = await read(agent)
    if (cacheMs > 0) {
      if (cache.size > 10_000) cache.clear()
      cache.set(agent, { record, at: t })
    }
    return record
  }

  function refuse(message: string, hint: string): BaseError {
    return new BaseError('UNAUTHORIZED', message, { metaMessages: [hint] })
  }

  async function current(agent: string, id?: string): Promise<PassportRecord> {
    const record = await cached(agent)
    if (!record)
      throw refuse(
        `No passport is issued to agent ${agent.slice(0, 80)}.`,
        'Ask the operator to issue one (`airlock passport issue`).',
      )
    if (record.status !== 'active')
      throw refuse(
        `The passport of agent ${agent.slice(0, 80)} is ${record.status}${record.reason ? ` (${record.reason})` : ''}.`,
        record.status === 'revoked'
          ? 'A revoked passport stays revoked: the agent needs a new key and a new passport.'
          : 'The operator reinstates it with `airlock passport reinstate`.',
      )
    if (record.validUntil.getTime() <= now().getTime())
      throw refuse(
        `The passport of agent ${agent.slice(0, 80)} expired at ${record.validUntil.toISOString()}.`,
        'Ask the operator for a new one.',
      )
    if (id !== undefined && id !== record.id)
      throw refuse(
        'This passport was superseded by a newer one for the same agent key.',
        'Present the passport issued last.',
      )
    return record
  }

  return {
    issuer,

    async challenge(did) {
      developerMethod(did)
      const { challenge, expiresAt } = developerChallenge()
      await guarded(async () => {
        await db.deleteFrom('developer_challenges').where('expires_at', '<', now()).execute()
        await db
          .insertInto('developer_challenges')
          .values({ challenge, did, expires_at: expiresAt })
          .execute()
      })
      return { did, challenge, audience: challengeAudience, expiresAt }
    },

    async registerDeveloper(input) {
      const method = developerMethod(input.did)
      // A compact JWS, checked as it is (never cleaned: its signature covers every character).
      if (
        typeof input.proof !== 'string' ||
        !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(input.proof) ||
        input.proof.length > 8192
      )
        throw new InvalidInputError(
          'The proof is not a developer proof (a compact JWS over the challenge).',
          {
            field: 'proof',
          },
        )
      const proof = input.proof
      const challenge = challengeOf(proof)
      // The challenge is taken (deleted) before the proof is checked: a proof is tried once, whatever its outcome.
      const row = await guarded(() =>
        db
          .deleteFrom('developer_challenges')
          .where('challenge', '=', challenge)
          .where('did', '=', input.did)
          .returningAll()
          .executeTakeFirst(),
      )
      if (!row || new Date(row.expires_at).getTime() < now().getTime())
        throw refuse(
          'The proof does not answer a live challenge for this developer (unknown, used or expired).',
          'Ask for a new challenge (`airlock passport challenge DID`) and sign it within 10 minutes.',
        )
      const keys = await resolveDeveloperKeys(input.did, {
        allowLoopbackHttp: options.allowLoopbackHttp === true,
      })
      await verifyDeveloperProof({
        proof,
        did: input.did,
        challenge,
        audience: challengeAudience,
        keys,
        now: now(),
      })
      const label = input.label === undefined ? null : text(input.label, 'label', 100)
      const by = text(input.by, 'by', 200)
      return guarded(() =>
        db.transaction().execute(async (trx) => {
          const saved = await trx
            .insertInto('developers')
            .values({ did: input.did, method, label, registered_by: by })
            .onConflict((oc) => oc.column('did').doUpdateSet({ label, registered_by: by }))
            .returningAll()
            .executeTakeFirstOrThrow()
          await options.audit?.appendWithin(trx, {
            kind: 'passport.developer_registered',
            actor: by,
            data: { developer: input.did, method },
          })
          return toDeveloper(saved)
        }),
      )
    },

    async developers() {
      const rows = await guarded(() =>
        db.selectFrom('developers').selectAll().orderBy('registered_at').execute(),
      )
      return rows.map(toDeveloper)
    },

    async issue(input) {
      publicKeyOfDidKey(input.agent) // the agent key is a did:key (its public key is the id)
      const by = text(input.by, 'by', 200)
      const days = input.validDays ?? 30
      if (!Number.isInteger(days) || days < 1 || days > 366)
        throw new InvalidInputError('A passport is valid 1 to 366 days (`--days`).', { field: 'validDays' })
      const developer = await guarded(() =>
        db.selectFrom('developers').selectAll().where('did', '=', input.developer).executeTakeFirst(),
      )
      if (!developer)
        throw new BaseError('FORBIDDEN', `Developer ${input.developer.slice(0, 80)} is not registered.`, {
          metaMessages: ['Register it first: it signs a challenge (`airlock passport developer`).'],
        })
      const grant = await verifyGrant(input.grant, { now: now() })
      if (grant.agent !== input.agent)
        throw new BaseError(
          'FORBIDDEN',
          'The grant names another agent key than the one the passport is for.',
          {
            metaMessages: ['The user signs a grant for this agent’s did:key.'],
          },
        )
      if (grant.codeHash !== input.codeHash)
        throw new BaseError('FORBIDDEN', 'The grant names another code hash than the one given.', {
          metaMessages: [
            'Hash the agent’s build (`airlock passport hash PATH`) and have the user sign a grant for it.',
          ],
        })
      const signed = input.grant as SignedGrant
      const validUntil = new Date(Math.min(now().getTime() + days * 86_400_000, grant.expiry * 1000))
      const id = `urn:uuid:${randomUUID()}`
      const iss = await issuer()
      const record = await guarded(() =>
        db.transaction().execute(async (trx) => {
          const existing = await trx
            .selectFrom('passports')
            .selectAll()
            .where('agent', '=', input.agent)
            .forUpdate()
            .executeTakeFirst()
          if (existing?.status === 'revoked')
            throw new BaseError(
              'FORBIDDEN',
              'This agent key’s passport was revoked; a revoked key gets no new passport.',
              {
                metaMessages: ['Create a new agent key (`airlock passport key`) and a grant for it.'],
              },
            )
          const values = {
            id,
            developer: input.developer,
            user_address: grant.user.toLowerCase(),
            code_hash: input.codeHash,
            grant: JSON.stringify(toJson({ grant, signature: signed.signature })),
            grant_hash: grantHash(grant),
            valid_until: validUntil,
          }
          const row = existing
            ? await trx
                .updateTable('passports')
                .set({ ...values, updated_at: sql<Date>`now()` })
                .where('agent', '=', input.agent)
                .returningAll()
                .executeTakeFirstOrThrow()
            : await trx
                .insertInto('passports')
                .values({ agent: input.agent, ...values })
                .returningAll()
                .executeTakeFirstOrThrow()
          await options.audit?.appendWithin(trx, {
            kind: 'passport.issued',
            actor: by,
            data: {
              agent: input.agent,
              passport: id,
              developer: input.developer,
              user: grant.user,
              codeHash: input.codeHash,
              grantHash: values.grant_hash,
              validUntil: validUntil.toISOString(),
            },
          })
          return toRecord(row)
        }),
      )
      cache.delete(input.agent)
      const passport = await issuePassport({
        issuer: { did: iss.did, key: iss.key },
        agent: input.agent,
        developer: input.developer,
        codeHash: input.codeHash,
        grant: { grant, signature: signed.signature },
        status: { url: `${options.baseUrl()}/status`, index: record.statusIndex },
        validFrom: now(),
        validUntil,
        id,
      })
      return { passport, record }
    },

    async list() {
      const rows = await guarded(() => db.selectFrom('passports').selectAll().orderBy('issued_at').execute())
      return rows.map(toRecord)
    },

    get: read,

    async setStatus(agent, status, input) {
      const by = text(input.by, 'by', 200)
      const reason = input.reason === undefined ? null : text(input.reason, 'reason', 500)
      const record = await guarded(() =>
        db.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('passports')
            .selectAll()
            .where('agent', '=', agent)
            .forUpdate()
            .executeTakeFirst()
          if (!row)
            throw new BaseError('NOT_FOUND', `No passport is issued to agent ${agent.slice(0, 80)}.`, {
              metaMessages: ['`airlock passport list` shows the agents with passports.'],
            })
          if (row.status === 'revoked' && status !== 'revoked')
            throw new BaseError('CONFLICT', 'A revoked passport cannot be reinstated or suspended.', {
              metaMessages: ['Issue a passport to a new agent key instead.'],
            })
          const updated = await trx
            .updateTable('passports')
            .set({ status, reason, updated_at: sql<Date>`now()` })
            .where('agent', '=', agent)
            .returningAll()
            .executeTakeFirstOrThrow()
          await options.audit?.appendWithin(trx, {
            kind: `passport.${status === 'active' ? 'reinstated' : status}`,
            actor: by,
            data: { agent, passport: row.id, previous: row.status, ...(reason ? { reason } : {}) },
          })
          return toRecord(updated)
        }),
      )
      cache.delete(agent)
      return record
    },

    current,

    async verify(passport) {
      const iss = await issuer()
      const verified = await verifyPassport(passport, {
        issuers: [{ did: iss.did, key: iss.key }],
        now: now(),
      })
      return current(verified.agent, verified.id)
    },

    async statusList(purpose) {
      const rows = await guarded(() =>
        db
          .selectFrom('passports')
          .select('status_index')
          .where('status', '=', purpose === 'revocation' ? 'revoked' : 'suspended')
          .execute(),
      )
      const iss = await issuer()
      return issueStatusListCredential({
        issuer: { did: iss.did, key: iss.key },
        url: `${options.baseUrl()}/status/${purpose}`,
        purpose,
        set: rows.map((r) => r.status_index),
      })
    },

    async useNonce(keyid, nonce, expires) {
      const t = Date.now()
      // Seen nonces are forgotten once their signatures expire: at most one purge a minute per replica.
      if (t - lastPurge > 60_000) {
        lastPurge = t
        await db
          .deleteFrom('request_nonces')
          .where('expires_at', '<', new Date(t - 60_000))
          .execute()
          .catch(() => {})
      }
      const row = await guarded(() =>
        db
          .insertInto('request_nonces')
          .values({ keyid: keyid.slice(0, 200), nonce, expires_at: new Date(expires * 1000) })
          .onConflict((oc) => oc.columns(['keyid', 'nonce']).doNothing())
          .returning('nonce')
          .executeTakeFirst(),
      )
      return row !== undefined
    },
  }

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof BaseError) throw error
      throw new BaseError(
        'STORE_UNAVAILABLE',
        'The passport registry could not read or write the store, so no agent is let in (fail closed).',
        {
          cause: error,
          metaMessages: ['Check that the store (PGlite data directory or DATABASE_URL) is reachable.'],
        },
      )
    }
  }
}

/**
 * What the pipeline enforces of a passport's grant (the caller's `grant`).
 *
 * @example grantScope(record) // { tools: ['get_balance'], chains: ['eip155:31337'], … }
 */
export function grantScope(record: PassportRecord): GrantScope {
  const g = record.grant
  return {
    tools: g.tools,
    chains: g.chains,
    payees: g.payees.map((p) => p.toLowerCase()),
    budget: { currency: 'USD', max: g.budget.max, windowSeconds: g.budget.windowSeconds },
    amountRange: { currency: 'USD', min: g.amountRange.min, max: g.amountRange.max },
    expiry: Math.min(g.expiry, Math.floor(record.validUntil.getTime() / 1000)),
    hash: record.grantHash,
  }
}

/**
 * The caller a verified, active passport makes: the agent with its developer, user, code hash and grant.
 *
 * @example const caller = agentCaller(await registry.current(did))
 */
export function agentCaller(record: PassportRecord): Caller {
  return {
    kind: 'agent',
    id: record.agent,
    developer: record.developer,
    user: record.user,
    codeHash: record.codeHash,
    passport: record.id,
    grant: grantScope(record),
  }
}

function toRecord(row: Selectable<PassportsTable>): PassportRecord {
  const stored = row.grant as unknown as { grant: AgentGrant }
  return {
    agent: row.agent,
    id: row.id,
    statusIndex: row.status_index,
    developer: row.developer,
    user: row.user_address,
    codeHash: row.code_hash,
    grant: stored.grant,
    grantHash: row.grant_hash,
    status: row.status as PassportStatus,
    ...(row.reason ? { reason: row.reason } : {}),
    validUntil: new Date(row.valid_until),
    issuedAt: row.issued_at,
  }
}

function toDeveloper(row: {
  did: string
  method: string
  label: string | null
  registered_at: Date
}): Developer {
  return {
    did: row.did,
    method: row.method as 'key' | 'web',
    ...(row.label ? { label: row.label } : {}),
    registeredAt: row.registered_at,
  }
}

function developerMethod(did: string): 'key' | 'web' {
  if (typeof did === 'string' && did.length <= 300) {
    if (did.startsWith('did:key:z')) return 'key'
    if (/^did:web:[A-Za-z0-9.%-]+(:[A-Za-z0-9._%-]+)*$/.test(did)) return 'web'
  }
  throw new InvalidInputError('A developer is a did:key (did:key:z…) or a did:web (did:web:example.com).', {
    field: 'did',
  })
}

/** The challenge a developer proof answers (its payload's `challenge`), read before the signature is checked. */
function challengeOf(proof: string): string {
  try {
    const payload = JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      challenge?: unknown
    }
    if (typeof payload.challenge === 'string' && payload.challenge.length <= 200) return payload.challenge
  } catch {}
  throw new InvalidInputError('The proof is not a developer proof (a compact JWS over the challenge).', {
    field: 'proof',
  })
}

/** An operator's words (a reason, a label, who acts) as kept and audited: hidden characters removed, no secrets. */
function text(value: unknown, field: string, max: number): string {
  const clean =
    typeof value === 'string' ? scrubSecrets(sanitizeText(value, { maxLength: max }).text).trim() : ''
  if (clean === '' || (value as string).length > max)
    throw new InvalidInputError(`"${field}" must be a non-empty string of at most ${max} characters.`, {
      field,
    })
  return clean
}
