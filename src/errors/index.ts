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
  NotFoundError,
  RpcError,
  RpcUnavailableError,
  TokenNotSupportedError,
  UntrustedFetchBlockedError,
} from './errors.js'
export { redactUrl, scrubSecrets } from './scrub.js'
