/**
 * `peershare demo` (`npm run demo`): a small live network on this machine, to see peershare work
 * within a minute. Several whole peers in this one process, each on its own 127.0.0.x address
 * with the default ports and its own temporary data folder, sharing generated sample files and
 * joined through one another. Prints a peer's web UI address and commands to try; Ctrl-C (or
 * SIGTERM) stops every peer and deletes the temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { addressAfter, startDemoPeers, stopDemoPeers, waitForDemoNetwork, type DemoPeer } from './demo-network.ts';
import { onShutdownSignal } from '../shared/lifecycle.ts';
import { createLogger, LOG_FORMATS, resolveLogFormat, type LogFormatSetting } from '../shared/logging.ts';
import { webUiBuilt } from '../client/adapters/http/web-ui.ts';
import { shortId } from '../client/cli/format.ts';
import { invocation } from '../client/cli/invocation.ts';
import { UsageError } from '../client/cli/usage-error.ts';

const DEFAULT_PEERS = 5;
const DEFAULT_FIRST_HOST = '127.0.0.2';
/** How long the peers get to find each other before the demo says it is ready anyway. */
const CONVERGE_TIMEOUT_MS = 60_000;

export const DEMO_USAGE = `Usage: peershare demo [--peers N] [--host FIRST_ADDRESS] [--log-level LEVEL] [--log-format FORMAT]

Starts a demo network on this machine: N peers (default ${DEFAULT_PEERS}), each on its own loopback
address from FIRST_ADDRESS on (default ${DEFAULT_FIRST_HOST}, then .3, .4, ...) with the default ports
and its own temporary data folder, sharing sample files. Prints a peer's web UI address and a few
commands to try. Ctrl-C stops every peer and deletes the temporary data.
Logs (level warn by default) go to stdout, human-readable on a terminal and JSON otherwise (or as
--log-format human|json|auto says); what the demo says goes to stderr.`;

export const DEMO_OPTIONS = {
  peers: { type: 'string' },
  host: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

function parse(
  argv: string[],
): { peers: number; firstHost: string; logLevel: string; logFormat: LogFormatSetting } | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: DEMO_OPTIONS,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; try peershare demo --help`);
  }
  if (values.help) return undefined;
  const peers = Number(values.peers ?? DEFAULT_PEERS);
  if (!Number.isInteger(peers) || peers < 2 || peers > 20)
    throw new UsageError(`--peers: expected an integer from 2 to 20, got "${values.peers}"`);
  const firstHost = values.host ?? DEFAULT_FIRST_HOST;
  if (!isIPv4(firstHost) || !firstHost.startsWith('127.'))
    throw new UsageError(`--host: expected a loopback address such as 127.0.0.2, got "${firstHost}"`);
  if (!addressAfter(firstHost, peers - 1).startsWith('127.'))
    throw new UsageError(`--host: ${peers} peers from ${firstHost} run past 127.255.255.255`);
  const logLevel = values['log-level'] ?? 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new UsageError(`--log-level: expected one of fatal, error, warn, info, debug, trace, silent`);
  const logFormat = (values['log-format'] ?? 'auto') as LogFormatSetting;
  if (!LOG_FORMATS.includes(logFormat)) throw new UsageError(`--log-format: expected one of ${LOG_FORMATS.join(', ')}`);
  return { peers, firstHost, logLevel, logFormat };
}

/** Run the demo; resolves once it is up (the process then lives until a signal). */
export async function runDemo(argv: string[]): Promise<void> {
  const options = parse(argv);
  if (!options) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return;
  }
  const say = (text: string) => void process.stderr.write(text);
  const root = mkdtempSync(join(tmpdir(), 'peershare-demo-'));
  // However the process ends (short of SIGKILL), the temporary data goes with it.
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  process.once('exit', removeRoot);
  const peers: DemoPeer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopDemoPeers(peers).finally(removeRoot));
  onShutdownSignal(async () => {
    say(`peershare demo: stopping ${peers.length} peer${peers.length === 1 ? '' : 's'}\n`);
    await stop();
    say(`peershare demo: stopped; deleted ${root}\n`);
  });

  const last = addressAfter(options.firstHost, options.peers - 1);
  say(`peershare demo: ${options.peers} peers on ${options.firstHost} to ${last}, data in ${root} (deleted on exit)\n`);
  try {
    await startDemoPeers(
      {
        peers: options.peers,
        firstHost: options.firstHost,
        root,
        logger: createLogger(options.logLevel, {}, { format: resolveLogFormat(options.logFormat), showPeer: true }),
      },
      peers,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  for (const [i, p] of peers.entries())
    say(`  peer ${i + 1}  ${p.host.padEnd(15)}  ${shortId(p.peerId)}  ${p.files} files\n`);
  say('  waiting for the peers to find each other...\n');
  const linked = await waitForDemoNetwork(peers, CONVERGE_TIMEOUT_MS);

  const api = peers[0]!.host;
  const cmd = invocation();
  const files = peers.reduce((n, p) => n + p.files, 0);
  say(
    `peershare demo: ready: ${peers.length} peers, ${files} files shared` +
      (linked
        ? ', every peer linked to the others\n'
        : '; some peers are still finding each other (a search may miss them for a moment)\n') +
      `  web UI   ${peers[0]!.running.services.client!.url}/${webUiBuilt() ? '' : '  (not built in this checkout: npm run build:web)'}\n` +
      `  try      ${cmd} search lisbon --api ${api}\n` +
      `           ${cmd} get --name lisbon tram --wait --api ${api}\n` +
      `           ${cmd} peers --api ${api}\n` +
      `           (every peer has its web UI and API: --api ${addressAfter(options.firstHost, 1)} ... ${last})\n` +
      `  Ctrl-C stops every peer and deletes their data.\n`,
  );
}
