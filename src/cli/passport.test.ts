import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/tempDir.js'
import { codeHash } from '../identity/codeHash.js'
import { parseEd25519Jwk } from '../identity/didKey.js'
import { type GrantTypedData, verifyGrant } from '../identity/grant.js'
import { openStore } from '../store/openStore.js'
import { seedDataDir } from '../store/useTestStore.js'
import { parseCli } from './options.js'
import { passport } from './passport.js'

// `airlock passport …` with no gateway running: the offline steps write files, the operator's act on the data
// directory's store through the admin app in process (as `operator.test.ts` does for the other commands).
let dir: string
let env: Record<string, string | undefined>
const devnetAccount0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

beforeAll(async () => {
  dir = tempDir('passport-cli')
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  seedDataDir(dataDir)
  await (await openStore({ dataDir })).close()
  env = { AIRLOCK_DATA_DIR: dataDir, USER: 'tester', PATH: process.env.PATH }
}, 60_000)

async function airlock(
  argv: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await passport(parseCli(['passport', ...argv], env), env as NodeJS.ProcessEnv, {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    stdinIsTTY: stdin === undefined,
    readStdin: async () => stdin ?? '',
  })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

const mode = (file: string) => statSync(file).mode & 0o777

describe('airlock passport (offline steps)', () => {
  it('key: writes a private JWK with mode 0600, prints its did:key, never overwrites', async () => {
    const file = join(dir, 'agent-a.jwk')
    const made = await airlock(['key', '--out', file])
    expect(made.code).toBe(0)
    expect(made.stdout).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+\n$/)
    expect(made.stderr).toMatch(/private key written to .* \(mode 0600\)/)
    expect(mode(file)).toBe(0o600)
    const jwk = parseEd25519Jwk(readFileSync(file, 'utf8'), { private: true })
    expect(jwk.d).toBeDefined()
    const before = readFileSync(file, 'utf8')
    await expect(airlock(['key', '--out', file])).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/exists; a key file is never overwritten/),
    })
    expect(readFileSync(file, 'utf8')).toBe(before)
    const json = JSON.parse((await airlock(['key', '--out', join(dir, 'agent-b.jwk'), '--json'])).stdout)
    expect(json).toEqual({ did: expect.stringMatching(/^did:key:z/), file: join(dir, 'agent-b.jwk') })
    await expect(airlock(['key'])).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'out' })
  })

  it('hash: the canonical code hash of a file or a tree', async () => {
    const build = join(dir, 'build')
    mkdirSync(build)
    writeFileSync(join(build, 'agent.mjs'), 'export default 1\n')
    const { stdout } = await airlock(['hash', build])
    expect(stdout).toBe(`${await codeHash(build)}\n`)
    expect(stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/)
    await expect(airlock(['hash', join(dir, 'nothing')])).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(airlock(['hash'])).rejects.toMatchObject({ code: 'INVALID_INPUT' })
  })

  it('grant: refuses bad flags with a line that names the flag, and never takes a key as an argument', async () => {
    const agent = (await airlock(['key', '--out', join(dir, 'agent-c.jwk')])).stdout.trim()
    const base = [
      'grant',
      '--agent',
      agent,
      '--code-hash',
      `sha256:${'0'.repeat(64)}`,
      '--tools',
      'get_balance',
    ]
    const out = ['--out', join(dir, 'never.json')]
    const cases: [string[], RegExp][] = [
      [[...base, '--chains', 'devnet', '--budget', '5', ...out], /Say who signs the grant/],
      [[...base, '--chains', 'base', '--budget', '5', '--user', 'devnet:0', ...out], /only for the devnet/],
      [[...base, '--chains', 'devnet', '--user', 'devnet:0', ...out], /Missing --budget/],
      [[...base, '--chains', 'devnet', '--budget', '1e3', '--user', 'devnet:0', ...out], /--budget must be/],
      [
        [...base, '--chains', 'devnet', '--budget', '5', '--window', '5x', '--user', 'devnet:0', ...out],
        /--window/,
      ],
      [
        [...base, '--chains', 'nowhere', '--budget', '5', '--user', 'devnet:0', ...out],
        /Unknown chain "nowhere"/,
      ],
      [
        [
          ...base,
          '--chains',
          'devnet',
          '--budget',
          '5',
          '--min',
          '3',
          '--max',
          '2',
          '--user',
          'devnet:0',
          ...out,
        ],
        /^Bad --max: min is larger than max/,
      ],
      [
        [...base, '--chains', 'devnet', '--budget', '5', '--user', `0x${'ab'.repeat(32)}`, ...out],
        /never taken/,
      ],
      [[...base, '--chains', 'devnet', '--budget', '5', '--user', devnetAccount0, ...out], /--typed-data/],
      [[...base, '--chains', 'devnet', '--budget', '5', '--user', 'devnet:0'], /Missing --out/],
      [
        [
          'grant',
          '--agent',
          agent,
          '--code-hash',
          'abc',
          '--tools',
          'x',
          '--chains',
          'devnet',
          '--budget',
          '5',
          '--user',
          'devnet:0',
          ...out,
        ],
        /^Bad --code-hash: give the code hash as sha256:/,
      ],
    ]
    for (const [argv, message] of cases)
      await expect(airlock(argv), argv.join(' ')).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(message),
      })
    await expect(
      airlock([
        'grant',
        ...base.slice(1, 5),
        '--tools',
        'Get-Balance',
        '--chains',
        'devnet',
        '--budget',
        '5',
        '--user',
        'devnet:0',
        ...out,
      ]),
    ).rejects.toMatchObject({ message: expect.stringMatching(/^Bad --tools \(item 1\): .*snake_case/) })
    // A key on stdin that is not a key: nothing signed, the input not repeated.
    const bad = await airlock(
      [...base, '--chains', 'devnet', '--budget', '5', '--user-key-stdin', ...out],
      'not a key',
    ).catch((e: Error) => e)
    expect(bad).toMatchObject({ code: 'INVALID_INPUT', message: expect.not.stringMatching(/not a key/) })
    expect(() => statSync(join(dir, 'never.json'))).toThrow()
  })

  it('grant: --typed-data for a wallet, then assembled from its signature; --user-key-stdin signs with a piped key', async () => {
    const wallet = privateKeyToAccount(generatePrivateKey())
    const agent = (await airlock(['key', '--out', join(dir, 'agent-d.jwk')])).stdout.trim()
    const flags = ['--agent', agent, '--code-hash', `sha256:${'1'.repeat(64)}`, '--tools', 'transfer']
    const limits = [
      '--chains',
      'base,eip155:1,10',
      '--payees',
      devnetAccount0,
      '--budget',
      '50',
      '--max',
      '5',
    ]
    const printed = await airlock(['grant', ...flags, ...limits, '--user', wallet.address, '--typed-data'])
    const typed = JSON.parse(printed.stdout) as GrantTypedData
    expect(typed).toMatchObject({
      primaryType: 'AgentGrant',
      domain: { name: 'Airlock Agent Grant', version: '1' },
      message: {
        user: wallet.address,
        agent,
        chains: ['eip155:8453', 'eip155:1', 'eip155:10'],
        budget: { currency: 'USD', max: '50', windowSeconds: 86_400 },
        amountRange: { currency: 'USD', min: '0', max: '5' },
      },
    })
    expect(typed.message.expiry - typed.message.notBefore).toBe(30 * 86_400 + 60)
    const typedFile = join(dir, 'typed.json')
    writeFileSync(typedFile, printed.stdout)
    const { EIP712Domain: _, ...types } = typed.types
    const signature = await wallet.signTypedData({
      domain: typed.domain,
      types,
      primaryType: 'AgentGrant',
      message: {
        ...typed.message,
        notBefore: BigInt(typed.message.notBefore),
        expiry: BigInt(typed.message.expiry),
      },
    } as never)
    const file = join(dir, 'wallet-grant.json')
    const assembled = await airlock([
      'grant',
      '--typed-data-file',
      typedFile,
      '--signature',
      signature,
      '--out',
      file,
    ])
    expect(assembled.stdout).toMatch(new RegExp(`^Grant signed by ${wallet.address} for agent ${agent}\n`))
    expect(mode(file)).toBe(0o600)
    expect(await verifyGrant(JSON.parse(readFileSync(file, 'utf8')))).toEqual(typed.message)
    const other = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: 'x' })
    await expect(
      airlock(['grant', '--typed-data-file', typedFile, '--signature', other, '--out', join(dir, 'x.json')]),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' })

    const key = generatePrivateKey()
    const piped = join(dir, 'piped-grant.json')
    const signed = await airlock(
      [
        'grant',
        ...flags,
        ...limits,
        '--window',
        '7d',
        '--expires',
        '2d',
        '--user-key-stdin',
        '--out',
        piped,
        '--json',
      ],
      `${key}\n`,
    )
    const answer = JSON.parse(signed.stdout)
    expect(answer).toMatchObject({
      file: piped,
      grant: { user: privateKeyToAccount(key).address, budget: { windowSeconds: 7 * 86_400 } },
    })
    expect(signed.stdout).not.toContain(key.slice(2))
    expect(await verifyGrant(JSON.parse(readFileSync(piped, 'utf8')))).toMatchObject({ agent })
  })
})

