import { inspect } from 'node:util'
import { type Address, getAddress, type Hex, isAddress, type TransactionSerializableEIP1559 } from 'viem'
import { sign, signAuthorization, signTransaction, signTypedData } from 'viem/accounts'
import { devnetMnemonic } from '../devnet/anvil.js'
import { BaseError, InvalidInputError, SigningFailedError, SigningRefusedError } from '../errors/index.js'
import { decryptKey } from './keystore.js'
import { addressOfKey, mnemonicKey } from './nativeKeys.js'

/** EIP-712 typed data as viem takes it: `domain`, `types`, `primaryType`, `message`. */
export type TypedDataToSign = {
  domain: {
    name?: string | undefined
    version?: string | undefined
    chainId?: number | bigint | undefined
    verifyingContract?: Address | undefined
    salt?: Hex | undefined
  }
  types: Record<string, readonly { name: string; type: string }[]>
  primaryType: string
  message: Record<string, unknown>
}

/**
 * What {@link DelegatingSigner.signDelegation} signs: the wallet's own EIP-7702 transaction (type 4, to itself, value 0,
 * no data) carrying one authorization that sets the wallet's code.
 */
export type DelegationToSign = {
  /** The one chain the authorization is valid on; never 0 (which would make it valid on every chain). */
  chainId: number
  /** The wallet's pending nonce: the transaction takes it, the authorization `nonce + 1`. */
  nonce: number
  /** Airlock's guard (enable) or the zero address (disable: the wallet becomes a plain EOA again). */
  target: Address
  gas: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/**
 * The only face of a key. It signs EIP-1559 transactions and EIP-712 typed data bound to a chain and a
 * contract, and one kind of EIP-7702 transaction: the wallet delegating to Airlock's guard or undelegating
 * ({@link DelegatingSigner.signDelegation}). It never signs raw hashes or personal messages (`eth_sign` is not offered),
 * nor an authorization to any other code. It carries no key: `JSON.stringify` and `util.inspect` show the
 * address only.
 */
export type Signer = {
  /** EIP-55 checksummed address of the key. */
  readonly address: Address
  /**
   * Signs an EIP-1559 transaction and returns it serialized, ready for `eth_sendRawTransaction`.
   * `chainId` is required; fields other than those of an EIP-1559 transaction are refused (no EIP-7702
   * authorization lists, no blobs, no legacy `gasPrice`).
   */
  signTransaction(transaction: TransactionSerializableEIP1559): Promise<Hex>
  /**
   * Signs EIP-712 typed data whose `domain.chainId` equals `expected.chainId` and whose domain names a
   * `verifyingContract` (ADVERSARIAL 29): a signature that could be replayed on another chain or contract is
   * refused. The `EIP712Domain` type is built from the domain (see {@link withDomainType}); a different one
   * brought along is refused (ADVERSARIAL 53).
   */
  signTypedData(typedData: TypedDataToSign, expected: { chainId: number }): Promise<Hex>
}

/**
 * A {@link Signer} that can also set the wallet's own code, as {@link createSigner} returns it. Only delegation
 * management (`airlock wallet guard`, the devnet's start) takes this type; the write path takes a `Signer`.
 */
export type DelegatingSigner = Signer & {
  /**
   * Signs an EIP-7702 authorization of this key's code to `target` on `chainId` (for `nonce + 1`) and the
   * type-4 transaction to the wallet itself that carries it (nonce `nonce`, value 0, no data); returns the
   * transaction serialized. `target` must be Airlock's guard (`guardAddress`) or the zero address
   * (undelegate): a key delegated to other code could be drained by it, so any other target is refused.
   */
  signDelegation(delegation: DelegationToSign): Promise<Hex>
}

/** Options of {@link createSigner}: where the key comes from. */
export type CreateSignerParameters =
  | {
      backend: 'keystore'
      /** A Web3 Secret Storage v3 document (object or JSON text), e.g. from `WalletStore.load`. */
      keystore: unknown
      /** Its password. Used once, to decrypt; not kept. */
      password: string
    }
  | {
      backend: 'devnet'
      /** Account index in the public test mnemonic. Default 0. */
      accountIndex?: number | undefined
      /** The only chain this key signs for; its key is public. Default 31337 (the embedded devnet). */
      chainId?: number | undefined
    }

const transactionFields = new Set([
  'type',
  'chainId',
  'nonce',
  'to',
  'value',
  'data',
  'gas',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'accessList',
])

/**
 * Creates a signer. `keystore` decrypts the document once, here; `devnet` derives account `accountIndex` of the
 * public test mnemonic and signs only for the devnet chain. The private key lives only in this function's
 * closure: nothing returned, thrown or logged contains it.
 *
 * @example
 * const signer = await createSigner({ backend: 'keystore', keystore: await store.load('ops'), password })
 * const raw = await signer.signTransaction({ chainId: 8453, to, value: 1n, nonce, gas: 21000n, maxFeePerGas, maxPriorityFeePerGas })
 * @example
 * const devnet = await createSigner({ backend: 'devnet' }) // account 0: 0xf39F…2266
 * @throws {WalletLockedError} wrong password
 * @throws {KeystoreInvalidError} the keystore is malformed or unsupported
 * @throws {InvalidInputError} a devnet account index out of range
 */
export async function createSigner(parameters: CreateSignerParameters): Promise<DelegatingSigner> {
  let privateKey: Hex
  let onlyChainId: number | undefined
  if (parameters.backend === 'keystore') {
    privateKey = await decryptKey(parameters.keystore, parameters.password)
  } else if (parameters.backend === 'devnet') {
    const index = parameters.accountIndex ?? 0
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31)
      throw new InvalidInputError('The devnet account index must be an integer from 0 to 2^31 - 1.', {
        field: 'accountIndex',
        metaMessages: ['Accounts 0–9 are funded on the embedded devnet.'],
      })
    onlyChainId = parameters.chainId ?? 31337
    privateKey = mnemonicKey(devnetMnemonic, index)
  } else {
    throw new InvalidInputError('Unknown signer backend.', {
      field: 'backend',
      metaMessages: ['Use "keystore" or "devnet".'],
    })
  }
  const address = addressOfKey(privateKey)

  async function signTx(transaction: TransactionSerializableEIP1559): Promise<Hex> {
    const tx = checkTransaction(transaction, onlyChainId)
    return guard(() => signTransaction({ privateKey, transaction: tx }))
  }

  async function signTyped(typedData: TypedDataToSign, expected: { chainId: number }): Promise<Hex> {
    checkTypedData(typedData, expected, onlyChainId)
    // The domain type is the gateway's own, built from the domain just checked (ADVERSARIAL 53).
    const types = withDomainType(typedData).types
    return guard(() =>
      signTypedData({
        privateKey,
        domain: typedData.domain,
        types,
        primaryType: typedData.primaryType,
        message: typedData.message,
      } as Parameters<typeof signTypedData>[0]),
    )
  }

  async function signDelegation(delegation: DelegationToSign): Promise<Hex> {
    const d = await checkDelegation(delegation, onlyChainId)
    return guard(async () => {
      const authorization = await signAuthorization({
        privateKey,
        chainId: d.chainId,
        nonce: d.nonce + 1,
        address: d.target,
      })
      return signTransaction({
        privateKey,
        transaction: {
          type: 'eip7702',
          chainId: d.chainId,
          nonce: d.nonce,
          to: address,
          value: 0n,
          data: '0x',
          gas: d.gas,
          maxFeePerGas: d.maxFeePerGas,
          maxPriorityFeePerGas: d.maxPriorityFeePerGas,
          authorizationList: [authorization],
        },
      })
    })
  }

  const signer = {
    address,
    signTransaction: signTx,
    signTypedData: signTyped,
    signDelegation,
  }
  // Shown instead of the object by JSON.stringify and util.inspect / console.log; not enumerable.
  Object.defineProperties(signer, {
    toJSON: { value: () => ({ address }) },
    [inspect.custom]: { value: () => `Signer { address: '${address}' }` },
  })
  return Object.freeze(signer)
}

