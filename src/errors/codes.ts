/**
 * The closed list of error codes. Every failure Airlock reports carries exactly one of these.
 * Each code maps to an HTTP status (admin API, HTTP transport) and, for tool calls, to an `isError` result.
 */
export const errorCodes = {
  INVALID_INPUT: 400,
  INVALID_ADDRESS: 400,
  INVALID_AMOUNT: 400,
  INVALID_CONFIG: 400,
  CHAIN_NOT_FOUND: 404,
  TOKEN_NOT_SUPPORTED: 422,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CONTRACT_REVERTED: 422,
  UNTRUSTED_FETCH_BLOCKED: 422,
  FETCH_FAILED: 502,
  RPC_UNAVAILABLE: 503,
  RPC_ERROR: 502,
  CHAIN_ID_MISMATCH: 502,
  DEVNET_FAILED: 500,
  STORE_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYMENT_REQUIRED: 402,
  POLICY_DENIED: 403,
  APPROVAL_REQUIRED: 202,
  PRECONDITION_FAILED: 412,
  FEE_CAP_EXCEEDED: 503,
  INSUFFICIENT_FUNDS: 402,
  WALLET_NOT_CONFIGURED: 409,
  WALLET_LOCKED: 423,
  WALLET_EXISTS: 409,
  KEYSTORE_INVALID: 422,
  SIGNING_REFUSED: 403,
  SIGNING_FAILED: 500,
  INTERNAL: 500,
} as const satisfies Record<string, number>

/** One of the codes in {@link errorCodes}. */
export type ErrorCode = keyof typeof errorCodes
