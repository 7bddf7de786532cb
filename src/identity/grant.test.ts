import { hashTypedData, type TypedDataDefinition } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { generateEd25519Key } from './didKey.js'
import {
  type AgentGrant,
  AgentGrantMessage,
  grantHash,
  grantTypedData,
  signGrant,
  verifyGrant,
} from './grant.js'

// anvil's first test account: a well-known key, never a real wallet.
const user = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const now = new Date('2030-01-01T00:00:00Z')
const t = Math.floor(now.getTime() / 1000)

const sampleGrant = (): AgentGrant => ({
  user: user.address,
  agent: generateEd25519Key().did,
  codeHash: `sha256:${'ab'.repeat(32)}`,
  tools: ['get_balance', 'transfer'],
  chains: ['eip155:8453', 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'],
  payees: ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8'],
  budget: { currency: 'USD', max: '100.50', windowSeconds: 86_400 },
  amountRange: { currency: 'USD', min: '0.01', max: '25' },
  notBefore: t - 60,
  expiry: t + 3600,
  nonce: `0x${'11'.repeat(32)}`,
})

describe('grant', () => {
  it('round-trips: signed by grant.user, verified within its window', async () => {
    const grant = sampleGrant()
    const signed = await signGrant(grant, user)
    // Through JSON, as it arrives over HTTP.
    expect(await verifyGrant(JSON.parse(JSON.stringify(signed)), { now })).toEqual(grant)
  })

  it('hashes what a browser wallet signs: the eth_signTypedData_v4 form gives the same hash and signature', async () => {
    const grant = sampleGrant()
    const typed = JSON.parse(JSON.stringify(grantTypedData(grant))) as TypedDataDefinition
    expect(hashTypedData(typed)).toBe(grantHash(grant))
    expect(typed.types).toHaveProperty('EIP712Domain')
    expect((await signGrant(grant, user)).signature).toBe(await user.signTypedData(typed))
  })

  it('refuses a grant signed by another wallet, and a tampered field', async () => {
    const grant = sampleGrant()
    const other = privateKeyToAccount(generatePrivateKey())
    const forged = {
      grant,
      signature: await other.signTypedData(grantTypedData(grant) as TypedDataDefinition),
    }
    await expect(verifyGrant(forged, { now })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/another wallet than grant.user/),
    })
    const signed = await signGrant(grant, user)
    const tampered = { ...signed, grant: { ...grant, budget: { ...grant.budget, max: '1000.50' } } }
    await expect(verifyGrant(tampered, { now })).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    await expect(signGrant(grant, other)).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'user' })
  })

  it('refuses a grant before notBefore and from expiry on', async () => {
    const signed = await signGrant(sampleGrant(), user)
    await expect(verifyGrant(signed, { now: new Date((t - 61) * 1000) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/not valid before/),
    })
    await expect(verifyGrant(signed, { now: new Date((t + 3600) * 1000) })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      shortMessage: expect.stringMatching(/expired/),
    })
  })

  it('refuses malformed grants, naming the field', async () => {
    const signed = await signGrant(sampleGrant(), user)
    const withField = (patch: Partial<Record<keyof AgentGrant, unknown>>) => ({
      ...signed,
      grant: { ...signed.grant, ...patch },
    })
    const cases: [Partial<Record<keyof AgentGrant, unknown>>, string][] = [
      [{ budget: { currency: 'USD', max: '1e3', windowSeconds: 60 } }, 'grant.budget.max'],
      [{ budget: { currency: 'USD', max: '01', windowSeconds: 60 } }, 'grant.budget.max'],
      [{ amountRange: { currency: 'USD', min: '1.1234567', max: '2' } }, 'grant.amountRange.min'],
      [{ amountRange: { currency: 'USD', min: '5', max: '2.5' } }, 'grant.amountRange.max'],
      [{ amountRange: { currency: 'EUR', min: '0', max: '1' } }, 'grant.amountRange.currency'],
      [{ user: '0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266' }, 'grant.user'],
      [{ tools: ['*'] }, 'grant.tools.0'],
      [{ tools: [] }, 'grant.tools'],
      [{ chains: ['base'] }, 'grant.chains.0'],
      [{ agent: 'did:web:example.com' }, 'grant.agent'],
      [{ expiry: t - 60 }, 'grant.expiry'],
      [{ notBefore: 1.5 }, 'grant.notBefore'],
    ]
    for (const [patch, field] of cases)
      await expect(verifyGrant(withField(patch), { now }), field).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        field,
      })
    await expect(verifyGrant({ ...signed, extra: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(AgentGrantMessage.safeParse({ ...sampleGrant(), user: user.address.toLowerCase() }).success).toBe(
      true,
    )
  })
})
