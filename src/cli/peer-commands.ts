/**
 * `peershare start` (a whole peer in this process) and `peershare service NAME` (one service
 * alone): the settings come from flags, PEERSHARE_* and the config file; the process runs until
 * SIGINT or SIGTERM. When no --join address given on the command line answers, the user is told
 * in one line and the peer starts anyway: Fetch keeps trying them in the background.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { envName, loadConfig, SETTINGS, type SettingName } from '../shared/config.ts';
import { PeershareError } from '../shared/errors.ts';
import { exitOnEscapedError, onShutdownSignal } from '../shared/lifecycle.ts';
import { createLogger, resolveLogFormat } from '../shared/logging.ts';
import { createPeerContext, SERVICE_NAMES, startPeer, type ServiceName } from '../peer/wiring.ts';
import { call } from '../client/adapters/http/http-json.ts';
import { webUiBuilt } from '../client/adapters/http/web-ui.ts';
import { helpColumns } from '../client/cli/format.ts';
import { terminalWidth } from '../client/cli/command.ts';
import { invocation } from '../client/cli/invocation.ts';
import { UsageError } from '../client/cli/usage-error.ts';

const JOIN_PROBE_MS = 3_000;

const SETTING_OPTIONS = Object.fromEntries(
  Object.values(SETTINGS).map((s: { flag: string; multiple?: boolean }) => [
    s.flag,
    { type: 'string' as const, multiple: s.multiple === true },
  ]),
) as Record<string, { type: 'string'; multiple: boolean }>;

export const PEER_OPTIONS = {
  ...SETTING_OPTIONS,
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** The one-line summaries of the commands that run peers, for help and completion. */
export const PEER_SUMMARIES = {
  start: 'run a whole peer (every service) in this process',
  service: `run one service alone: ${SERVICE_NAMES.join(', ')}`,
  demo: 'a demo network of peers with sample files on this machine (peershare demo --help)',
};

/** The kinds of default a setting has. */
type Shown = string | number | readonly string[] | undefined;

/** A setting's default as help shows it, or nothing when it has none worth showing. */
function shownDefault(name: SettingName): string {
  const setting: { default: Shown | (() => Shown) } = SETTINGS[name];
  const value = typeof setting.default === 'function' ? setting.default() : setting.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '';
  return ` (default: ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

/** `peershare start --help`: the commands that run a peer and every setting's flag, default and variable. */
export function peerUsage(): string {
  const settings = (Object.keys(SETTINGS) as SettingName[]).map((name): [string, string] => [
    `--${SETTINGS[name].flag} VALUE`,
    `${SETTINGS[name].doc}${shownDefault(name)} [${envName(name)}]`,
  ]);
  const width = terminalWidth();
  return `Usage:
${helpColumns(
  [
    ['peershare start [flags]', PEER_SUMMARIES.start],
    ['peershare service NAME [flags]', PEER_SUMMARIES.service],
    ['peershare demo [--peers N]', PEER_SUMMARIES.demo],
  ],
  width,
)}
Flags (flag > environment > config file > default):
${helpColumns([['--config FILE', 'JSON config file (default: DATA/config.json) [PEERSHARE_CONFIG]'], ...settings, ['-h, --help', 'show this help']], width)}
Examples:
  peershare start --host 127.0.0.2 --data /tmp/peer2
  peershare start --host 0.0.0.0 --join 192.0.2.10 --max-download-rate 10MiB
`;
}

/**
 * Ask each join address's Fetch API for /health; one answer is enough. When none answers the peer
 * still starts — Fetch keeps retrying with backoff and its status says "joining" (a network whose
 * peers start together must not fail because its bootstrap is a second late) — but the user is
 * told at once, in one line, in case the address is simply wrong.
 */
async function checkJoin(addresses: readonly string[]): Promise<void> {
  const failures: string[] = [];
  for (const address of addresses) {
    try {
      await call('GET', `http://${address}/health`, { timeoutMs: JOIN_PROBE_MS });
      return;
    } catch (err) {
      // The transport's code (ECONNREFUSED, ETIMEDOUT…) when nothing answered, else what went wrong.
      const cause = (err as PeershareError).details?.cause;
      failures.push(`${address} (${typeof cause === 'string' ? cause : (err as Error).message})`);
    }
  }
  process.stderr.write(
    `peershare: no peer answers at ${failures.join(', ')} yet; retrying in the background (${invocation()} status shows "joining")\n`,
  );
}

/** Run start or service; resolves once the peer is up (the process then lives until a signal). */
export async function runPeer(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: PEER_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; try peershare --help`);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(peerUsage());
    return;
  }
  let services: readonly ServiceName[];
  if (command === 'start') {
    if (rest.length > 0) throw new UsageError(`peershare start takes no arguments, got "${rest[0]}"`);
    services = SERVICE_NAMES;
  } else if (command === 'service') {
    if (!SERVICE_NAMES.includes(rest[0] as ServiceName) || rest.length !== 1)
      throw new UsageError(`peershare service needs one of: ${SERVICE_NAMES.join(', ')}`);
    services = [rest[0] as ServiceName];
  } else {
    throw new UsageError(
      command === undefined
        ? 'no command given; try peershare --help'
        : `unknown command "${command}"; try peershare --help`,
    );
  }

  const flags: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = (values as Record<string, unknown>)[SETTINGS[name].flag];
    if (value !== undefined) flags[name] = value;
  }
  const config = loadConfig({ flags, env: process.env, ...(values.config ? { configFile: values.config } : {}) });
  // Asked to join through a peer that is not there: say so now, rather than only retry in silence.
  if (flags.join !== undefined && services.includes('fetch') && config.join.length > 0) await checkJoin(config.join);
  const logger = createLogger(config.logLevel, {}, { format: resolveLogFormat(config.logFormat) });
  exitOnEscapedError(logger);
  const peer = await startPeer(createPeerContext(config, logger), services);
  const { files, fetch, search, download, client } = peer.services;
  // Before the line that says the peer is up: a Ctrl-C (or SIGTERM) right after it stops the peer
  // cleanly, its databases closed, instead of killing it.
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await peer.stop();
  });
  const line = (label: string, value: string | undefined, hint = '') =>
    value ? `  ${label.padEnd(12)} ${value}${hint}\n` : '';
  process.stderr.write(
    `peershare peer ${peer.context.identity.peerId}\n` +
      line(
        'web UI',
        client ? `${client.url}/` : undefined,
        webUiBuilt() ? '  (open it in a browser)' : '  (not built in this checkout: npm run build:web)',
      ) +
      line('client API', client?.url, '  (the peershare commands talk to it)') +
      line('files API', files?.url, `  (OpenAPI: ${files?.url}/openapi.json)`) +
      line('fetch API', fetch?.url, `  (peers: ${fetch?.url}/peers; join: ${config.join.join(', ') || 'none'})`) +
      line('search API', search?.apiUrl, `  (try ${search?.apiUrl}/search?q=WORDS)`) +
      line('peer links', search?.searchAddress) +
      line('download API', download?.url, `  (queue: ${config.amqpUrl ? 'RabbitMQ' : 'embedded'})`) +
      `  data         ${config.dataDir}\n  Ctrl-C stops it.\n`,
  );
}
