import {
  type AbiFunction,
  type Address,
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  type Hex,
  isAddressEqual,
  maxUint256,
  parseAbiItem,
  toFunctionSelector,
  toFunctionSignature,
  zeroAddress,
} from 'viem'
import { erc20AssetId, registryNativeAssetId } from '../chains/caip19.js'
import type { ChainContext } from '../chains/chains.js'
import type { AssetId } from '../context/chain.js'
import { InvalidInputError, SigningRefusedError } from '../errors/index.js'
import type { FactAmount, PolicyFacts, PolicyOperation } from '../policy/types.js'
import type { ApprovalExposure, Simulation } from '../simulate/types.js'

/** Functions the gateway decodes itself (never from the agent's words), by selector. */
const knownSignatures = [
  'transfer(address,uint256)',
  'transferFrom(address,address,uint256)',
  'approve(address,uint256)',
  'increaseAllowance(address,uint256)',
  'setApprovalForAll(address,bool)',
  'safeTransferFrom(address,address,uint256)',
  'safeTransferFrom(address,address,uint256,bytes)',
  'safeTransferFrom(address,address,uint256,uint256,bytes)',
  'permit(address,address,uint256,uint256,uint8,bytes32,bytes32)',
  'deposit()',
  'withdraw(uint256)',
  'multicall(bytes[])',
  'multicall(uint256,bytes[])',
  'exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))',
  // Permit2's allowance-setting call.
  'approve(address,address,uint160,uint48)',
] as const

const known = new Map<Hex, { signature: string; item: AbiFunction }>(
  knownSignatures.map((signature) => {
    const item = parseAbiItem(`function ${signature}`) as AbiFunction
    return [toFunctionSelector(item), { signature: toFunctionSignature(item), item }]
  }),
)

/** Wrappers whose `bytes[]` argument is a list of inner calls on the same contract. */
const wrappers = new Set(['multicall(bytes[])', 'multicall(uint256,bytes[])'])
const maxDepth = 3

/** A call decoded by the gateway: the functions it runs (outer first), and the first known call's arguments. */
export type DecodedCall = {
  functions: string[]
  /** The 4-byte selector of each entry of `functions` (`opaque` when nested too deep to read). */
  selectors: string[]
  calls: { signature: string; args: readonly unknown[] }[]
}

/**
 * Decodes calldata into canonical function signatures, recursing into known wrappers (`multicall`). Unknown
 * selectors are `opaque` (a policy `function` list never matches them: ADVERSARIAL 22, 24). Calldata that does not
 * re-encode to the same bytes — dirty high bits in an address, trailing bytes, non-canonical offsets — is refused
 * (ADVERSARIAL 23): it means something other than what it decodes to.
 *
 * @example decodeCall('0xa9059cbb…').functions // ['transfer(address,uint256)']
 * @throws {InvalidInputError} non-canonical calldata
 */
export function decodeCall(data: Hex, signatureHint?: string, depth = 0): DecodedCall {
  if (data === '0x' || data.length < 10) return { functions: [], selectors: [], calls: [] }
  const selector = data.slice(0, 10).toLowerCase() as Hex
  let entry = known.get(selector)
  if (!entry && signatureHint) {
    // A name the agent chose: used to decode and to show, but policy rules compare the selector.
    const item = safeParse(signatureHint)
    if (item && toFunctionSelector(item) === selector) entry = { signature: toFunctionSignature(item), item }
  }
  if (!entry) return { functions: ['opaque'], selectors: [selector], calls: [] }
  let args: readonly unknown[]
  try {
    args = decodeFunctionData({ abi: [entry.item], data }).args ?? []
  } catch {
    throw nonCanonical(entry.signature, 'its arguments do not decode')
  }
  const again = encodeFunctionData({ abi: [entry.item], functionName: entry.item.name, args })
  if (again.toLowerCase() !== data.toLowerCase())
    throw nonCanonical(
      entry.signature,
      'it carries dirty high bits, trailing bytes or a non-canonical encoding',
    )
  const out: DecodedCall = {
    functions: [entry.signature],
    selectors: [selector],
    calls: [{ signature: entry.signature, args }],
  }
  if (wrappers.has(entry.signature)) {
    const inner = args[args.length - 1] as readonly Hex[]
    for (const call of inner) {
      if (depth >= maxDepth) {
        out.functions.push('opaque')
        out.selectors.push('opaque')
        continue
      }
      const decoded = decodeCall(call, undefined, depth + 1)
      out.functions.push(...(decoded.functions.length ? decoded.functions : ['opaque']))
      out.selectors.push(...(decoded.selectors.length ? decoded.selectors : ['opaque']))
      out.calls.push(...decoded.calls)
    }
  }
  return out
}

