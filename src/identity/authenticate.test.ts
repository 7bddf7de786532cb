import { describe, expect, it } from 'vitest'
import { useTestStore } from '../store/useTestStore.js'
import { AuthError, createAuthenticator } from './authenticate.js'
import { createPassportRegistry } from './passportRegistry.js'

describe('authenticator', () => {
  const t = useTestStore('pglite')

  it('refuses a request without a valid token with 401 naming what is missing, and audits at most 100 refusals a minute', async () => {
    const registry = createPassportRegistry(t.store, { baseUrl: () => 'http://127.0.0.1:1' })
    const entries: { kind: string }[] = []
    const auth = createAuthenticator({
      registry: async () => registry,
      baseUrl: () => 'http://127.0.0.1:1',
      tokenLifetimeSeconds: 300,
      audit: (entry) => entries.push(entry),
    })
    const request = (authorization?: string) => ({
      method: 'POST',
      url: 'http://127.0.0.1:1/mcp',
      headers: new Headers(authorization ? { authorization } : {}),
      body: new Uint8Array(),
    })
    const none = await auth.authenticate(request()).catch((e: unknown) => e)
    expect(none).toBeInstanceOf(AuthError)
    expect((none as AuthError).status).toBe(401)
    expect(auth.challenge(none as AuthError)).toContain(
      'resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"',
    )
    for (let i = 0; i < 105; i++)
      await expect(auth.authenticate(request('Bearer junk.junk.junk'))).rejects.toThrow()
    expect(entries.filter((e) => e.kind === 'auth.refused')).toHaveLength(100)
  })
})