describe('airlock passport (operator steps on a store)', () => {
  it('registers a developer, issues a passport over a devnet grant, lists, revokes; a revoked one stays revoked', async () => {
    const developer = (await airlock(['key', '--out', join(dir, 'developer.jwk')])).stdout.trim()
    const agent = (await airlock(['key', '--out', join(dir, 'agent.jwk')])).stdout.trim()
    const registered = await airlock(['developer', '--key', join(dir, 'developer.jwk'), '--label', 'acme'])
    expect(registered.stderr).toMatch(/acting on its store directly/)
    expect(registered.stdout).toMatch(new RegExp(`^Registered developer ${developer} \\(did:key\\) "acme"`))

    const build = join(dir, 'agent-build.mjs')
    writeFileSync(build, 'console.log("agent")\n')
    const hash = (await airlock(['hash', build])).stdout.trim()
    const grantFile = join(dir, 'grant.json')
    const granted = await airlock([
      'grant',
      '--agent',
      agent,
      '--code-hash',
      hash,
      '--tools',
      'get_balance,transfer',
      '--chains',
      'devnet',
      '--payees',
      devnetAccount0,
      '--budget',
      '100',
      '--window',
      '1d',
      '--min',
      '0',
      '--max',
      '25',
      '--user',
      'devnet:0',
      '--out',
      grantFile,
    ])
    expect(granted.stdout).toContain(`Grant signed by ${devnetAccount0} for agent ${agent}\n`)
    expect(granted.stdout).toContain('  chains:  eip155:31337\n')
    expect(granted.stdout).toContain('  budget:  100 USD per 1d; each payment 0 to 25 USD\n')
    expect(mode(grantFile)).toBe(0o600)

    const passportFile = join(dir, 'passport.jwt')
    const issueArgs = ['--agent', agent, '--developer', developer, '--code-hash', hash, '--grant', grantFile]
    const issued = await airlock(['issue', ...issueArgs, '--days', '7', '--out', passportFile])
    expect(issued.stdout).toMatch(new RegExp(`^Passport issued to agent ${agent}\n  passport id:  urn:uuid:`))
    expect(issued.stdout).toMatch(/ {2}status index: \d+\n {2}valid until: {2}\d{4}-/)
    expect(mode(passportFile)).toBe(0o600)
    const jwt = readFileSync(passportFile, 'utf8').trim()
    expect(decodeProtectedHeader(jwt).typ).toBe('vc+jwt')
    expect(decodeJwt(jwt).sub).toBe(agent)
    // Status lists are named under the gateway's public URL (the default port here).
    expect(JSON.stringify(decodeJwt(jwt))).toContain('http://127.0.0.1:8402/status')

    expect((await airlock(['list'])).stdout).toMatch(new RegExp(`^${agent}  active  valid until `))
    const status = await airlock(['status', agent])
    expect(status.stdout).toMatch(new RegExp(`^Agent ${agent}: ACTIVE\n`))
    expect(status.stdout).toContain('  tools:        get_balance, transfer\n')

    const revoked = await airlock(['revoke', agent, '--reason', 'key leaked'])
    expect(revoked.stdout).toMatch(
      new RegExp(`^Passport of agent ${agent} REVOKED \\(final\\): key leaked\\.`),
    )
    expect(JSON.parse((await airlock(['status', agent, '--json'])).stdout)).toMatchObject({
      agent,
      status: 'revoked',
      reason: 'key leaked',
    })
    await expect(airlock(['reinstate', agent])).rejects.toMatchObject({ code: 'CONFLICT' })
    await expect(airlock(['issue', ...issueArgs, '--out', join(dir, 'again.jwt')])).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await expect(airlock(['status', 'did:key:z6MkNobody'])).rejects.toMatchObject({ code: 'NOT_FOUND' })
  }, 60_000)

  it('registers a developer that signs elsewhere: challenge, prove (offline), developer --proof', async () => {
    const keyFile = join(dir, 'remote-developer.jwk')
    const did = (await airlock(['key', '--out', keyFile])).stdout.trim()
    const asked = JSON.parse((await airlock(['challenge', did, '--json'])).stdout)
    expect(asked).toMatchObject({ did, challenge: expect.any(String), audience: expect.any(String) })
    const proof = (
      await airlock(['prove', '--key', keyFile, '--challenge', asked.challenge, '--audience', asked.audience])
    ).stdout.trim()
    expect(proof.split('.')).toHaveLength(3)
    const registered = await airlock(['developer', '--did', did, '--proof', proof, '--json'])
    expect(JSON.parse(registered.stdout)).toMatchObject({ did, method: 'key' })
    expect((await airlock(['developers'])).stdout).toContain(`${did} (did:key)`)
  }, 60_000)

  it('refuses a bad operator step before reaching the store', async () => {
    await expect(airlock(['issue', '--agent', 'did:key:z6Mk'])).rejects.toMatchObject({
      message: expect.stringMatching(/^Missing --developer\. Usage: airlock passport issue/),
    })
    await expect(airlock(['developer'])).rejects.toMatchObject({ field: 'key' })
    await expect(airlock(['revoke'])).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(airlock(['bogus'])).rejects.toMatchObject({
      shortMessage: 'Unknown passport subcommand "bogus".',
    })
  })
})