function safeParse(signature: string): AbiFunction | undefined {
  try {
    return parseAbiItem(`function ${signature}`) as AbiFunction
  } catch {
    return undefined
  }
}

function nonCanonical(signature: string, why: string): InvalidInputError {
  return new InvalidInputError(`Calldata for ${signature} is refused: ${why}.`, {
    field: 'args',
    metaMessages: ['Pass the arguments as values and let the gateway encode them.'],
  })
}

/**
 * A chain context as the facts need it (name, id, CAIP-2, native decimals and asset id).
 *
 * @example buildFacts({ chain: factsChain(chain), … })
 */
export function factsChain(chain: ChainContext): FactsInput['chain'] {
  return {
    name: chain.name,
    id: chain.id,
    caip2: chain.caip2,
    nativeDecimals: chain.chain.nativeCurrency.decimals,
    nativeAssetId: chain.native.assetId,
  }
}

/** What the pipeline knows about a write besides the call: from the tool's own resolved details. */
export type FactsInput = {
  operation: PolicyOperation
  chain: {
    name: string
    id: number
    nativeDecimals: number
    /** CAIP-2 id; `eip155:<id>` when absent. */
    caip2?: string | undefined
    /**
     * The native coin's CAIP-19 id (the chain context's `native.assetId`). When absent, the simulation's native
     * delta or the built-in registry's answer is used, else native amounts carry no id (never a guessed one).
     */
    nativeAssetId?: AssetId | undefined
  }
  wallet: Address
  agent: string
  developer?: string | undefined
  /** What started the write (policy `match.origin`). */
  origin?: 'tool' | 'order' | 'payout' | undefined
  call?: { to: Address; data: Hex; value: bigint } | undefined
  /** `decodeCall` of `call.data`, when the caller already has it. */
  decoded?: DecodedCall | undefined
  /** The write tool's details (resolved by the gateway: recipient, token, amounts). */
  details: Record<string, unknown>
  simulation?: Simulation | undefined
  addressBookListed: (address: Address) => boolean
  /** Token decimals the pipeline already knows (the tool resolved them), lowercased address → decimals. */
  decimals: (token: Address) => number | undefined
  /** USD per whole unit, 6-decimal fixed point (micro-USD), of the native coin (`native`) or a token address. */
  priceMicroUsd: (asset: Address | 'native') => bigint | undefined
  now: Date
}

/**
 * Builds the policy facts for a write from the gateway's own decoding and simulation (DESIGN §1): who receives,
 * which token, which functions, the amount, every outflow and its USD total.
 *
 * @example buildFacts({ operation: 'transfer', chain, wallet, agent: 'local', call, details, simulation, … })
 * @throws {InvalidInputError} non-canonical calldata (ADVERSARIAL 23)
 */
