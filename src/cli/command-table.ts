/**
 * Every word the `peershare` command knows, in one table: the commands with their summaries,
 * flags and subcommands. The global help lists the commands from it and the shell completion
 * scripts are generated from it, so neither can drift from what the command accepts.
 */
import { COMMON_OPTIONS, type Command, type Options } from '../client/cli/command.ts';
import { downloads } from '../client/cli/commands/downloads.ts';
import { files } from '../client/cli/commands/files.ts';
import { get } from '../client/cli/commands/get.ts';
import { limits } from '../client/cli/commands/limits.ts';
import { peers } from '../client/cli/commands/peers.ts';
import { search } from '../client/cli/commands/search.ts';
import { share } from '../client/cli/commands/share.ts';
import { status } from '../client/cli/commands/status.ts';

/** The commands for a running peer, in the order help lists them. */
export const CLIENT_COMMANDS: readonly Command[] = [share, search, get, downloads, files, peers, status, limits];

export const SHELLS = ['bash', 'zsh'] as const;

export interface TableEntry {
  name: string;
  summary: string;
  /** Every flag it accepts, as typed: `--api`, `-h`. */
  flags: string[];
  subcommands: readonly string[];
}

/** Flags before any command. */
export const GLOBAL_FLAGS = ['--help', '-h', '--version', '-V'];

const flagsOf = (options: Options): string[] =>
  Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);

/** The whole table; it loads the peer and demo modules (for their flags), so only help and completion call it. */
export async function commandTable(): Promise<TableEntry[]> {
  const [{ PEER_OPTIONS, PEER_SUMMARIES }, { DEMO_OPTIONS }, { SERVICE_NAMES }] = await Promise.all([
    import('./peer-commands.ts'),
    import('../demo/demo.ts'),
    import('../peer/wiring.ts'),
  ]);
  return [
    { name: 'start', summary: PEER_SUMMARIES.start, flags: flagsOf(PEER_OPTIONS), subcommands: [] },
    { name: 'service', summary: PEER_SUMMARIES.service, flags: flagsOf(PEER_OPTIONS), subcommands: SERVICE_NAMES },
    { name: 'demo', summary: PEER_SUMMARIES.demo, flags: flagsOf(DEMO_OPTIONS), subcommands: [] },
    ...CLIENT_COMMANDS.map((c) => ({
      name: c.name,
      summary: c.summary,
      flags: flagsOf({ ...COMMON_OPTIONS, ...c.options }),
      subcommands: c.subcommands ?? [],
    })),
    {
      name: 'completion',
      summary: 'print a completion script for bash or zsh',
      flags: ['--help', '-h'],
      subcommands: SHELLS,
    },
    {
      name: 'help',
      summary: 'help on the command, or on one COMMAND',
      flags: [],
      subcommands: CLIENT_COMMANDS.map((c) => c.name),
    },
  ];
}
