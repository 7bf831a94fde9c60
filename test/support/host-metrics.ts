/**
 * A whole peer's counters on a test host (test/support/testbed.ts), read from its services'
 * GET /metrics (Prometheus text, src/shared/metrics.ts) from inside the host, as the host's own
 * user reads them: the Client and Download APIs on loopback, Files, Search and Fetch at the
 * host's address, each with the API token the peer keeps in its `--data` folder (a service bound
 * off loopback serves /metrics to the token only; one on loopback to loopback callers, and to the
 * token too). Counting with the peer's own series, not by reading its logs or polling commands.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import type { TestHost } from './testbed.ts';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Where each service answers on a host whose peer is bound to the host's address or to 0.0.0.0. */
const ADDRESS = {
  client: () => `127.0.0.1:${DEFAULT_PORTS.clientPort}`,
  files: (host: TestHost) => `${host.ip}:${DEFAULT_PORTS.filesPort}`,
  search: (host: TestHost) => `${host.ip}:${DEFAULT_PORTS.searchApiPort}`,
  fetch: (host: TestHost) => `${host.ip}:${DEFAULT_PORTS.fetchPort}`,
  download: () => `127.0.0.1:${DEFAULT_PORTS.downloadPort}`,
} as const satisfies Record<string, (host: TestHost) => string>;

/** The API token of the peer last started on `host`, when it has one (none when bound to loopback). */
function tokenOf(host: TestHost): string | undefined {
  if (!host.dataDir) return undefined;
  try {
    return readFileSync(join(host.dataDir, 'api-token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The text of GET /metrics of one service of the peer on `host`; rejects on a refused connection or an error status. */
export async function scrapeHost(host: TestHost, service: keyof typeof ADDRESS): Promise<string> {
  const token = tokenOf(host);
  const { stdout } = await host.exec('curl', [
    '-sS',
    '--fail-with-body',
    ...(token ? ['-H', `authorization: Bearer ${token}`] : []),
    `http://${ADDRESS[service](host)}/metrics`,
  ]);
  return stdout;
}

/** Every sample of the metric `name` in a text exposition; undefined when the text has no such metric. */
export function samplesIn(text: string, name: string): Sample[] | undefined {
  if (!text.split('\n').some((line) => line.startsWith(`# TYPE ${name} `))) return undefined;
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(?:\{(.*)\})? (\S+)$/.exec(line.slice(name.length));
    if (!m) continue; // another metric whose name starts with this one
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ labels, value: Number(m[2]) });
  }
  return samples;
}

/** The service a series belongs to, from its name: peershare_<service>_<name>. */
function serviceOf(name: string): keyof typeof ADDRESS {
  const service = /^peershare_([a-z]+)_/.exec(name)?.[1];
  if (!service || !(service in ADDRESS)) throw new Error(`${name} is not a peershare_<service>_ series`);
  return service as keyof typeof ADDRESS;
}

/**
 * Every sample of `name` (peershare_<service>_…) on `host`, read from that service's /metrics.
 * Throws when the service has no such metric, so that a misspelt name never reads as nothing.
 */
export async function hostSamples(host: TestHost, name: string): Promise<Sample[]> {
  const samples = samplesIn(await scrapeHost(host, serviceOf(name)), name);
  if (!samples) throw new Error(`${host.name}: /metrics has no ${name}`);
  return samples;
}

/**
 * The value of `name` on `host`: the sum of its samples whose labels include `labels` (0 when
 * none has those values yet, as a counter by source before that source sent a byte), e.g.
 * `hostMetric(host, 'peershare_fetch_peers', { state: 'alive' })`. A label the metric's samples
 * do not have throws, as a misspelt name does.
 */
export async function hostMetric(host: TestHost, name: string, labels: Record<string, string> = {}): Promise<number> {
  const samples = await hostSamples(host, name);
  const unknown = Object.keys(labels).filter((key) => samples.length > 0 && samples.every((s) => !(key in s.labels)));
  if (unknown.length > 0) throw new Error(`${name} has no label ${unknown.join(', ')}`);
  return samples
    .filter((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}