export function buildFacts(input: FactsInput): PolicyFacts {
  const { call, details, simulation } = input
  const nativeDecimals = input.chain.nativeDecimals
  const decoded =
    input.decoded ??
    (call ? decodeCall(call.data, stringOf(details.function)) : { functions: [], selectors: [], calls: [] })
  let to: Address | undefined
  let token: Address | undefined
  let amount: FactAmount | undefined
  const first = decoded.calls[0]
  switch (input.operation) {
    case 'transfer': {
      to = addressOf(details.to)
      token = addressOf(details.token)
      amount = amountOf(details.amount, token ? input.decimals(token) : nativeDecimals)
      break
    }
    case 'approve': {
      to = addressOf(details.spender)
      token = addressOf(details.token)
      amount = amountOf(details.amount, token ? input.decimals(token) : undefined)
      break
    }
    case 'swap': {
      to = addressOf(details.router) ?? call?.to
      token = addressOf(details.tokenIn)
      amount = amountOf(details.amountIn, token ? input.decimals(token) : undefined)
      break
    }
    case 'sign_typed_data': {
      // From typedDataEffects: an EIP-3009 recipient or a permit's spender, else the verifying contract.
      to = addressOf(details.to) ?? addressOf(details.verifyingContract)
      token = addressOf(details.token)
      amount = amountOf(details.amount, token ? input.decimals(token) : undefined)
      break
    }
    case 'standing_order': {
      // Creating a standing order moves nothing yet: what it may spend (its budget, micro-USD) is weighed.
      const budget = typeof details.budgetMicroUsd === 'string' ? BigInt(details.budgetMicroUsd) : 0n
      amount = { raw: budget, decimals: 6 }
      break
    }
    case 'pay': {
      // An x402 payment: an EIP-3009 authorization to the payee, for the host the resource is bought from.
      to = addressOf(details.to)
      token = addressOf(details.token)
      amount = amountOf(details.amount, token ? input.decimals(token) : undefined)
      break
    }
    default: {
      // write_contract: the contract called; a decoded token move or approval names its counterparty.
      to = call?.to
      if (first && call) {
        if (
          first.signature === 'transfer(address,uint256)' ||
          first.signature.startsWith('approve(address,uint256')
        ) {
          to = first.args[0] as Address
          token = call.to
          amount = amountOf({ raw: String(first.args[1]) }, input.decimals(call.to))
        }
      }
    }
  }
  const value: FactAmount = { raw: call?.value ?? 0n, decimals: nativeDecimals }
  const ids = assetIdsOf(input)
  const outflows = outflowsOf(simulation, value, input).map((o) => {
    const assetId = o.token ? ids.token(o.token) : ids.native
    return assetId ? { ...o, assetId } : o
  })
  const assetId = token ? ids.token(token) : input.operation === 'transfer' ? ids.native : undefined
  let outflowMicroUsd: bigint | undefined = 0n
  for (const o of outflows) {
    const price = input.priceMicroUsd(o.token ?? 'native')
    if (price === undefined) {
      outflowMicroUsd = undefined
      break
    }
    outflowMicroUsd += (o.raw * price) / 10n ** BigInt(o.decimals)
  }
  let approvalMicroUsd: bigint | undefined = 0n
  for (const a of simulation?.approvals ?? []) {
    const price = input.priceMicroUsd(a.token)
    const decimals = input.decimals(a.token)
    const bounded = (a.kind === 'erc20' || a.kind === 'permit2') && !a.unlimited && a.amount !== null
    if (!bounded || price === undefined || decimals === undefined || a.amount === null) {
      approvalMicroUsd = undefined
      break
    }
    approvalMicroUsd += (a.amount * price) / 10n ** BigInt(decimals)
  }
  if (input.operation === 'standing_order' && amount) outflowMicroUsd = amount.raw
  return {
    operation: input.operation,
    chain: input.chain.name,
    chainId: input.chain.id,
    wallet: input.wallet,
    agent: input.agent,
    ...(input.developer ? { developer: input.developer } : {}),
    ...(input.origin ? { origin: input.origin } : {}),
    to: to ? getAddress(to) : undefined,
    token: token ? getAddress(token) : undefined,
    ...(input.operation === 'pay' && typeof details.host === 'string' ? { host: details.host } : {}),
    ...(assetId ? { assetId } : {}),
    contract: call?.to,
    functions: decoded.functions,
    selectors: decoded.selectors,
    amount,
    value,
    addressBookListed: to ? input.addressBookListed(getAddress(to)) : false,
    simulation,
    outflows,
    outflowMicroUsd,
    approvalMicroUsd,
    now: input.now,
  }
}

