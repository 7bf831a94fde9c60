/**
 * The `peershare` command. `start` and `service NAME` run a peer (peer-commands.ts), `demo` a
 * network of them (demo.ts); every other command talks to a running peer's Client API (commands/). Output is for people, or one JSON
 * document with --json; errors are one line on stderr with a non-zero exit (2 for usage).
 */
import { isPeershareError } from '../../shared/errors.ts';
import { Api, resolveApiUrl } from './api.ts';
import { COMMON_USAGE, parseCommandArgs, type Command } from './command.ts';
import { downloads } from './commands/downloads.ts';
import { files } from './commands/files.ts';
import { get } from './commands/get.ts';
import { peers } from './commands/peers.ts';
import { search } from './commands/search.ts';
import { share } from './commands/share.ts';
import { status } from './commands/status.ts';
import { UsageError } from './usage-error.ts';
import { versionLine } from './version.ts';

const COMMANDS: Command[] = [share, search, get, downloads, files, peers, status];

async function usage(): Promise<string> {
  // Loaded only here and for start/service: it pulls in every service, which the client commands do not need.
  const { peerUsage } = await import('./peer-commands.ts');
  const commands = COMMANDS.map((c) => `  peershare ${c.name.padEnd(10)} ${c.summary}`).join('\n');
  return `peershare: decentralized peer-to-peer file sharing

${peerUsage()}
Commands for a running peer (peershare COMMAND --help for each):
${commands}

${COMMON_USAGE}

peershare -V, --version  print the version (and whether a build or the sources run)
`;
}

async function runCommand(command: Command, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(command, argv);
  if (values.help) {
    process.stdout.write(`${command.usage}\n\n${COMMON_USAGE}\n`);
    return 0;
  }
  const token = (values['api-token'] as string | undefined) ?? process.env.PEERSHARE_API_TOKEN;
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
  const command = COMMANDS.find((c) => c.name === first);
  if (command) {
    process.exitCode = await runCommand(command, rest);
  } else if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(await usage());
  } else if (first === '--version' || first === '-V') {
    process.stdout.write(versionLine());
  } else if (first === 'demo') {
    const { runDemo } = await import('./demo.ts');
    await runDemo(rest);
  } else {
    const { runPeer } = await import('./peer-commands.ts');
    await runPeer(argv);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = isPeershareError(err) || err instanceof UsageError ? err.message : String((err as Error)?.message ?? err);
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint = code === 'EADDRINUSE' ? ' (another peer is using this address; give this one its own --host 127.0.0.x)' : '';
  process.stderr.write(`peershare: ${message}${hint}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
