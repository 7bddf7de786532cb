import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { isAddress, type LocalAccount } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { builtinChains } from '../chains/registry.js'
import { devnetMnemonic } from '../devnet/anvil.js'
import { BaseError, InvalidInputError } from '../errors/index.js'
import { codeHash } from '../identity/codeHash.js'
import { signDeveloperChallenge } from '../identity/developerProof.js'
import { didKeyOf, type Ed25519Jwk, generateEd25519Key, parseEd25519Jwk } from '../identity/didKey.js'
import {
  type AgentGrant,
  AgentGrantMessage,
  grantHash,
  grantTypedData,
  type SignedGrant,
  signGrant,
  verifyGrant,
} from '../identity/grant.js'
import type { Developer, PassportRecord } from '../server/admin/schemas.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'
import { cliCommand } from './cliCommand.js'
import { type AdminConnection, connectAdmin } from './operator.js'
import type { CliOptions } from './options.js'
import { readStdinCapped } from './readStdin.js'

/** How `airlock passport` reads and writes; tests pass their own. Secrets read here are never written back. */
export type PassportIo = {
  stdout(text: string): void
  stderr(text: string): void
  /** Whether stdin is an interactive terminal (a key is then not read from it). */
  stdinIsTTY: boolean
  /** Reads all of stdin, refusing more than `maxBytes`. */
  readStdin(maxBytes: number): Promise<string>
}

const subcommands =
  'key, developer, developers, challenge, prove, hash, grant, issue, list, status, revoke, suspend, reinstate'
const maxFileBytes = 256 * 1024
/** CAIP-2 ids of the Solana clusters with a fixed genesis (`solana-local` has its own: give its CAIP-2 id). */
const solanaCaip2: Record<string, string> = {
  solana: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
  'solana-devnet': 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
}
const decimal = /^(0|[1-9]\d{0,17})(\.\d{1,6})?$/
const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/**
 * `airlock passport …`: the five steps of an agent passport (DESIGN §7). The developer's and the user's steps
 * (`key`, `prove`, `hash`, `grant`) run offline; the operator's (`developer`, `challenge`, `issue`, `list`,
 * `status`, `revoke`, `suspend`, `reinstate`) go through the admin API like the other operator commands: a running
 * gateway's, or the store directly. Private keys come from files or stdin, never from arguments; every file written
 * holds a secret or a credential and is created with mode 0600.
 *
 * @example airlock passport key --out agent.jwk
 * @example airlock passport grant --agent did:key:z6Mk… --code-hash sha256:… --tools get_balance --chains devnet --budget 100 --user devnet:0 --out grant.json
 * @throws {InvalidInputError} a missing or malformed flag (the message names it and how to fix it)
 */
export async function passport(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  io: PassportIo = processIo(),
): Promise<number> {
  const [sub, ...rest] = options.args
  const out = (value: unknown, text: () => string) =>
    io.stdout(`${options.json ? JSON.stringify(value, null, 2) : clean(text())}\n`)
  const cli = cliCommand(options.configPath, env)
  const by = `cli:${env.USER ?? 'operator'}`

  switch (sub) {
    case 'key': {
      noArguments(rest, 'key')
      const file = required(options.out, '--out', 'airlock passport key --out FILE')
      const { jwk, did } = generateEd25519Key()
      writeNewPrivateFile(file, `${JSON.stringify(jwk)}\n`)
      out({ did, file: resolve(file) }, () => did)
      if (!options.json)
        io.stderr(
          `${clean(`airlock: private key written to ${file} (mode 0600); keep it private: whoever holds it is ${did}.`)}\n`,
        )
      return 0
    }

    case 'prove': {
      noArguments(rest, 'prove')
      const usage = 'airlock passport prove --key FILE [--did DID] --challenge C --audience A'
      const key = readPrivateKey(required(options.key, '--key', usage))
      const did = developerDid(options.did, key)
      const proof = await signDeveloperChallenge({
        did,
        key,
        challenge: required(options.challenge, '--challenge', usage),
        audience: required(options.audience, '--audience', usage),
      })
      out({ did, proof }, () => proof)
      return 0
    }

    case 'hash': {
      const [path, ...extra] = rest
      if (path === undefined || extra.length > 0)
        throw new InvalidInputError(
          '`passport hash` takes one path: the agent’s build (a file or a directory).',
          {
            metaMessages: ['airlock passport hash ./my-agent/dist'],
          },
        )
      const hash = await codeHash(path)
      out({ path: resolve(path), codeHash: hash }, () => hash)
      return 0
    }

    case 'grant':
      noArguments(rest, 'grant')
      return grant(options, io, out, cli)

    case 'developer':
    case 'developers':
    case 'challenge':
    case 'issue':
    case 'list':
    case 'status':
    case 'revoke':
    case 'suspend':
    case 'reinstate':
      break

    default:
      throw new InvalidInputError(
        sub === undefined
          ? '`airlock passport` needs a subcommand.'
          : `Unknown passport subcommand "${sub.replace(/[^\w-]/g, '').slice(0, 20)}".`,
        { metaMessages: [`Subcommands: ${subcommands}. Run \`airlock help\` for usage.`] },
      )
  }

  // The operator's steps: checked before connecting, so a typo never opens the store.
  const act = operatorStep(sub, rest, options)
  const client = await connectAdmin(options, env)
  try {
    io.stderr(`airlock: ${client.via}\n`)
    return await act(client, { out, cli, by })
  } finally {
    await client.close()
  }
}

