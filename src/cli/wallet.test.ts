import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { getBase58Decoder } from '@solana/kit'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../../test/tempDir.js'
import { BaseError } from '../errors/index.js'
import { encryptKey } from '../signer/keystore.js'
import { main } from './main.js'
import { parseCli } from './options.js'
import { type WalletIo, wallet } from './wallet.js'

const key: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
const password = 'correct horse battery staple'

function setup(overrides: Record<string, string | undefined> = {}) {
  const dataDir = tempDir('cli-wallet')
  // AIRLOCK_KDF_N is test-only: it makes each keystore take microseconds instead of half a second.
  const env: Record<string, string | undefined> = {
    AIRLOCK_DATA_DIR: dataDir,
    AIRLOCK_KDF_N: '16',
    AIRLOCK_WALLET_PASSWORD: password,
    ...overrides,
  }
  return { dataDir, keystoreDir: join(dataDir, 'keystore'), env }
}

function fakeIo(options: { tty?: boolean; answers?: string[]; stdin?: string } = {}) {
  const out: string[] = []
  const err: string[] = []
  const prompts: string[] = []
  const answers = [...(options.answers ?? [])]
  const io: WalletIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    isTTY: options.tty ?? false,
    readHidden: async (prompt) => {
      prompts.push(prompt)
      const answer = answers.shift()
      if (answer === undefined) throw new Error(`unexpected prompt: ${prompt}`)
      return answer
    },
    readStdin: async () => options.stdin ?? '',
  }
  return { io, out, err, prompts, all: () => [...out, ...err, ...prompts].join('') }
}

const run = (argv: string[], env: Record<string, string | undefined>, io: WalletIo) =>
  wallet(parseCli(['wallet', ...argv], env), env, io)

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  const text = [
    String(error),
    JSON.stringify(error),
    inspect(error, { depth: null, showHidden: true }),
  ].join()
  expect(text).not.toContain(key.slice(2))
  expect(text).not.toContain(password)
  return error as BaseError
}

