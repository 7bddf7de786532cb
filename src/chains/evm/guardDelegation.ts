import {
  type Address,
  concatHex,
  type Hex,
  keccak256,
  parseTransaction,
  type TransactionReceipt,
  zeroAddress,
} from 'viem'
import { BaseError, toBaseError } from '../../errors/index.js'
import type { DelegatingSigner } from '../../signer/signer.js'
import { estimateTxFees, type FeeCaps } from '../../txs/fees.js'
import type { ChainContext } from '../chains.js'
import {
  create2Factory,
  type GuardStatus,
  guardAddress,
  guardCodeHash,
  guardCreationCode,
  guardSalt,
  readGuardStatus,
} from './guard.js'

/** What delegation management needs: a chain, the wallet's signer, and the chain's fee caps. */
export type GuardDelegationParameters = {
  chain: ChainContext
  signer: Pick<DelegatingSigner, 'address' | 'signTransaction' | 'signDelegation'>
  /** The chain's fee caps from the config (`chains.<name>.maxFeePerGasGwei`, …). */
  fees?: FeeCaps | undefined
  /**
   * Called after a transaction of the wallet was mined, with the nonces it used. A delegation uses two (the
   * transaction's and the authorization's); the caller brings the gateway's nonce manager in line (`resync`).
   */
  onNoncesUsed?: ((used: { chainId: number; wallet: Address; count: number }) => Promise<void>) | undefined
}

/** What a delegation command did and where the wallet stands after it. */
export type GuardDelegationReturnType = {
  status: GuardStatus
  /** The guard's deployment, when this call deployed it. */
  deployTx?: Hex | undefined
  /** The delegation (or undelegation) transaction, when one was sent. */
  delegationTx?: Hex | undefined
}

// The delegation transaction calls the wallet with no data (the guard's `receive`); 25,000 per authorization
// plus the call. Only used gas is charged.
const delegationGas = 120_000n
const deployGasMargin = 100_000n

/**
 * Deploys Airlock's guard at its deterministic address through the CREATE2 factory (a plain EIP-1559
 * transaction from the wallet), unless it is there already with the expected code.
 *
 * @example const { deployTx } = await deployGuard({ chain, signer })
 * @throws {BaseError} PRECONDITION_FAILED: the guard's address holds other code, or the chain has no factory
 * @throws {BaseError} CONTRACT_REVERTED: the deployment reverted
 */
export async function deployGuard(parameters: GuardDelegationParameters): Promise<{ deployTx?: Hex }> {
  const { chain, signer } = parameters
  const [code, factoryCode] = await Promise.all([
    chain.client.getCode({ address: guardAddress }),
    chain.client.getCode({ address: create2Factory }),
  ])
  if (hasCode(code)) {
    checkGuardCode(chain, code)
    return {}
  }
  if (!hasCode(factoryCode))
    throw new BaseError(
      'PRECONDITION_FAILED',
      `${chain.name} has no CREATE2 factory at ${create2Factory}, so the guard cannot be deployed at its address ${guardAddress}.`,
      {
        metaMessages: [
          'Nothing was signed. Writes on this chain stay unwrapped and are settled on their receipts.',
          'The factory (the deterministic deployment proxy) is on most EVM chains; ask the chain to add it.',
        ],
      },
    )
  const data = concatHex([guardSalt, guardCreationCode])
  const fees = await estimateTxFees(
    chain,
    { from: signer.address, to: create2Factory, data, value: 0n },
    parameters.fees,
  )
  const nonce = await pendingNonce(chain, signer.address)
  const raw = await signer.signTransaction({
    chainId: chain.id,
    nonce,
    to: create2Factory,
    value: 0n,
    data,
    gas: fees.gas + deployGasMargin,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  })
  const receipt = await sendAndWait(chain, raw, 'the guard deployment')
  await parameters.onNoncesUsed?.({ chainId: chain.id, wallet: signer.address, count: 1 })
  if (receipt.status !== 'success')
    throw new BaseError('CONTRACT_REVERTED', `The guard deployment on ${chain.name} reverted.`, {
      details: `transaction ${receipt.transactionHash}`,
      metaMessages: ['The wallet was not delegated. Check its balance and retry.'],
    })
  checkGuardCode(chain, await chain.client.getCode({ address: guardAddress }))
  return { deployTx: receipt.transactionHash }
}