type Out = (value: unknown, text: () => string) => void
type Step = (client: AdminConnection, ctx: { out: Out; cli: string; by: string }) => Promise<number>

/** The operator-side subcommand, its flags checked (files read) before anything is reached. */
function operatorStep(sub: string, rest: readonly string[], options: CliOptions): Step {
  switch (sub) {
    case 'developer': {
      noArguments(rest, 'developer')
      const usage =
        'airlock passport developer --key FILE [--did DID] [--label L]   or   --did did:web:… --proof P [--label L]'
      const label = options.label === undefined ? {} : { label: options.label }
      if (options.proof !== undefined) {
        if (options.key !== undefined)
          throw new InvalidInputError('Give --key (sign here) or --proof (signed elsewhere), not both.')
        const did = required(options.did, '--did', usage)
        const proof = options.proof
        return async ({ admin }, { out, by }) => {
          const { developer } = await admin.registerDeveloper({ did, proof, ...label, by })
          out(developer, () => showDeveloper(developer, 'Registered developer'))
          return 0
        }
      }
      const key = readPrivateKey(required(options.key, '--key', usage))
      const did = developerDid(options.did, key)
      return async ({ admin }, { out, by }) => {
        const asked = await admin.developerChallenge({ did })
        const proof = await signDeveloperChallenge({
          did,
          key,
          challenge: asked.challenge,
          audience: asked.audience,
        })
        const { developer } = await admin.registerDeveloper({ did, proof, ...label, by })
        out(developer, () => showDeveloper(developer, 'Registered developer'))
        return 0
      }
    }

    case 'developers':
      noArguments(rest, 'developers')
      return async ({ admin }, { out }) => {
        const { developers } = await admin.listDevelopers()
        out(developers, () =>
          developers.length
            ? developers.map((d) => showDeveloper(d, '')).join('\n')
            : 'No developers are registered. Register one with `airlock passport developer`.',
        )
        return 0
      }

    case 'challenge': {
      const [did, ...extra] = rest
      if (did === undefined || extra.length > 0)
        throw new InvalidInputError(
          '`passport challenge` takes one DID: the developer’s did:key or did:web.',
          {
            metaMessages: ['airlock passport challenge did:web:example.com'],
          },
        )
      return async ({ admin }, { out, cli }) => {
        const asked = await admin.developerChallenge({ did })
        out(asked, () =>
          [
            `challenge: ${asked.challenge}`,
            `audience:  ${asked.audience}`,
            `expires:   ${asked.expiresAt}`,
            `Sign it with the DID's key (\`${cli} passport prove --key FILE --did ${did} --challenge ${asked.challenge} --audience ${asked.audience}\`),`,
            `then register: ${cli} passport developer --did ${did} --proof PROOF`,
          ].join('\n'),
        )
        return 0
      }
    }

    case 'issue': {
      noArguments(rest, 'issue')
      const usage =
        'airlock passport issue --agent DID --developer DID --code-hash H --grant FILE [--days N] --out FILE'
      const agent = required(options.agent, '--agent', usage)
      const developer = required(options.developer, '--developer', usage)
      const hash = required(options.codeHash, '--code-hash', usage)
      const file = required(options.out, '--out', usage)
      const signed = readJsonFile(required(options.grant, '--grant', usage), '--grant')
      if (!signed || typeof signed !== 'object' || !('grant' in signed) || !('signature' in signed))
        throw new InvalidInputError(
          '--grant is not a signed grant: a JSON file { "grant": …, "signature": "0x…" }.',
          {
            field: 'grant',
            metaMessages: ['The user makes it with `airlock passport grant … --out FILE`.'],
          },
        )
      const days = options.days === undefined ? undefined : integer(options.days, '--days', 1, 366)
      return async ({ admin }, { out, by }) => {
        const issued = await admin.issuePassport({
          agent,
          developer,
          codeHash: hash,
          grant: signed as SignedGrant,
          ...(days === undefined ? {} : { validDays: days }),
          by,
        })
        writePrivateFile(file, `${issued.passport}\n`)
        const r = issued.record
        out({ file: resolve(file), record: r }, () =>
          [
            `Passport issued to agent ${r.agent}`,
            `  passport id:  ${r.id}`,
            `  status index: ${r.statusIndex}`,
            `  valid until:  ${r.validUntil}`,
            `  developer:    ${r.developer}`,
            `  user:         ${r.user}`,
            `Written to ${file} (mode 0600): the agent presents it, signing with its own key.`,
          ].join('\n'),
        )
        return 0
      }
    }

    case 'list':
      noArguments(rest, 'list')
      return async ({ admin }, { out }) => {
        const { passports } = await admin.listPassports()
        out(passports, () =>
          passports.length
            ? passports
                .map(
                  (p) =>
                    `${p.agent}  ${p.status}${p.reason ? ` (${p.reason})` : ''}  valid until ${p.validUntil}  developer ${p.developer}`,
                )
                .join('\n')
            : 'No passports are issued. Issue one with `airlock passport issue`.',
        )
        return 0
      }

    case 'status': {
      const agent = oneAgent(rest, 'status')
      return async ({ admin }, { out }) => {
        const { passport } = await admin.getPassport(agent)
        out(passport, () => showPassport(passport))
        return 0
      }
    }

    default: {
      const action = sub as 'revoke' | 'suspend' | 'reinstate'
      const agent = oneAgent(rest, action)
      const reason = options.reason === undefined ? {} : { reason: options.reason }
      return async ({ admin }, { out, by }) => {
        const body = { ...reason, by }
        const { passport } =
          action === 'revoke'
            ? await admin.revokePassport(agent, body)
            : action === 'suspend'
              ? await admin.suspendPassport(agent, body)
              : await admin.reinstatePassport(agent, body)
        const done = { revoke: 'REVOKED (final)', suspend: 'SUSPENDED', reinstate: 'reinstated (active)' }[
          action
        ]
        out(
          passport,
          () =>
            `Passport of agent ${passport.agent} ${done}${passport.reason ? `: ${passport.reason}` : ''}. Effective at once; other replicas see it within their status cache (60 s by default).`,
        )
        return 0
      }
    }
  }
}

