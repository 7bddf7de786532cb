import { UntrustedFetchBlockedError } from '../errors/index.js'

/** Where `ipfs://` and `ar://` URIs are fetched from. Both must be base URLs ending with `/`. */
export type GatewayOptions = {
  /** Default {@link defaultIpfsGateway}. */
  ipfsGateway?: string | undefined
  /** Default {@link defaultArweaveGateway}. */
  arweaveGateway?: string | undefined
}

/** The public IPFS gateway used when the config names none. */
export const defaultIpfsGateway = 'https://ipfs.io/ipfs/'
/** The public Arweave gateway used when the config names none. */
export const defaultArweaveGateway = 'https://arweave.net/'

// CIDv0 (Qm…, base58) and CIDv1 (base32 b…, base36 k…, …) are alphanumeric; Arweave ids are base64url.
const cid = /^[A-Za-z0-9]{8,128}$/
const arweaveId = /^[A-Za-z0-9_-]{43}$/

/**
 * Rewrites a content-addressed URI to its HTTPS gateway URL: `ipfs://CID/path`, the common mistake
 * `ipfs://ipfs/CID/path`, and `ar://TXID/path`. Any other URI is returned unchanged. Path segments are
 * re-encoded and `.`/`..` refused, so a URI cannot climb out of the gateway's `/ipfs/` prefix; query and fragment
 * are dropped.
 * The gateway is configuration; validate it first (`createSafeFetcher` does).
 *
 * @example
 * toGatewayUrl('ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/1.json')
 * // 'https://ipfs.io/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/1.json'
 * toGatewayUrl('ipfs://ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', { ipfsGateway: 'https://gw.example/ipfs/' })
 * // 'https://gw.example/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
 * @throws {UntrustedFetchBlockedError} the identifier is malformed or the path tries to leave it
 */
export function toGatewayUrl(uri: string, options: GatewayOptions = {}): string {
  const match = /^(ipfs|ar):\/\/([^?#]*)/i.exec(uri.trim())
  if (!match) return uri
  const scheme = (match[1] ?? '').toLowerCase()
  const segments = (match[2] ?? '').split('/')
  if (scheme === 'ipfs' && segments[0]?.toLowerCase() === 'ipfs') segments.shift()
  const [id = '', ...path] = segments
  if (!(scheme === 'ipfs' ? cid : arweaveId).test(id)) {
    throw new UntrustedFetchBlockedError({
      reason: `the ${scheme}:// URI does not start with a valid identifier`,
    })
  }
  const encoded = path.map((segment) => {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      throw new UntrustedFetchBlockedError({ reason: `the ${scheme}:// URI has a malformed path` })
    }
    // `..`, or a slash or backslash hidden in percent-encoding, could climb out of the identifier on the gateway.
    if (decoded === '.' || decoded === '..' || /[/\\]/.test(decoded)) {
      throw new UntrustedFetchBlockedError({
        reason: `the ${scheme}:// URI path tries to leave its identifier`,
      })
    }
    return encodeURIComponent(decoded)
  })
  const base =
    scheme === 'ipfs'
      ? (options.ipfsGateway ?? defaultIpfsGateway)
      : (options.arweaveGateway ?? defaultArweaveGateway)
  return [base + id, ...encoded].join('/')
}