/**
 * Delegates the wallet's code to the guard with an EIP-7702 transaction (deploying the guard first when its
 * address is empty), after checking that the code at the guard's address is the guard's; then reads the chain
 * back and requires the status `enforced`. Does nothing when it is already enforced.
 *
 * @example const { status } = await enableGuard({ chain, signer }) // status.mode === 'enforced'
 * @throws {BaseError} PRECONDITION_FAILED: the guard's address holds other code (nothing is signed), no
 *   factory, the chain does not take EIP-7702 transactions, or the status is not `enforced` afterwards
 */
export async function enableGuard(parameters: GuardDelegationParameters): Promise<GuardDelegationReturnType> {
  const { chain, signer } = parameters
  const before = await readGuardStatus(chain, signer.address)
  if (before.mode === 'enforced') return { status: before }
  // Other code at the guard's address is refused before anything is signed.
  const code = await chain.client.getCode({ address: guardAddress })
  if (hasCode(code)) checkGuardCode(chain, code)
  // Before deploying anything: a chain that refuses type-4 transactions would leave a guard nobody can use.
  await probeDelegation(parameters)
  const { deployTx } = hasCode(code) ? {} : await deployGuard(parameters)
  // The code hash is checked again right before signing: a delegation to anything else is never signed.
  checkGuardCode(chain, await chain.client.getCode({ address: guardAddress }))
  const { status, delegationTx } = await delegate(parameters, guardAddress, 'enforced')
  return { status, ...(deployTx ? { deployTx } : {}), delegationTx }
}

/**
 * Removes the wallet's delegation (an EIP-7702 authorization to the zero address): the wallet is a plain EOA
 * again and its writes go out unwrapped, settled on their receipts. Does nothing when it is already `off`.
 *
 * @example const { status } = await disableGuard({ chain, signer }) // status.mode === 'off'
 * @throws {BaseError} PRECONDITION_FAILED: the chain does not take EIP-7702 transactions, or the wallet still
 *   has code afterwards
 */
export async function disableGuard(
  parameters: GuardDelegationParameters,
): Promise<GuardDelegationReturnType> {
  const { chain, signer } = parameters
  const before = await readGuardStatus(chain, signer.address)
  if (before.mode === 'off') return { status: before }
  return delegate(parameters, zeroAddress, 'off')
}

/**
 * Signs and sends the wallet's type-4 transaction to `target`, waits for it, reports the two nonces, and checks
 * that the wallet then stands in mode `expected`.
 */
async function delegate(
  parameters: GuardDelegationParameters,
  target: Address,
  expected: 'enforced' | 'off',
): Promise<{ status: GuardStatus; delegationTx: Hex }> {
  const { chain, signer } = parameters
  const raw = await signDelegationTx(parameters, target)
  const receipt = await sendAndWait(chain, raw, 'the delegation')
  // The transaction's nonce and the authorization's: the chain's nonce of the wallet moved by two.
  await parameters.onNoncesUsed?.({ chainId: chain.id, wallet: signer.address, count: 2 })
  if (receipt.status !== 'success')
    throw new BaseError('CONTRACT_REVERTED', `The delegation transaction on ${chain.name} reverted.`, {
      details: `transaction ${receipt.transactionHash}`,
      metaMessages: ['Run `airlock wallet guard status` to see where the wallet stands.'],
    })
  const delegationTx = receipt.transactionHash
  const status = await readGuardStatus(chain, signer.address)
  if (status.mode !== expected)
    throw new BaseError(
      'PRECONDITION_FAILED',
      `The ${expected === 'off' ? 'undelegation' : 'delegation'} was mined on ${chain.name}, but the wallet is "${status.mode}", not "${expected}".`,
      {
        details: `transaction ${delegationTx}`,
        metaMessages: [
          'The authorization was skipped, most likely because another transaction of the wallet took its nonce.',
          'Run the command again.',
        ],
      },
    )
  return { status, delegationTx }
}

