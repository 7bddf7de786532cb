/**
 * What an agent's code needs to talk to an Airlock gateway that requires passports (`airlock/client`): a `fetch`
 * that exchanges the passport for an access token and signs every request (hand it to any MCP client's HTTP
 * transport), the code hash its passport locks, and its key.
 *
 * @example
 * import { createPassportFetch, codeHash } from 'airlock/client'
 * const fetch = createPassportFetch({ passport, key, codeHash: await codeHash('./dist') })
 * await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1:8402/mcp'), { fetch }))
 */
export { codeHash } from './identity/codeHash.js'
export { didKeyOf, type Ed25519Jwk, generateEd25519Key, parseEd25519Jwk } from './identity/didKey.js'
export { type AgentGrant, grantTypedData, type SignedGrant, signGrant } from './identity/grant.js'
export { type CreatePassportFetchParameters, createPassportFetch } from './identity/passportFetch.js'