/** CAIP-19 ids for the facts: tokens' from the chain's CAIP-2 id; the native coin's as {@link FactsInput} says. */
function assetIdsOf(input: FactsInput): { token(token: Address): AssetId; native: AssetId | undefined } {
  const caip2 = input.chain.caip2 ?? `eip155:${input.chain.id}`
  const simulated = input.simulation?.deltas.find((d) => d.kind === 'native')?.assetId
  return {
    token: (token) => erc20AssetId(caip2, token),
    native: input.chain.nativeAssetId ?? simulated ?? registryNativeAssetId(input.chain.id),
  }
}

/**
 * The wallet's outflows: the simulation's negative deltas (balance reads), and the native value sent when the
 * simulation did not already count it. Without a simulation, only the native value is known.
 */
function outflowsOf(
  simulation: Simulation | undefined,
  value: FactAmount,
  input: FactsInput,
): PolicyFacts['outflows'] {
  const out: PolicyFacts['outflows'] = []
  let native = 0n
  for (const d of simulation?.deltas ?? []) {
    if (d.raw >= 0n) continue
    if (d.kind === 'native') native += -d.raw
    else if (d.kind === 'erc20')
      out.push({ token: d.token, raw: -d.raw, decimals: input.decimals(d.token) ?? 18 })
  }
  // The value sent counts even if a contract refunds it in the same call is not visible: take the larger.
  if (value.raw > native) native = value.raw
  if (native > 0n) out.unshift({ raw: native, decimals: value.decimals })
  return out
}

/** What signing an EIP-712 message would do, as far as the gateway can decode it. */
export type TypedDataEffects = {
  /** Approvals and transfers it authorizes, as a simulation; undefined when the message type is not understood. */
  simulation: Simulation | undefined
  /** Who receives (an EIP-3009 recipient) or is granted (a permit's spender), when decoded. */
  to?: Address | undefined
  token?: Address | undefined
  amount?: bigint | undefined
}

/**
 * Decodes what an EIP-712 message authorizes. Permits (EIP-2612 `Permit`, Permit2 `PermitSingle` / `PermitBatch`)
 * grant allowances as surely as `approve` (ADVERSARIAL 20); Permit2 signature transfers (`PermitTransferFrom`, batch
 * and witness variants) let the spender pull the amount; EIP-3009 `TransferWithAuthorization` /
 * `ReceiveWithAuthorization` move tokens out of the wallet. Any other message type is not understood: no
 * simulation, so no rule with a `simulation` condition can allow it (fail closed).
 *
 * An EIP-2612 permit or an EIP-3009 authorization names whose funds it spends (`owner` / `from`, declared as an
 * address in the signed type, else the message is not understood). One for any account other than the wallet is
 * refused (ADVERSARIAL 53): the key may also control accounts the gateway cannot see (an ERC-1271 smart account
 * that accepts the key's signatures), and no limit covers their funds. Permit2 messages name no owner (the owner is
 * whoever the signature verifies for); they are counted as the wallet's.
 *
 * @example typedDataEffects({ primaryType: 'Permit', domain: { verifyingContract: usdc }, message: { owner: wallet, spender, value } }, wallet)
 * @throws {SigningRefusedError} a permit or transfer authorization spends another account's funds
 */