/** `passport grant`: builds the user's grant from flags and signs it, prints it for a wallet, or assembles one. */
async function grant(options: CliOptions, io: PassportIo, out: Out, cli: string): Promise<number> {
  if (options.typedDataFile !== undefined) return assemble(options, out, cli)
  const usage =
    'airlock passport grant --agent DID --code-hash H --tools a,b --chains devnet --budget USD (--user devnet:N | --user-key-stdin) --out FILE'
  const userFlag = options.user?.trim()
  if (userFlag !== undefined && /^(0x)?[0-9a-fA-F]{64}$/.test(userFlag))
    throw new InvalidInputError(
      'Private keys are never taken as command-line arguments (the value was not repeated).',
      {
        field: 'user',
        metaMessages: [
          'Pipe the key on stdin instead: airlock passport grant … --user-key-stdin --out FILE < key.txt',
        ],
      },
    )
  if (options.userKeyStdin && (options.typedData || userFlag !== undefined))
    throw new InvalidInputError(
      options.typedData
        ? '--typed-data prints the grant for a wallet to sign: it takes --user 0xADDRESS, not a key.'
        : 'Give --user devnet:N or --user-key-stdin, not both.',
    )
  if (!options.userKeyStdin && userFlag === undefined)
    throw new InvalidInputError(
      'Say who signs the grant: --user devnet:N (devnet), --user-key-stdin, or --typed-data --user 0xADDRESS (a wallet).',
      { field: 'user', metaMessages: [`Usage: ${usage}.`] },
    )
  const devnetUser = userFlag === undefined ? undefined : /^devnet:(\d{1,4})$/.exec(userFlag)
  if (userFlag !== undefined && !devnetUser && !(options.typedData && isAddress(userFlag)))
    throw new InvalidInputError(
      options.typedData
        ? '--user must be the address of the wallet that signs (0x + 40 hex digits), or devnet:N.'
        : '--user takes devnet:N (a devnet test account); a wallet address signs through --typed-data.',
      { field: 'user' },
    )
  const devnetCaip2 = `eip155:${devnetChainId(options)}`

  // Every flag is checked before the key is read or anything is signed.
  const chains = list(required(options.chains, '--chains', usage), '--chains').map((c) => caip2Of(c, options))
  if (devnetUser && chains.some((c) => c !== devnetCaip2))
    throw new InvalidInputError(
      `--user devnet:N signs with a public test key: its grants are only for the devnet (${devnetCaip2}), not ${chains.find((c) => c !== devnetCaip2)}.`,
      {
        field: 'user',
        metaMessages: [
          'For other chains the user signs with their own wallet (--typed-data) or key (--user-key-stdin).',
        ],
      },
    )
  const agent = required(options.agent, '--agent', usage).trim()
  const hash = required(options.codeHash, '--code-hash', usage).trim()
  const tools = list(required(options.toolNames, '--tools', usage), '--tools')
  const payees = options.payees === undefined ? [] : list(options.payees, '--payees')
  const budget = amount(required(options.budget, '--budget', usage), '--budget')
  const windowSeconds = duration(options.window ?? '1d', '--window', 0xffffffff)
  const min = amount(options.min ?? '0', '--min')
  const max = amount(options.max ?? budget, '--max')
  const lifetime = duration(options.expires ?? '30d', '--expires', 10 * 366 * 86_400)
  const file = options.typedData ? options.out : required(options.out, '--out', usage)
  const index = devnetUser ? integer(devnetUser[1]!, '--user devnet:N', 0, 999) : undefined

  // Who the user is: the devnet's test account N, a wallet's address (it signs elsewhere), or the key on stdin.
  const account: LocalAccount | undefined =
    index !== undefined
      ? mnemonicToAccount(devnetMnemonic, { addressIndex: index })
      : options.userKeyStdin
        ? await keyFromStdin(io)
        : undefined
  const now = Math.floor(Date.now() / 1000)
  const draft: AgentGrant = {
    user: (account?.address ?? userFlag) as AgentGrant['user'],
    agent,
    codeHash: hash,
    tools,
    chains,
    payees: payees as AgentGrant['payees'],
    budget: { currency: 'USD', max: budget, windowSeconds },
    amountRange: { currency: 'USD', min, max },
    // A minute back: a gateway whose clock runs a little behind still takes the grant at once.
    notBefore: now - 60,
    expiry: now + lifetime,
    nonce: `0x${randomBytes(32).toString('hex')}`,
  }
  const checked = checkGrant(draft)

  if (options.typedData || !account || file === undefined) {
    const text = `${JSON.stringify(grantTypedData(checked), null, 2)}\n`
    if (file === undefined) {
      io.stdout(text)
      return 0
    }
    writePrivateFile(file, text)
    out({ file: resolve(file), grantHash: grantHash(checked) }, () =>
      [
        `Typed data for ${checked.user} written to ${file}.`,
        'The user signs it in their wallet (eth_signTypedData_v4), then:',
        `${cli} passport grant --typed-data-file ${file} --signature 0x… --out grant.json`,
      ].join('\n'),
    )
    return 0
  }

  const signed = await signGrant(checked, account)
  writePrivateFile(file, `${JSON.stringify(signed, null, 2)}\n`)
  out({ file: resolve(file), grantHash: grantHash(signed.grant), ...signed }, () =>
    showGrant(signed, file, cli),
  )
  return 0
}

