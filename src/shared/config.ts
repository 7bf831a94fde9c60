/**
 * One typed, validated configuration for a peer. Each setting is declared once in SETTINGS with
 * its flag, environment variable, parser and default; precedence is
 * command-line flag > PEERSHARE_* environment > config file (JSON) > default.
 * A bad value is a CONFIG_INVALID error whose message is one line naming the setting.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PeershareError } from './errors.ts';
import { fsError } from './fs-errors.ts';
import { DEFAULT_CHUNK_SIZE } from './content.ts';
import { CLIENT_DEFAULTS, DOWNLOAD_DEFAULTS, FETCH_DEFAULTS, MAX_WANT, SEARCH_DEFAULTS } from './defaults.ts';
import { MAX_ROUTE_LEVELS } from '../protocol/limits.ts';
import { HEAP_GROWTH_PERCENT } from './heap-growth.ts';
import { isLoopback } from './net.ts';
import { MAX_ADVERTISED_ADDRESSES } from './peer-address.ts';
import { HANDSHAKE_TIMEOUT_MS, MAX_UNPROVEN, MAX_UNPROVEN_PER_ADDRESS } from './peer-port.ts';
import { parseSize } from './sizes.ts';
import { LOG_FORMATS, type LogFormatSetting } from './log-format.ts';

type Parser<T> = (raw: unknown) => T;

interface Setting<T> {
  /** Command-line flag, without the leading dashes. */
  readonly flag: string;
  /** What the setting is for, for --help and the README. */
  readonly doc: string;
  readonly parse: Parser<T>;
  readonly default: T | (() => T);
  /** The flag may be given several times (its values form a list). */
  readonly multiple?: boolean;
}

class InvalidValue extends Error {}

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidValue(`expected an integer from ${min} to ${max}`);
    return n;
  };

/** A TCP port; 0 lets the system pick a free one (the service reports the port it bound). */
const port = int(0, 65535);
/** A port another host dials, when it is not the one bound (a router forwarding another port): 1-65535, or unset. */
const optionalDialPort: Parser<number | undefined> = (raw) =>
  raw === undefined || raw === '' ? undefined : int(1, 65535)(raw);

const bytes =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (typeof raw === 'string') {
      const n = parseSize(raw);
      if (n === undefined) throw new InvalidValue('expected a size such as 1048576, 512KiB, 1MiB or 2GiB');
      return int(min, max)(n);
    }
    return int(min, max)(raw);
  };

const text: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidValue('expected a non-empty string');
  return raw;
};

const optionalText: Parser<string | undefined> = (raw) => (raw === undefined || raw === '' ? undefined : text(raw));

const ipAddress: Parser<string> = (raw) => {
  if (typeof raw !== 'string' || isIP(raw) === 0)
    throw new InvalidValue('expected an IPv4 or IPv6 address such as 127.0.0.5');
  return raw;
};

/**
 * One address other peers are told to dial: an IP address or a DNS name, never a wildcard (see
 * advertisedHosts).
 */
const advertisedHost: Parser<string> = (raw) => {
  if (typeof raw !== 'string') throw new InvalidValue('expected an IP address or a host name such as peer.example.org');
  const value = raw.trim().replace(/^\[(.*)\]$/, '$1');
  if (value === '0.0.0.0' || value === '::')
    throw new InvalidValue(
      'a wildcard is an address to listen on, not one to dial: advertise the address other peers reach this host at',
    );
  if (isIP(value) !== 0) return value;
  if (
    value.length > 253 ||
    !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(value)
  ) {
    throw new InvalidValue(
      `expected an IP address or a host name such as peer.example.org, without port, got "${value}"`,
    );
  }
  return value.toLowerCase();
};

/**
 * The addresses other peers are told to dial, in the order they should try them (repeated flag,
 * comma-separated in a flag or the environment, or a JSON array in the config file), or none (then
 * the bound address, or one learned from other peers when bound to a wildcard: see
 * advertisedAddresses in src/peer/context.ts). At most MAX_ADVERTISED_ADDRESSES, each once; a
 * loopback address only alone with other loopback ones, since other hosts refuse a record that names one.
 */
