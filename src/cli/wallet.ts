import { readFile, stat } from 'node:fs/promises'
import { InvalidConfigError, InvalidInputError } from '../errors/index.js'
import { createWalletStore, defaultScryptN, type WalletEntry, type WalletFamily } from '../signer/index.js'
import { dataDirOf } from './dataDir.js'
import type { CliOptions } from './options.js'
import { readStdinCapped } from './readStdin.js'

/**
 * How `airlock wallet` talks to the user. The default uses the process's streams; tests pass their own.
 * Secrets are read here and handed to the wallet store; none is ever written back.
 */
export type WalletIo = {
  stdout(text: string): void
  stderr(text: string): void
  /** Whether stdin is an interactive terminal (prompts are possible). */
  isTTY: boolean
  /** Prompts on the terminal with echo off and returns the line typed. */
  readHidden(prompt: string): Promise<string>
  /** Reads all of stdin, refusing more than `maxBytes`. */
  readStdin(maxBytes: number): Promise<string>
}

const subcommands = 'create, import, list, export-address, guard'
const maxKeyInputBytes = 4096
const maxKeystoreFileBytes = 64 * 1024

/**
 * `airlock wallet create|import|list|export-address|guard`. Keystores live in `<AIRLOCK_DATA_DIR or ~/.airlock>/keystore`.
 * The password comes from `AIRLOCK_WALLET_PASSWORD`, else a hidden prompt (asked twice for a new keystore);
 * with neither, the command fails and says so. An imported keystore file is opened with
 * `AIRLOCK_IMPORT_PASSWORD`, else a prompt. Private keys come only on stdin or in a file, never as arguments.
 *
 * `--family solana` makes `create` and `import` handle an ed25519 (Solana) key instead of an EVM one; `import`
 * then takes base58 (a 64-byte keypair or a 32-byte seed) on stdin, or solana-keygen's JSON array with `--file`.
 *
 * `AIRLOCK_KDF_N` (a power of two) lowers the scrypt cost of new keystores. It exists for tests only: any value
 * below 2^17 weakens the encryption, and a warning says so.
 *
 * @example airlock wallet create --label ops
 * @example AIRLOCK_WALLET_PASSWORD=… airlock wallet import --private-key-stdin --label hot < key.txt
 * @example airlock wallet import --family solana --file ~/.config/solana/id.json --label sol
 * @example airlock wallet guard status --chain base   (see walletGuard.ts)
 * @throws {InvalidInputError} unknown subcommand, missing or extra arguments, no password available
 */
