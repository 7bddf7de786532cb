// Adds lockfile entries for the other-platform binary packages of @foundry-rs/anvil, @biomejs/biome and litesvm when the
// registry this lock was made against does not serve them: without an entry `npm ci` refuses the lock ("Missing
// from lock file"). The entries carry os/cpu/libc, so npm skips them on other platforms and fetches them (from the
// public registry) on their own platform. Run after any `npm install` that rewrites package-lock.json.
import { readFileSync, writeFileSync } from 'node:fs'

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const packages = lock.packages
const added = []
for (const [parent, dev] of [
  ['node_modules/@foundry-rs/anvil', false],
  ['node_modules/@biomejs/biome', true],
  ['node_modules/litesvm', false],
]) {
  for (const [name, version] of Object.entries(packages[parent]?.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    if (packages[key]) continue
    const m = /-(android|darwin|linux|win32)-(arm64|x64|amd64)(-musl|-gnu)?$/.exec(name)
    if (!m) continue
    packages[key] = {
      version,
      ...(dev ? { dev: true } : {}),
      cpu: [m[2] === 'amd64' ? 'x64' : m[2]],
      license: packages[parent].license ?? 'MIT',
      optional: true,
      os: [m[1]],
      ...(m[3] ? { libc: [m[3] === '-musl' ? 'musl' : 'glibc'] } : {}),
    }
    added.push(name)
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(added.length ? `added: ${added.join(', ')}` : 'nothing to add')