function checkTransaction(transaction: TransactionSerializableEIP1559, onlyChainId: number | undefined) {
  if (typeof transaction !== 'object' || transaction === null)
    throw new SigningRefusedError({ reason: 'the transaction must be an object' })
  for (const [key, value] of Object.entries(transaction)) {
    if (value === undefined) continue
    if (!transactionFields.has(key))
      throw new SigningRefusedError({
        reason: `an EIP-1559 transaction has no field "${key.replace(/[^\w]/g, '').slice(0, 40)}"`,
        field: key.replace(/[^\w]/g, '').slice(0, 40),
        metaMessages: [
          'Only EIP-1559 transactions are signed: chainId, nonce, to, value, data, gas, maxFeePerGas, maxPriorityFeePerGas, accessList.',
        ],
      })
  }
  if (transaction.type !== undefined && transaction.type !== 'eip1559')
    throw new SigningRefusedError({ reason: 'only EIP-1559 transactions are signed', field: 'type' })
  checkChainId(
    transaction.chainId,
    onlyChainId,
    'the transaction has no valid chainId (it could be replayed on another chain)',
  )
  if (
    transaction.to !== undefined &&
    transaction.to !== null &&
    !isAddress(transaction.to, { strict: false })
  )
    throw new SigningRefusedError({ reason: 'the transaction recipient is not an address', field: 'to' })
  return { ...transaction, type: 'eip1559' as const }
}