/** `passport grant --typed-data-file F --signature 0x… --out FILE`: what a wallet signed, checked and kept. */
async function assemble(options: CliOptions, out: Out, cli: string): Promise<number> {
  const usage = 'airlock passport grant --typed-data-file F --signature 0x… --out FILE'
  const extra = (
    [
      ['--agent', options.agent],
      ['--user', options.user],
      ['--tools', options.toolNames],
      ['--chains', options.chains],
      ['--budget', options.budget],
    ] as const
  ).find(([, v]) => v !== undefined)
  if (extra || options.typedData || options.userKeyStdin)
    throw new InvalidInputError(
      `--typed-data-file takes the grant from the file: leave out ${extra ? extra[0] : options.typedData ? '--typed-data' : '--user-key-stdin'}.`,
      { metaMessages: [`Usage: ${usage}.`] },
    )
  const signature = required(options.signature, '--signature', usage).trim()
  const file = required(options.out, '--out', usage)
  const typed = readJsonFile(options.typedDataFile!, '--typed-data-file') as {
    primaryType?: unknown
    message?: unknown
  }
  if (
    !typed ||
    typeof typed !== 'object' ||
    typed.primaryType !== 'AgentGrant' ||
    typeof typed.message !== 'object'
  )
    throw new InvalidInputError('--typed-data-file is not a grant’s typed data (primaryType AgentGrant).', {
      field: 'typedDataFile',
      metaMessages: ['Make it with `airlock passport grant … --user 0xADDRESS --typed-data --out FILE`.'],
    })
  const signed = { grant: typed.message, signature } as SignedGrant
  await verifyGrant(signed)
  writePrivateFile(file, `${JSON.stringify(signed, null, 2)}\n`)
  out({ file: resolve(file), grantHash: grantHash(signed.grant), ...signed }, () =>
    showGrant(signed, file, cli),
  )
  return 0
}

