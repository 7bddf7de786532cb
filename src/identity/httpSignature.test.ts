import { createPrivateKey, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { contentDigest } from './contentDigest.js'
import { type Ed25519Jwk, generateEd25519Key, publicKeyOfDidKey } from './didKey.js'
import {
  signatureBase,
  signRequest,
  type VerifyRequestSignatureParameters,
  verifyRequestSignature,
} from './httpSignature.js'

// RFC 9421 Appendix B.1.4 (test-key-ed25519) and B.2.6: a published base and the signature Ed25519 gives over it.
const rfcKey: Ed25519Jwk = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs',
  d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU',
}
const rfcHeaders = () =>
  new Headers({
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-length': '18',
  })
const rfcComponents = ['date', '@method', '@path', '@authority', 'content-type', 'content-length']
const rfcBase = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join('\n')
const rfcSignature =
  'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=='

const agent = generateEd25519Key()
const now = 1_700_000_000
const url = 'https://gw.example/mcp?session=1'
const json = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_balance"}}'
const body = new TextEncoder().encode(json)
const required = ['@method', '@target-uri', 'content-digest', 'authorization', 'mcp-method']

/** A signed POST as createPassportFetch sends it, and the parameters a server would verify it with. */
async function signed(
  options: {
    created?: number
    expiresIn?: number
    nonce?: string
    components?: string[]
    key?: Ed25519Jwk
  } = {},
) {
  const headers = new Headers({
    'content-type': 'application/json',
    'content-digest': contentDigest(body),
    authorization: 'Bearer token-1',
    'mcp-protocol-version': '2025-06-18',
    'mcp-method': 'tools/call',
  })
  const s = await signRequest({
    method: 'post',
    url,
    headers,
    key: options.key ?? agent.jwk,
    keyid: agent.did,
    created: options.created ?? now,
    ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.components === undefined ? {} : { components: options.components }),
  })
  headers.set('signature-input', s.signatureInput)
  headers.set('signature', s.signature)
  const seen = new Set<string>()
  const verify: VerifyRequestSignatureParameters = {
    method: 'POST',
    url,
    headers,
    body,
    resolveKey: publicKeyOfDidKey,
    required,
    now,
    useNonce: async (keyid, nonce) => {
      const k = `${keyid} ${nonce}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    },
  }
  return { ...s, headers, verify, seen }
}

async function refusal(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  expect((error as BaseError).code).toBe('UNAUTHORIZED')
  return error as BaseError
}

describe('signatureBase', () => {
  it('builds the RFC 9421 B.2.6 base, over which Ed25519 gives the published signature', () => {
    const base = signatureBase({
      method: 'POST',
      url: 'https://example.com/foo?param=Value&Pet=dog',
      headers: rfcHeaders(),
      components: rfcComponents,
      params: { created: 1618884473, keyid: 'test-key-ed25519' },
    })
    expect(base).toBe(rfcBase)
    const key = createPrivateKey({ key: rfcKey, format: 'jwk' })
    expect(sign(null, Buffer.from(base), key).toString('base64')).toBe(rfcSignature)
  })
  it('builds the base Airlock signs: uppercase method, absolute URL, trimmed headers, params last', () => {
    const headers = new Headers({ 'content-digest': contentDigest(body), authorization: '  Bearer abc  ' })
    headers.append('mcp-name', 'a')
    headers.append('mcp-name', 'b')
    const base = signatureBase({
      method: 'post',
      url,
      headers,
      components: ['@method', '@target-uri', 'content-digest', 'authorization', 'mcp-name'],
      params: {
        created: now,
        expires: now + 60,
        nonce: 'n-1',
        keyid: 'did:key:z6Mk',
        alg: 'ed25519',
        tag: 't',
      },
    })
    expect(base).toBe(
      `"@method": POST
"@target-uri": https://gw.example/mcp?session=1
"content-digest": ${contentDigest(body)}
"authorization": Bearer abc
"mcp-name": a, b
"@signature-params": ("@method" "@target-uri" "content-digest" "authorization" "mcp-name");created=1700000000;expires=1700000060;nonce="n-1";keyid="did:key:z6Mk";alg="ed25519";tag="t"`,
    )
  })
  it('refuses a component the request lacks, an unsupported one, or one listed twice', () => {
    const p = { method: 'GET', url, headers: new Headers(), params: { created: now } }
    expect(() => signatureBase({ ...p, components: ['authorization'] })).toThrow(/no "authorization" header/)
    expect(() => signatureBase({ ...p, components: ['@status'] })).toThrow(/not supported/)
    expect(() => signatureBase({ ...p, components: ['@method', '@method'] })).toThrow(/twice/)
    expect(() => signatureBase({ ...p, components: ['Date'] })).toThrow(/lowercase/)
  })
})

describe('signRequest', () => {
  it('writes sig1 with the default components present, and the parameters in order', async () => {
    const { signatureInput, signature } = await signed({ nonce: 'abc' })
    expect(signatureInput).toBe(
      `sig1=("@method" "@target-uri" "content-digest" "authorization" "mcp-protocol-version" "mcp-method");created=${now};expires=${now + 60};nonce="abc";keyid="${agent.did}";alg="ed25519";tag="airlock-mcp"`,
    )
    expect(signature).toMatch(/^sig1=:[A-Za-z0-9+/]{86}==:$/)
  })
  it('covers only @method and @target-uri on a bare GET, with a fresh nonce each time', async () => {
    const a = await signRequest({
      method: 'GET',
      url,
      headers: new Headers(),
      key: agent.jwk,
      keyid: agent.did,
    })
    const b = await signRequest({
      method: 'GET',
      url,
      headers: new Headers(),
      key: agent.jwk,
      keyid: agent.did,
    })
    expect(a.signatureInput).toMatch(
      /^sig1=\("@method" "@target-uri"\);created=\d+;expires=\d+;nonce="[\w-]{22}";/,
    )
    expect(a.signatureInput).not.toBe(b.signatureInput)
  })
  it('refuses a public key', async () => {
    await expect(
      signRequest({
        method: 'GET',
        url,
        headers: new Headers(),
        key: { ...agent.jwk, d: undefined } as never,
        keyid: 'k',
      }),
    ).rejects.toThrow(/private Ed25519 JWK/)
  })
})

describe('verifyRequestSignature', () => {
  it('accepts a signed request once and refuses the same nonce again', async () => {
    const { verify } = await signed({ nonce: 'once' })
    await expect(verifyRequestSignature(verify)).resolves.toEqual({
      keyid: agent.did,
      created: now,
      expires: now + 60,
      nonce: 'once',
    })
    const e = await refusal(verifyRequestSignature(verify))
    expect(e.shortMessage).toMatch(/replayed: this nonce was already used/)
  })
  it('accepts what the header parser normalizes (spacing), since the base re-serializes the parameters', async () => {
    const { verify, headers } = await signed()
    headers.set('signature-input', headers.get('signature-input')!.replace('("@method" ', '( "@method"  '))
    await expect(verifyRequestSignature(verify)).resolves.toMatchObject({ keyid: agent.did })
  })
  it('refuses a tampered body through its digest', async () => {
    const { verify } = await signed()
    const e = await refusal(
      verifyRequestSignature({ ...verify, body: new TextEncoder().encode(json.replace('1', '2')) }),
    )
    expect(e.shortMessage).toMatch(/does not match its Content-Digest/)
  })
  it('refuses a tampered body with a recomputed digest, as the signature covers the digest', async () => {
    const { verify, headers } = await signed()
    const other = new TextEncoder().encode(json.replace('1', '2'))
    headers.set('content-digest', contentDigest(other))
    const e = await refusal(verifyRequestSignature({ ...verify, body: other }))
    expect(e.shortMessage).toMatch(/does not verify/)
  })
  it('refuses another path, another method, another covered header', async () => {
    const { verify, headers, seen } = await signed()
    expect(
      (await refusal(verifyRequestSignature({ ...verify, url: 'https://gw.example/admin?session=1' })))
        .shortMessage,
    ).toMatch(/does not verify/)
    expect((await refusal(verifyRequestSignature({ ...verify, method: 'PUT' }))).shortMessage).toMatch(
      /does not verify/,
    )
    headers.set('mcp-method', 'tools/list')
    expect((await refusal(verifyRequestSignature(verify))).shortMessage).toMatch(/does not verify/)
    expect(seen.size).toBe(0) // failed verifications burn no nonce
  })
  it('refuses an expired signature, one created in the future, and one that lives too long', async () => {
    const old = await signed({ created: now - 200 })
    expect((await refusal(verifyRequestSignature(old.verify))).shortMessage).toMatch(/has expired/)
    const future = await signed({ created: now + 120 })
    expect((await refusal(verifyRequestSignature(future.verify))).shortMessage).toMatch(/in the future/)
    const long = await signed({ expiresIn: 3600 })
    expect((await refusal(verifyRequestSignature(long.verify))).shortMessage).toMatch(/longer than 300 s/)
    // Within the skew both ways is fine.
    const skewed = await signed({ created: now + 30 })
    await expect(verifyRequestSignature(skewed.verify)).resolves.toMatchObject({ created: now + 30 })
  })
  it('refuses a signature by another key than keyid names', async () => {
    const { verify } = await signed({ key: generateEd25519Key().jwk })
    expect((await refusal(verifyRequestSignature(verify))).shortMessage).toMatch(/does not verify/)
  })
  it('refuses a signature that leaves out a required component', async () => {
    const { verify } = await signed({ components: ['@method', '@target-uri', 'authorization', 'mcp-method'] })
    const e = await refusal(verifyRequestSignature(verify))
    expect(e.shortMessage).toMatch(/does not cover "content-digest"/)
    // A required header the request does not carry has nothing to protect; a body without a digest does.
    const get = await signed({ components: ['@method', '@target-uri', 'authorization', 'content-digest'] })
    get.headers.delete('mcp-method')
    await expect(verifyRequestSignature(get.verify)).resolves.toMatchObject({ keyid: agent.did })
    const noDigest = await signed({ components: ['@method', '@target-uri', 'authorization', 'mcp-method'] })
    noDigest.headers.delete('content-digest')
    expect((await refusal(verifyRequestSignature(noDigest.verify))).shortMessage).toMatch(/"content-digest"/)
  })
  it('refuses missing and malformed headers without echoing them', async () => {
    const { verify, headers } = await signed()
    const input = headers.get('signature-input')!
    const cases: [string, string, RegExp][] = [
      ['signature-input', '', /not a structured-field dictionary/],
      ['signature-input', `${'x'.repeat(200)}=`, /not a structured-field dictionary \(Malformed/],
      ['signature-input', input.replace('sig1', 'sig2'), /no label appears in both/],
      ['signature-input', 'sig1="@method"', /not an inner list/],
      ['signature', 'sig1=abc', /not a byte sequence/],
      ['signature-input', input.replace('"ed25519"', '"rsa-pss-sha512"'), /"rsa-pss-sha512" is not accepted/],
      ['signature-input', input.replace(/;nonce="[^"]*"/, ''), /nonce is missing/],
      ['signature-input', input.replace(/;nonce="[^"]*"/, `;nonce="${'n'.repeat(129)}"`), /longer than 128/],
      ['signature-input', input.replace(/;keyid="[^"]*"/, ''), /keyid is missing/],
      ['signature-input', input.replace(/;expires=\d+/, ''), /expires is missing/],
      ['signature-input', input.replace(/;created=\d+/, ''), /created is missing/],
      ['signature-input', input.replace(/created=\d+/, 'created="1"'), /created is not an integer/],
      ['signature-input', input.replace('"airlock-mcp"', '"other"'), /tag is missing or wrong/],
      ['signature-input', input.replace('"@method"', '"@method";req'), /component parameters/],
      ['signature-input', input.replace(/keyid="[^"]*"/, 'keyid="did:web:evil.example"'), /names no key/],
    ]
    for (const [name, value, pattern] of cases) {
      const h = new Headers(headers)
      h.set(name, value)
      const e = await refusal(verifyRequestSignature({ ...verify, headers: h }))
      expect(e.shortMessage, value).toMatch(pattern)
      expect(e.message).not.toContain('x'.repeat(81))
    }
    const none = new Headers(headers)
    none.delete('signature')
    expect((await refusal(verifyRequestSignature({ ...verify, headers: none }))).shortMessage).toMatch(
      /Signature header is missing/,
    )
  })
  it('parses the RFC 9421 B.2.6 message, then refuses it for lacking what Airlock requires (expires)', async () => {
    const headers = rfcHeaders()
    headers.set(
      'signature-input',
      'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    )
    headers.set('signature', `sig-b26=:${rfcSignature}:`)
    const e = await refusal(
      verifyRequestSignature({
        method: 'POST',
        url: 'https://example.com/foo?param=Value&Pet=dog',
        headers,
        body: new TextEncoder().encode('{"hello": "world"}'),
        resolveKey: () => rfcKey,
        required: ['@method'],
        now: 1618884473,
        tag: null,
        useNonce: async () => true,
      }),
    )
    expect(e.shortMessage).toMatch(/expires is missing/)
  })
})
