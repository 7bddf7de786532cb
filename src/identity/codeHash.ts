import { createHash } from 'node:crypto'
import { createReadStream, type Stats } from 'node:fs'
import { lstat, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { BaseError } from '../errors/index.js'

/** The most files (and symlinks) a hashed tree may hold. */
const maxFiles = 100_000
/** Files hashed at once: enough to keep the disk busy, few enough to stay far from the open-file limit. */
const concurrency = 8
const manifestPrefix = 'airlock-code-hash-v1\n'
const utf8 = new TextDecoder('utf-8', { fatal: true })

type Entry = { type: 'f' | 'l'; exec: boolean; path: string; absolute: string; sortKey: Buffer }

/**
 * The canonical content hash of a file or a directory tree, as `sha256:<64 hex>`: the value an agent passport's
 * `codeHash` and a user's grant name, so that anyone holding the same code computes the same string.
 *
 * The tree is walked without following symlinks (a link is hashed as its target text, never as what it points
 * at); only directories named `.git` are skipped — every other file, dotfiles and build outputs included, counts.
 * A `path` that is itself a symlink is followed once. Empty directories leave no trace. Each file or link is one
 * manifest line `<type> <mode> <sha256 hex> <relative path>\n` — type `f` (file) or `l` (link), mode `x` when a file
 * has any execute bit and `-` otherwise (always `-` for a link, whose permission bits differ between systems),
 * the hash of the file's bytes or of the link's target, and the POSIX path relative to `path` (`.` when `path` is a
 * file). Lines are sorted by path compared as UTF-8 bytes. The result is sha256 of `airlock-code-hash-v1\n`
 * followed by the manifest.
 *
 * @example
 * await codeHash('./my-agent') // 'sha256:3f1c…'
 * await codeHash('./my-agent/dist/agent.mjs') // a single file: one manifest line with path '.'
 * @throws {BaseError} INVALID_INPUT: the path does not exist or cannot be read, a name holds a newline or is not
 * UTF-8, the tree holds a socket, FIFO or device, or more than 100,000 files
 */
export async function codeHash(path: string): Promise<string> {
  let root: Stats
  try {
    root = await stat(path)
  } catch (error) {
    throw unreadable(path, error)
  }
  let entries: Entry[]
  if (root.isFile()) {
    entries = [{ type: 'f', exec: isExecutable(root), path: '.', absolute: path, sortKey: Buffer.of() }]
  } else if (root.isDirectory()) {
    entries = await walk(path)
    entries.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey))
  } else {
    throw new BaseError('INVALID_INPUT', `${quote(path)} is neither a file nor a directory.`, {
      metaMessages: ['Give the agent code as a file or a directory.'],
    })
  }
  const digests = await mapLimited(entries, concurrency, hashEntry)
  const manifest = createHash('sha256').update(manifestPrefix)
  entries.forEach((entry, i) => {
    manifest.update(`${entry.type} ${entry.exec ? 'x' : '-'} ${digests[i]} ${entry.path}\n`)
  })
  return `sha256:${manifest.digest('hex')}`
}

/** Every file and symlink under `root`, with its relative path; directories named `.git` are left out. */
async function walk(root: string): Promise<Entry[]> {
  const entries: Entry[] = []
  const pending: { absolute: string; relative: string }[] = [{ absolute: root, relative: '' }]
  for (let dir = pending.pop(); dir; dir = pending.pop()) {
    let names: Buffer[]
    try {
      // Names as bytes: a decoded string would silently replace invalid UTF-8, and two names could then collide.
      names = await readdir(dir.absolute, { encoding: 'buffer' })
    } catch (error) {
      throw unreadable(dir.relative || '.', error)
    }
    const children = names.map((bytes) => {
      const name = decodeName(bytes, dir.relative)
      return {
        name,
        absolute: join(dir.absolute, name),
        relative: dir.relative ? `${dir.relative}/${name}` : name,
      }
    })
    const stats = await Promise.all(
      children.map(async (child) => {
        try {
          return await lstat(child.absolute)
        } catch (error) {
          throw unreadable(child.relative, error)
        }
      }),
    )
    children.forEach((child, i) => {
      const s = stats[i]!
      if (s.isDirectory()) {
        if (child.name !== '.git') pending.push(child)
        return
      }
      if (!s.isFile() && !s.isSymbolicLink())
        throw new BaseError(
          'INVALID_INPUT',
          `${quote(child.relative)} is not a file, a directory or a symlink.`,
          {
            metaMessages: [
              'Sockets, FIFOs and devices cannot be part of agent code; remove it from the tree.',
            ],
          },
        )
      entries.push({
        type: s.isFile() ? 'f' : 'l',
        exec: s.isFile() && isExecutable(s),
        path: child.relative,
        absolute: child.absolute,
        sortKey: Buffer.from(child.relative, 'utf8'),
      })
      if (entries.length > maxFiles)
        throw new BaseError('INVALID_INPUT', `The tree holds more than ${maxFiles} files.`, {
          metaMessages: ['Hash the built agent (its dist directory or bundle), not a whole workspace.'],
        })
    })
  }
  return entries
}

function decodeName(bytes: Buffer, parent: string): string {
  let name: string
  try {
    name = utf8.decode(bytes)
  } catch {
    throw new BaseError('INVALID_INPUT', `A name in ${quote(parent || '.')} is not valid UTF-8.`, {
      metaMessages: ['Rename the file: code hashes are defined over UTF-8 paths.'],
    })
  }
  // The manifest is line-based: a newline in a name could forge a line of its own.
  if (name.includes('\n'))
    throw new BaseError('INVALID_INPUT', `A name in ${quote(parent || '.')} contains a newline.`, {
      metaMessages: ['Rename the file: names with newlines cannot be hashed unambiguously.'],
    })
  return name
}

async function hashEntry(entry: Entry): Promise<string> {
  try {
    if (entry.type === 'l') {
      const target = await readlink(entry.absolute, { encoding: 'buffer' })
      return createHash('sha256').update(target).digest('hex')
    }
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(entry.absolute)) hash.update(chunk as Buffer)
    return hash.digest('hex')
  } catch (error) {
    throw unreadable(entry.path, error)
  }
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

function isExecutable(s: Stats): boolean {
  return (s.mode & 0o111) !== 0
}

function unreadable(path: string, error: unknown): BaseError {
  const code = (error as { code?: string }).code
  return new BaseError(
    'INVALID_INPUT',
    code === 'ENOENT'
      ? `${quote(path)} does not exist.`
      : `${quote(path)} cannot be read (${code ?? 'error'}).`,
    {
      metaMessages: ['Give the path of the agent code (a file or a directory) as the gateway sees it.'],
      cause: error,
    },
  )
}

function quote(path: string): string {
  return JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path)
}
