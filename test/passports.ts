import { randomBytes } from 'node:crypto'
import type { Hex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { contentDigest } from '../src/identity/contentDigest.js'
import { signDeveloperChallenge } from '../src/identity/developerProof.js'
import { type Ed25519Jwk, generateEd25519Key } from '../src/identity/didKey.js'
import {
  type AgentGrant,
  grantDomain,
  grantTypedData,
  type SignedGrant,
  signGrant,
} from '../src/identity/grant.js'
import { signRequest } from '../src/identity/httpSignature.js'
import type { PassportRecord, PassportRegistry } from '../src/identity/passportRegistry.js'

/** The devnet's standard test mnemonic: account N signs as "the user" of an agent. */
export const testMnemonic = 'test test test test test test test test test test test junk'

/** A code hash that stands for an agent's build in tests. */
export const testCodeHash = `sha256:${'ab'.repeat(32)}`

/**
 * A grant signed by devnet account `index` while it names another user: what a forger would bring.
 *
 * @example const forged = await strangerSigned(grant, 7)
 */
export async function strangerSigned(grant: AgentGrant, index: number): Promise<SignedGrant> {
  const { EIP712Domain: _, ...types } = grantTypedData(grant).types
  const signature = await mnemonicToAccount(testMnemonic, { addressIndex: index }).signTypedData({
    domain: grantDomain,
    types,
    primaryType: 'AgentGrant',
    message: grant as never,
  })
  return { grant, signature }
}

/** An agent taken through the five steps: its key, passport, grant and record. */
export type TestAgent = {
  did: string
  key: Ed25519Jwk
  passport: string
  codeHash: string
  grant: SignedGrant
  record: PassportRecord
  developer: string
}

/** What a test may change in the grant (the rest: devnet, 1 day, a $100 budget per day, $0–$50 per write). */
export type GrantOverrides = Partial<Omit<AgentGrant, 'user' | 'agent' | 'nonce'>> & {
  /** The devnet account that signs as the user (default 5). */
  userIndex?: number
  /** Sign with this account while naming another user (a grant "signed by another wallet"). */
  signerIndex?: number
}

/**
 * Registers a did:key developer (signed challenge), then issues a passport to a fresh agent key with a grant the
 * user (a devnet account) signed: steps 1–4 of DESIGN §7, as the admin API and the CLI run them.
 *
 * @example const agent = await passportedAgent(operator.passports, { tools: ['whoami', 'get_balance'] })
 */
export async function passportedAgent(
  registry: PassportRegistry,
  overrides: GrantOverrides = {},
): Promise<TestAgent> {
  const developer = generateEd25519Key()
  const { challenge, audience } = await registry.challenge(developer.did)
  const proof = await signDeveloperChallenge({ did: developer.did, key: developer.jwk, challenge, audience })
  await registry.registerDeveloper({ did: developer.did, proof, by: 'test' })
  const agent = generateEd25519Key()
  const now = Math.floor(Date.now() / 1000)
  const { userIndex = 5, signerIndex, ...fields } = overrides
  const user = mnemonicToAccount(testMnemonic, { addressIndex: userIndex })
  const grant: AgentGrant = {
    user: user.address,
    agent: agent.did,
    codeHash: testCodeHash,
    tools: ['whoami', 'get_balance'],
    chains: ['eip155:31337'],
    payees: [],
    budget: { currency: 'USD', max: '100', windowSeconds: 86_400 },
    amountRange: { currency: 'USD', min: '0', max: '50' },
    notBefore: now - 60,
    expiry: now + 86_400,
    nonce: `0x${randomBytes(32).toString('hex')}` as Hex,
    ...fields,
  }
  const signed =
    signerIndex === undefined ? await signGrant(grant, user) : await strangerSigned(grant, signerIndex)
  const { passport, record } = await registry.issue({
    agent: agent.did,
    developer: developer.did,
    codeHash: grant.codeHash,
    grant: signed,
    by: 'test',
  })
  return {
    did: agent.did,
    key: agent.jwk,
    passport,
    codeHash: grant.codeHash,
    grant: signed,
    record,
    developer: developer.did,
  }
}

/**
 * A raw 2026-07-28 `tools/call` as an agent's client sends it: the MCP headers, the bearer token, the body's
 * content digest and an RFC 9421 signature over `signUrl` (the URL the client addressed). Returns what to send, so a
 * test can send it, send it again, or change it after signing.
 *
 * @example const { headers, body } = await signedToolCall({ signUrl: server.url, token, key, keyid, name, args })
 */
export async function signedToolCall(options: {
  signUrl: string
  token: string
  key: Ed25519Jwk
  keyid: string
  name: string
  args: Record<string, unknown>
  created?: number | undefined
}): Promise<{ headers: Headers; body: string }> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: options.name,
      arguments: options.args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  })
  const headers = new Headers({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': options.name,
    authorization: `Bearer ${options.token}`,
    'content-digest': contentDigest(body),
  })
  const signed = await signRequest({
    method: 'POST',
    url: options.signUrl,
    headers,
    key: options.key,
    keyid: options.keyid,
    ...(options.created ? { created: options.created } : {}),
  })
  headers.set('signature-input', signed.signatureInput)
  headers.set('signature', signed.signature)
  return { headers, body }
}