describe('airlock wallet', () => {
  it('create → list → export-address, never printing a key or the password', async () => {
    const { env, keystoreDir } = setup()
    const a = fakeIo()
    expect(await run(['create', '--label', 'ops', '--json'], env, a.io)).toBe(0)
    const created = JSON.parse(a.out.join(''))
    expect(created.address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(created.label).toBe('ops')
    expect(statSync(created.path).mode & 0o777).toBe(0o600)
    expect(statSync(keystoreDir).mode & 0o777).toBe(0o700)
    expect(a.err.join('')).toMatch(/AIRLOCK_KDF_N=16 .* tests only/)

    const b = fakeIo()
    expect(await run(['list'], env, b.io)).toBe(0)
    expect(b.out.join('')).toContain(`${created.address}  evm  ops`)
    const c = fakeIo()
    expect(await run(['list', '--json'], env, c.io)).toBe(0)
    expect(JSON.parse(c.out.join(''))).toEqual([
      expect.objectContaining({ address: created.address, family: 'evm', label: 'ops' }),
    ])

    const d = fakeIo()
    expect(await run(['export-address', 'ops'], env, d.io)).toBe(0)
    expect(d.out.join('')).toBe(`${created.address}\n`)
    const e = fakeIo()
    expect(await run(['export-address', created.address.toLowerCase()], env, e.io)).toBe(0)
    expect(e.out.join('')).toBe(`${created.address}\n`)
    for (const io of [a, b, c, d, e]) expect(io.all()).not.toContain(password)
  })

  it('import --private-key-stdin stores the key; the output shows only the address', async () => {
    const { env } = setup()
    const io = fakeIo({ stdin: `${key}\n` })
    expect(await run(['import', '--private-key-stdin', '--label', 'hot'], env, io.io)).toBe(0)
    expect(io.out.join('')).toContain(`Imported wallet ${privateKeyToAddress(key)} (label "hot")`)
    expect(io.all()).not.toContain(key.slice(2))
    expect(io.all()).not.toContain(password)
    const again = fakeIo({ stdin: key })
    expect((await rejection(run(['import', '--private-key-stdin'], env, again.io))).code).toBe(
      'WALLET_EXISTS',
    )
  })

  it('import --file opens a v3 keystore with AIRLOCK_IMPORT_PASSWORD; a wrong one → WALLET_LOCKED, nothing written', async () => {
    const { env, dataDir, keystoreDir } = setup()
    const file = join(dataDir, 'exported.json')
    writeFileSync(file, JSON.stringify(await encryptKey(key, 'the old password', { n: 16 })))
    const wrong = fakeIo()
    const error = await rejection(
      run(['import', '--file', file], { ...env, AIRLOCK_IMPORT_PASSWORD: 'not the old one' }, wrong.io),
    )
    expect(error.code).toBe('WALLET_LOCKED')
    expect(error.message).not.toContain('not the old one')
    expect(existsSync(keystoreDir) ? readdirSync(keystoreDir) : []).toEqual([])
    const right = fakeIo()
    expect(
      await run(
        ['import', '--file', file],
        { ...env, AIRLOCK_IMPORT_PASSWORD: 'the old password' },
        right.io,
      ),
    ).toBe(0)
    expect(right.out.join('')).toContain(privateKeyToAddress(key))
    expect((await rejection(run(['import', '--file', file], env, fakeIo().io))).message).toMatch(
      /AIRLOCK_IMPORT_PASSWORD/,
    )
  })

  it('with no AIRLOCK_WALLET_PASSWORD and no terminal: a clear error naming the variable, nothing written', async () => {
    const { env, keystoreDir } = setup({ AIRLOCK_WALLET_PASSWORD: undefined })
    for (const argv of [['create'], ['import', '--private-key-stdin']]) {
      const io = fakeIo({ stdin: key })
      const error = await rejection(run(argv, env, io.io))
      expect(error.code).toBe('INVALID_INPUT')
      expect(error.message).toMatch(/AIRLOCK_WALLET_PASSWORD is not set and there is no terminal/)
    }
    expect(existsSync(keystoreDir)).toBe(false)
  })

  it('on a terminal: prompts with echo off, twice for a new password; a mismatch writes nothing', async () => {
    const { env, keystoreDir } = setup({ AIRLOCK_WALLET_PASSWORD: undefined })
    const ok = fakeIo({ tty: true, answers: [password, password] })
    expect(await run(['create'], env, ok.io)).toBe(0)
    expect(ok.prompts).toEqual(['New wallet password: ', 'Repeat the password: '])
    const bad = fakeIo({ tty: true, answers: [password, `${password}!`] })
    expect((await rejection(run(['create'], env, bad.io))).message).toMatch(/differ/)
    expect(readdirSync(keystoreDir)).toHaveLength(1)
    const typedKey = fakeIo({ tty: true, answers: [password, password, key] })
    expect(await run(['import', '--private-key-stdin'], env, typedKey.io)).toBe(0)
    expect(typedKey.prompts[2]).toBe('Private key (input hidden): ')
  })

  it('never takes a private key as an argument, and never repeats one given that way', async () => {
    const { env } = setup()
    for (const argv of [
      ['wallet', 'import', '--private-key', key],
      ['wallet', 'import', `--private-key=${key}`],
      ['wallet', 'import', '--privatekey', key],
    ]) {
      const error = await rejection(main(argv, env))
      expect(error.message).toMatch(/never taken as command-line arguments/)
    }
    const error = await rejection(run(['import', key], env, fakeIo().io))
    expect(error.message).toMatch(/--private-key-stdin/)
  })

  it('refuses bad input with what to do: bad key on stdin, unknown subcommand, short password, unknown wallet', async () => {
    const { env } = setup()
    const badKey = await rejection(
      run(['import', '--private-key-stdin'], env, fakeIo({ stdin: `${key}ff` }).io),
    )
    expect(badKey.message).toMatch(/64 hex digits/)
    expect(badKey.message).not.toContain(key.slice(2, 14))
    expect((await rejection(run(['frobnicate'], env, fakeIo().io))).message).toMatch(/Subcommands: create/)
    expect((await rejection(run([], env, fakeIo().io))).message).toMatch(/needs a subcommand/)
    expect(
      (await rejection(run(['create'], { ...env, AIRLOCK_WALLET_PASSWORD: 'short' }, fakeIo().io))).message,
    ).toMatch(/at least 8 characters/)
    expect((await rejection(run(['export-address', 'nobody'], env, fakeIo().io))).code).toBe('NOT_FOUND')
    expect((await rejection(run(['export-address'], env, fakeIo().io))).code).toBe('INVALID_INPUT')
    expect((await rejection(run(['import'], env, fakeIo().io))).message).toMatch(/exactly one of/)
    expect((await rejection(run(['list'], { ...env, AIRLOCK_KDF_N: '1000' }, fakeIo().io))).code).toBe(
      'INVALID_CONFIG',
    )
  })
})

// RFC 8032, section 7.1, TEST 1: a Solana (ed25519) seed and its public key.
const seedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const publicHex = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const b58 = (hex: string) => getBase58Decoder().decode(Buffer.from(hex, 'hex'))
const solanaAddress = b58(publicHex)
const solanaKeypair = b58(seedHex + publicHex)
const solanaJson = JSON.stringify(Array.from(Buffer.from(seedHex + publicHex, 'hex')))
const solanaSecrets = [seedHex, solanaKeypair, b58(seedHex), solanaJson.slice(1, 40), password]

function expectNoSolanaSecret(text: string): void {
  for (const secret of solanaSecrets) expect(text).not.toContain(secret)
}

describe('airlock wallet --family solana', () => {
  it('create → list shows the family → export-address, never printing the key or the password', async () => {
    const { env } = setup()
    const a = fakeIo()
    expect(await run(['create', '--family', 'solana', '--label', 'sol', '--json'], env, a.io)).toBe(0)
    const created = JSON.parse(a.out.join(''))
    expect(created).toMatchObject({ family: 'solana', label: 'sol' })
    expect(created.address).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/)
    expect(statSync(created.path).mode & 0o777).toBe(0o600)
    const evm = fakeIo()
    expect(await run(['create', '--label', 'eth'], env, evm.io)).toBe(0)

    const b = fakeIo()
    expect(await run(['list'], env, b.io)).toBe(0)
    expect(b.out.join('')).toContain(`${created.address}  solana  sol`)
    expect(b.out.join('')).toMatch(/0x[0-9a-fA-F]{40} {2}evm {2}eth/)
    const c = fakeIo()
    expect(await run(['list', '--family', 'solana', '--json'], env, c.io)).toBe(0)
    expect(JSON.parse(c.out.join(''))).toEqual([
      expect.objectContaining({ address: created.address, family: 'solana', label: 'sol' }),
    ])
    const d = fakeIo()
    expect(await run(['export-address', 'sol'], env, d.io)).toBe(0)
    expect(d.out.join('')).toBe(`${created.address}\n`)
    const e = fakeIo()
    expect(await run(['export-address', created.address], env, e.io)).toBe(0)
    expect(e.out.join('')).toBe(`${created.address}\n`)
    const text = fakeIo()
    expect(await run(['create', '--family', 'solana'], env, text.io)).toBe(0)
    expect(text.out.join('')).toMatch(/^Created Solana wallet [1-9A-HJ-NP-Za-km-z]{32,44}\n/)
    for (const io of [a, b, c, d, e, text]) expect(io.all()).not.toContain(password)
  })

  it('imports a base58 keypair from stdin and a solana-keygen id.json with --file: the same wallet', async () => {
    const { env, dataDir } = setup()
    const piped = fakeIo({ stdin: `${solanaKeypair}\n` })
    expect(
      await run(['import', '--family', 'solana', '--private-key-stdin', '--label', 'phantom'], env, piped.io),
    ).toBe(0)
    expect(piped.out.join('')).toContain(`Imported Solana wallet ${solanaAddress} (label "phantom")`)
    const file = join(dataDir, 'id.json')
    writeFileSync(file, solanaJson)
    const again = fakeIo()
    const error = await rejection(run(['import', '--family', 'solana', '--file', file], env, again.io))
    expect(error.code).toBe('WALLET_EXISTS')
    expect(error.message).toContain(solanaAddress)
    const fresh = setup()
    const fromFile = fakeIo()
    expect(
      await run(['import', '--family', 'solana', '--file', file, '--json'], fresh.env, fromFile.io),
    ).toBe(0)
    expect(JSON.parse(fromFile.out.join(''))).toMatchObject({ family: 'solana', address: solanaAddress })
    const typed = fakeIo({ tty: true, answers: [b58(seedHex)] }) // the password comes from the environment
    const error2 = await rejection(
      run(['import', '--family', 'solana', '--private-key-stdin'], fresh.env, typed.io),
    )
    expect(error2.code).toBe('WALLET_EXISTS')
    expect(typed.prompts).toEqual(['Solana private key (input hidden): '])
    for (const io of [piped, again, fromFile, typed]) expectNoSolanaSecret(io.all())
    expectNoSolanaSecret(String(error) + String(error2))
  })

  it('refuses with what to fix: an EVM key with --family solana, a Solana key or id.json without it, bad input', async () => {
    const { env, dataDir, keystoreDir } = setup()
    const evmKey = await rejection(
      run(['import', '--family', 'solana', '--private-key-stdin'], env, fakeIo({ stdin: key }).io),
    )
    expect(evmKey.message).toMatch(/EVM private key[\s\S]*leave out --family solana/)
    const solanaKey = await rejection(
      run(['import', '--private-key-stdin'], env, fakeIo({ stdin: solanaKeypair }).io),
    )
    expect(solanaKey.message).toMatch(/Solana private key[\s\S]*add --family solana/)
    const file = join(dataDir, 'id.json')
    writeFileSync(file, solanaJson)
    // Refused before any password is asked for: AIRLOCK_IMPORT_PASSWORD is not set here.
    const idJson = await rejection(run(['import', '--file', file], env, fakeIo().io))
    expect(idJson.message).toMatch(/JSON array, as solana-keygen writes[\s\S]*add --family solana/)
    const mismatched = await rejection(
      run(
        ['import', '--family', 'solana', '--private-key-stdin'],
        env,
        fakeIo({ stdin: b58(seedHex + seedHex) }).io,
      ),
    )
    expect(mismatched.message).toMatch(/not the public key of its first half/)
    const notBytes = join(dataDir, 'bad.json')
    writeFileSync(notBytes, solanaJson.replace(/^\[\d+/, '[-1'))
    expect(
      (await rejection(run(['import', '--family', 'solana', '--file', notBytes], env, fakeIo().io))).message,
    ).toMatch(/Element 0 of the JSON array is not a byte/)
    const family = await rejection(run(['create', '--family', 'bitcoin'], env, fakeIo().io))
    expect(family.message).toMatch(/must be evm or solana/)
    for (const error of [evmKey, solanaKey, idJson, mismatched, family]) {
      expect(error.code).toBe('INVALID_INPUT')
      expectNoSolanaSecret(String(error))
    }
    expect(existsSync(keystoreDir) ? readdirSync(keystoreDir) : []).toEqual([])
  })
})

describe('airlock wallet through main()', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('dispatches `wallet list` and `help` mentions the wallet commands', async () => {
    const { env } = setup({ AIRLOCK_KDF_N: undefined })
    const written: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    expect(await main(['wallet', 'list', '--json'], env)).toBe(0)
    expect(await main(['help'], env)).toBe(0)
    expect(written[0]).toBe('[]\n')
    expect(written[1]).toMatch(/airlock wallet import \(--private-key-stdin \| --file/)
  })
})

describe('the built CLI (dist/airlock.mjs, built by `node scripts/build.mjs`)', () => {
  const cli = join(import.meta.dirname, '..', '..', 'dist', 'airlock.mjs')

  function airlock(argv: string[], env: Record<string, string | undefined>, stdin = '') {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...argv], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c))
      child.stderr.on('data', (c: Buffer) => (stderr += c))
      child.on('error', reject)
      child.on('exit', (code) => resolve({ code, stdout, stderr }))
      child.stdin.end(stdin)
    })
  }

  it('piped stdin and no AIRLOCK_WALLET_PASSWORD → exit 2 naming the variable; with it, import then list', async () => {
    expect(existsSync(cli), 'run `node scripts/build.mjs` first').toBe(true)
    const { env } = setup({ AIRLOCK_WALLET_PASSWORD: undefined })
    const denied = await airlock(['wallet', 'import', '--private-key-stdin'], env, key)
    expect(denied.code).toBe(2)
    expect(denied.stderr).toMatch(/AIRLOCK_WALLET_PASSWORD/)
    const imported = await airlock(
      ['wallet', 'import', '--private-key-stdin'],
      { ...env, AIRLOCK_WALLET_PASSWORD: password },
      key,
    )
    expect(imported.code).toBe(0)
    const listed = await airlock(['wallet', 'list'], env)
    expect(listed.stdout).toContain(privateKeyToAddress(key))
    for (const r of [denied, imported, listed]) {
      expect(r.stdout + r.stderr).not.toContain(key.slice(2))
      expect(r.stdout + r.stderr).not.toContain(password)
    }
  })
})