export function typedDataEffects(
  typedData: {
    primaryType: string
    domain: { verifyingContract?: string | undefined }
    types?: Record<string, readonly { name: string; type: string }[]> | undefined
    message: Record<string, unknown>
  },
  wallet: Address,
): TypedDataEffects {
  const m = typedData.message
  // Whose funds a permit or EIP-3009 authorization spends: the field as signed (declared `address` in the primary
  // type). Undefined when the type does not declare it, so the message is not understood (needs a human).
  const ownerOf = (field: string): Address | undefined => {
    const declared = typedData.types?.[typedData.primaryType]
    if (!Array.isArray(declared) || !declared.some((f) => f?.name === field && f?.type === 'address'))
      return undefined
    const owner = addressOf(m[field])
    if (owner && !isAddressEqual(owner, wallet))
      throw new SigningRefusedError({
        reason: `this ${typedData.primaryType} authorizes spending the funds of ${owner} (message.${field}), not of the gateway wallet ${wallet}`,
        field: `typedData.message.${field}`,
        metaMessages: [
          'The gateway signs permits and transfer authorizations only for its own wallet: its key may also control other accounts (e.g. an ERC-1271 smart account that accepts its signatures), and no policy or limit here covers their funds.',
          `Nothing was signed. Set ${field} to the wallet, or sign for that account outside the gateway.`,
        ],
      })
    return owner
  }
  const contract = addressOf(typedData.domain.verifyingContract)
  const approvals: ApprovalExposure[] = []
  const deltas: Simulation['deltas'] = []
  const uint160Max = 2n ** 160n - 1n
  const exposure = (
    kind: ApprovalExposure['kind'],
    tokenRef: unknown,
    spender: unknown,
    amount: unknown,
    max: bigint,
  ) => {
    const token = addressOf(tokenRef)
    const who = addressOf(spender)
    if (!token || !who) return false
    const raw = toBigInt(amount)
    approvals.push({
      kind,
      token,
      spender: who,
      amount: raw ?? null,
      unlimited: raw === undefined || raw >= max,
    })
    return true
  }
  let to: Address | undefined
  let token: Address | undefined
  let amount: bigint | undefined
  let understood = true
  switch (typedData.primaryType) {
    case 'Permit':
      understood =
        ownerOf('owner') !== undefined && exposure('erc20', contract, m.spender, m.value, 2n ** 255n)
      to = addressOf(m.spender)
      token = contract
      amount = toBigInt(m.value)
      break
    case 'PermitSingle': {
      const d = (m.details ?? {}) as Record<string, unknown>
      understood = exposure('permit2', d.token, m.spender, d.amount, uint160Max)
      to = addressOf(m.spender)
      token = addressOf(d.token)
      amount = toBigInt(d.amount)
      break
    }
    case 'PermitBatch':
    case 'PermitTransferFrom':
    case 'PermitBatchTransferFrom':
    case 'PermitWitnessTransferFrom':
    case 'PermitBatchWitnessTransferFrom': {
      const batch = typedData.primaryType === 'PermitBatch' ? m.details : m.permitted
      const list = (Array.isArray(batch) ? batch : [batch]) as Record<string, unknown>[]
      understood =
        list.length > 0 && list.every((p) => exposure('permit2', p?.token, m.spender, p?.amount, uint160Max))
      to = addressOf(m.spender)
      token = addressOf(list[0]?.token)
      break
    }
    case 'TransferWithAuthorization':
    case 'ReceiveWithAuthorization': {
      const from = ownerOf('from')
      const raw = toBigInt(m.value)
      understood = Boolean(contract && from && raw !== undefined && addressOf(m.to))
      if (understood && from && contract && raw !== undefined) {
        // `from` is the wallet here (ownerOf refused any other account).
        deltas.push({ kind: 'erc20', token: contract, raw: -raw })
        to = addressOf(m.to)
        token = contract
        amount = raw
      }
      break
    }
    default:
      understood = false
  }
  if (!understood) return { simulation: undefined }
  return {
    simulation: {
      method: 'typed-data',
      blockNumber: 0n,
      reverted: false,
      gasUsed: 0n,
      deltas,
      approvals,
      flags: [],
    },
    to,
    token,
    amount,
  }
}

/** Someone a write sends assets to or empowers over them, as the gateway decoded it (never the agent's words). */
export type Counterparty = {
  address: Address
  role: 'recipient' | 'spender'
  /** The token that moves or is approved (the called contract, for calls on a token). */
  token?: Address | undefined
  /** Where it was found, for the refusal's words: `to`, or the decoded function. */
  source: string
}

