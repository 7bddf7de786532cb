import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeHash } from './codeHash.js'

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex')

describe('codeHash', () => {
  let base: string
  let count = 0
  /** A fresh empty directory under the test's temp root. */
  const fresh = async () => {
    const dir = join(base, String(count++))
    await mkdir(dir)
    return dir
  }
  /** The same small tree, written in the order given. */
  const writeTree = async (dir: string, order: 'forward' | 'backward') => {
    const steps = [
      () => mkdir(join(dir, 'src', 'lib'), { recursive: true }),
      () => writeFile(join(dir, 'package.json'), '{"name":"agent"}\n'),
      () => writeFile(join(dir, 'src', 'index.js'), 'export {}\n'),
      () => writeFile(join(dir, 'src', 'lib', 'ä.js'), 'unicode name\n'),
      () => writeFile(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 }),
      () => symlink('src/index.js', join(dir, 'main.js')),
      () => mkdir(join(dir, 'empty')),
    ]
    // Directories must exist before their files: the first step always runs first.
    const [first, ...rest] = steps
    await first!()
    for (const step of order === 'forward' ? rest : rest.reverse()) await step()
    await chmod(join(dir, 'run.sh'), 0o755) // the umask may have removed bits at creation
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'airlock-codehash-'))
  })
  afterAll(async () => {
    await rm(base, { recursive: true, force: true })
  })

  it('gives the same hash for the same tree created in different orders', async () => {
    const a = await fresh()
    const b = await fresh()
    await writeTree(a, 'forward')
    await writeTree(b, 'backward')
    const hash = await codeHash(a)
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(await codeHash(b)).toBe(hash)
  })

  it('follows the documented manifest format', async () => {
    const dir = await fresh()
    await writeTree(dir, 'forward')
    // Sorted by UTF-8 bytes: 'main.js' < 'package.json' < 'run.sh' < 'src/index.js' < 'src/lib/ä.js'.
    const manifest = [
      `l - ${sha256('src/index.js')} main.js`,
      `f - ${sha256('{"name":"agent"}\n')} package.json`,
      `f x ${sha256('#!/bin/sh\n')} run.sh`,
      `f - ${sha256('export {}\n')} src/index.js`,
      `f - ${sha256('unicode name\n')} src/lib/ä.js`,
    ]
    const expected = sha256(`airlock-code-hash-v1\n${manifest.map((line) => `${line}\n`).join('')}`)
    expect(await codeHash(dir)).toBe(`sha256:${expected}`)
  })

  it('hashes a single file as a one-entry manifest with path "."', async () => {
    const dir = await fresh()
    await writeFile(join(dir, 'agent.mjs'), 'console.log(1)\n')
    const expected = sha256(`airlock-code-hash-v1\nf - ${sha256('console.log(1)\n')} .\n`)
    expect(await codeHash(join(dir, 'agent.mjs'))).toBe(`sha256:${expected}`)
    // The directory holding only that file is another manifest (path 'agent.mjs'), so another hash.
    expect(await codeHash(dir)).not.toBe(`sha256:${expected}`)
  })

  it('changes when one byte changes, a file is renamed or an exec bit flips', async () => {
    const dir = await fresh()
    await writeTree(dir, 'forward')
    const seen = new Set([await codeHash(dir)])
    await writeFile(join(dir, 'src', 'index.js'), 'export {}\r')
    seen.add(await codeHash(dir))
    await rename(join(dir, 'package.json'), join(dir, 'Package.json'))
    seen.add(await codeHash(dir))
    await chmod(join(dir, 'src', 'index.js'), 0o744)
    seen.add(await codeHash(dir))
    await chmod(join(dir, 'src', 'index.js'), 0o644)
    expect(seen.size).toBe(4)
    // Flipping the bit back restores the previous hash: only content, names and modes count, not times.
    expect(await codeHash(dir)).toBe([...seen][2])
  })

  it('skips .git directories but nothing else', async () => {
    const dir = await fresh()
    await writeTree(dir, 'forward')
    const before = await codeHash(dir)
    await mkdir(join(dir, '.git'))
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n')
    expect(await codeHash(dir)).toBe(before)
    await writeFile(join(dir, '.env'), 'X=1\n')
    expect(await codeHash(dir)).not.toBe(before)
  })

  it('refuses a missing path and a name with a newline', async () => {
    await expect(codeHash(join(base, 'missing'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      shortMessage: expect.stringMatching(/does not exist/),
    })
    const dir = await fresh()
    await writeFile(join(dir, 'a\nf - 00 b'), 'x')
    await expect(codeHash(dir)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      shortMessage: expect.stringMatching(/newline/),
    })
  })
})
