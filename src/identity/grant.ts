import {
  type Address,
  type Hex,
  hashTypedData,
  isAddress,
  isAddressEqual,
  type LocalAccount,
  recoverTypedDataAddress,
} from 'viem'
import { z } from 'zod'
import { BaseError } from '../errors/index.js'
import { inputError } from '../errors/inputError.js'
import { publicKeyOfDidKey } from './didKey.js'

/**
 * The EIP-712 domain of a user's grant. It has no `chainId`: one grant covers several chains (EVM and others),
 * and no `verifyingContract`: the gateway, not a contract, checks it.
 *
 * @example const hash = hashTypedData({ domain: grantDomain, types: grantTypes, primaryType: 'AgentGrant', message })
 */
export const grantDomain = { name: 'Airlock Agent Grant', version: '1' } as const

/**
 * The EIP-712 types of a user's grant. `payees` empty means any payee the operator's policy allows; amounts are
 * decimal strings in display units of `currency` (only `USD`); `notBefore` and `expiry` are unix seconds.
 *
 * @example grantTypes.AgentGrant.map((f) => f.name) // ['user', 'agent', 'codeHash', …]
 */
export const grantTypes = {
  AgentGrant: [
    { name: 'user', type: 'address' },
    { name: 'agent', type: 'string' },
    { name: 'codeHash', type: 'string' },
    { name: 'tools', type: 'string[]' },
    { name: 'chains', type: 'string[]' },
    { name: 'payees', type: 'address[]' },
    { name: 'budget', type: 'Budget' },
    { name: 'amountRange', type: 'AmountRange' },
    { name: 'notBefore', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
  Budget: [
    { name: 'currency', type: 'string' },
    { name: 'max', type: 'string' },
    { name: 'windowSeconds', type: 'uint32' },
  ],
  AmountRange: [
    { name: 'currency', type: 'string' },
    { name: 'min', type: 'string' },
    { name: 'max', type: 'string' },
  ],
} as const

const decimalPattern = /^(0|[1-9]\d{0,17})(\.\d{1,6})?$/
const Decimal = z
  .string()
  .max(25)
  .regex(
    decimalPattern,
    'give a decimal in display units like "1.5": at most 18 digits, then at most 6 decimals',
  )
const EvmAddress = z.custom<Address>(
  (value) => typeof value === 'string' && isAddress(value),
  'give a 0x address with 40 hex digits, EIP-55 checksummed or all lowercase',
)
const Seconds = z.int().min(0)
const unique = (values: readonly string[]) =>
  new Set(values.map((v) => v.toLowerCase())).size === values.length

/**
 * A user's grant to one agent, in its JSON form (the EIP-712 message with `notBefore`, `expiry` and `windowSeconds`
 * as integers). Strict: unknown fields are refused, not dropped, since the signature covers exactly these.
 *
 * @example const grant = AgentGrantMessage.parse(JSON.parse(text))
 */
export const AgentGrantMessage = z
  .strictObject({
    user: EvmAddress,
    agent: z
      .string()
      .regex(
        /^did:key:z[1-9A-HJ-NP-Za-km-z]{1,100}$/,
        "give the agent's did:key (did:key:z6Mk…), with no fragment",
      )
      .refine((did) => {
        try {
          publicKeyOfDidKey(did)
          return true
        } catch {
          return false
        }
      }, 'the did:key is not an Ed25519 key'),
    codeHash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'give the code hash as sha256:<64 lowercase hex digits>'),
    tools: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a tool name is lowercase snake_case (no wildcards)'))
      .min(1)
      .max(64)
      .refine(unique, 'a tool is listed twice'),
    chains: z
      .array(
        z
          .string()
          .regex(
            /^eip155:[1-9]\d{0,15}$|^solana:[1-9A-HJ-NP-Za-km-z]{32}$/,
            'a chain is a CAIP-2 id: eip155:<chain id> or solana:<genesis hash prefix>',
          ),
      )
      .min(1)
      .max(32)
      .refine(unique, 'a chain is listed twice'),
    payees: z.array(EvmAddress).max(256).refine(unique, 'a payee is listed twice'),
    budget: z.strictObject({
      currency: z.literal('USD'),
      max: Decimal,
      windowSeconds: z.int().min(1).max(0xffffffff),
    }),
    amountRange: z
      .strictObject({ currency: z.literal('USD'), min: Decimal, max: Decimal })
      .refine(
        (r) => !decimalPattern.test(r.min) || !decimalPattern.test(r.max) || micros(r.min) <= micros(r.max),
        {
          message: 'min is larger than max',
          path: ['max'],
        },
      ),
    notBefore: Seconds,
    expiry: Seconds,
    nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'give 32 random bytes as 0x + 64 hex digits'),
  })
  .refine((g) => g.expiry > g.notBefore, { message: 'expiry must be after notBefore', path: ['expiry'] })

/** A user's grant to one agent (see {@link AgentGrantMessage}). */
export type AgentGrant = z.infer<typeof AgentGrantMessage>

/** A grant with the user's EIP-712 signature over it. */
export type SignedGrant = { grant: AgentGrant; signature: Hex }

const SignedGrantSchema = z.strictObject({
  grant: AgentGrantMessage,
  signature: z
    .string()
    .regex(
      /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/,
      'give the 65-byte (or 64-byte compact) signature as hex',
    )
    .transform((s) => s as Hex),
})