async function signDelegationTx(parameters: GuardDelegationParameters, target: Address): Promise<Hex> {
  const { chain, signer } = parameters
  // Fees (and the configured caps) as for any write; the gas is fixed (see delegationGas).
  const fees = await estimateTxFees(
    chain,
    { from: signer.address, to: signer.address, data: '0x', value: 0n },
    parameters.fees,
  )
  const nonce = await pendingNonce(chain, signer.address)
  return signer.signDelegation({
    chainId: chain.id,
    nonce,
    target,
    gas: delegationGas,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  })
}

/**
 * Asks the node to estimate the delegation (nothing is sent): a node that does not know EIP-7702 refuses it
 * here, before the guard is deployed. A node that ignores the field passes; its refusal then comes at the send.
 */
async function probeDelegation(parameters: GuardDelegationParameters): Promise<void> {
  const { chain, signer } = parameters
  const raw = await signDelegationTx(parameters, guardAddress)
  const { authorizationList } = parseTransaction(raw)
  try {
    await chain.client.estimateGas({
      account: signer.address,
      to: signer.address,
      authorizationList: authorizationList ?? [],
    })
  } catch (error) {
    if (rejectsDelegation(error)) throw noDelegation(chain, error)
    // Anything else (the guard not deployed yet, a node that cannot estimate this) is settled by the send.
  }
}

async function sendAndWait(chain: ChainContext, raw: Hex, what: string): Promise<TransactionReceipt> {
  let hash: Hex
  try {
    hash = await chain.client.sendRawTransaction({ serializedTransaction: raw })
  } catch (error) {
    if (rejectsDelegation(error)) throw noDelegation(chain, error)
    const e = toBaseError(error)
    throw new BaseError(e.code, `${chain.name} refused ${what}: ${e.shortMessage}`, {
      metaMessages: ['Nothing was sent. Check the wallet balance and its pending transactions, then retry.'],
      cause: error,
    })
  }
  return chain.client.waitForTransactionReceipt({ hash, timeout: 120_000, pollingInterval: 500 })
}

async function pendingNonce(chain: ChainContext, wallet: Address): Promise<number> {
  return chain.client.getTransactionCount({ address: wallet, blockTag: 'pending' })
}

function hasCode(code: Hex | undefined): code is Hex {
  return code !== undefined && code !== '0x'
}

/** Refuses when the code at the guard's address is not the guard's (a delegation there is never signed). */
function checkGuardCode(chain: ChainContext, code: Hex | undefined): void {
  if (!hasCode(code))
    throw new BaseError(
      'PRECONDITION_FAILED',
      `The guard is not deployed on ${chain.name} (no code at ${guardAddress}).`,
      { metaMessages: ['Nothing was signed. `airlock wallet guard enable` deploys it first.'] },
    )
  const hash = keccak256(code)
  if (hash !== guardCodeHash)
    throw new BaseError(
      'PRECONDITION_FAILED',
      `The code at the guard's address ${guardAddress} on ${chain.name} is not Airlock's guard (code hash ${hash}, expected ${guardCodeHash}).`,
      {
        metaMessages: [
          'Nothing was signed: a wallet is never delegated to code other than the guard.',
          'Check that this Airlock version matches the guard deployed there, and the chain (or RPC endpoint).',
        ],
      },
    )
}

/** Whether a node's error says it does not take EIP-7702 (type-4) transactions. */
function rejectsDelegation(error: unknown): boolean {
  const parts: string[] = []
  for (let e: unknown = error, i = 0; e && i < 12; e = (e as { cause?: unknown }).cause, i++) {
    const x = e as { message?: string; details?: string; shortMessage?: string }
    parts.push(x.details ?? '', x.shortMessage ?? '', x.message ?? '')
  }
  const text = parts.join(' | ').toLowerCase()
  return /7702|authorization ?list|transaction type not supported|tx type not supported|unsupported transaction type|invalid transaction type|type 4|typed transaction too short/.test(
    text,
  )
}

function noDelegation(chain: ChainContext, cause: unknown): BaseError {
  return new BaseError(
    'PRECONDITION_FAILED',
    `${chain.name} does not accept EIP-7702 (type-4) transactions, so the wallet cannot delegate to the guard there.`,
    {
      metaMessages: [
        'Nothing was sent. Writes on this chain stay unwrapped (no on-chain post-conditions) and are settled on their receipts.',
      ],
      cause,
    },
  )
}
