import { importJWK, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { developerChallenge, signDeveloperChallenge, verifyDeveloperProof } from './developerProof.js'
import { generateEd25519Key, publicKeyOfDidKey } from './didKey.js'

const audience = 'https://gateway.example'

describe('developer proof', () => {
  const dev = generateEd25519Key()
  const keys = [publicKeyOfDidKey(dev.did)]
  const sign = (challenge: string, overrides: { did?: string; audience?: string } = {}) =>
    signDeveloperChallenge({
      did: overrides.did ?? dev.did,
      key: dev.jwk,
      challenge,
      audience: overrides.audience ?? audience,
    })
  /** A proof with a hand-made header and payload, signed by `dev`'s key. */
  const craft = async (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'airlock-developer-proof+jwt', kid: dev.did, ...header })
      .sign(await importJWK(dev.jwk, 'EdDSA'))
  const claims = (challenge: string) => {
    const iat = Math.floor(Date.now() / 1000)
    return { iss: dev.did, aud: audience, challenge, iat, exp: iat + 600 }
  }

  it('hands out 32-byte challenges valid for 10 minutes', () => {
    const a = developerChallenge()
    expect(a.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(developerChallenge().challenge).not.toBe(a.challenge)
    expect(Math.abs(a.expiresAt.getTime() - Date.now() - 600_000)).toBeLessThan(5_000)
  })

  it('accepts a proof signed by one of the DID keys over the challenge', async () => {
    const { challenge } = developerChallenge()
    const proof = await sign(challenge)
    // Among other keys (a did:web document may list several), one is enough.
    const many = [publicKeyOfDidKey(generateEd25519Key().did), ...keys]
    await expect(
      verifyDeveloperProof({ proof, did: dev.did, challenge, audience, keys: many }),
    ).resolves.toBeUndefined()
  })

  it('refuses a proof signed by none of the keys', async () => {
    const { challenge } = developerChallenge()
    const proof = await sign(challenge)
    const otherKeys = [publicKeyOfDidKey(generateEd25519Key().did)]
    await expect(
      verifyDeveloperProof({ proof, did: dev.did, challenge, audience, keys: otherKeys }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/not signed by any key/),
    })
  })

  it('refuses another challenge, another audience and another issuer', async () => {
    const { challenge } = developerChallenge()
    const proof = await sign(challenge)
    await expect(
      verifyDeveloperProof({
        proof,
        did: dev.did,
        challenge: developerChallenge().challenge,
        audience,
        keys,
      }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/another challenge/),
    })
    await expect(
      verifyDeveloperProof({ proof, did: dev.did, challenge, audience: 'https://other.example', keys }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', shortMessage: expect.stringMatching(/another audience/) })
    const otherIss = await craft({}, { ...claims(challenge), iss: 'did:web:evil.example' })
    await expect(
      verifyDeveloperProof({ proof: otherIss, did: dev.did, challenge, audience, keys }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', shortMessage: expect.stringMatching(/another DID/) })
    // Registering as another DID with this DID's proof: the kid no longer matches.
    await expect(
      verifyDeveloperProof({ proof, did: 'did:web:evil.example', challenge, audience, keys }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })

  it('refuses an expired proof', async () => {
    const { challenge } = developerChallenge()
    const proof = await sign(challenge)
    const later = new Date(Date.now() + 11 * 60_000 + 60_000)
    await expect(
      verifyDeveloperProof({ proof, did: dev.did, challenge, audience, keys, now: later }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', shortMessage: expect.stringMatching(/expired/) })
  })

  it('refuses another typ and another alg', async () => {
    const { challenge } = developerChallenge()
    const jwt = await craft({ typ: 'JWT' }, claims(challenge))
    await expect(
      verifyDeveloperProof({ proof: jwt, did: dev.did, challenge, audience, keys }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/typed/),
    })
    const hs256 = await new SignJWT(claims(challenge))
      .setProtectedHeader({ alg: 'HS256', typ: 'airlock-developer-proof+jwt', kid: dev.did })
      .sign(new TextEncoder().encode(dev.jwk.x))
    await expect(
      verifyDeveloperProof({ proof: hs256, did: dev.did, challenge, audience, keys }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/EdDSA/),
    })
    await expect(
      verifyDeveloperProof({ proof: 'not.a.jws', did: dev.did, challenge, audience, keys }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })
})