const advertisedHosts: Parser<string[]> = (raw) => {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : undefined;
  const items = list?.flatMap((item: unknown) => (typeof item === 'string' ? item.split(',') : [item]));
  if (!items) throw new InvalidValue('expected IP addresses or host names separated by commas');
  const hosts = items.filter((item) => typeof item !== 'string' || item.trim() !== '').map(advertisedHost);
  const repeated = hosts.find((host, i) => hosts.indexOf(host) !== i);
  if (repeated !== undefined) throw new InvalidValue(`"${repeated}" is given twice`);
  if (hosts.length > MAX_ADVERTISED_ADDRESSES)
    throw new InvalidValue(
      `at most ${MAX_ADVERTISED_ADDRESSES} addresses (a peer record lists no more), got ${hosts.length}`,
    );
  const loopback = hosts.filter((host) => isLoopback(host) || host === 'localhost');
  if (loopback.length > 0 && loopback.length < hosts.length) {
    throw new InvalidValue(
      `a loopback address (${loopback[0]}) cannot be advertised beside others: peers on other hosts refuse a record that names one`,
    );
  }
  return hosts;
};

/** A loopback address, or nothing (then derived from --host: see apiHostOf in src/peer/context.ts). */
const loopbackAddress: Parser<string | undefined> = (raw) => {
  if (raw === undefined || raw === '') return undefined;
  const ip = ipAddress(raw);
  if (!(ip.startsWith('127.') || ip === '::1')) {
    throw new InvalidValue(
      "expected a loopback address such as 127.0.0.1: the Client and Download APIs carry the API token in clear and serve only this machine (reach another machine's web UI through ssh -L 7870:127.0.0.1:7870 THAT_HOST)",
    );
  }
  return ip;
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    if (typeof raw !== 'string' || !values.includes(raw as T))
      throw new InvalidValue(`expected one of ${values.join(', ')}`);
    return raw as T;
  };

const absolutePath: Parser<string> = (raw) => resolve(text(raw));

/**
 * A list of neighbour addresses: "host[:port]" items, comma-separated in a flag or an environment
 * variable, or a JSON array in the config file. A missing port is the default Search port.
 */
const addressList =
  (defaultPort: number): Parser<string[]> =>
  (raw) => {
    const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : undefined;
    const items = list?.flatMap((item: unknown) => (typeof item === 'string' ? item.split(',') : [item]));
    if (!items) throw new InvalidValue('expected host[:port] addresses separated by commas');
    return items
      .map((item) => (typeof item === 'string' ? item.trim() : ''))
      .filter((item) => item.length > 0)
      .map((item) => {
        const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(item) ?? /^([^:\s]+)(?::(\d{1,5}))?$/.exec(item);
        const p = Number(m?.[2] ?? defaultPort);
        if (!m || !(p >= 1 && p <= 65535))
          throw new InvalidValue(`expected host[:port] addresses separated by commas, got "${item}"`);
        return isIP(m[1]!) === 6 ? `[${m[1]}]:${p}` : `${m[1]}:${p}`;
      });
  };

/**
 * Host names (not IP addresses: those always pass) that the peer's APIs answer to: a name that
 * resolves to this host, comma-separated in a flag or the environment, or a JSON array.
 */
const hostNames: Parser<string[]> = (raw) => {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : undefined;
  const items = list?.flatMap((item: unknown) => (typeof item === 'string' ? item.split(',') : [item]));
  if (!items) throw new InvalidValue('expected host names separated by commas');
  return items
    .map((item) => (typeof item === 'string' ? item.trim().toLowerCase() : ''))
    .filter((item) => item.length > 0)
    .map((item) => {
      if (
        item.length > 253 ||
        !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(item)
      ) {
        throw new InvalidValue(`expected host names such as peer.example.org, without port, got "${item}"`);
      }
      return item;
    });
};