/** The grant's schema, its first problem said with the flag that set the field. */
function checkGrant(grant: AgentGrant): AgentGrant {
  const parsed = AgentGrantMessage.safeParse(grant)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const [top, sub] = issue.path.map(String)
  const flag =
    {
      user: '--user',
      agent: '--agent',
      codeHash: '--code-hash',
      tools: '--tools',
      chains: '--chains',
      payees: '--payees',
      budget: sub === 'windowSeconds' ? '--window' : '--budget',
      amountRange: sub === 'min' ? '--min' : '--max',
      expiry: '--expires',
    }[top ?? ''] ?? top
  const item =
    issue.path.length > 1 && typeof issue.path[1] === 'number' ? ` (item ${issue.path[1] + 1})` : ''
  throw new InvalidInputError(`Bad ${flag}${item}: ${issue.message.replace(/\.$/, '')}.`, {
    field: issue.path.map(String).join('.'),
  })
}

/** A chain as a grant names it: CAIP-2. Registry names, decimal ids and CAIP-2 ids are taken. */
function caip2Of(chain: string, options: CliOptions): string {
  const c = chain.toLowerCase()
  if (/^eip155:[1-9]\d{0,15}$/.test(c)) return c
  if (/^solana:[1-9A-HJ-NP-Za-km-z]{32}$/.test(chain)) return chain
  if (/^[1-9]\d{0,15}$/.test(c)) return `eip155:${c}`
  if (c === 'devnet') return `eip155:${devnetChainId(options)}`
  const known = builtinChains.find((e) => e.name === c)
  if (known) return `eip155:${known.chain.id}`
  const solana = solanaCaip2[c]
  if (solana) return solana
  throw new InvalidInputError(
    `Unknown chain "${sanitizeText(chain, { maxLength: 40 }).text}" in --chains: give a registry name (devnet, base, ethereum…), a chain id or a CAIP-2 id (eip155:8453, solana:…).`,
    { field: 'chains' },
  )
}