export async function wallet(
  options: CliOptions,
  env: Readonly<Record<string, string | undefined>>,
  io: WalletIo = processIo(),
): Promise<number> {
  const [sub, ...rest] = options.args
  const family = walletFamily(options.family)
  const store = createWalletStore({ dataDir: dataDirOf(options.config, env), scryptN: kdfN(env, io) })
  switch (sub) {
    case 'create': {
      noArguments(rest, 'create')
      if (options.privateKeyStdin || options.file)
        throw new InvalidInputError('`wallet create` generates its own key.', {
          metaMessages: ['To store an existing key, use `airlock wallet import`.'],
        })
      const password = await newPassword(env, io)
      const entry = await store.create({ password, label: options.label, family })
      report(io, options, entry, 'Created')
      return 0
    }
    case 'import': {
      noArguments(rest, 'import')
      if (options.privateKeyStdin === Boolean(options.file))
        throw new InvalidInputError('`wallet import` needs exactly one of --private-key-stdin or --file.', {
          metaMessages: [
            'airlock wallet import --private-key-stdin < key.txt     a raw key (64 hex digits)',
            'airlock wallet import --file keystore.json             a v3 keystore (geth, MetaMask)',
            'airlock wallet import --family solana --private-key-stdin < key.txt   base58 (Phantom, solana-keygen)',
            "airlock wallet import --family solana --file id.json   solana-keygen's JSON array",
          ],
        })
      let entry: WalletEntry
      if (options.file && family === 'solana') {
        const privateKey = await readKeyFile(options.file)
        const password = await newPassword(env, io)
        entry = await store.importPrivateKey({ privateKey, password, label: options.label, family })
      } else if (options.file) {
        const keystore = await readKeyFile(options.file)
        if (keystore.trimStart().startsWith('['))
          throw new InvalidInputError(
            `${options.file.slice(-80)} is a JSON array, as solana-keygen writes a Solana key, not a v3 keystore.`,
            {
              field: 'file',
              metaMessages: ['To import it as a Solana wallet, add --family solana.'],
            },
          )
        const keystorePassword = await existingPassword(env, io, options.file)
        const password = await newPassword(env, io)
        entry = await store.importKeystore({ keystore, keystorePassword, password, label: options.label })
      } else {
        // The password first: with no terminal and no AIRLOCK_WALLET_PASSWORD this fails before stdin is read.
        const password = await newPassword(env, io)
        const privateKey = io.isTTY
          ? await io.readHidden(`${family === 'solana' ? 'Solana private' : 'Private'} key (input hidden): `)
          : await io.readStdin(maxKeyInputBytes)
        entry = await store.importPrivateKey({ privateKey, password, label: options.label, family })
      }
      report(io, options, entry, 'Imported')
      return 0
    }
    case 'list': {
      noArguments(rest, 'list')
      const entries = (await store.list()).filter((e) => family === undefined || e.family === family)
      if (options.json) io.stdout(`${JSON.stringify(entries.map(publicEntry))}\n`)
      else if (entries.length === 0)
        io.stdout(
          `No ${family === 'solana' ? 'Solana ' : family === 'evm' ? 'EVM ' : ''}wallets in ${store.dir}. Create one with \`airlock wallet create${family === 'solana' ? ' --family solana' : ''}\`.\n`,
        )
      else
        for (const e of entries)
          io.stdout(
            `${e.address}  ${e.family}  ${e.label ?? '-'}${e.createdAt ? `  ${e.createdAt}` : ''}${e.problem ? `  (unusable: ${e.problem})` : ''}\n`,
          )
      return 0
    }
    case 'export-address': {
      const [ref, ...extra] = rest
      if (ref === undefined || extra.length > 0)
        throw new InvalidInputError('`wallet export-address` takes one wallet: its address or its label.', {
          metaMessages: [
            'airlock wallet export-address ops',
            'Run `airlock wallet list` to see the wallets.',
          ],
        })
      const entry = await store.find(ref)
      io.stdout(options.json ? `${JSON.stringify(publicEntry(entry))}\n` : `${entry.address}\n`)
      return 0
    }
    case 'guard':
      return (await import('./walletGuard.js')).walletGuard(options, env, io)
    default:
      throw new InvalidInputError(
        sub === undefined
          ? '`airlock wallet` needs a subcommand.'
          : `Unknown wallet subcommand "${sub.replace(/[^\w-]/g, '').slice(0, 20)}".`,
        { metaMessages: [`Subcommands: ${subcommands}. Run \`airlock help\` for usage.`] },
      )
  }
}

function report(io: WalletIo, options: CliOptions, entry: WalletEntry, verb: string): void {
  if (options.json) io.stdout(`${JSON.stringify(publicEntry(entry))}\n`)
  else
    io.stdout(
      `${verb} ${entry.family === 'solana' ? 'Solana ' : ''}wallet ${entry.address}${entry.label ? ` (label "${entry.label}")` : ''}\n` +
        `Keystore: ${entry.path}\n` +
        'Back up this file and its password: neither can be recovered from the other.\n',
    )
}

function publicEntry(e: WalletEntry) {
  return {
    address: e.address,
    family: e.family,
    ...(e.label ? { label: e.label } : {}),
    ...(e.createdAt ? { createdAt: e.createdAt } : {}),
    path: e.path,
    ...(e.problem ? { problem: e.problem } : {}),
  }
}

/** `--family`: `evm`, `solana`, or absent (create/import: EVM; list: every family). */
function walletFamily(value: string | undefined): WalletFamily | undefined {
  if (value === undefined || value === 'evm' || value === 'solana') return value
  throw new InvalidInputError('The wallet family must be evm or solana: --family evm or --family solana.', {
    field: 'family',
    metaMessages: ['Leave --family out for an EVM wallet.'],
  })
}

