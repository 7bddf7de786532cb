const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(:[^\s/@]*)?@/gi
const privateKeyLike = /\b(0x)?[0-9a-fA-F]{64}\b/g
// API keys commonly sit in the path or query of RPC URLs (…/v2/<key>, ?apikey=…).
const keyQuery = /([?&](?:api[-_]?key|key|token|access[-_]?token|auth|secret|password)=)[^&#\s]+/gi
const keyPath = /(https?:\/\/[^\s/]+\/(?:[^\s/]*\/)*?(?:v\d+|rpc|api|key)\/)([A-Za-z0-9_-]{16,})/gi

/**
 * Removes secrets from text that may reach a user, a log or a tool result: URL userinfo, API keys in RPC URL
 * paths and queries, and 32-byte hex strings that could be private keys.
 *
 * @example scrubSecrets('https://user:pw@rpc.example/v2/abcdefabcdefabcdef1234') // 'https://***@rpc.example/v2/***'
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(urlCredentials, '$1***@')
    .replace(keyQuery, '$1***')
    .replace(keyPath, '$1***')
    .replace(privateKeyLike, (m) => `${m.startsWith('0x') ? '0x' : ''}<redacted-32-bytes>`)
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
