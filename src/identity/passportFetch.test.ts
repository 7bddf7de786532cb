import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { keyMatchesToken, mintAccessToken, verifyAccessToken } from './accessToken.js'
import { verifyAssertion } from './assertion.js'
import { generateEd25519Key, publicKeyOfDidKey } from './didKey.js'
import { verifyRequestSignature } from './httpSignature.js'
import { createPassportFetch } from './passportFetch.js'

const issuerKey = generateEd25519Key()
const agent = generateEd25519Key()
const passport = 'eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCJ9.e30.sig'

/** What the gateway stand-in saw, reset before each test. */
const seen = { tokenRequests: 0, metadataRequests: 0, revoked: new Set<string>(), nonces: new Set<string>() }
/** Seconds added to the wall clock, on both sides, to move time forward without waiting. */
let offset = 0
const now = () => Math.floor(Date.now() / 1000) + offset
let server: Server
let base: string

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers))
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v)
  return headers
}

/** A gateway in miniature: RFC 9728 and RFC 8414 metadata, a jwt-bearer token endpoint, and a signed echo. */
async function handle(
  req: IncomingMessage,
): Promise<{ status: number; json: unknown; headers?: Record<string, string> }> {
  const body = await readBody(req)
  const path = req.url ?? '/'
  if (path === '/.well-known/oauth-protected-resource/mcp') {
    seen.metadataRequests++
    return { status: 200, json: { resource: `${base}/mcp`, authorization_servers: [base] } }
  }
  if (path === '/.well-known/oauth-authorization-server') {
    seen.metadataRequests++
    return { status: 200, json: { issuer: base, token_endpoint: `${base}/token` } }
  }
  if (path === '/token' && req.method === 'POST') {
    seen.tokenRequests++
    const form = new URLSearchParams(Buffer.from(body).toString())
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return { status: 400, json: { error: 'unsupported_grant_type' } }
    if (form.get('resource') !== `${base}/mcp`) return { status: 400, json: { error: 'invalid_target' } }
    try {
      const claims = await verifyAssertion(form.get('assertion') ?? '', {
        audience: `${base}/token`,
        now: now(),
      })
      if (claims.passport !== passport)
        return {
          status: 400,
          json: { error: 'invalid_grant', error_description: `passport revoked ${'!'.repeat(300)}` },
        }
      const { token, expiresIn } = await mintAccessToken({
        issuer: { url: base, key: issuerKey.jwk, kid: 'k1' },
        agent: claims.agent,
        resource: `${base}/mcp`,
        passportId: 'p-1',
        now: now(),
      })
      return { status: 200, json: { access_token: token, token_type: 'Bearer', expires_in: expiresIn } }
    } catch (error) {
      return {
        status: 400,
        json: { error: 'invalid_grant', error_description: (error as BaseError).shortMessage },
      }
    }
  }
  if (path.startsWith('/mcp')) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
    let claims: Awaited<ReturnType<typeof verifyAccessToken>>
    try {
      if (seen.revoked.has(bearer)) throw new BaseError('UNAUTHORIZED', 'revoked')
      claims = await verifyAccessToken(bearer, {
        issuer: { url: base, key: issuerKey.jwk },
        resource: `${base}/mcp`,
      })
    } catch {
      return {
        status: 401,
        json: { error: 'invalid_token' },
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      }
    }
    try {
      const signature = await verifyRequestSignature({
        method: req.method ?? 'GET',
        url: `${base}${path}`,
        headers: headersOf(req),
        body,
        resolveKey: (keyid) => {
          if (keyid !== claims.agent) throw new BaseError('UNAUTHORIZED', 'keyid is not the token subject')
          return publicKeyOfDidKey(keyid)
        },
        required: ['@method', '@target-uri', 'content-digest', 'authorization', 'mcp-protocol-version'],
        now: now(),
        useNonce: async (keyid, nonce) => {
          if (seen.nonces.has(`${keyid} ${nonce}`)) return false
          seen.nonces.add(`${keyid} ${nonce}`)
          return true
        },
      })
      if (!(await keyMatchesToken(publicKeyOfDidKey(signature.keyid), claims.jkt)))
        throw new Error('not bound')
      return {
        status: 200,
        json: {
          agent: signature.keyid,
          method: req.method,
          body: Buffer.from(body).toString(),
          contentType: req.headers['content-type'] ?? null,
          protocol: req.headers['mcp-protocol-version'] ?? null,
        },
      }
    } catch (error) {
      return { status: 401, json: { error: 'invalid_request', message: (error as Error).message } }
    }
  }
  return { status: 404, json: { error: 'not_found' } }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req).then(({ status, json, headers }) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(json))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

beforeEach(() => {
  seen.tokenRequests = 0
  seen.metadataRequests = 0
  seen.revoked.clear()
  offset = 0
})

const rpc = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })

