import { basename, resolve } from 'node:path'

/**
 * The command a person types to run this process's operator CLI, for the hints the gateway prints (`… approve ID`):
 * `airlock` when this process was started through an installed `airlock` command (on the PATH), else
 * `npx airlock`, which runs package.json's bin inside a checkout (`npm start`, `node dist/airlock.mjs`, `npx`).
 * With `--config FILE` when this process has one, so the command finds the same data directory and gateway.
 *
 * @example cliCommand('airlock.json', process.env) // 'npx airlock --config /home/me/airlock/airlock.json' from a checkout
 */
export function cliCommand(
  configPath: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  argv1: string = process.argv[1] ?? '',
): string {
  // npm sets these for `npm start`, `npm run …` and `npx …`: then the command is not on the PATH.
  const viaNpm = env.npm_command !== undefined || env.npm_lifecycle_event !== undefined
  const installed = !viaNpm && basename(argv1) === 'airlock'
  const command = installed ? 'airlock' : 'npx airlock'
  return configPath ? `${command} --config ${shellWord(resolve(configPath))}` : command
}

/** A path as one shell word: as is when it is plain, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
