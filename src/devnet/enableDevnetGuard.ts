import { type Address, concatHex, type Hex, keccak256, numberToHex } from 'viem'
import {
  create2Factory,
  delegationCode,
  guardAddress,
  guardCodeHash,
  guardCreationCode,
  guardSalt,
} from '../chains/evm/guard.js'
import { DevnetError } from '../errors/index.js'
import { jsonRpc } from './jsonRpc.js'

/** Options of {@link enableDevnetGuard}. */
export type EnableDevnetGuardParameters = {
  /** Pays for the guard's deployment (an unlocked account of the node: the fixtures' deployer). */
  deployer: Address
  /** The devnet account whose key delegates to the guard (the gateway's devnet wallet). Default 0. */
  accountIndex?: number | undefined
}

const maxFeePerGas = 100n * 10n ** 9n
const maxPriorityFeePerGas = 10n ** 9n
const deployGas = 3_000_000n
const delegationGas = 120_000n

/**
 * Deploys Airlock's guard through the CREATE2 factory and delegates the gateway's devnet wallet (account 0) to
 * it with a real EIP-7702 transaction signed by the devnet signer: the devnet starts in the `enforced` mode.
 * Runs after the other fixtures, so their addresses and state are those of an undelegated chain.
 *
 * @example const guard = await enableDevnetGuard(rpcUrl, 31337, { deployer: accounts[9] })
 * @throws {DevnetError} the node has no CREATE2 factory, refuses type-4 transactions, or the result is not the
 *   expected code at the guard and at the wallet
 */
export async function enableDevnetGuard(
  rpcUrl: string,
  chainId: number,
  { deployer, accountIndex = 0 }: EnableDevnetGuardParameters,
): Promise<Address> {
  // Loaded here: the devnet's other code needs no signer (and the signer reads the devnet's mnemonic).
  const { createSigner } = await import('../signer/signer.js')
  const [signer, [factoryCode, nonceHex]] = await Promise.all([
    createSigner({ backend: 'devnet', accountIndex, chainId }),
    jsonRpc(rpcUrl, [
      { method: 'eth_getCode', params: [create2Factory, 'latest'] },
      { method: 'eth_getTransactionCount', params: [deployer, 'pending'] },
    ]) as Promise<[Hex, Hex]>,
  ])
  if (factoryCode === '0x')
    throw new DevnetError(
      `The devnet has no CREATE2 factory at ${create2Factory}; the guard cannot be deployed.`,
      {
        metaMessages: ['Use the anvil of @foundry-rs/anvil, which has it from genesis.'],
      },
    )
  const [walletNonceHex] = (await jsonRpc(rpcUrl, [
    { method: 'eth_getTransactionCount', params: [signer.address, 'pending'] },
  ])) as [Hex]
  const delegation = await signer.signDelegation({
    chainId,
    nonce: Number(walletNonceHex),
    target: guardAddress,
    gas: delegationGas,
    maxFeePerGas,
    maxPriorityFeePerGas,
  })
  // Both in one round trip: the authorization does not need the guard's code to exist yet.
  const hashes = (await jsonRpc(rpcUrl, [
    {
      method: 'eth_sendTransaction',
      params: [
        {
          from: deployer,
          to: create2Factory,
          data: concatHex([guardSalt, guardCreationCode]),
          gas: numberToHex(deployGas),
          nonce: nonceHex,
          maxFeePerGas: numberToHex(maxFeePerGas),
          maxPriorityFeePerGas: numberToHex(maxPriorityFeePerGas),
        },
      ],
    },
    { method: 'eth_sendRawTransaction', params: [delegation] },
  ]).catch((error: unknown) => {
    throw new DevnetError('The devnet refused the guard deployment or the wallet delegation.', {
      details: (error as Error).message?.split('\n')[0],
      metaMessages: ['The embedded devnet needs a hardfork with EIP-7702 (Prague or later).'],
    })
  })) as Hex[]
  await waitMined(rpcUrl, hashes)
  const [guardCode, walletCode] = (await jsonRpc(rpcUrl, [
    { method: 'eth_getCode', params: [guardAddress, 'latest'] },
    { method: 'eth_getCode', params: [signer.address, 'latest'] },
  ])) as [Hex, Hex]
  if (guardCode === '0x' || keccak256(guardCode) !== guardCodeHash)
    throw new DevnetError(`The guard was not deployed at ${guardAddress} with the expected code.`)
  if (walletCode.toLowerCase() !== delegationCode(guardAddress))
    throw new DevnetError(
      `Devnet account ${accountIndex} does not delegate to the guard after its delegation.`,
    )
  return guardAddress
}

async function waitMined(rpcUrl: string, hashes: readonly Hex[]): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const receipts = (await jsonRpc(
      rpcUrl,
      hashes.map((hash) => ({ method: 'eth_getTransactionReceipt', params: [hash] })),
    )) as ({ status: Hex } | null)[]
    if (receipts.every(Boolean)) {
      if (receipts.some((r) => r?.status !== '0x1'))
        throw new DevnetError('The guard deployment or the wallet delegation reverted on the devnet.')
      return
    }
    if (Date.now() > deadline)
      throw new DevnetError('The guard deployment or the wallet delegation was never mined.', {
        metaMessages: ['Fixtures need automine (do not start anvil with --no-mining).'],
      })
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
