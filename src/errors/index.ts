export { BaseError, type BaseErrorParameters, toBaseError } from './base.js'
export { type ErrorCode, errorCodes } from './codes.js'
export {
  ChainIdMismatchError,
  ChainNotFoundError,
  ContractRevertedError,
  DevnetError,
  FetchFailedError,
  InvalidAddressError,
  InvalidAmountError,
  InvalidConfigError,
  InvalidInputError,
  KeystoreInvalidError,
  NotFoundError,
  RpcError,
  RpcUnavailableError,
  SigningFailedError,
  SigningRefusedError,
  TokenNotSupportedError,
  UntrustedFetchBlockedError,
  WalletExistsError,
  WalletLockedError,
} from './errors.js'
export { redactUrl, scrubSecrets } from './scrub.js'
export {
  IdempotencyKeyReusedError,
  IllegalTransitionError,
  IntentConflictError,
  NonceConflictError,
  StoreUnavailableError,
} from './storeErrors.js'
