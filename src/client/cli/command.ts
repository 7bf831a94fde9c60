/**
 * What every client command shares: its declaration (name, usage, options), the common flags
 * (--api, --api-token, --json, --help), and how a command is run with a connected Api.
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Api } from './api.ts';
import { UsageError } from './usage-error.ts';

export { UsageError };

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  api: Api;
  values: Values;
  positionals: string[];
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Command {
  name: string;
  /** One line for `peershare --help`. */
  summary: string;
  /** The usage lines and flags of `peershare NAME --help`. */
  usage: string;
  options?: Options;
  /** The words that may follow the name (`downloads pause`), for completion and checks. */
  subcommands?: readonly string[];
  /** Resolves with the exit status. */
  run(ctx: CommandContext): Promise<number>;
}

export const COMMON_OPTIONS = {
  api: { type: 'string' },
  'api-token': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies Options;

export const COMMON_USAGE = `Common flags:
  --api URL|HOST[:PORT]  the peer's Client API (default 127.0.0.1:7870) [PEERSHARE_API]
  --api-token TOKEN      token for changes on a peer off loopback [PEERSHARE_API_TOKEN]
  --json                 print one JSON document
  -h, --help             show this help`;

export function parseCommandArgs(command: Command, argv: string[]): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; try peershare ${command.name} --help`);
  }
}

/** The width to lay text out in: the terminal's, or 80 on a pipe. */
export const terminalWidth = (stream: { columns?: number } = process.stdout): number =>
  Math.max(40, stream.columns ?? 80);

/** A flag's value in seconds, as milliseconds (within 1 ms .. 60 s, the search API's range). */
export function secondsFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 60)
    throw new UsageError(`--${name}: expected seconds from 0.001 to 60, got "${raw}"`);
  return Math.max(1, Math.round(s * 1000));
}

/** A flag's value as a whole number from `min` to `max`. */
export function integerFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

/**
 * A path the user typed, made absolute for the peer. `npm run peershare` runs the command from
 * the package folder, so there the user's folder is npm's INIT_CWD.
 */
export function userPath(path: string): string {
  const base =
    process.env.npm_lifecycle_event === 'peershare' && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
  return resolve(base, path);
}
