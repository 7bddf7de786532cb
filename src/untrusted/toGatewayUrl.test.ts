import { describe, expect, it } from 'vitest'
import { UntrustedFetchBlockedError } from '../errors/index.js'
import { toGatewayUrl } from './toGatewayUrl.js'

const v0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const v1 = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const arId = 'bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U'

describe('toGatewayUrl', () => {
  it('rewrites ipfs://CID/path to the default gateway', () => {
    expect(toGatewayUrl(`ipfs://${v1}/1.json`)).toBe(`https://ipfs.io/ipfs/${v1}/1.json`)
    expect(toGatewayUrl(`ipfs://${v0}`)).toBe(`https://ipfs.io/ipfs/${v0}`)
  })

  it('rewrites the common ipfs://ipfs/CID mistake', () => {
    expect(toGatewayUrl(`ipfs://ipfs/${v0}/meta/7`)).toBe(`https://ipfs.io/ipfs/${v0}/meta/7`)
    expect(toGatewayUrl(`IPFS://${v0}`)).toBe(`https://ipfs.io/ipfs/${v0}`)
  })

  it('uses the configured gateways and rewrites ar://', () => {
    const gateways = { ipfsGateway: 'https://gw.example/ipfs/', arweaveGateway: 'https://ar.example/' }
    expect(toGatewayUrl(`ipfs://${v0}/a.json`, gateways)).toBe(`https://gw.example/ipfs/${v0}/a.json`)
    expect(toGatewayUrl(`ar://${arId}/x`, gateways)).toBe(`https://ar.example/${arId}/x`)
    expect(toGatewayUrl(`ar://${arId}`)).toBe(`https://arweave.net/${arId}`)
  })

  it('re-encodes path segments and drops query and fragment', () => {
    expect(toGatewayUrl(`ipfs://${v0}/my file%20(1).json?x=1#frag`)).toBe(
      `https://ipfs.io/ipfs/${v0}/my%20file%20(1).json`,
    )
  })

  it('refuses paths that would climb out of the identifier', () => {
    for (const path of ['..', '.', '%2e%2e', 'a%2F..%2F..', 'a%5c..', '%zz']) {
      expect(() => toGatewayUrl(`ipfs://${v0}/${path}/api/v0/shutdown`), path).toThrow(
        UntrustedFetchBlockedError,
      )
    }
  })

  it('refuses a malformed identifier', () => {
    for (const uri of ['ipfs://', 'ipfs://x@evil.example/', 'ipfs://a.b/c', `ar://short`, 'ipfs://ipfs/']) {
      expect(() => toGatewayUrl(uri), uri).toThrow(UntrustedFetchBlockedError)
    }
  })

  it('returns other URIs unchanged', () => {
    for (const uri of ['https://example.com/1.json', 'data:,x', 'file:///etc/passwd']) {
      expect(toGatewayUrl(uri)).toBe(uri)
    }
  })
})