/** What a browser wallet's `eth_signTypedData_v4` takes for a grant (plain JSON: numbers, no bigints). */
export type GrantTypedData = {
  domain: typeof grantDomain
  types: typeof grantTypes & {
    EIP712Domain: readonly [{ name: 'name'; type: 'string' }, { name: 'version'; type: 'string' }]
  }
  primaryType: 'AgentGrant'
  message: AgentGrant
}

/**
 * The typed data a user's wallet signs for `grant`: `JSON.stringify` it into `eth_signTypedData_v4`. The grant is
 * not validated here; parse it with {@link AgentGrantMessage} first.
 *
 * @example
 * const signature = await ethereum.request({
 *   method: 'eth_signTypedData_v4',
 *   params: [grant.user, JSON.stringify(grantTypedData(grant))],
 * })
 */
export function grantTypedData(grant: AgentGrant): GrantTypedData {
  return {
    domain: grantDomain,
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
      ],
      ...grantTypes,
    },
    primaryType: 'AgentGrant',
    message: grant,
  }
}

/**
 * The grant's EIP-712 hash: what the user signed, and the id budgets and audit entries are kept under.
 *
 * @example grantHash(grant) // '0x5b0e…'
 */
export function grantHash(grant: AgentGrant): Hex {
  return hashTypedData(viemTypedData(grant))
}

/**
 * Signs a grant with the user's local account (tests, scripts; users sign in their wallet through
 * {@link grantTypedData}).
 *
 * @example
 * const signed = await signGrant(grant, privateKeyToAccount(key))
 * @throws {BaseError} INVALID_INPUT: the grant is malformed (the field is named), or the account is not `grant.user`
 */
export async function signGrant(grant: AgentGrant, account: LocalAccount): Promise<SignedGrant> {
  // reportInput: a wrong type is then told apart from a missing field (the input itself is never echoed).
  const parsed = AgentGrantMessage.safeParse(grant, { reportInput: true })
  if (!parsed.success) throw inputError(parsed.error, Object.keys(AgentGrantMessage.shape))
  if (!isAddressEqual(account.address, parsed.data.user))
    throw new BaseError('INVALID_INPUT', 'The signing account is not grant.user.', {
      field: 'user',
      metaMessages: ['A grant is signed by the wallet it names as user.'],
    })
  const signature = await account.signTypedData(viemTypedData(parsed.data))
  return { grant: parsed.data, signature }
}

/**
 * Checks a signed grant: its shape (strict), that its EIP-712 signature recovers `grant.user`, and that `now` is
 * within `[notBefore, expiry)`. Only EOA signatures are accepted (no ERC-1271 contract wallets).
 *
 * @example
 * const grant = await verifyGrant(JSON.parse(body))
 * @throws {BaseError} INVALID_INPUT: malformed; `field` names the field (`grant.budget.max`)
 * @throws {BaseError} UNAUTHORIZED: signed by another wallet than `grant.user`, not valid yet, or expired
 */
export async function verifyGrant(
  signed: unknown,
  options: { now?: Date | undefined } = {},
): Promise<AgentGrant> {
  if (typeof signed !== 'object' || signed === null)
    throw new BaseError('INVALID_INPUT', 'A signed grant is a JSON object { grant, signature }.')
  const parsed = SignedGrantSchema.safeParse(signed, { reportInput: true })
  if (!parsed.success) throw inputError(parsed.error, ['grant', 'signature'])
  const { grant, signature } = parsed.data
  let signer: Address
  try {
    signer = await recoverTypedDataAddress({ ...viemTypedData(grant), signature })
  } catch (error) {
    throw new BaseError('UNAUTHORIZED', 'The grant signature is not a valid secp256k1 signature.', {
      metaMessages: ['Have the user sign the grant again (eth_signTypedData_v4).'],
      cause: error,
    })
  }
  if (!isAddressEqual(signer, grant.user))
    throw new BaseError('UNAUTHORIZED', 'The grant is signed by another wallet than grant.user.', {
      metaMessages: [
        'The wallet named as user signs its own grant; a changed field also breaks the signature.',
      ],
    })
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000)
  if (seconds < grant.notBefore)
    throw new BaseError('UNAUTHORIZED', `The grant is not valid before ${isoSeconds(grant.notBefore)}.`)
  if (seconds >= grant.expiry)
    throw new BaseError('UNAUTHORIZED', `The grant expired at ${isoSeconds(grant.expiry)}.`, {
      metaMessages: ['Ask the user for a new grant.'],
    })
  return grant
}

/** The grant as viem's typed-data parameters (uint64 as bigint, as viem's types want). */
function viemTypedData(grant: AgentGrant) {
  return {
    domain: grantDomain,
    types: grantTypes,
    primaryType: 'AgentGrant' as const,
    message: {
      ...grant,
      nonce: grant.nonce as Hex,
      notBefore: BigInt(grant.notBefore),
      expiry: BigInt(grant.expiry),
    },
  }
}

/** A decimal of at most 6 fraction digits, in millionths, compared exactly. */
function micros(value: string): bigint {
  const [whole = '0', fraction = ''] = value.split('.')
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'))
}

function isoSeconds(seconds: number): string {
  // Dates beyond what Date represents (grants may use far-future expiries) are shown as plain seconds.
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? `unix ${seconds}` : date.toISOString().replace('.000Z', 'Z')
}