function devnetChainId(options: CliOptions): number {
  const devnet = options.config.devnet
  return (typeof devnet === 'object' ? devnet.chainId : undefined) ?? 31337
}

/** `1h`, `1d`, `7d`, `3600s`, `2w` → seconds. */
function duration(text: string, flag: string, max: number): number {
  const match = /^([1-9]\d{0,9})([smhdw])$/.exec(text.trim())
  const seconds = match ? Number(match[1]) * durationUnits[match[2]!]! : Number.NaN
  if (!(seconds >= 1 && seconds <= max))
    throw new InvalidInputError(
      `${flag} must be a duration like 3600s, 30m, 1h, 1d or 7d${Number.isNaN(seconds) ? '' : `, at most ${Math.floor(max / 86_400)} days`}.`,
      { field: flag.slice(2) },
    )
  return seconds
}

function amount(text: string, flag: string): string {
  const value = text.trim()
  if (!decimal.test(value))
    throw new InvalidInputError(`${flag} must be an amount in USD like 100 or 2.5 (at most 6 decimals).`, {
      field: flag.slice(2),
    })
  return value
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  if (!(n >= min && n <= max))
    throw new InvalidInputError(`${flag} must be a whole number from ${min} to ${max}.`, {
      field: flag.slice(2),
    })
  return n
}

function list(text: string, flag: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (items.length === 0) throw new InvalidInputError(`${flag} needs at least one value (comma-separated).`)
  return items
}

function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value.trim() === '')
    throw new InvalidInputError(`Missing ${flag}. Usage: ${usage}.`, { field: flag.replace(/^--/, '') })
  return value
}

/** Positionals are refused without repeating them: a user may have pasted a key there. */
function noArguments(rest: readonly string[], sub: string): void {
  if (rest.length > 0)
    throw new InvalidInputError(
      `\`passport ${sub}\` takes no positional arguments (the input was not repeated).`,
      {
        metaMessages: [
          'Run `airlock help` for its flags. Keys come in files (--key) or on stdin, never as arguments.',
        ],
      },
    )
}

function oneAgent(rest: readonly string[], sub: string): string {
  const [agent, ...extra] = rest
  if (agent === undefined || extra.length > 0)
    throw new InvalidInputError(`\`passport ${sub}\` takes one agent: its did:key.`, {
      metaMessages: [`airlock passport ${sub} did:key:z6Mk…${sub === 'status' ? '' : ' [--reason R]'}`],
    })
  return agent
}

/** The developer's DID: `--did`, else the key's did:key; a did:key given must be this key's. */
function developerDid(did: string | undefined, key: Ed25519Jwk): string {
  const own = didKeyOf(key)
  if (did === undefined) return own
  if (did.startsWith('did:key:') && did !== own)
    throw new InvalidInputError(`The key in --key is not ${did.slice(0, 80)}'s: it is ${own}.`, {
      field: 'did',
      metaMessages: ['Leave out --did for a did:key developer: the key file says who it is.'],
    })
  return did
}

async function keyFromStdin(io: PassportIo): Promise<LocalAccount> {
  if (io.stdinIsTTY)
    throw new InvalidInputError('--user-key-stdin reads the user’s key from a pipe, not the terminal.', {
      metaMessages: ['airlock passport grant … --user-key-stdin --out grant.json < key.txt'],
    })
  const text = (await io.readStdin(4096)).trim()
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text))
    throw new InvalidInputError(
      'stdin does not hold a private key (64 hex digits, with or without 0x); nothing was signed.',
      {
        field: 'user',
      },
    )
  return privateKeyToAccount((text.startsWith('0x') ? text : `0x${text}`) as `0x${string}`)
}

function readPrivateKey(file: string): Ed25519Jwk {
  const text = readText(file, '--key')
  try {
    return parseEd25519Jwk(text, { private: true })
  } catch (error) {
    throw new InvalidInputError(`--key ${shown(file)} does not hold an Ed25519 private JWK.`, {
      field: 'key',
      metaMessages: ['Create one with `airlock passport key --out FILE`.'],
      cause: error,
    })
  }
}

function readJsonFile(file: string, flag: string): unknown {
  const text = readText(file, flag)
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new InvalidInputError(`${flag} ${shown(file)} is not JSON.`, { field: flag.slice(2) })
  }
}

