import { existsSync } from 'node:fs'
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { createFromTemplate } from './createFromTemplate.js'

/** A ustar archive of directories (names ending in /) and files, as PGlite's dumpDataDir writes them. */
function tar(entries: ReadonlyArray<readonly [string, string?]>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, content] of entries) {
    const header = Buffer.alloc(512)
    const directory = content === undefined
    const body = Buffer.from(content ?? '')
    header.write(name, 0, 100, 'utf8')
    header.write(directory ? '0000700\0' : '0000600\0', 100)
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124)
    header.write(directory ? '5' : '0', 156)
    header.write('ustar\u000000', 257, 'latin1')
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)])
}

const sample = () =>
  gzipSync(
    tar([
      ['/base'],
      ['/base/1'],
      ['/PG_VERSION', '18\n'],
      ['/base/1/112', 'page'],
      ['/postmaster.pid', '42'],
    ]),
  )

describe('createFromTemplate', () => {
  const dirs: string[] = []
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-template-'))
    dirs.push(dir)
    return dir
  }
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('unpacks a gzip tarball into place, private (dirs 0700, files 0600), without the maker’s postmaster.pid', async () => {
    const parent = await tempDir()
    const target = join(parent, 'db')
    expect(await createFromTemplate(target, new Blob([sample()]))).toBe('created')
    expect(await readFile(join(target, 'PG_VERSION'), 'utf8')).toBe('18\n')
    expect(await readFile(join(target, 'base', '1', '112'), 'utf8')).toBe('page')
    expect(existsSync(join(target, 'postmaster.pid'))).toBe(false)
    if (process.platform !== 'win32') {
      expect((await lstat(target)).mode & 0o777).toBe(0o700)
      expect((await lstat(join(target, 'base', '1'))).mode & 0o777).toBe(0o700)
      expect((await lstat(join(target, 'base', '1', '112'))).mode & 0o777).toBe(0o600)
    }
    expect(await readdir(parent)).toEqual(['db']) // nothing staged is left
  })

  it('replaces an empty directory, leaves one with anything in it alone, and removes what a crash left staged', async () => {
    const parent = await tempDir()
    await mkdir(join(parent, 'db'))
    await mkdir(join(parent, '.creating-db-deadbeef'))
    await writeFile(join(parent, '.creating-db-deadbeef', 'PG_VERSION'), '18\n')
    expect(await createFromTemplate(join(parent, 'db'), new Blob([sample()]))).toBe('created')
    expect((await readdir(parent)).sort()).toEqual(['db'])
    const other = await tempDir()
    await mkdir(join(other, 'db'))
    await writeFile(join(other, 'db', 'mine'), 'x')
    expect(await createFromTemplate(join(other, 'db'), new Blob([sample()]))).toBe('taken')
    expect(await readdir(join(other, 'db'))).toEqual(['mine'])
  })

  it('refuses entries that would land outside the database, and a torn archive, leaving nothing behind', async () => {
    for (const bad of [
      tar([
        ['/PG_VERSION', '18\n'],
        ['/../escaped', 'x'],
      ]),
      tar([['/PG_VERSION', '18\n']]).subarray(0, 520),
      tar([['/PG_VERSION', '18\n']]).subarray(0, 514),
    ]) {
      const parent = await tempDir()
      await expect(createFromTemplate(join(parent, 'db'), new Blob([bad]))).rejects.toThrow(/Store template/)
      expect(await readdir(parent)).toEqual([])
    }
  })
})
