import { createPrivateKey } from 'node:crypto'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { createAssertion, verifyAssertion } from './assertion.js'
import { generateEd25519Key } from './didKey.js'

const agent = generateEd25519Key()
const audience = 'https://gw.example/oauth/token'
const passport = 'eyJhbGciOiJFZERTQSJ9.passport.sig'
const now = 1_700_000_000

async function refused(jwt: string, options: Parameters<typeof verifyAssertion>[1] = { audience, now }) {
  const error = await verifyAssertion(jwt, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  expect((error as BaseError).code).toBe('UNAUTHORIZED')
  return (error as BaseError).shortMessage
}

/** An assertion signed by hand, for the shapes createAssertion never produces. */
function forge(claims: Record<string, unknown>, options: { key?: typeof agent.jwk; kid?: string } = {}) {
  return new SignJWT({
    iss: agent.did,
    sub: agent.did,
    aud: audience,
    iat: now,
    exp: now + 60,
    jti: 'j',
    passport,
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: options.kid ?? agent.did })
    .sign(createPrivateKey({ key: options.key ?? agent.jwk, format: 'jwk' }))
}

describe('createAssertion / verifyAssertion', () => {
  it('round-trips: the agent, a random jti, the expiry and the passport come back', async () => {
    const jwt = await createAssertion({ agent: agent.did, key: agent.jwk, audience, passport, now })
    const header = JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString())
    expect(header).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: agent.did })
    const claims = await verifyAssertion(jwt, { audience, now: now + 10 })
    expect(claims).toEqual({
      agent: agent.did,
      jti: expect.stringMatching(/^[\w-]{22}$/),
      exp: now + 60,
      passport,
    })
    const again = await verifyAssertion(
      await createAssertion({ agent: agent.did, key: agent.jwk, audience, passport, now }),
      { audience, now },
    )
    expect(again.jti).not.toBe(claims.jti)
  })
  it('refuses another audience, an expired assertion, and one that lives too long', async () => {
    const jwt = await createAssertion({ agent: agent.did, key: agent.jwk, audience, passport, now })
    expect(await refused(jwt, { audience: 'https://other.example/token', now })).toMatch(/another audience/)
    expect(await refused(jwt, { audience, now: now + 200 })).toMatch(/expired/)
    const long = await createAssertion({
      agent: agent.did,
      key: agent.jwk,
      audience,
      passport,
      now,
      lifetimeSeconds: 3600,
    })
    expect(await refused(long)).toMatch(/longer than 300 s/)
  })
  it('refuses alg none, a signature by another key, and iss other than sub', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: agent.did, sub: agent.did, aud: audience, iat: now, exp: now + 60, jti: 'j', passport })}.`
    expect(await refused(none)).toMatch(/alg is not EdDSA/)
    expect(await refused(await forge({}, { key: generateEd25519Key().jwk }))).toMatch(
      /signature does not verify/,
    )
    expect(await refused(await forge({ sub: generateEd25519Key().did }))).toMatch(/sub is not its iss/)
    expect(await refused(await forge({ iat: now + 600, exp: now + 660 }))).toMatch(/issued in the future/)
    expect(await refused(await forge({ passport: undefined }))).toMatch(/passport claim is missing/)
    expect(await refused(await forge({ jti: undefined }))).toMatch(/jti claim is missing/)
    expect(await refused(await forge({ exp: undefined }))).toMatch(/exp claim is missing/)
    expect(
      await refused(
        await forge(
          { iss: 'did:web:evil.example', sub: 'did:web:evil.example' },
          { kid: 'did:web:evil.example' },
        ),
      ),
    ).toMatch(/not the agent did:key/)
    expect(await refused('not-a-jwt')).toMatch(/not a JWT/)
  })
  it('refuses to sign with a key that is not the agent', async () => {
    await expect(
      createAssertion({ agent: generateEd25519Key().did, key: agent.jwk, audience, passport }),
    ).rejects.toThrow(/not the key of the agent/)
  })
})
