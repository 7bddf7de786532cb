import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { privateKeyToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import { issuePassport, signVcJwt, verifyPassport } from './credential.js'
import { didKeyOf, ed25519KeyFromSeed, generateEd25519Key } from './didKey.js'
import { type AgentGrant, type SignedGrant, signGrant } from './grant.js'

// anvil's first test account: a well-known key, never a real wallet.
const user = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const issuerKey = ed25519KeyFromSeed(new Uint8Array(32).fill(1))
const issuer = { did: didKeyOf(issuerKey), key: issuerKey }
const trusted = [{ did: issuer.did, key: { kty: 'OKP', crv: 'Ed25519', x: issuerKey.x } as const }]
const agent = generateEd25519Key().did
const developer = generateEd25519Key().did
const codeHash = `sha256:${'cd'.repeat(32)}`
const status = { url: 'https://gateway.example/status', index: 7 }
const t0 = Math.floor(Date.now() / 1000)
const validFrom = new Date(t0 * 1000)
const validUntil = new Date((t0 + 86_400) * 1000)
const at = (offsetSeconds: number) => new Date((t0 + offsetSeconds) * 1000)

const grantFor = (agentDid: string, hash = codeHash): AgentGrant => ({
  user: user.address,
  agent: agentDid,
  codeHash: hash,
  tools: ['get_balance'],
  chains: ['eip155:31337'],
  payees: [],
  budget: { currency: 'USD', max: '10', windowSeconds: 3600 },
  amountRange: { currency: 'USD', min: '0', max: '1' },
  notBefore: t0 - 60,
  expiry: t0 + 7 * 86_400,
  nonce: `0x${'22'.repeat(32)}`,
})

/** The JWT with its payload replaced, the original signature kept. */
const withPayload = (jwt: string, change: (payload: Record<string, unknown>) => void) => {
  const [header, payload, signature] = jwt.split('.')
  const json = JSON.parse(Buffer.from(payload!, 'base64url').toString())
  change(json)
  return `${header}.${Buffer.from(JSON.stringify(json)).toString('base64url')}.${signature}`
}

describe('agent passport (vc+jwt)', () => {
  let grant: SignedGrant
  let passport: string
  beforeAll(async () => {
    grant = await signGrant(grantFor(agent), user)
    passport = await issuePassport({
      issuer,
      agent,
      developer,
      codeHash,
      grant,
      status,
      validFrom,
      validUntil,
    })
  })

  it('round-trips, as a VC 2.0 credential secured with VC-JOSE-COSE', async () => {
    expect(decodeProtectedHeader(passport)).toEqual({
      alg: 'EdDSA',
      typ: 'vc+jwt',
      kid: `${issuer.did}#${issuer.did.slice(8)}`,
    })
    const payload = decodeJwt(passport)
    expect(payload).not.toHaveProperty('vc')
    expect(payload).toMatchObject({
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://airlock.dev/ns/passport/v1'],
      type: ['VerifiableCredential', 'AgentPassport'],
      issuer: issuer.did,
      validFrom: validFrom.toISOString().replace('.000Z', 'Z'),
      credentialSubject: { id: agent, developer, codeHash, grant: { signature: grant.signature } },
      credentialStatus: [
        {
          id: 'https://gateway.example/status/revocation#7',
          type: 'BitstringStatusListEntry',
          statusPurpose: 'revocation',
          statusListIndex: '7',
          statusListCredential: 'https://gateway.example/status/revocation',
        },
        { statusPurpose: 'suspension', statusListCredential: 'https://gateway.example/status/suspension' },
      ],
      iss: issuer.did,
      sub: agent,
      nbf: t0,
      exp: t0 + 86_400,
    })
    expect(payload.jti).toBe(payload.id)
    expect(payload.id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/)

    const verified = await verifyPassport(passport, { issuers: trusted, now: at(60) })
    expect(verified).toEqual({
      id: payload.id,
      issuer: issuer.did,
      agent,
      developer,
      codeHash,
      grant,
      validUntil,
      status,
    })
  })

  it('refuses a tampered payload', async () => {
    const [header, payload, signature] = passport.split('.') as [string, string, string]
    const i = 40
    const flipped = `${payload.slice(0, i)}${payload[i] === 'A' ? 'B' : 'A'}${payload.slice(i + 1)}`
    const error = await verifyPassport(`${header}.${flipped}.${signature}`, {
      issuers: trusted,
      now: at(60),
    }).catch((e: unknown) => e as Error)
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' })
    // The message quotes nothing of the token.
    expect((error as Error).message).not.toContain(flipped.slice(30, 50))
    const otherDeveloper = withPayload(passport, (p) => {
      ;(p.credentialSubject as { developer: string }).developer = generateEd25519Key().did
    })
    await expect(verifyPassport(otherDeveloper, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/signature does not verify/),
    })
  })

  it('refuses a passport signed by another key claiming the trusted issuer, and an untrusted issuer', async () => {
    const forged = await signVcJwt(decodeJwt(passport), { did: issuer.did, key: generateEd25519Key().jwk })
    await expect(verifyPassport(forged, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/signature does not verify/),
    })
    const stranger = generateEd25519Key()
    const foreign = await signVcJwt(
      { ...decodeJwt(passport), iss: stranger.did, issuer: stranger.did },
      { did: stranger.did, key: stranger.jwk },
    )
    await expect(verifyPassport(foreign, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/issuer this gateway does not trust/),
    })
  })

  it('refuses an expired passport and one not yet valid, with 60 s tolerance', async () => {
    await expect(verifyPassport(passport, { issuers: trusted, now: at(86_400 + 59) })).resolves.toBeDefined()
    await expect(verifyPassport(passport, { issuers: trusted, now: at(86_400 + 61) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/expired/),
    })
    await expect(verifyPassport(passport, { issuers: trusted, now: at(-61) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/not valid yet/),
    })
  })

  it('refuses alg none and HS256', async () => {
    const [, payload] = passport.split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'vc+jwt' })).toString('base64url')}.${payload}.`
    await expect(verifyPassport(none, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/only EdDSA/),
    })
    // HMAC keyed with the issuer's public key: the classic algorithm-confusion forgery.
    const hs256 = await new SignJWT(decodeJwt(passport))
      .setProtectedHeader({ alg: 'HS256', typ: 'vc+jwt' })
      .sign(Buffer.from(issuerKey.x, 'base64url'))
    await expect(verifyPassport(hs256, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/only EdDSA/),
    })
    const jwtTyp = await new SignJWT(decodeJwt(passport))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .sign(await import('jose').then((j) => j.importJWK(issuerKey, 'EdDSA')))
    await expect(verifyPassport(jwtTyp, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      shortMessage: expect.stringMatching(/vc\+jwt/),
    })
  })

  it('refuses a grant for another agent key or other code, at issuance and at verification', async () => {
    const otherAgent = generateEd25519Key().did
    const foreignGrant = await signGrant(grantFor(otherAgent), user)
    await expect(
      issuePassport({
        issuer,
        agent,
        developer,
        codeHash,
        grant: foreignGrant,
        status,
        validFrom,
        validUntil,
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
    // A trusted issuer's signature does not make the binding right: checked at verification too.
    const swapped = await signVcJwt(
      withPayloadObject(passport, (p) => {
        ;(p.credentialSubject as { grant: unknown }).grant = {
          message: foreignGrant.grant,
          signature: foreignGrant.signature,
        }
      }),
      issuer,
    )
    await expect(verifyPassport(swapped, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      shortMessage: expect.stringMatching(/another agent key/),
    })
    const otherCode = await signGrant(grantFor(agent, `sha256:${'ef'.repeat(32)}`), user)
    await expect(
      issuePassport({ issuer, agent, developer, codeHash, grant: otherCode, status, validFrom, validUntil }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', shortMessage: expect.stringMatching(/code hash/) })
  })

  it('refuses a passport outliving its grant, an issuer key that is not its did, and oversized tokens', async () => {
    await expect(
      issuePassport({
        issuer,
        agent,
        developer,
        codeHash,
        grant,
        status,
        validFrom,
        validUntil: at(8 * 86_400),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'validUntil' })
    await expect(
      issuePassport({
        issuer: { did: issuer.did, key: generateEd25519Key().jwk },
        agent,
        developer,
        codeHash,
        grant,
        status,
        validFrom,
        validUntil,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'issuer.did' })
    const huge = withPayload(passport, (p) => {
      p.pad = 'x'.repeat(33 * 1024)
    })
    await expect(verifyPassport(huge, { issuers: trusted, now: at(60) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/at most 32768 bytes/),
    })
  })
})

/** The payload as an object, changed (to be signed again). */
function withPayloadObject(jwt: string, change: (payload: Record<string, unknown>) => void) {
  const payload = decodeJwt(jwt) as Record<string, unknown>
  change(payload)
  return payload
}