function readText(file: string, flag: string): string {
  try {
    if (statSync(file).size > maxFileBytes)
      throw new InvalidInputError(`${flag} ${shown(file)} is larger than ${maxFileBytes / 1024} KiB.`, {
        field: flag.slice(2),
      })
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (error instanceof BaseError) throw error
    throw new InvalidInputError(
      `Cannot read ${flag} ${shown(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      { field: flag.slice(2), metaMessages: ['Check the path and that you may read the file.'] },
    )
  }
}

/** A new file only (a key is never overwritten), mode 0600. */
function writeNewPrivateFile(file: string, text: string): void {
  try {
    writeFileSync(file, text, { flag: 'wx', mode: 0o600 })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new InvalidInputError(
      code === 'EEXIST'
        ? `${shown(file)} exists; a key file is never overwritten. Choose another --out.`
        : `Cannot write --out ${shown(file)}: ${code}.`,
      { field: 'out' },
    )
  }
}

/** Written whole or not at all (a temporary file renamed over the target), mode 0600. */
function writePrivateFile(file: string, text: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    writeFileSync(temp, text, { flag: 'wx', mode: 0o600 })
    renameSync(temp, file)
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {}
    throw new InvalidInputError(
      `Cannot write --out ${shown(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      {
        field: 'out',
      },
    )
  }
}

function showGrant(signed: SignedGrant, file: string, cli: string): string {
  const g = signed.grant
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z')
  return [
    `Grant signed by ${g.user} for agent ${g.agent}`,
    `  code:    ${g.codeHash}`,
    `  tools:   ${g.tools.join(', ')}`,
    `  chains:  ${g.chains.join(', ')}`,
    `  payees:  ${g.payees.length ? g.payees.join(', ') : 'any the policy allows'}`,
    `  budget:  ${g.budget.max} USD per ${window(g.budget.windowSeconds)}; each payment ${g.amountRange.min} to ${g.amountRange.max} USD`,
    `  valid:   ${iso(g.notBefore)} to ${iso(g.expiry)}`,
    `  hash:    ${grantHash(g)}`,
    `Written to ${file} (mode 0600). The operator issues the passport:`,
    `${cli} passport issue --agent ${g.agent} --developer DID --code-hash ${g.codeHash} --grant ${file} --out passport.jwt`,
  ].join('\n')
}

function window(seconds: number): string {
  for (const [unit, size] of [
    ['w', 604_800],
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`
  return `${seconds}s`
}

function showDeveloper(d: Developer, verb: string): string {
  return `${verb ? `${verb} ` : ''}${d.did} (did:${d.method})${d.label ? ` "${d.label}"` : ''}, registered ${d.registeredAt}`
}

function showPassport(p: PassportRecord): string {
  return [
    `Agent ${p.agent}: ${p.status.toUpperCase()}${p.reason ? ` (${p.reason})` : ''}`,
    `  passport id:  ${p.id}`,
    `  status index: ${p.statusIndex}`,
    `  issued:       ${p.issuedAt}`,
    `  valid until:  ${p.validUntil}`,
    `  developer:    ${p.developer}`,
    `  user:         ${p.user}`,
    `  code:         ${p.codeHash}`,
    `  tools:        ${p.grant.tools.join(', ')}`,
    `  chains:       ${p.grant.chains.join(', ')}`,
    `  payees:       ${p.grant.payees.length ? p.grant.payees.join(', ') : 'any the policy allows'}`,
    `  budget:       ${p.grant.budget.max} USD per ${window(p.grant.budget.windowSeconds)}; each payment ${p.grant.amountRange.min} to ${p.grant.amountRange.max} USD`,
  ].join('\n')
}

/** Terminal text: each line stripped of control, bidi and zero-width characters, capped. */
function clean(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      // The indentation is ours; sanitizing trims it.
      const indent = /^ */.exec(line)?.[0] ?? ''
      return indent + sanitizeText(line.slice(indent.length), { maxLength: 4000 }).text
    })
    .join('\n')
}

function shown(file: string): string {
  return sanitizeText(file, { maxLength: 200 }).text
}

function processIo(): PassportIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    readStdin: readStdinCapped,
  }
}