/** Positionals are refused without repeating them: a user may have pasted a key there. */
function noArguments(rest: readonly string[], sub: string): void {
  if (rest.length > 0)
    throw new InvalidInputError(
      `\`wallet ${sub}\` takes no positional arguments (the input was not repeated).`,
      {
        metaMessages: [
          'A private key is never taken as an argument: use --private-key-stdin (stdin) or --file keystore.json.',
        ],
      },
    )
}

/** The password that will encrypt a new keystore: AIRLOCK_WALLET_PASSWORD, else prompted twice. */
async function newPassword(env: Readonly<Record<string, string | undefined>>, io: WalletIo): Promise<string> {
  if (env.AIRLOCK_WALLET_PASSWORD) return env.AIRLOCK_WALLET_PASSWORD
  if (!io.isTTY) throw noPassword('AIRLOCK_WALLET_PASSWORD')
  const password = await io.readHidden('New wallet password: ')
  if ((await io.readHidden('Repeat the password: ')) !== password)
    throw new InvalidInputError('The two passwords differ.', {
      field: 'password',
      metaMessages: ['Run the command again and type the same password twice.'],
    })
  return password
}

/** The password of a keystore file being imported: AIRLOCK_IMPORT_PASSWORD, else prompted once. */
async function existingPassword(
  env: Readonly<Record<string, string | undefined>>,
  io: WalletIo,
  file: string,
): Promise<string> {
  if (env.AIRLOCK_IMPORT_PASSWORD !== undefined) return env.AIRLOCK_IMPORT_PASSWORD
  if (!io.isTTY) throw noPassword('AIRLOCK_IMPORT_PASSWORD', 'of the keystore file being imported')
  return io.readHidden(`Password of ${file.slice(-80)}: `)
}

function noPassword(variable: string, which = ''): InvalidInputError {
  return new InvalidInputError(
    `No password${which ? ` ${which}` : ''}: ${variable} is not set and there is no terminal to prompt on.`,
    {
      field: 'password',
      metaMessages: [
        `Set ${variable} in the environment (from a secret manager, not a shell history), or run the command in a terminal to be prompted.`,
      ],
    },
  )
}

/** A keystore (v3) or key (solana-keygen) file, refused when larger than any such file. */
async function readKeyFile(file: string): Promise<string> {
  try {
    if ((await stat(file)).size > maxKeystoreFileBytes)
      throw new InvalidInputError(`${file} is larger than any keystore file.`, {
        field: 'file',
        metaMessages: [
          "Give a Web3 Secret Storage v3 JSON file, as geth or MetaMask export it, or solana-keygen's id.json with --family solana.",
        ],
      })
    return await readFile(file, 'utf8')
  } catch (error) {
    if (error instanceof InvalidInputError) throw error
    throw new InvalidInputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, {
      field: 'file',
      metaMessages: ['Check the path and that you may read the file.'],
    })
  }
}

function kdfN(env: Readonly<Record<string, string | undefined>>, io: WalletIo): number | undefined {
  const value = env.AIRLOCK_KDF_N
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!/^\d{1,7}$/.test(value) || n < 2 || n > 2 ** 18 || (n & (n - 1)) !== 0)
    throw new InvalidConfigError('AIRLOCK_KDF_N must be a power of two from 2 to 262144.', {
      metaMessages: [
        'Unset it: it exists for tests, and the default (131072) is what real wallets should use.',
      ],
    })
  if (n < defaultScryptN)
    io.stderr(
      `airlock: warning: AIRLOCK_KDF_N=${n} makes new keystores cheap to brute-force; it is meant for tests only.\n`,
    )
  return n
}

/** Streams of this process; the hidden prompt puts the terminal in raw mode and restores it. */
function processIo(): WalletIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdin.isTTY),
    readHidden: promptHidden,
    readStdin: readStdinCapped,
  }
}

function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error?: Error) => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish()
        if (ch === '\u0003')
          return finish(
            new InvalidInputError('Cancelled at the prompt.', { metaMessages: ['Nothing was written.'] }),
          )
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('')
        else if (ch >= ' ') value += ch
      }
    }
    process.stderr.write(prompt)
    input.setRawMode(true)
    input.setEncoding('utf8')
    input.on('data', onData)
    input.resume()
  })
}
