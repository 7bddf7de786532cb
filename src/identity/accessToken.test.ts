import { createPrivateKey } from 'node:crypto'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { keyMatchesToken, mintAccessToken, verifyAccessToken } from './accessToken.js'
import { generateEd25519Key, publicKeyOfDidKey } from './didKey.js'

const server = generateEd25519Key()
const issuer = { url: 'https://gw.example', key: server.jwk, kid: 'issuer-1' }
const publicIssuer = { url: issuer.url, key: { kty: 'OKP', crv: 'Ed25519', x: server.jwk.x } as const }
const agent = generateEd25519Key()
const resource = 'https://gw.example/mcp'
const now = 1_700_000_000

async function refused(token: string, options: Parameters<typeof verifyAccessToken>[1]) {
  const error = await verifyAccessToken(token, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  expect((error as BaseError).code).toBe('UNAUTHORIZED')
  return (error as BaseError).shortMessage
}

describe('mintAccessToken / verifyAccessToken', () => {
  it('round-trips an at+jwt bound to the agent key', async () => {
    const { token, expiresIn } = await mintAccessToken({
      issuer,
      agent: agent.did,
      resource,
      passportId: 'p-1',
      now,
    })
    expect(expiresIn).toBe(300)
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())
    expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'issuer-1' })
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
    expect(claims).toMatchObject({
      iss: issuer.url,
      sub: agent.did,
      aud: resource,
      client_id: agent.did,
      scope: 'mcp',
      iat: now,
      exp: now + 300,
      passport_id: 'p-1',
    })
    expect(claims.jti).toMatch(/^[\w-]{22}$/)
    const verified = await verifyAccessToken(token, { issuer: publicIssuer, resource, now: now + 100 })
    expect(verified).toEqual({
      agent: agent.did,
      passportId: 'p-1',
      scope: 'mcp',
      exp: now + 300,
      jkt: claims.cnf.jkt,
    })
    expect(await keyMatchesToken(publicKeyOfDidKey(agent.did), verified.jkt)).toBe(true)
    expect(await keyMatchesToken(agent.jwk, verified.jkt)).toBe(true)
    expect(await keyMatchesToken(generateEd25519Key().jwk, verified.jkt)).toBe(false)
  })
  it('refuses a token for another resource, an expired one, and one from another issuer', async () => {
    const { token } = await mintAccessToken({
      issuer,
      agent: agent.did,
      resource,
      passportId: 'p-1',
      now,
      lifetimeSeconds: 60,
    })
    expect(await refused(token, { issuer: publicIssuer, resource: 'https://gw.example/other', now })).toMatch(
      /issued for another resource/,
    )
    expect(await refused(token, { issuer: publicIssuer, resource, now: now + 100 })).toMatch(/expired/)
    expect(
      await refused(token, { issuer: { ...publicIssuer, url: 'https://evil.example' }, resource, now }),
    ).toMatch(/another server/)
    const other = generateEd25519Key().jwk
    expect(await refused(token, { issuer: { url: issuer.url, key: other }, resource, now })).toMatch(
      /signature does not verify/,
    )
  })
  it('refuses alg none, a plain JWT (typ), and an unbound token', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const claims = {
      iss: issuer.url,
      sub: agent.did,
      aud: resource,
      iat: now,
      exp: now + 60,
      jti: 'j',
      client_id: agent.did,
      scope: 'mcp',
      passport_id: 'p',
    }
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`
    expect(await refused(none, { issuer: publicIssuer, resource, now })).toMatch(
      /alg is not EdDSA|not a valid JWT/,
    )
    const key = createPrivateKey({ key: server.jwk, format: 'jwk' })
    const plain = await new SignJWT({ ...claims, cnf: { jkt: 'x' } })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .sign(key)
    expect(await refused(plain, { issuer: publicIssuer, resource, now })).toMatch(/typ at\+jwt/)
    const unbound = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).sign(key)
    expect(await refused(unbound, { issuer: publicIssuer, resource, now })).toMatch(/cnf\.jkt/)
    const twoAudiences = await new SignJWT({
      ...claims,
      aud: [resource, 'https://other.example'],
      cnf: { jkt: 'x' },
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .sign(key)
    expect(await refused(twoAudiences, { issuer: publicIssuer, resource, now })).toMatch(/another resource/)
  })
})
