import { BaseError, type BaseErrorParameters } from './base.js'

type Extra = Pick<BaseErrorParameters, 'cause' | 'details' | 'field'>

/** Tool arguments failed validation. */
export class InvalidInputError extends BaseError {
  override name = 'InvalidInputError'
  constructor(message: string, parameters: Extra & { metaMessages?: readonly string[] } = {}) {
    super('INVALID_INPUT', message, parameters)
  }
}

/** An EVM address was malformed, had a broken EIP-55 checksum, or hid invisible characters. */
export class InvalidAddressError extends BaseError {
  override name = 'InvalidAddressError'
  constructor({
    reason,
    family,
    ...rest
  }: Extra & { reason: string; family?: 'evm' | 'solana' | undefined }) {
    super('INVALID_ADDRESS', `Invalid address: ${reason}.`, {
      ...rest,
      metaMessages: [
        family === 'solana'
          ? 'Give a Solana address: base58, 32 bytes (32 to 44 characters).'
          : 'Give a 0x-prefixed 40-hex-digit address, EIP-55 checksummed or all lowercase.',
      ],
    })
  }
}

/** An amount was not a plain decimal string the token can represent. */
export class InvalidAmountError extends BaseError {
  override name = 'InvalidAmountError'
  constructor({ reason, ...rest }: Extra & { reason: string }) {
    super('INVALID_AMOUNT', `Invalid amount: ${reason}.`, {
      ...rest,
      metaMessages: ['Give a decimal string in display units, like "1.5": no sign, exponent, spaces or hex.'],
    })
  }
}

/** The configuration file or environment was invalid. */
export class InvalidConfigError extends BaseError {
  override name = 'InvalidConfigError'
  constructor(message: string, parameters: Extra & { metaMessages?: readonly string[] } = {}) {
    super('INVALID_CONFIG', message, parameters)
  }
}

/** The chain reference matched nothing in the registry. */
export class ChainNotFoundError extends BaseError {
  override name = 'ChainNotFoundError'
  constructor({ chain, ...rest }: Extra & { chain: string }) {
    super('CHAIN_NOT_FOUND', `Unknown chain "${chain}".`, {
      ...rest,
      metaMessages: [
        'Use a registry name (ethereum, base, devnet), a chain id (8453) or CAIP-2 (eip155:8453).',
        'Call list_chains to see the chains this gateway serves.',
      ],
    })
  }
}

/** A token's facts (decimals) could not be read or were absurd, and no registry value exists. */
export class TokenNotSupportedError extends BaseError {
  override name = 'TokenNotSupportedError'
  constructor({ token, reason, ...rest }: Extra & { token: string; reason: string }) {
    super('TOKEN_NOT_SUPPORTED', `Token ${token} is not supported: ${reason}.`, {
      ...rest,
      metaMessages: ['Check the token address and chain; only ERC-20 tokens with 1–36 decimals are handled.'],
    })
  }
}

/** A looked-up object (transaction, block, ENS name, NFT) does not exist. */
export class NotFoundError extends BaseError {
  override name = 'NotFoundError'
  constructor(message: string, parameters: Extra & { metaMessages?: readonly string[] } = {}) {
    super('NOT_FOUND', message, parameters)
  }
}

/** A contract call reverted. The reason is untrusted text and comes sanitized. */
export class ContractRevertedError extends BaseError {
  override name = 'ContractRevertedError'
  constructor({ reason, ...rest }: Extra & { reason: string }) {
    super('CONTRACT_REVERTED', `The contract call reverted: ${reason}.`, {
      ...rest,
      metaMessages: ['Check the address, function signature and arguments.'],
    })
  }
}

/** A URL was refused by the SSRF guard (scheme, private address, redirect, size). */
export class UntrustedFetchBlockedError extends BaseError {
  override name = 'UntrustedFetchBlockedError'
  constructor({ reason, ...rest }: Extra & { reason: string }) {
    super('UNTRUSTED_FETCH_BLOCKED', `Refused to fetch: ${reason}.`, rest)
  }
}

/** A remote fetch (metadata, avatar) failed or timed out. */
export class FetchFailedError extends BaseError {
  override name = 'FetchFailedError'
  constructor({ reason, ...rest }: Extra & { reason: string }) {
    super('FETCH_FAILED', `Fetch failed: ${reason}.`, rest)
  }
}