/**
 * Every recipient and spender of a write: the tool's own (`details.to`, `details.spender`) and those of every
 * decoded call, inner calls of a `multicall` included (ADVERSARIAL 50), so a batch meets the same refusals as a
 * direct call.
 *
 * @example counterpartiesOf('write_contract', {}, call, decodeCall(call.data)) // [{ address, role: 'recipient', token: call.to, source: 'transfer(address,uint256)' }]
 */
export function counterpartiesOf(
  operation: PolicyOperation,
  details: Record<string, unknown>,
  call: { to: Address } | undefined,
  decoded: DecodedCall | undefined,
): Counterparty[] {
  const out: Counterparty[] = []
  const add = (address: unknown, role: Counterparty['role'], token: unknown, source: string) => {
    const a = addressOf(address)
    if (a) out.push({ address: a, role, token: addressOf(token), source })
  }
  if (operation === 'transfer') add(details.to, 'recipient', details.token, 'to')
  if (operation === 'approve') add(details.spender, 'spender', details.token, 'spender')
  for (const c of decoded?.calls ?? []) {
    const [a0, a1] = c.args
    switch (c.signature) {
      case 'transfer(address,uint256)':
        add(a0, 'recipient', call?.to, c.signature)
        break
      case 'transferFrom(address,address,uint256)':
      case 'safeTransferFrom(address,address,uint256)':
      case 'safeTransferFrom(address,address,uint256,bytes)':
      case 'safeTransferFrom(address,address,uint256,uint256,bytes)':
        add(a1, 'recipient', call?.to, c.signature)
        break
      case 'approve(address,uint256)':
      case 'increaseAllowance(address,uint256)':
        add(a0, 'spender', call?.to, c.signature)
        break
      case 'setApprovalForAll(address,bool)':
        if (a1 === true) add(a0, 'spender', call?.to, c.signature)
        break
      case 'permit(address,address,uint256,uint256,uint8,bytes32,bytes32)':
        add(a1, 'spender', call?.to, c.signature)
        break
      case 'approve(address,address,uint160,uint48)':
        add(a1, 'spender', a0, c.signature)
        break
    }
  }
  return out
}

/**
 * Refusals no policy can lift, for each counterparty of a write (ADVERSARIAL 4, 50): assets sent to the zero
 * address or to the token contract itself are lost; a `transfer` to the sending wallet is a mistake; an approval
 * for the zero address or the token itself serves nobody. Returns the reason, or undefined.
 *
 * @example counterpartyRefusal(counterparties, wallet, 'transfer') // 'the recipient is the zero address …'
 */
export function counterpartyRefusal(
  counterparties: readonly Counterparty[],
  wallet: Address,
  operation: PolicyOperation,
): string | undefined {
  for (const c of counterparties) {
    const who = c.role === 'recipient' ? 'the recipient' : 'the spender'
    const where = c.source === 'to' || c.source === 'spender' ? '' : ` (in ${c.source})`
    if (isAddressEqual(c.address, zeroAddress))
      return `${who}${where} is the zero address${c.role === 'recipient' ? ' (the funds would be burned)' : ''}`
    if (operation === 'transfer' && c.role === 'recipient' && isAddressEqual(c.address, wallet))
      return `${who}${where} is the sending wallet itself`
    if (c.token && isAddressEqual(c.address, c.token))
      return `${who}${where} is the token contract itself${c.role === 'recipient' ? ' (tokens sent there are lost)' : ''}`
  }
  return undefined
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function addressOf(value: unknown): Address | undefined {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : undefined
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(value)) return BigInt(value)
  return undefined
}

/** `{ raw }` (a tool's amountOut) → a fact amount; unlimited approvals keep their raw 2^256−1. */
function amountOf(value: unknown, decimals: number | undefined): FactAmount | undefined {
  if (decimals === undefined || !value || typeof value !== 'object') return undefined
  const raw = toBigInt((value as { raw?: unknown }).raw)
  if (raw === undefined || raw > maxUint256) return undefined
  return { raw, decimals }
}