describe('createPassportFetch', () => {
  it('discovers, gets a token and signs a POST whose JSON body is a string and headers a record', async () => {
    const f = createPassportFetch({ passport, key: agent.jwk })
    const res = await f(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' },
      body: rpc,
    })
    expect(await res.json()).toEqual({
      agent: agent.did,
      method: 'POST',
      body: rpc,
      contentType: 'application/json',
      protocol: '2025-06-18',
    })
    expect(seen).toMatchObject({ tokenRequests: 1, metadataRequests: 2 })
  })
  it('signs headers given as Headers, reuses the token, and signs a bodiless GET', async () => {
    const f = createPassportFetch({ passport, key: agent.jwk })
    const headers = new Headers({ 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' })
    for (let i = 0; i < 2; i++) {
      const res = await f(new URL(`${base}/mcp`), { method: 'POST', headers, body: rpc })
      expect(res.status).toBe(200)
    }
    const get = await f(`${base}/mcp?stream=1`, { headers })
    expect(await get.json()).toMatchObject({ method: 'GET', body: '' })
    expect(seen.tokenRequests).toBe(1)
  })
  it('shares one token request between concurrent first requests', async () => {
    const f = createPassportFetch({ passport, key: agent.jwk })
    const init = { method: 'POST', headers: { 'mcp-protocol-version': '2025-06-18' }, body: rpc }
    const [a, b] = await Promise.all([f(`${base}/mcp`, init), f(`${base}/mcp`, init)])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(seen.tokenRequests).toBe(1)
  })
  it('digests every body shape fetch takes, and a Request input', async () => {
    const f = createPassportFetch({ passport, key: agent.jwk })
    const headers = { 'mcp-protocol-version': '2025-06-18' }
    const bytes = new TextEncoder().encode(rpc)
    const bodies: [NonNullable<RequestInit['body']>, string][] = [
      [bytes, rpc],
      [bytes.buffer, rpc],
      [new Blob([rpc]), rpc],
      [new URLSearchParams({ a: '1', b: 'x y' }), 'a=1&b=x+y'],
    ]
    for (const [body, text] of bodies) {
      const res = await f(`${base}/mcp`, { method: 'POST', headers, body })
      expect(((await res.json()) as { body: string }).body).toBe(text)
    }
    const request = new Request(`${base}/mcp`, { method: 'POST', headers, body: rpc })
    expect(await (await f(request)).json()).toMatchObject({ body: rpc, method: 'POST' })
  })
  it('renews a token near expiry, and once after a 401 invalid_token', async () => {
    const f = createPassportFetch({ passport, key: agent.jwk, now })
    const init = { method: 'POST', headers: { 'mcp-protocol-version': '2025-06-18' }, body: rpc }
    expect((await f(`${base}/mcp`, init)).status).toBe(200)
    offset += 300 - 20 // within 30 s of the 300 s lifetime
    expect((await f(`${base}/mcp`, init)).status).toBe(200)
    expect(seen.tokenRequests).toBe(2)
    // The server revokes every token it issued so far: the client renews once and succeeds.
    const spy: string[] = []
    const g = createPassportFetch({
      passport,
      key: agent.jwk,
      now,
      fetch: async (input, requestInit) => {
        const auth = new Headers(requestInit?.headers).get('authorization')
        if (auth) spy.push(auth.slice(7))
        return fetch(input, requestInit)
      },
    })
    expect((await g(`${base}/mcp`, init)).status).toBe(200)
    for (const t of spy) seen.revoked.add(t)
    expect((await g(`${base}/mcp`, init)).status).toBe(200)
    expect(seen.tokenRequests).toBe(4)
  })
  it('skips discovery when given the token endpoint, and reports the token endpoint error', async () => {
    const f = createPassportFetch({
      passport,
      key: agent.jwk,
      tokenEndpoint: `${base}/token`,
      resource: `${base}/mcp`,
    })
    expect(
      (await f(`${base}/mcp`, { method: 'POST', headers: { 'mcp-protocol-version': '1' }, body: rpc }))
        .status,
    ).toBe(200)
    expect(seen.metadataRequests).toBe(0)
    const revoked = createPassportFetch({ passport: `${passport}x`, key: agent.jwk })
    const error = await revoked(`${base}/mcp`).then(
      () => undefined,
      (e: unknown) => e as BaseError,
    )
    expect(error?.code).toBe('UNAUTHORIZED')
    expect(error?.shortMessage).toMatch(
      /^The token endpoint refused the passport \(invalid_grant: passport revoked !+\)\.$/,
    )
    expect(error?.shortMessage.length).toBeLessThan(300)
  })
  it('refuses to be built with a public key', () => {
    expect(() =>
      createPassportFetch({ passport, key: { kty: 'OKP', crv: 'Ed25519', x: agent.jwk.x } }),
    ).toThrow(/private JWK/)
  })
})