export const DEFAULT_PORTS = {
  clientPort: 7870,
  filesPort: 7871,
  searchPort: 7872,
  searchApiPort: 7873,
  fetchPort: 7874,
  downloadPort: 7875,
} as const;

export const SETTINGS = {
  host: {
    flag: 'host',
    doc: 'address every service of this peer listens on (the Client and Download APIs: see --api-host)',
    parse: ipAddress,
    default: '127.0.0.1',
  },
  advertise: {
    flag: 'advertise',
    doc: `address other peers dial to reach this one, written in its signed record (each service keeps its port); repeatable or comma-separated, up to ${MAX_ADVERTISED_ADDRESSES}, IPv4, IPv6 or host names, tried by others in the order given; default: --host, or, bound to 0.0.0.0 or ::, the address other peers see it at, once one of them dialled it back`,
    parse: advertisedHosts,
    default: () => [],
    multiple: true,
  },
  advertiseFilesPort: {
    flag: 'advertise-files-port',
    doc: 'the port other peers dial for File Management at the --advertise addresses, when a router forwards another port than --files-port to it (default: --files-port)',
    parse: optionalDialPort,
    default: undefined,
  },
  advertiseSearchPort: {
    flag: 'advertise-search-port',
    doc: 'the port other peers dial for Search links at the --advertise addresses (default: --search-port)',
    parse: optionalDialPort,
    default: undefined,
  },
  advertiseFetchPort: {
    flag: 'advertise-fetch-port',
    doc: 'the port other peers dial for Fetch at the --advertise addresses (default: --fetch-port)',
    parse: optionalDialPort,
    default: undefined,
  },
  apiHost: {
    flag: 'api-host',
    doc: 'loopback address of the Client API (web UI) and the Download API; default: --host when it is loopback, else 127.0.0.1 (::1 for an IPv6 --host)',
    parse: loopbackAddress,
    default: undefined,
  },
  dataDir: {
    flag: 'data',
    doc: 'data directory: identity key, catalog, uploaded files, queue',
    parse: absolutePath,
    default: () => join(homedir(), '.peershare'),
  },
  logLevel: {
    flag: 'log-level',
    doc: 'log level',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    default: 'info',
  },
  logFormat: {
    flag: 'log-format',
    doc: 'logs on stdout: human (one readable line each), json (pino), or auto: human on a terminal, else json',
    parse: oneOf(...LOG_FORMATS),
    default: 'auto' satisfies LogFormatSetting,
  },
  clientPort: {
    flag: 'client-port',
    doc: 'Client service port (web UI and API)',
    parse: port,
    default: DEFAULT_PORTS.clientPort,
  },
  filesPort: {
    flag: 'files-port',
    doc: 'File Management service port (REST API)',
    parse: port,
    default: DEFAULT_PORTS.filesPort,
  },
  searchPort: {
    flag: 'search-port',
    doc: 'Search service port (peer links, TCP)',
    parse: port,
    default: DEFAULT_PORTS.searchPort,
  },
  searchApiPort: {
    flag: 'search-api-port',
    doc: 'Search service local API port',
    parse: port,
    default: DEFAULT_PORTS.searchApiPort,
  },
  fetchPort: { flag: 'fetch-port', doc: 'Fetch service port', parse: port, default: DEFAULT_PORTS.fetchPort },
  downloadPort: {
    flag: 'download-port',
    doc: 'Download service port',
    parse: port,
    default: DEFAULT_PORTS.downloadPort,
  },
  join: {
    flag: 'join',
    doc: 'known peers to join through, host[:port] of their Fetch API (repeatable, or separated by commas)',
    parse: addressList(DEFAULT_PORTS.fetchPort),
    default: () => [],
    multiple: true,
  },
  nat: {
    flag: 'nat',
    doc: 'ask the home router to forward the peer ports (files, search, fetch) from the same ports on its external address: off, or upnp (UPnP IGD); the address is advertised only once another host dialled this peer back there',
    parse: oneOf('off', 'upnp'),
    default: 'off',
  },
  fetchInterval: {
    flag: 'fetch-interval',
    doc: 'ms between Fetch rounds',
    parse: int(100, 3_600_000),
    default: FETCH_DEFAULTS.intervalMs,
  },
  fetchFanout: {
    flag: 'fetch-fanout',
    doc: 'known peers asked per Fetch round',
    parse: int(1, 64),
    default: FETCH_DEFAULTS.fanout,
  },
  // Fetch admission (src/fetch/domain/admission.ts; defaults from shared/defaults.ts, which DEFAULT_FETCH_CONFIG spreads too).
  fetchMaxPeers: {
    flag: 'fetch-max-peers',
    doc: 'most verified peers the Fetch table holds',
    parse: int(1, 1_000_000),
    default: FETCH_DEFAULTS.maxPeers,
  },
  fetchMaxRecordsPerAnswer: {
    flag: 'fetch-max-records-per-answer',
    doc: 'most peer records one Fetch answer carries (a first contact gets the table in parts of this many)',
    parse: int(1, 1_000_000),
    default: FETCH_DEFAULTS.maxRecordsPerAnswer,
  },
  fetchMaxUnverified: {
    flag: 'fetch-max-unverified',
    doc: 'most peer records held unverified, waiting for this peer to reach their address (the oldest of the biggest origin is dropped first)',
    parse: int(1, 1_000_000),
    default: FETCH_DEFAULTS.maxUnverified,
  },
  fetchNewPerAddress: {
    flag: 'fetch-new-per-address',
    doc: 'new peer identities one IP address may announce per minute',
    parse: int(1, 100_000),
    default: FETCH_DEFAULTS.newPerAddressPerMinute,
  },
  fetchNewPerSubnet: {
    flag: 'fetch-new-per-subnet',
    doc: 'new peer identities one subnet may announce per minute',
    parse: int(1, 100_000),
    default: FETCH_DEFAULTS.newPerSubnetPerMinute,
  },
  fetchSubnetV4: {
    flag: 'fetch-subnet-v4',
    doc: 'IPv4 prefix length of a subnet for the rate above (127.x addresses each count alone)',
    parse: int(8, 32),
    default: FETCH_DEFAULTS.subnetBitsV4,
  },
  fetchSubnetV6: {
    flag: 'fetch-subnet-v6',
    doc: 'IPv6 prefix length of a subnet for the rate above',
    parse: int(16, 128),
    default: FETCH_DEFAULTS.subnetBitsV6,
  },
  fetchVerifyPerRound: {
    flag: 'fetch-verify-per-round',
    doc: "Fetch rounds' budget of probes to unverified peers' addresses, on top of the fanout",
    parse: int(0, 1_024),
    default: FETCH_DEFAULTS.verifyPerRound,
  },
  fetchVerifyAttempts: {
    flag: 'fetch-verify-attempts',
    doc: 'failed probes of an address after which the unverified records naming it are dropped',
    parse: int(1, 100),
    default: FETCH_DEFAULTS.verifyAttempts,
  },
  fetchVerifyBackoff: {
    flag: 'fetch-verify-backoff',
    doc: 'rounds an address waits after its second failed probe, doubled at each further failure',
    parse: int(1, 100_000),
    default: FETCH_DEFAULTS.verifyBackoffRounds,
  },
  fetchSyncTimeout: {
    flag: 'fetch-sync-timeout',
    doc: "ms a request to another peer's Fetch (sync, leave, dial-back) may take, connection and TLS handshake included",
    parse: int(100, 60_000),
    default: FETCH_DEFAULTS.syncTimeoutMs,
  },
  neighbours: {
    multiple: true,
    flag: 'neighbours',
    doc: 'Search peers to link to, host[:port] separated by commas, besides the live peers Fetch knows',
    parse: addressList(DEFAULT_PORTS.searchPort),
    default: () => [],
  },
  // How every peer port admits connections before they prove an id (shared/peer-port.ts; defaults equal its constants).
  peerHandshakeTimeout: {
    flag: 'peer-handshake-timeout',
    doc: 'ms within which a connection to a peer port must send its first byte and finish the TLS handshake',
    parse: int(100, 600_000),
    default: HANDSHAKE_TIMEOUT_MS,
  },
  peerMaxUnprovenPerAddress: {
    flag: 'peer-max-unproven-per-address',
    doc: 'connections from one remote address held at once on a peer port before they prove a peer id (more are closed at accept)',
    parse: int(1, 100_000),
    default: MAX_UNPROVEN_PER_ADDRESS,
  },
  peerMaxUnproven: {
    flag: 'peer-max-unproven',
    doc: 'connections held at once on a peer port before they prove a peer id, from all addresses',
    parse: int(1, 1_000_000),
    default: MAX_UNPROVEN,
  },
  heapGrowth: {
    flag: 'heap-growth',
    doc: 'percent the JavaScript heap may grow past what the last full garbage collection kept before the next one (at least 8 MiB); 0 leaves it to V8, which lets a flood of requests pile up garbage to several times the live heap',
    parse: int(0, 1_000),
    default: HEAP_GROWTH_PERCENT,
  },
  maxLinks: {
    flag: 'max-links',
    doc: 'most Search overlay links kept at once',
    parse: int(1, 1024),
    default: SEARCH_DEFAULTS.maxLinks,
  },
  maxLinksPerIp: {
    flag: 'max-links-per-ip',
    doc: 'most Search links (or handshakes) from one remote IP address',
    parse: int(1, 1024),
    default: SEARCH_DEFAULTS.maxLinksPerIp,
  },
  maxLinksPerSubnet: {
    flag: 'max-links-per-subnet',
    doc: 'most inbound Search links (or handshakes) from one subnet: /24 IPv4, /64 IPv6 (every 127.x address counts as its own)',
    parse: int(1, 1024),
    default: SEARCH_DEFAULTS.maxLinksPerSubnet,
  },
  outboundLinks: {
    flag: 'outbound-links',
    doc: 'Search link slots kept for links this peer dials itself, to neighbours it picks at random (inbound links never take them; at most half of --max-links)',
    parse: int(0, 512),
    default: SEARCH_DEFAULTS.outboundLinks,
  },
  frameTimeout: {
    flag: 'frame-timeout',
    doc: 'ms within which a Search link frame must complete once its first byte arrived',
    parse: int(100, 600_000),
    default: SEARCH_DEFAULTS.frameTimeoutMs,
  },
  queryAcceptRate: {
    flag: 'query-accept-rate',
    doc: 'queries per second accepted from each Search neighbour (bursts of twice that); a neighbour that keeps sending more is cut off',
    parse: int(1, 100_000),
    default: SEARCH_DEFAULTS.queriesPerSecond,
  },
  searchRate: {
    flag: 'search-rate',
    doc: "searches per second this peer's own users may start (bursts of twice that); at most half of --query-accept-rate, so neighbours never cut it off; more are answered 429",
    parse: int(1, 100_000),
    default: SEARCH_DEFAULTS.searchesPerSecond,
  },
  searchTtl: {
    flag: 'search-ttl',
    doc: 'largest TTL of a search query (links it may cross), sent and accepted',
    parse: int(1, 16),
    default: SEARCH_DEFAULTS.maxTtl,
  },
  searchRouteLevels: {
    flag: 'search-route-levels',
    doc: 'levels of query routing table sent to Search neighbours (feature qrp): the last this many hops of a query go only to neighbours whose table may match it; 0 turns query routing off (a plain flood)',
    parse: int(0, MAX_ROUTE_LEVELS),
    default: SEARCH_DEFAULTS.routeLevels,
  },
  searchTimeout: {
    flag: 'search-timeout',
    doc: 'default search deadline in ms',
    parse: int(100, 60_000),
    default: SEARCH_DEFAULTS.timeoutMs,
  },
  // How `get --name` searches and votes (src/client/domain/pick.ts: isCloseVote, needsWiderSearch).
  getWant: {
    flag: 'get-want',
    doc: "distinct other peers get --name's search wants to answer: it widens while fewer did (dynamic querying: TTL 2, then 4, then --search-ttl, a step a second, faster under a short --timeout) and ends once that many did; 0: one flood at the full TTL",
    parse: int(0, MAX_WANT),
    default: CLIENT_DEFAULTS.getWant,
  },
  getVoteMargin: {
    flag: 'get-vote-margin',
    doc: 'counted holders the file get --name picks must have over the runner-up for its vote to be clear; a closer vote, when the search ended at --get-want answers, asks for the wider search (the full TTL) before picking',
    parse: int(1, 10_000),
    default: CLIENT_DEFAULTS.getVoteMargin,
  },
  chunkSize: {
    flag: 'chunk-size',
    doc: 'chunk size for newly hashed files (16KiB to 16MiB)',
    parse: bytes(16 * 1024, 16 * 1024 * 1024),
    default: DEFAULT_CHUNK_SIZE,
  },
  maxUploadBytes: {
    flag: 'max-upload',
    doc: 'largest accepted upload',
    parse: bytes(1, Number.MAX_SAFE_INTEGER),
    default: 64 * 2 ** 30,
  },
  amqpUrl: {
    flag: 'amqp',
    doc: 'RabbitMQ URL for download jobs (amqp://user:pass@host:5672); the embedded queue when unset',
    parse: optionalText,
    default: undefined,
  },
  downloadsDir: {
    flag: 'downloads',
    doc: 'folder finished downloads are saved in (default: <data>/downloads)',
    parse: (raw: unknown) => (raw === undefined || raw === '' ? undefined : absolutePath(raw)),
    default: undefined,
  },
  maxDownloads: {
    flag: 'max-downloads',
    doc: 'downloads running at once',
    parse: int(1, 64),
    default: DOWNLOAD_DEFAULTS.maxDownloads,
  },
  downloadAttempts: {
    flag: 'download-attempts',
    doc: 'tries of a download whose sources fail before it is marked failed (waits 2 s, 4 s, 8 s… up to a minute between them: 8 tries span about 3 minutes)',
    parse: int(1, 100),
    default: DOWNLOAD_DEFAULTS.attempts,
  },
  maxDownloadRate: {
    flag: 'max-download-rate',
    doc: 'bandwidth cap for all downloads together, bytes per second (e.g. 10MiB); 0: none',
    parse: bytes(0, Number.MAX_SAFE_INTEGER),
    default: 0,
  },
  maxUploadRate: {
    flag: 'max-upload-rate',
    doc: 'bandwidth cap for all file content sent to other peers together, bytes per second (e.g. 2MiB); 0: none',
    parse: bytes(0, Number.MAX_SAFE_INTEGER),
    default: 0,
  },
  allowedHosts: {
    flag: 'allowed-hosts',
    doc: "host names the peer's APIs answer to besides IP addresses and localhost (comma-separated; any other Host header is refused)",
    parse: hostNames,
    default: () => [],
    multiple: true,
  },
  apiToken: {
    flag: 'api-token',
    doc: 'token required by routes that change state when a service listens on a non-loopback address',
    parse: optionalText,
    default: undefined,
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
export type Config = { readonly [K in keyof Settings]: ReturnType<Settings[K]['parse']> } & {
  /** The config file read (or that would be read: it need not exist), where settings changed at run time are kept. */
  readonly configFile: string;
};
export type SettingName = keyof Settings;

/** The environment variable of a setting: PEERSHARE_ + its flag in upper snake case. */
export function envName(name: SettingName): string {
  return `PEERSHARE_${SETTINGS[name].flag.toUpperCase().replace(/-/g, '_')}`;
}

export interface ConfigSources {
  /** Values from command-line flags, keyed by setting name. */
  flags?: Partial<Record<SettingName, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** A JSON config file; when absent, `<dataDir>/config.json` is read if it exists. */
  configFile?: string;
}

/** Resolve every setting from its sources, in precedence order. Throws CONFIG_INVALID naming the setting. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {};
  const env = sources.env ?? {};
  const explicitFile = sources.configFile ?? env.PEERSHARE_CONFIG;

  const resolveOne = (name: SettingName, file: Record<string, unknown>): unknown => {
    const setting: Setting<unknown> = SETTINGS[name];
    const candidates: Array<[string, unknown]> = [
      [`--${setting.flag}`, flags[name]],
      [envName(name), env[envName(name)]],
      [`config file setting "${name}"`, file[name]],
    ];
    for (const [source, raw] of candidates) {
      if (raw === undefined) continue;
      try {
        return setting.parse(raw);
      } catch (err) {
        if (!(err instanceof InvalidValue)) throw err;
        throw new PeershareError(
          'CONFIG_INVALID',
          `invalid ${name} (${source}): ${err.message}, got ${JSON.stringify(raw)}`,
          {
            setting: name,
          },
        );
      }
    }
    return typeof setting.default === 'function' ? (setting.default as () => unknown)() : setting.default;
  };

  // The data directory decides where the default config file lives, so it is resolved first.
  const preliminaryDataDir = resolveOne('dataDir', {}) as string;
  const configFile = resolve(explicitFile ?? join(preliminaryDataDir, 'config.json'));
  const file = readConfigFile(configFile, explicitFile !== undefined);
  const config: Record<string, unknown> = { configFile };
  for (const name of Object.keys(SETTINGS) as SettingName[]) config[name] = resolveOne(name, file);
  // A port to advertise is a port at the advertised addresses: without one it would say nothing.
  const portsWithoutAddress = (['advertiseFilesPort', 'advertiseSearchPort', 'advertiseFetchPort'] as const).filter(
    (name) => config[name] !== undefined,
  );
  if (portsWithoutAddress.length > 0 && (config.advertise as string[]).length === 0) {
    throw new PeershareError(
      'CONFIG_INVALID',
      `--${SETTINGS[portsWithoutAddress[0]!].flag} is the port other peers dial at the --advertise addresses: give --advertise too`,
      { setting: portsWithoutAddress[0] },
    );
  }
  return Object.freeze(config) as Config;
}

/**
 * Keep settings changed while the peer runs (the bandwidth caps) in the config file, so that the
 * next start has them: the file's other settings stay as they are, and it is replaced whole
 * (written beside it, then renamed), so a crash leaves the old file or the new one. A flag or
 * environment variable given at the next start still wins over the file, as always.
 */
export function keepSettings(path: string, values: Partial<Record<SettingName, string | number | boolean>>): void {
  const current = readConfigFile(path, false);
  const next = `${JSON.stringify({ ...current, ...values }, null, 2)}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, next, { mode: 0o600 });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    const failure = fsError(err, `keeping the settings in ${path}`);
    throw failure instanceof PeershareError
      ? failure
      : new PeershareError(
          'UNAVAILABLE',
          `cannot keep the settings in ${path}: ${(err as Error).message}`,
          { path },
          { cause: err },
        );
  }
}

function readConfigFile(path: string, required: boolean): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PeershareError('CONFIG_INVALID', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new PeershareError('CONFIG_INVALID', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PeershareError('CONFIG_INVALID', `config file ${path} must hold a JSON object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in SETTINGS));
  if (unknown.length > 0) {
    throw new PeershareError('CONFIG_INVALID', `config file ${path} has unknown setting ${JSON.stringify(unknown[0])}`);
  }
  return parsed as Record<string, unknown>;
}