/** Every RPC endpoint of a chain failed or is open-circuited. */
export class RpcUnavailableError extends BaseError {
  override name = 'RpcUnavailableError'
  constructor({ chain, reason, ...rest }: Extra & { chain: string; reason: string }) {
    super('RPC_UNAVAILABLE', `No RPC endpoint of chain "${chain}" answered: ${reason}.`, {
      ...rest,
      metaMessages: [
        `Check the endpoints configured for ${chain} (config file or AIRLOCK_RPC_${chain.toUpperCase().replace(/[^A-Z0-9]/g, '_')}).`,
        'Read airlock://chains for endpoint health.',
      ],
    })
  }
}

/** An RPC endpoint answered with a JSON-RPC error (not a revert). */
export class RpcError extends BaseError {
  override name = 'RpcError'
  constructor({ message, ...rest }: Extra & { message: string }) {
    super('RPC_ERROR', `The RPC endpoint returned an error: ${message}.`, rest)
  }
}

/** An endpoint's eth_chainId differs from the chain it was configured for. */
export class ChainIdMismatchError extends BaseError {
  override name = 'ChainIdMismatchError'
  constructor({
    endpoint,
    expected,
    actual,
    ...rest
  }: Extra & { endpoint: string; expected: number; actual: number }) {
    super('CHAIN_ID_MISMATCH', `Endpoint ${endpoint} serves chain id ${actual}, expected ${expected}.`, {
      ...rest,
      metaMessages: ['Fix the endpoint URL for this chain; the endpoint stays unused until then.'],
    })
  }
}

/** The embedded devnet could not start. */
export class DevnetError extends BaseError {
  override name = 'DevnetError'
  constructor(message: string, parameters: Extra & { metaMessages?: readonly string[] } = {}) {
    super('DEVNET_FAILED', message, parameters)
  }
}

/**
 * A wallet stayed locked: the password was wrong, or none was available. Never says which part of a password
 * was wrong, nor anything about the key.
 */
export class WalletLockedError extends BaseError {
  override name = 'WalletLockedError'
  constructor({
    reason,
    metaMessages,
    ...rest
  }: Extra & { reason: string; metaMessages?: readonly string[] | undefined }) {
    super('WALLET_LOCKED', `The wallet is locked: ${reason}.`, {
      ...rest,
      metaMessages: metaMessages ?? [
        'Give the password the wallet was created or imported with (AIRLOCK_WALLET_PASSWORD or the prompt).',
      ],
    })
  }
}

/** A wallet for this address already exists; keystore files are never overwritten. */
export class WalletExistsError extends BaseError {
  override name = 'WalletExistsError'
  constructor({ what, ...rest }: Extra & { what: string }) {
    super('WALLET_EXISTS', `${what} already exists.`, {
      ...rest,
      metaMessages: ['Keystore files are never overwritten. Use the existing wallet, or pick another label.'],
    })
  }
}

/**
 * A keystore file (Web3 Secret Storage v3) was malformed, used an unsupported cipher or KDF, asked for absurd
 * KDF parameters, or did not match its own address.
 */
export class KeystoreInvalidError extends BaseError {
  override name = 'KeystoreInvalidError'
  constructor({ reason, ...rest }: Extra & { reason: string }) {
    super('KEYSTORE_INVALID', `The keystore is not usable: ${reason}.`, {
      ...rest,
      metaMessages: [
        'Give a Web3 Secret Storage v3 file (aes-128-ctr with scrypt or pbkdf2/hmac-sha256), as geth or MetaMask export it.',
      ],
    })
  }
}

/** The signer refused to sign: the payload is of a kind it never signs, or is bound to the wrong chain. */
export class SigningRefusedError extends BaseError {
  override name = 'SigningRefusedError'
  constructor({
    reason,
    metaMessages,
    ...rest
  }: Extra & { reason: string; metaMessages?: readonly string[] | undefined }) {
    super('SIGNING_REFUSED', `Refused to sign: ${reason}.`, {
      ...rest,
      metaMessages: metaMessages ?? ['Nothing was signed. Fix the request and try again.'],
    })
  }
}

/** Signing failed inside the signer. The message carries a scrubbed summary only, never the underlying error. */
export class SigningFailedError extends BaseError {
  override name = 'SigningFailedError'
  constructor({ reason, ...rest }: Omit<Extra, 'cause'> & { reason: string }) {
    super('SIGNING_FAILED', `Signing failed: ${reason}.`, {
      ...rest,
      metaMessages: ['Nothing was signed. Check the transaction or typed data fields and try again.'],
    })
  }
}
