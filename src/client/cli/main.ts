/**
 * The `peershare` command. `start` runs a whole peer in this process; `service NAME` runs one
 * service alone. Errors are one line on stderr with a non-zero exit.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { envName, loadConfig, SETTINGS, type SettingName } from '../../shared/config.ts';
import { isPeershareError } from '../../shared/errors.ts';
import { onShutdownSignal } from '../../shared/lifecycle.ts';
import { createLogger } from '../../shared/logging.ts';
import { createPeerContext, SERVICE_NAMES, startPeer, type ServiceName } from '../../peer/wiring.ts';

const SETTING_OPTIONS = Object.fromEntries(
  Object.values(SETTINGS).map((s: { flag: string; multiple?: boolean }) => [s.flag, { type: 'string' as const, multiple: s.multiple === true }]),
) as Record<string, { type: 'string'; multiple: boolean }>;

const OPTIONS = {
  ...SETTING_OPTIONS,
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

function usage(): string {
  const settings = (Object.keys(SETTINGS) as SettingName[])
    .map((name) => `  --${SETTINGS[name].flag.padEnd(16)} ${SETTINGS[name].doc} [${envName(name)}]`)
    .join('\n');
  return `peershare: decentralized peer-to-peer file sharing

Usage:
  peershare start [flags]            run a whole peer (every service) in this process
  peershare service <name> [flags]   run one service alone: ${SERVICE_NAMES.join(', ')}

Flags (flag > environment > config file > default):
  --config FILE      JSON config file (default: <data>/config.json) [PEERSHARE_CONFIG]
${settings}
  -h, --help         show this help
`;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(usage());
    return;
  }
  let services: readonly ServiceName[];
  if (command === 'start') {
    services = SERVICE_NAMES;
  } else if (command === 'service') {
    const name = rest[0];
    if (!SERVICE_NAMES.includes(name as ServiceName)) {
      throw new UsageError(`peershare service needs one of: ${SERVICE_NAMES.join(', ')}`);
    }
    services = [name as ServiceName];
  } else {
    throw new UsageError(`unknown command "${command}"; try peershare --help`);
  }

  const flags: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = (values as Record<string, unknown>)[SETTINGS[name].flag];
    if (value !== undefined) flags[name] = value;
  }
  const config = loadConfig({ flags, env: process.env, ...(values.config ? { configFile: values.config } : {}) });
  const logger = createLogger(config.logLevel);
  const peer = await startPeer(createPeerContext(config, logger), services);
  const { files, fetch, search, download } = peer.services;
  const line = (label: string, value: string | undefined, hint = '') => (value ? `  ${label.padEnd(12)} ${value}${hint}\n` : '');
  process.stderr.write(
    `peershare peer ${peer.context.identity.peerId}\n` +
      line('files API', files?.url, `  (OpenAPI: ${files?.url}/openapi.json)`) +
      line('fetch API', fetch?.url, `  (peers: ${fetch?.url}/peers; join: ${config.join.join(', ') || 'none'})`) +
      line('search API', search?.apiUrl, `  (try ${search?.apiUrl}/search?q=WORDS)`) +
      line('peer links', search?.searchAddress) +
      line('download API', download?.url, `  (queue: ${config.amqpUrl ? 'RabbitMQ' : 'embedded'})`) +
      `  data         ${config.dataDir}\n  Ctrl-C stops it.\n`,
  );
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await peer.stop();
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = isPeershareError(err) || err instanceof UsageError ? err.message : String((err as Error)?.message ?? err);
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint = code === 'EADDRINUSE' ? ' (another peer is using this address; give this one its own --host 127.0.0.x)' : '';
  process.stderr.write(`peershare: ${message}${hint}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
