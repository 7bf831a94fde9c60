/**
 * Every word the `peershare` command knows, in one table: the commands with their summaries,
 * flags and subcommands. The global help lists the commands from it and the shell completion
 * scripts are generated from it, so neither can drift from what the command accepts.
 */
import { COMMON_OPTIONS, type Command, type Options } from '../client/cli/command.ts';

/**
 * The commands for a running peer, in the order help lists them, each loaded only when asked for:
 * a call of one command loads its own module and not the others' (help and completion load them
 * all, for their summaries and flags).
 */
const CLIENT_COMMAND_MODULES = {
  share: async () => (await import('../client/cli/commands/share.ts')).share,
  search: async () => (await import('../client/cli/commands/search.ts')).search,
  get: async () => (await import('../client/cli/commands/get.ts')).get,
  downloads: async () => (await import('../client/cli/commands/downloads.ts')).downloads,
  files: async () => (await import('../client/cli/commands/files.ts')).files,
  peers: async () => (await import('../client/cli/commands/peers.ts')).peers,
  status: async () => (await import('../client/cli/commands/status.ts')).status,
  limits: async () => (await import('../client/cli/commands/limits.ts')).limits,
} satisfies Record<string, () => Promise<Command>>;

export type ClientCommandName = keyof typeof CLIENT_COMMAND_MODULES;

/** The names of the commands for a running peer, in the order help lists them. */
export const CLIENT_COMMAND_NAMES = Object.keys(CLIENT_COMMAND_MODULES) as readonly ClientCommandName[];

export const isClientCommand = (name: string | undefined): name is ClientCommandName =>
  Object.hasOwn(CLIENT_COMMAND_MODULES, name ?? '');

/** One command for a running peer, its module loaded now. */
export function loadClientCommand(name: ClientCommandName): Promise<Command> {
  return CLIENT_COMMAND_MODULES[name]();
}

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

/**
 * The whole table; it loads every command's module, and the peer and demo modules (for their
 * flags), so only help and completion call it.
 */
export async function commandTable(): Promise<TableEntry[]> {
  const [{ PEER_OPTIONS, PEER_SUMMARIES }, { DEMO_OPTIONS }, { SERVICE_NAMES }, clientCommands] = await Promise.all([
    import('./peer-commands.ts'),
    import('../demo/demo.ts'),
    import('../peer/wiring.ts'),
    Promise.all(CLIENT_COMMAND_NAMES.map(loadClientCommand)),
  ]);
  return [
    { name: 'start', summary: PEER_SUMMARIES.start, flags: flagsOf(PEER_OPTIONS), subcommands: [] },
    { name: 'service', summary: PEER_SUMMARIES.service, flags: flagsOf(PEER_OPTIONS), subcommands: SERVICE_NAMES },
    { name: 'demo', summary: PEER_SUMMARIES.demo, flags: flagsOf(DEMO_OPTIONS), subcommands: [] },
    ...clientCommands.map((c) => ({
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
      subcommands: CLIENT_COMMAND_NAMES,
    },
  ];
}
