import { createHash } from 'node:crypto'
import {
  type Address,
  createKeyPairSignerFromPrivateKeyBytes,
  getAddressEncoder,
  getBase58Decoder,
  type KeyPairSigner,
} from '@solana/kit'

/** A keypair of the Solana devnet, derived from a fixed label so every start has the same addresses. */
export type SolanaDevnetKeyPair = {
  address: Address
  /** Base58 of the 64-byte keypair (seed ‖ public key): the `solana-keygen` form. */
  secretKey: string
  signer: KeyPairSigner
}

/** sha256 of a UTF-8 string, as bytes. */
export function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text, 'utf8').digest())
}

/**
 * Derives the devnet keypair whose ed25519 seed is `sha256(label)`. Deterministic by design: these keys are
 * public knowledge and only ever hold devnet funds.
 *
 * @example
 * const account0 = await devnetKeyPair('airlock solana devnet account 0')
 */
export async function devnetKeyPair(label: string): Promise<SolanaDevnetKeyPair> {
  const seed = sha256(label)
  const signer = await createKeyPairSignerFromPrivateKeyBytes(seed)
  const keypair = new Uint8Array(64)
  keypair.set(seed, 0)
  keypair.set(getAddressEncoder().encode(signer.address), 32)
  return { address: signer.address, secretKey: getBase58Decoder().decode(keypair), signer }
}
