import { describe, expect, it } from 'vitest'
import {
  didKeyOf,
  ed25519KeyFromSeed,
  generateEd25519Key,
  parseEd25519Jwk,
  publicKeyOfDidKey,
} from './didKey.js'

describe('did:key', () => {
  it('encodes the did:key test vector of the did:key spec', () => {
    // did:key spec, Ed25519 test vector: the public key 2e6fcce3…, the DID below.
    const x = Buffer.from('2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6', 'hex').toString(
      'base64url',
    )
    expect(didKeyOf({ kty: 'OKP', crv: 'Ed25519', x })).toBe(
      'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    )
  })
  it('round-trips a generated key and refuses what is not an Ed25519 did:key', () => {
    const { jwk, did } = generateEd25519Key()
    expect(publicKeyOfDidKey(`${did}#${did.slice(8)}`).x).toBe(jwk.x)
    expect(() => publicKeyOfDidKey('did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme')).toThrow(
      /Ed25519/,
    )
    expect(() => publicKeyOfDidKey('did:web:example.com')).toThrow(/did:key/)
    expect(() => publicKeyOfDidKey('did:key:z0OIl')).toThrow(/did:key/)
  })
  it('derives the same key from the same seed', () => {
    const seed = new Uint8Array(32).fill(7)
    expect(ed25519KeyFromSeed(seed)).toEqual(ed25519KeyFromSeed(seed))
    expect(ed25519KeyFromSeed(seed).x).not.toBe(ed25519KeyFromSeed(new Uint8Array(32).fill(8)).x)
  })
  it('parses JWK text and refuses a public key where a private one is needed', () => {
    const { jwk } = generateEd25519Key()
    expect(parseEd25519Jwk(JSON.stringify(jwk), { private: true })).toEqual(jwk)
    expect(() => parseEd25519Jwk({ ...jwk, d: undefined }, { private: true })).toThrow(/private JWK/)
    expect(() => parseEd25519Jwk('not json')).toThrow(/Ed25519/)
  })
})
