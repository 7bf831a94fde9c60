/**
 * The `peershare` command, the layer above every other: `start` and `service NAME` run a peer
 * (peer-commands.ts, over the composition root in src/peer), `demo` a network of them (src/demo);
 * every other command talks to a running peer's Client API (src/client/cli/commands). Output is
 * for people, or one JSON document with --json; errors are one line on stderr with a non-zero exit
 * (2 for usage). bin/peershare.js runs this module (dist/cli/main.js once built).
 *
 * A call loads only what its command needs: one client command's module and the Api (which
 * brings HTTP and TLS), or the peer's modules, or the demo's; the command table behind help and
 * completion loads them all. A process per call, as the tests run it hundreds of times, pays for
 * every module it loads.
 */
import { isPeershareError } from '../shared/errors.ts';
import { COMMON_USAGE, parseCommandArgs, terminalWidth, type Command } from '../client/cli/command.ts';
import { CLIENT_COMMAND_NAMES, isClientCommand, loadClientCommand, SHELLS } from './command-table.ts';
import { columns } from '../client/cli/format.ts';
import { invocation } from '../client/cli/invocation.ts';
import { UsageError } from '../client/cli/usage-error.ts';
import { versionLine } from './version.ts';

/** The commands besides those for a running peer (which command-table.ts lists with theirs). */
const OTHER_COMMANDS = ['start', 'service', 'demo', 'completion'];

async function usage(): Promise<string> {
  // The table loads the peer modules (for their flags): only for help and completion.
  const { commandTable } = await import('./command-table.ts');
  const table = new Map((await commandTable()).map((e) => [e.name, e]));
  const term = 13;
  const rows = (names: string[]) =>
    columns(
      names.map((n): [string, string] => [n, table.get(n)!.summary]),
      terminalWidth(),
      term,
    );
  const cmd = invocation();
  return `peershare: decentralized peer-to-peer file sharing

Usage: ${cmd} COMMAND [ARGUMENTS] [FLAGS]

Run a peer (${cmd} start --help: every flag, its default and variable):
${rows(['start', 'service', 'demo'])}
Commands for a running peer (${cmd} help COMMAND, or COMMAND --help):
${rows([...CLIENT_COMMAND_NAMES])}
More:
${rows(['completion', 'help'])}${columns([['-V, --version', 'print the version (and whether a build or the sources run)']], terminalWidth(), term)}
Examples:
${[
  ['a peer on 127.0.0.1, data in ~/.peershare', 'start'],
  ["share a folder; prints each file's id", 'share ~/Music'],
  ['hits from the network, grouped by file', 'search lisbon tram'],
  ['download the file most peers hold, with progress', 'get --name lisbon tram --wait'],
]
  .map(([what, example]) => `  ${what}:\n    ${cmd} ${example}\n`)
  .join('')}
${COMMON_USAGE}
`;
}

async function completion(argv: string[]): Promise<number> {
  const [shell, ...extra] = argv;
  if (shell === '--help' || shell === '-h') {
    process.stdout.write(`Usage: peershare completion ${SHELLS.join('|')}

Prints a script that completes peershare's commands, flags and subcommands (and file names).
  bash:  source <(peershare completion bash)     (in ~/.bashrc)
  zsh:   source <(peershare completion zsh)      (in ~/.zshrc, after compinit)
`);
    return 0;
  }
  if (!SHELLS.includes(shell as (typeof SHELLS)[number]) || extra.length > 0)
    throw new UsageError(`peershare completion needs one of: ${SHELLS.join(', ')}`);
  const [{ commandTable }, { bashCompletion, zshCompletion }] = await Promise.all([
    import('./command-table.ts'),
    import('./completion.ts'),
  ]);
  const table = await commandTable();
  process.stdout.write(shell === 'bash' ? bashCompletion(table) : zshCompletion(table));
  return 0;
}

async function runCommand(command: Command, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(command, argv);
  if (values.help) {
    process.stdout.write(`${command.usage}\n\n${COMMON_USAGE}\n`);
    return 0;
  }
  const token = (values['api-token'] as string | undefined) ?? process.env.PEERSHARE_API_TOKEN;
  const { Api, resolveApiUrl } = await import('../client/cli/api.ts');
  const api = new Api(resolveApiUrl(values.api as string | undefined, process.env), token);
  return command.run({
    api,
    values,
    positionals,
    json: values.json === true,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  });
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (isClientCommand(first)) {
    process.exitCode = await runCommand(await loadClientCommand(first), rest);
  } else if (first === 'help' && rest.length > 0) {
    // `help COMMAND` is `COMMAND --help`.
    if (!isClientCommand(rest[0]) && !OTHER_COMMANDS.includes(rest[0]!))
      throw new UsageError(`unknown command "${rest[0]}"; try peershare --help`);
    await main([rest[0]!, '--help']);
  } else if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(await usage());
  } else if (first === '--version' || first === '-V') {
    process.stdout.write(versionLine());
  } else if (first === 'completion') {
    process.exitCode = await completion(rest);
  } else if (first === 'demo') {
    const { runDemo } = await import('../demo/demo.ts');
    await runDemo(rest);
  } else {
    const { runPeer } = await import('./peer-commands.ts');
    await runPeer(argv);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message =
    isPeershareError(err) || err instanceof UsageError ? err.message : String((err as Error)?.message ?? err);
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint =
    code === 'EADDRINUSE' ? ' (another peer is using this address; give this one its own --host 127.0.0.x)' : '';
  process.stderr.write(`peershare: ${message}${hint}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
