import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateEd25519Key } from './didKey.js'
import { resolveDeveloperKeys, resolveDidWeb } from './didWeb.js'

/** What the local server answers for a path: a status, headers and a body written in one or more chunks. */
type Route = { status?: number; headers?: Record<string, string>; chunks: (string | Buffer)[] }

describe('did:web', () => {
  const routes = new Map<string, Route>()
  let server: Server
  let did: string
  const options = { allowLoopbackHttp: true }
  const jsonRoute = (value: unknown): Route => ({
    headers: { 'content-type': 'application/did+json' },
    chunks: [JSON.stringify(value)],
  })
  const dev = generateEd25519Key()
  const other = generateEd25519Key()
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: dev.jwk.x }

  beforeAll(async () => {
    server = createServer((req, res) => {
      const route = routes.get(req.url ?? '')
      if (!route) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(route.status ?? 200, route.headers ?? {})
      // Several write() calls: the body goes out chunked, with no content-length to trust.
      for (const chunk of route.chunks) res.write(chunk)
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    did = `did:web:127.0.0.1%3A${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('reads the keys referenced by authentication and assertionMethod, in JWK and multibase form', async () => {
    routes.set(
      '/.well-known/did.json',
      jsonRoute({
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: did,
        verificationMethod: [
          { id: '#jwk', type: 'JsonWebKey2020', controller: did, publicKeyJwk: publicJwk },
          { id: `${did}#mb`, type: 'Multikey', controller: did, publicKeyMultibase: other.did.slice(8) },
          // Listed but referenced by no relationship: not a key the developer signs registrations with.
          {
            id: '#unused',
            type: 'Multikey',
            controller: did,
            publicKeyMultibase: generateEd25519Key().did.slice(8),
          },
          // A secp256k1 key: not usable, ignored.
          {
            id: '#k1',
            type: 'JsonWebKey2020',
            controller: did,
            publicKeyJwk: { kty: 'EC', crv: 'secp256k1' },
          },
        ],
        authentication: ['#jwk', '#k1'],
        assertionMethod: [`${did}#mb`, '#jwk'],
      }),
    )
    const keys = await resolveDidWeb(did, options)
    expect(keys).toEqual([
      { ...publicJwk, kid: `${did}#jwk` },
      { kty: 'OKP', crv: 'Ed25519', x: other.jwk.x, kid: `${did}#mb` },
    ])
  })

  it('maps path segments to /…/did.json and embedded methods count', async () => {
    routes.set(
      '/user/alice/did.json',
      jsonRoute({
        id: `${did}:user:alice`,
        authentication: [{ id: '#embedded', type: 'Multikey', publicKeyMultibase: dev.did.slice(8) }],
      }),
    )
    expect(await resolveDidWeb(`${did}:user:alice`, options)).toEqual([
      { ...publicJwk, kid: `${did}:user:alice#embedded` },
    ])
  })

  it('builds https URLs from the DID (host, %3A port, path)', async () => {
    const seen: string[] = []
    const fake = (async (url: string | URL | Request) => {
      seen.push(String(url))
      return new Response('{}', { status: 404 })
    }) as typeof fetch
    for (const d of [
      'did:web:example.com',
      'did:web:Example.com%3A8443:user:alice',
      'did:web:w3c-ccg.github.io:a%2Bb',
    ])
      await expect(resolveDidWeb(d, { fetch: fake, allowLoopbackHttp: true })).rejects.toMatchObject({
        code: 'FETCH_FAILED',
      })
    expect(seen).toEqual([
      'https://example.com/.well-known/did.json',
      'https://example.com:8443/user/alice/did.json',
      'https://w3c-ccg.github.io/a%2Bb/did.json',
    ])
  })

  it('refuses a document for another DID', async () => {
    routes.set('/wrong/did.json', jsonRoute({ id: 'did:web:example.com', authentication: [] }))
    await expect(resolveDidWeb(`${did}:wrong`, options)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      shortMessage: expect.stringMatching(/for another DID/),
    })
  })

  it('refuses a document with no usable key, and one publishing a private key', async () => {
    routes.set(
      '/nokey/did.json',
      jsonRoute({
        id: `${did}:nokey`,
        verificationMethod: [{ id: '#k1', publicKeyJwk: { kty: 'EC', crv: 'secp256k1', x: 'a', y: 'b' } }],
        authentication: ['#k1', '#missing', `did:web:example.com#key`],
      }),
    )
    await expect(resolveDidWeb(`${did}:nokey`, options)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      shortMessage: expect.stringMatching(/no usable Ed25519 key/),
    })
    routes.set(
      '/leak/did.json',
      jsonRoute({
        id: `${did}:leak`,
        verificationMethod: [{ id: '#k', publicKeyJwk: dev.jwk }],
        authentication: ['#k'],
      }),
    )
    await expect(resolveDidWeb(`${did}:leak`, options)).rejects.toMatchObject({
      shortMessage: expect.stringMatching(/publishes a private key/),
    })
  })

  it('refuses loopback (plain http) without the test option, and private addresses always', async () => {
    let called = false
    const spy = (async () => {
      called = true
      return new Response('{}')
    }) as typeof fetch
    await expect(resolveDidWeb(did, { fetch: spy })).rejects.toMatchObject({
      code: 'UNTRUSTED_FETCH_BLOCKED',
    })
    await expect(resolveDidWeb('did:web:localhost', { fetch: spy })).rejects.toMatchObject({
      code: 'UNTRUSTED_FETCH_BLOCKED',
    })
    await expect(
      resolveDidWeb('did:web:169.254.169.254', { fetch: spy, allowLoopbackHttp: true }),
    ).rejects.toMatchObject({ code: 'UNTRUSTED_FETCH_BLOCKED' })
    expect(called).toBe(false)
  })

  it('refuses a body over 64 KiB, a redirect and a non-200 status', async () => {
    const big = JSON.stringify({ id: `${did}:big`, pad: 'x'.repeat(70 * 1024) })
    routes.set('/big/did.json', { chunks: [big.slice(0, 40_000), big.slice(40_000)] })
    await expect(resolveDidWeb(`${did}:big`, options)).rejects.toMatchObject({
      code: 'FETCH_FAILED',
      shortMessage: expect.stringMatching(/larger than 65536 bytes/),
    })
    routes.set('/moved/did.json', { status: 302, headers: { location: '/.well-known/did.json' }, chunks: [] })
    await expect(resolveDidWeb(`${did}:moved`, options)).rejects.toMatchObject({
      code: 'FETCH_FAILED',
      shortMessage: expect.stringMatching(/redirect/),
    })
    await expect(resolveDidWeb(`${did}:absent`, options)).rejects.toMatchObject({
      shortMessage: expect.stringMatching(/HTTP status 404/),
    })
  })

  it('refuses malformed DIDs', async () => {
    for (const bad of [
      'did:web:',
      'did:web:example.com/path',
      'did:web:exa mple.com',
      'did:web:example.com:..',
    ])
      await expect(resolveDidWeb(bad)).rejects.toMatchObject({ code: 'INVALID_INPUT' })
  })

  it('resolveDeveloperKeys takes did:key and did:web, nothing else', async () => {
    expect(await resolveDeveloperKeys(dev.did)).toEqual([publicJwk])
    expect(await resolveDeveloperKeys(`${did}:user:alice`, options)).toHaveLength(1)
    await expect(resolveDeveloperKeys('did:ethr:0x1234')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      shortMessage: expect.stringMatching(/did:key nor a did:web/),
    })
  })
})