/** A chain id that binds a signature to one chain, and the devnet key's own chain where it has one. */
function checkChainId(chainId: number, onlyChainId: number | undefined, invalid: string): void {
  if (!Number.isSafeInteger(chainId) || chainId <= 0)
    throw new SigningRefusedError({ reason: invalid, field: 'chainId' })
  if (onlyChainId !== undefined && chainId !== onlyChainId)
    throw new SigningRefusedError({
      reason: `the devnet key signs only for chain ${onlyChainId}, not ${chainId}`,
      field: 'chainId',
      metaMessages: ['The devnet key is public; configure a keystore wallet for other chains.'],
    })
}

const delegationFields = new Set([
  'chainId',
  'nonce',
  'target',
  'gas',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
])

const zeroAddress: Address = '0x0000000000000000000000000000000000000000'

async function checkDelegation(
  delegation: DelegationToSign,
  onlyChainId: number | undefined,
): Promise<DelegationToSign> {
  if (typeof delegation !== 'object' || delegation === null)
    throw new SigningRefusedError({ reason: 'the delegation must be an object' })
  for (const key of Object.keys(delegation))
    if (!delegationFields.has(key))
      throw new SigningRefusedError({
        reason: `a delegation has no field "${key.replace(/[^\w]/g, '').slice(0, 40)}"`,
        field: key.replace(/[^\w]/g, '').slice(0, 40),
      })
  const { chainId, nonce, target, gas, maxFeePerGas, maxPriorityFeePerGas } = delegation
  checkChainId(
    chainId,
    onlyChainId,
    'the delegation has no valid chainId (chain 0 would make it valid on every chain)',
  )
  // nonce + 1 (the authorization's) must stay a safe integer too.
  if (!Number.isSafeInteger(nonce) || nonce < 0 || nonce >= Number.MAX_SAFE_INTEGER)
    throw new SigningRefusedError({ reason: 'the nonce must be a non-negative integer', field: 'nonce' })
  for (const [field, value] of Object.entries({ gas, maxFeePerGas, maxPriorityFeePerGas }))
    if (typeof value !== 'bigint' || value <= 0n)
      throw new SigningRefusedError({ reason: `${field} must be a positive bigint`, field })
  if (typeof target !== 'string' || !isAddress(target, { strict: false }))
    throw new SigningRefusedError({ reason: 'the delegation target is not an address', field: 'target' })
  // Loaded here, not at the top: the guard's artifact is large and only this call needs its address.
  const { guardAddress } = await import('../chains/evm/guard.js')
  const to = getAddress(target)
  if (to !== guardAddress && to !== zeroAddress)
    throw new SigningRefusedError({
      reason: `a delegation only to Airlock's guard (${guardAddress}) or to the zero address (undelegate) is signed, not to ${to}`,
      field: 'target',
      metaMessages: [
        'Code a key delegates to can spend everything the key holds; nothing was signed.',
        'Use `airlock wallet guard enable|disable --chain C`.',
      ],
    })
  return { chainId, nonce, target: to, gas, maxFeePerGas, maxPriorityFeePerGas }
}

function checkTypedData(
  typedData: TypedDataToSign,
  expected: { chainId: number },
  onlyChainId: number | undefined,
): void {
  if (typeof typedData !== 'object' || typedData === null || typeof typedData.domain !== 'object')
    throw new SigningRefusedError({ reason: 'typed data needs a domain', field: 'domain' })
  if (!Number.isSafeInteger(expected?.chainId) || expected.chainId <= 0)
    throw new SigningRefusedError({ reason: 'the expected chain id is missing', field: 'chainId' })
  if (typedData.primaryType === 'EIP712Domain')
    throw new SigningRefusedError({ reason: 'the primary type cannot be EIP712Domain', field: 'primaryType' })
  if (typeof typedData.types !== 'object' || typedData.types === null)
    throw new SigningRefusedError({ reason: 'typed data needs its types', field: 'types' })
  withDomainType(typedData)
  const { chainId, verifyingContract } = typedData.domain ?? {}
  if (chainId === undefined || chainId === null)
    throw new SigningRefusedError({
      reason: 'the typed data domain has no chainId, so the signature would be valid on every chain',
      field: 'domain.chainId',
    })
  let domainChainId: bigint
  try {
    domainChainId = BigInt(chainId)
  } catch {
    throw new SigningRefusedError({
      reason: 'the typed data domain chainId is not a number',
      field: 'domain.chainId',
    })
  }
  if (domainChainId !== BigInt(expected.chainId))
    throw new SigningRefusedError({
      reason: `the typed data is for chain ${domainChainId.toString().slice(0, 20)}, not chain ${expected.chainId}`,
      field: 'domain.chainId',
      metaMessages: ['Sign typed data only on the chain its domain names; nothing was signed.'],
    })
  if (onlyChainId !== undefined && expected.chainId !== onlyChainId)
    throw new SigningRefusedError({
      reason: `the devnet key signs only for chain ${onlyChainId}, not ${expected.chainId}`,
      field: 'domain.chainId',
    })
  if (typeof verifyingContract !== 'string' || !isAddress(verifyingContract, { strict: false }))
    throw new SigningRefusedError({
      reason: 'the typed data domain names no verifyingContract, so the signature is not bound to a contract',
      field: 'domain.verifyingContract',
    })
  if (getAddress(verifyingContract) === '0x0000000000000000000000000000000000000000')
    throw new SigningRefusedError({
      reason: 'the typed data verifyingContract is the zero address',
      field: 'domain.verifyingContract',
    })
}

