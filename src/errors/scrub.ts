const privateKeyLike = /\b(0x)?[0-9a-fA-F]{64}\b/g
// API keys commonly sit in the query of RPC URLs (?apikey=…). Attempts start only at `?` or `&` and consume to the
// next `&`: linear.
const keyQuery = /([?&](?:api[-_]?key|key|token|access[-_]?token|auth|secret|password)=)[^&#\s]+/gi
// Where a URL starts, for the path scan (a literal prefix: attempts cost O(1) each).
const httpStart = /https?:\/\//gi
const minPathKey = 16

/**
 * Removes secrets from text that may reach a user, a log or a tool result: URL userinfo, API keys in RPC URL
 * paths and queries, and 32-byte hex strings that could be private keys.
 *
 * Runs in time linear in the text (it sees attacker-sized input: calldata, revert data, remote answers): the URL
 * parts are scanned by hand, since the patterns that would describe them backtrack quadratically on long runs.
 *
 * @example scrubSecrets('https://user:pw@rpc.example/v2/abcdefabcdefabcdef1234') // 'https://***@rpc.example/v2/***'
 */
export function scrubSecrets(text: string): string {
  return scrubPathKeys(scrubUserinfo(text).replace(keyQuery, '$1***')).replace(
    privateKeyLike,
    (m) => `${m.startsWith('0x') ? '0x' : ''}<redacted-32-bytes>`,
  )
}

/** `scheme://user[:password]@` → `scheme://***@`, for every scheme. */
function scrubUserinfo(text: string): string {
  let out = ''
  let copied = 0
  let from = 0
  for (;;) {
    const sep = text.indexOf('://', from)
    if (sep < 0) break
    from = sep + 1
    // The scheme: a letter, then scheme characters, right before "://" (the earliest such letter, as a regex would).
    let start = sep
    while (start > copied && isSchemeChar(text.charCodeAt(start - 1))) start--
    while (start < sep && !isLetter(text.charCodeAt(start))) start++
    if (start === sep) continue
    // userinfo: user up to ':' or '@', an optional password up to '@'; none of it crosses '/' or whitespace.
    const user = sep + 3
    let end = user
    while (end < text.length && !endsUser(text.charCodeAt(end))) end++
    if (end === user) continue
    if (text.charCodeAt(end) === 0x3a /* : */) {
      end++
      while (end < text.length && !endsPassword(text.charCodeAt(end))) end++
    }
    if (text.charCodeAt(end) !== 0x40 /* @ */) continue
    out += `${text.slice(copied, user)}***@`
    copied = end + 1
    from = copied
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/**
 * `http(s)://host/…/<v2|rpc|api|key>/<16+ key characters>` → the key replaced by `***` (the first such segment of
 * each URL). A URL without one is skipped to its end: every URL starting inside it has the same segments after its
 * host, so none of them can match either.
 */
function scrubPathKeys(text: string): string {
  let out = ''
  let copied = 0
  httpStart.lastIndex = 0
  for (let m = httpStart.exec(text); m; m = httpStart.exec(text)) {
    const host = m.index + m[0].length
    let i = host
    while (i < text.length && !endsSegment(text.charCodeAt(i))) i++
    if (i === host || text.charCodeAt(i) !== 0x2f /* / */) {
      httpStart.lastIndex = m.index + 1
      continue
    }
    let next = i + 1
    for (;;) {
      const segment = next
      while (next < text.length && !endsSegment(text.charCodeAt(next))) next++
      if (text.charCodeAt(next) !== 0x2f) break
      next++
      if (!isKeyMarker(text, segment, next - 1)) continue
      let keyEnd = next
      while (keyEnd < text.length && isKeyChar(text.charCodeAt(keyEnd))) keyEnd++
      if (keyEnd - next < minPathKey) continue
      out += `${text.slice(copied, next)}***`
      copied = keyEnd
      next = keyEnd
      break
    }
    httpStart.lastIndex = Math.max(next, m.index + 1)
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** `text.slice(start, end)` is `v<digits>`, `rpc`, `api` or `key`, in any case. */
function isKeyMarker(text: string, start: number, end: number): boolean {
  const length = end - start
  if (length === 3) {
    const word = text.slice(start, end).toLowerCase()
    return word === 'rpc' || word === 'api' || word === 'key'
  }
  if (length < 2 || (text.charCodeAt(start) | 0x20) !== 0x76 /* v */) return false
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)
}

/** [a-z0-9+.-], either case. */
function isSchemeChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d
}

/** [A-Za-z0-9_-] */
function isKeyChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d
}

function endsUser(c: number): boolean {
  return c === 0x2f || c === 0x40 || c === 0x3a || isSpace(c)
}

function endsPassword(c: number): boolean {
  return c === 0x2f || c === 0x40 || isSpace(c)
}

function endsSegment(c: number): boolean {
  return c === 0x2f || isSpace(c)
}

/** What `\s` matches in a JavaScript regular expression. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d)
  if (c < 0xa0) return false
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/** An endpoint URL reduced to what is safe to show: scheme, host and port. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' || u.pathname === '' ? '' : '/…'}`
  } catch {
    return '<invalid url>'
  }
}
