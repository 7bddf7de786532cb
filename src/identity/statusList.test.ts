import { gunzipSync, gzipSync } from 'node:zlib'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { didKeyOf, ed25519KeyFromSeed, generateEd25519Key } from './didKey.js'
import {
  decodeStatusList,
  encodeStatusList,
  issueStatusListCredential,
  readStatusListCredential,
  statusAt,
  statusListLength,
} from './statusList.js'

const issuerKey = ed25519KeyFromSeed(new Uint8Array(32).fill(3))
const issuer = { did: didKeyOf(issuerKey), key: issuerKey }
const issuers = [{ did: issuer.did, key: { kty: 'OKP', crv: 'Ed25519', x: issuerKey.x } as const }]
const url = 'https://gateway.example/status/revocation'

describe('Bitstring Status List', () => {
  it('puts index 0 in the most significant bit of the first byte, 7 in its least, 8 in the next byte', () => {
    const raw = (set: number[]) => gunzipSync(Buffer.from(encodeStatusList(set).slice(1), 'base64url'))
    expect(raw([0])[0]).toBe(0x80)
    expect(raw([7])[0]).toBe(0x01)
    const eight = raw([8])
    expect([eight[0], eight[1]]).toEqual([0x00, 0x80])
  })

  it('is 16 KiB before compression at the spec size, multibase base64url after', () => {
    const encoded = encodeStatusList([])
    expect(statusListLength).toBe(131_072)
    expect(encoded).toMatch(/^u[A-Za-z0-9_-]+$/)
    expect(gunzipSync(Buffer.from(encoded.slice(1), 'base64url')).length).toBe(16 * 1024)
    expect(decodeStatusList(encoded)).toHaveLength(16 * 1024)
  })

  it('round-trips a set, and reads bits with statusAt', () => {
    const set = [0, 7, 8, 1000, statusListLength - 1]
    const bits = decodeStatusList(encodeStatusList(set))
    for (const i of set) expect(statusAt(bits, i)).toBe(true)
    for (const i of [1, 6, 9, 999, 1001, statusListLength - 2]) expect(statusAt(bits, i)).toBe(false)
    expect(() => statusAt(bits, statusListLength)).toThrow(/outside/)
  })

  it('refuses indexes outside the list, short lists and gzip bombs', () => {
    expect(() => encodeStatusList([statusListLength])).toThrow(/outside/)
    expect(() => encodeStatusList([-1])).toThrow(/outside/)
    expect(() => encodeStatusList([], 1024)).toThrow(/multiple of 8/)
    const short = `u${gzipSync(new Uint8Array(1024)).toString('base64url')}`
    expect(() => decodeStatusList(short)).toThrow(/fewer than/)
    const bomb = `u${gzipSync(new Uint8Array(17 * 1024 * 1024)).toString('base64url')}`
    expect(() => decodeStatusList(bomb)).toThrow(/more than/)
    expect(() => decodeStatusList('zabc')).toThrow(/multibase/)
    expect(() => decodeStatusList('uAAAA')).toThrow(/GZIP/)
  })

  it('issues and reads a status list credential', async () => {
    const jwt = await issueStatusListCredential({ issuer, url, purpose: 'revocation', set: [7, 42] })
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'EdDSA', typ: 'vc+jwt' })
    expect(decodeJwt(jwt)).toMatchObject({
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: issuer.did,
      credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: 'revocation' },
    })
    const list = await readStatusListCredential(jwt, { issuers, url })
    expect(list.purpose).toBe('revocation')
    expect(list.url).toBe(url)
    expect([statusAt(list.bits, 7), statusAt(list.bits, 42), statusAt(list.bits, 8)]).toEqual([
      true,
      true,
      false,
    ])
    await expect(readStatusListCredential(jwt, { issuers, url: `${url}x` })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    })
  })

  it('refuses a status list from an untrusted issuer, and an expired one', async () => {
    const stranger = generateEd25519Key()
    const foreign = await issueStatusListCredential({
      issuer: { did: stranger.did, key: stranger.jwk },
      url,
      purpose: 'suspension',
      set: [],
    })
    await expect(readStatusListCredential(foreign, { issuers })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/does not trust/),
    })
    const validUntil = new Date(Date.now() + 3600_000)
    const short = await issueStatusListCredential({ issuer, url, purpose: 'suspension', set: [], validUntil })
    await expect(
      readStatusListCredential(short, { issuers, now: new Date(validUntil.getTime() + 120_000) }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED', shortMessage: expect.stringMatching(/expired/) })
    expect((await readStatusListCredential(short, { issuers })).purpose).toBe('suspension')
  })
})