/**
 * The `EIP712Domain` type of a domain: the fields it has (not undefined or null), in the canonical order name,
 * version, chainId, verifyingContract, salt. A signature's domain separator covers exactly these fields.
 *
 * @example eip712DomainType({ name: 'USD Coin', chainId: 1, verifyingContract }) // name, chainId, verifyingContract
 */
export function eip712DomainType(domain: TypedDataToSign['domain']): { name: string; type: string }[] {
  const d = (domain ?? {}) as Record<string, unknown>
  return domainFields.filter((f) => d[f.name] !== undefined && d[f.name] !== null)
}

const domainFields = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
] as const

/**
 * Typed data as the gateway hashes and signs it: `types.EIP712Domain` is {@link eip712DomainType} of its own
 * domain, so the signature is bound to exactly the domain that was checked (chain and contract). An
 * `EIP712Domain` type brought along is accepted only when it is that same list; any other is refused, since it
 * could leave `chainId` or `verifyingContract` out of the signature, which would then be valid on every chain or
 * contract (ADVERSARIAL 53).
 *
 * @example hashTypedData(withDomainType(typedData)) // the digest the signer signs
 * @throws {SigningRefusedError} the typed data brings an EIP712Domain type that differs from its domain's
 */
export function withDomainType(typedData: TypedDataToSign): TypedDataToSign {
  const expected = eip712DomainType(typedData.domain)
  if (Object.hasOwn(typedData.types, 'EIP712Domain')) {
    const brought = typedData.types.EIP712Domain
    if (!sameFields(brought, expected))
      throw new SigningRefusedError({
        reason: `the typed data brings its own EIP712Domain type, which differs from its domain's (${expected.map((f) => f.name).join(', ')})`,
        field: 'types.EIP712Domain',
        metaMessages: [
          'The gateway builds the domain type from the domain it checks; leave EIP712Domain out of types. Nothing was signed.',
        ],
      })
  }
  return { ...typedData, types: { ...typedData.types, EIP712Domain: expected } }
}

/** Two field lists name the same fields with the same types, in the same order. */
export function sameFields(
  a: readonly { name: string; type: string }[] | undefined,
  b: readonly { name: string; type: string }[],
): boolean {
  return (
    Array.isArray(a) &&
    a.length === b.length &&
    a.every((f, i) => f?.name === b[i]?.name && f?.type === b[i]?.type)
  )
}

/**
 * Runs a viem signing call. A failure becomes a {@link SigningFailedError} carrying a scrubbed one-line summary
 * and no `cause`: viem errors quote their arguments, and the key is one of them.
 */
async function guard<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof BaseError) throw error
    const summary =
      (error as { shortMessage?: unknown }).shortMessage ??
      (error instanceof Error ? error.message : 'unknown')
    throw new SigningFailedError({
      reason: String(summary)
        .split('\n')[0]!
        .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
        .slice(0, 200),
    })
  }
}

let warmed = false

/**
 * Builds the signing curve's table of base-point multiples (a one-time cost of the JavaScript secp256k1 code, tens
 * of milliseconds) off the request path, with a throwaway key, so the first write does not pay it. Call it once
 * the write path is up; later calls do nothing.
 *
 * @example warmSigning() // at gateway start
 */
export function warmSigning(): void {
  if (warmed) return
  warmed = true
  setTimeout(() => {
    void sign({ hash: `0x${'11'.repeat(32)}`, privateKey: `0x${'00'.repeat(31)}01` }).catch(() => {})
  }, 0).unref()
}
