import { isIP } from 'node:net'

// IPv4 ranges that are not public unicast (IANA special-purpose registry, RFC 6890 and successors).
const v4Blocked: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
]

const v4Ranges = v4Blocked.map(([base, bits]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return { net: (v4ToInt(base) & mask) >>> 0, mask }
})

/**
 * Whether an IP address (v4 or v6, as `dns.lookup` returns it, without brackets) is public unicast — the only kind
 * an untrusted URL may reach. Refuses loopback, private, link-local (cloud metadata), CGNAT, multicast, broadcast,
 * documentation and reserved ranges; IPv6 outside global unicast 2000::/3 (so ::1, fc00::/7, fe80::/10, ff00::/8);
 * and IPv6 forms that embed a refused IPv4 address (::ffff:10.0.0.1, NAT64 64:ff9b::/96, 6to4 2002::/16).
 *
 * @example
 * isPublicAddress('93.184.215.14') // true
 * isPublicAddress('169.254.169.254') // false
 * isPublicAddress('::ffff:7f00:1') // false — IPv4-mapped 127.0.0.1
 */
export function isPublicAddress(ip: string): boolean {
  const version = isIP(ip)
  if (version === 4) return isPublicV4(v4ToInt(ip))
  if (version !== 6 || ip.includes('%')) return false
  const w = parseV6(ip)
  if (!w) return false
  const [w0, w1, w2, w3, w4, w5, w6, w7] = w as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const low32 = ((w6 << 16) | w7) >>> 0
  // ::ffff:a.b.c.d (IPv4-mapped): judged by its IPv4 address.
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0xffff) return isPublicV4(low32)
  // 64:ff9b::/96 (NAT64 well-known prefix): the gateway connects to the embedded IPv4 address.
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return isPublicV4(low32)
  // 2002::/16 (6to4): the embedded IPv4 address sits in the next 32 bits.
  if (w0 === 0x2002) return isPublicV4(((w1 << 16) | w2) >>> 0)
  // 2001::/23: Teredo, benchmarking, ORCHID and other IETF assignments; 2001:db8::/32: documentation.
  if (w0 === 0x2001 && (w1 < 0x200 || w1 === 0xdb8)) return false
  // 3fff::/20: documentation.
  if (w0 === 0x3fff && w1 < 0x1000) return false
  // Everything else must be global unicast 2000::/3.
  return (w0 & 0xe000) === 0x2000
}

function isPublicV4(n: number): boolean {
  return !v4Ranges.some(({ net, mask }) => (n & mask) >>> 0 === net)
}

function v4ToInt(ip: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number)
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
}

/** Eight 16-bit words of an IPv6 address already checked by `isIP`, or undefined. */
function parseV6(ip: string): number[] | undefined {
  let text = ip
  const lastColon = text.lastIndexOf(':')
  const dotted = text.slice(lastColon + 1)
  if (dotted.includes('.')) {
    // A trailing dotted quad (::ffff:10.0.0.1) stands for the last two words.
    if (isIP(dotted) !== 4) return undefined
    const n = v4ToInt(dotted)
    text = `${text.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string | undefined): number[] =>
    part ? part.split(':').map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? Number.parseInt(h, 16) : Number.NaN)) : []
  const head = parse(halves[0])
  const tail = parse(halves[1])
  const gap = 8 - head.length - tail.length
  if (halves.length === 2 ? gap < 1 : gap !== 0) return undefined
  const words = [...head, ...new Array<number>(gap).fill(0), ...tail]
  return words.some(Number.isNaN) ? undefined : words
}
