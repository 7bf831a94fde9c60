/**
 * caps: one file (400 MiB by default; BENCH_FILE_MIB) held by four whole peers on four hosts,
 * each host's upload capped at a different rate (40, 80, 120 and 160 Mbit/s by default;
 * BENCH_CAPS_MBIT), downloaded by a fifth peer on an uncapped host. Figure: the bytes downloaded
 * per second ÷ the sum of the caps; target ≥ 0.9 (issue 14: "≥ 0.9 of the sum of the caps").
 *
 * - Hosts are Linux network namespaces on one bridge (test/support/testbed.ts); a host's cap is
 *   `tc tbf` on its interface, so it holds whatever the peer sends, over however many
 *   connections. Needs root; without it the benchmark is skipped with one line.
 * - Every peer is `peershare start` bound to its host's address (as test/peer/real-hosts.test.ts
 *   scenario 4 runs them), rounds every 500 ms; the four sources share the same file in place.
 * - Each run asks the downloader's Client API for the file by id (POST /downloads, fresh outDir)
 *   and follows its progress events (GET /downloads/events) from inside the downloader's host.
 *   The figure is timed from the first progress event that knows the size (the manifest is
 *   verified and the transfer starts) to `finalizing` (every chunk verified, written and
 *   fsync'd); the whole download (POST to `done`: the sources asked, the file renamed into place
 *   and shared) is reported beside it. What each source delivered is read from the downloader's
 *   `peershare_download_bytes_in_total{source}` (GET /metrics) before and after the run.
 * - After each capped run the caps are lifted and the file downloaded once more: what this
 *   machine moves through the same five peers uncapped, in the same run. When the caps' sum is
 *   well below it, the figure is about the scheduler, not the CPU (TLS, SHA-256).
 * - tbf counts whole frames: with a 1500-byte MTU a TCP segment carries 1448 bytes of payload in
 *   a 1514-byte frame, so no download can exceed ≈ 0.956 of the caps (TLS records add ~0.1 %).
 * After each run the downloader unshares its copy and it is deleted. BENCH_RUNS runs (default 3);
 * every run is reported, min – median – max.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostSamples } from '../test/support/host-metrics.ts';
import { Teardown } from '../test/support/teardown.ts';
import { canCreateHosts, createTestbed, type Testbed, type TestHost } from '../test/support/testbed.ts';
import { check, figure, median, table, type BenchResult } from './_results.ts';
import { makeFile } from './_support.ts';
import { SseParser } from '../src/shared/sse-parser.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 400);
const CAPS_MBIT = (process.env.BENCH_CAPS_MBIT ?? '40,80,120,160').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET = 0.9;
const CLIENT_API = 'http://127.0.0.1:7870';
const FETCH_PORT = 7874;
const FILES_PORT = 7871;
/** Each download (capped or not) must end within this long. */
const RUN_TIMEOUT_MS = 300_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WHAT = `one ${SIZE_MIB} MiB file from four whole peers on four hosts (network namespaces) whose uploads are capped at ${CAPS_MBIT.join(', ')} Mbit/s (tc tbf), to a fifth peer on an uncapped host: bytes downloaded per second ÷ the sum of the caps`;

interface Progress {
  key: string;
  state: string;
  size?: number;
  bytesDone: number;
  error?: string;
}

/**
 * The downloader's progress events (its Client API's GET /downloads/events), followed with
 * `curl -N` inside its host, each stamped with when it arrived here. Opened again if it ends.
 */
class ProgressEvents {
  readonly #seen: Array<{ at: number; progress: Progress }> = [];
  #wake: () => void = () => undefined;
  #child: ChildProcess | undefined;
  #closed = false;

  constructor(private readonly host: TestHost) {
    this.#open();
  }

  #open(): void {
    const child = spawn('ip', ['netns', 'exec', this.host.ns, 'curl', '-sN', `${CLIENT_API}/downloads/events`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.#child = child;
    const parser = new SseParser();
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      const at = performance.now();
      for (const { event, data } of parser.push(text)) {
        if (event === 'progress') this.#seen.push({ at, progress: JSON.parse(data) as Progress });
        if (event === 'snapshot') {
          const list = JSON.parse(data) as Progress[] | { downloads: Progress[] };
          for (const progress of Array.isArray(list) ? list : list.downloads) this.#seen.push({ at, progress });
        }
      }
      this.#wake();
    });
    child.once('exit', () => {
      if (!this.#closed) setTimeout(() => this.#open(), 50);
    });
  }

  /** When `key` first reached a progress that `test` accepts (ms, performance.now()), waiting for it. */
  async when(
    key: string,
    test: (p: Progress) => boolean,
    deadline: number,
  ): Promise<{ at: number; progress: Progress }> {
    for (;;) {
      const found = this.#seen.find((e) => e.progress.key === key && test(e.progress));
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`download ${key}: no such progress event in time`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 1000);
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

/** A Client API call on `host` (curl there); the JSON answer, or throws with the error body. */
async function clientApi<T>(host: TestHost, method: string, path: string, body?: unknown): Promise<T> {
  const { stdout } = await host.exec('curl', [
    '-sS',
    '--fail-with-body',
    '-X',
    method,
    '-H',
    'x-peershare-client: bench',
    ...(body === undefined ? [] : ['-H', 'content-type: application/json', '-d', JSON.stringify(body)]),
    `${CLIENT_API}${path}`,
  ]);
  return (stdout.trim() ? JSON.parse(stdout) : undefined) as T;
}

/** Bytes the downloader received so far from each source host (by index), from its /metrics. */
async function bytesBySource(downloader: TestHost, sources: readonly TestHost[]): Promise<number[]> {
  const samples = await hostSamples(downloader, 'peershare_download_bytes_in_total');
  return sources.map((host) =>
    samples.filter((s) => s.labels.source?.endsWith(`@${host.ip}:${FILES_PORT}`)).reduce((sum, s) => sum + s.value, 0),
  );
}

interface Run {
  /** Mbit/s from the manifest to every chunk verified and fsync'd. */
  mbps: number;
  /** Mbit/s from POST /downloads to done. */
  wholeMbps: number;
  seconds: number;
  /** Mbit/s each source delivered over the transfer (received bytes, duplicates included). */
  bySourceMbps: number[];
  /** The 1-minute load average as the run started. */
  load1: number;
}

/** One download of the file by the downloader, timed by its progress events. */
async function download(
  downloader: TestHost,
  sources: readonly TestHost[],
  events: ProgressEvents,
  fileId: string,
  outBase: string,
): Promise<Run> {
  const outDir = mkdtempSync(join(outBase, 'run-'));
  const before = await bytesBySource(downloader, sources);
  const load1 = loadavg()[0]!;
  const t0 = performance.now();
  const deadline = t0 + RUN_TIMEOUT_MS;
  const { download: queued } = await clientApi<{ download: { key: string } }>(downloader, 'POST', '/downloads', {
    fileId,
    outDir,
  });
  const ended = (p: Progress) => ['done', 'failed', 'cancelled'].includes(p.state);
  const started = await events.when(
    queued.key,
    (p) => (p.state === 'running' && p.size !== undefined) || ended(p),
    deadline,
  );
  const verified = await events.when(queued.key, (p) => p.state === 'finalizing' || ended(p), deadline);
  const done = await events.when(queued.key, ended, deadline);
  if (done.progress.state !== 'done')
    throw new Error(`download ${done.progress.state}: ${done.progress.error ?? 'no reason given'}`);
  const after = await bytesBySource(downloader, sources);
  const bits = (started.progress.size ?? NaN) * 8;
  const seconds = (verified.at - started.at) / 1000;
  await clientApi(downloader, 'DELETE', `/files/${fileId}`);
  rmSync(outDir, { recursive: true, force: true });
  return {
    mbps: bits / seconds / 1e6,
    wholeMbps: bits / ((done.at - t0) / 1000) / 1e6,
    seconds,
    bySourceMbps: after.map((b, i) => ((b - before[i]!) * 8) / seconds / 1e6),
    load1,
  };
}

const f2 = (x: number) => x.toFixed(2);
const f0 = (x: number) => x.toFixed(0);
const spread = (xs: number[], f: (x: number) => string = f2) =>
  `${f(Math.min(...xs))} – **${f(median(xs))}** – ${f(Math.max(...xs))}`;

/** The result when the benchmark cannot run here: one line printed, the check skipped with why. */
function skipped(why: string): BenchResult {
  console.log(`caps: skipped — ${why}`);
  return {
    name: 'caps',
    what: WHAT,
    how: 'Not run.',
    parameters: { fileMiB: SIZE_MIB, capsMbit: CAPS_MBIT.join(','), runs: RUNS },
    figures: [],
    checks: [check('downloaded bytes/s ÷ sum of the caps', null, '×', '>=', TARGET, why)],
  };
}

async function startPeers(bed: Testbed, dir: string): Promise<void> {
  const [first, ...others] = bed.hosts;
  const args = (host: TestHost) => [
    'start',
    '--host',
    host.ip,
    '--data',
    join(dir, `peer-${host.name}`),
    '--fetch-interval',
    '500',
  ];
  await first!.startPeer(args(first!));
  for (const host of others) await host.startPeer([...args(host), '--join', first!.ip]);
}

/** Until the downloader's Fetch lists all four holders of `fileId`. */
async function awaitHolders(downloader: TestHost, fileId: string, count: number): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const { stdout } = await downloader.exec('curl', ['-s', `http://${downloader.ip}:${FETCH_PORT}/sources/${fileId}`]);
    const listed = (JSON.parse(stdout || '{}') as { sources?: unknown[] }).sources?.length ?? 0;
    if (listed >= count) return;
    if (performance.now() > deadline) throw new Error(`the downloader knows ${listed} of ${count} holders after 120 s`);
    await sleep(250);
  }
}

export async function run(): Promise<BenchResult> {
  if (CAPS_MBIT.length !== 4 || CAPS_MBIT.some((c) => !(c > 0)))
    throw new Error(`BENCH_CAPS_MBIT must be four rates in Mbit/s, not ${CAPS_MBIT.join(',')}`);
  if (!canCreateHosts) return skipped('needs root, to make network namespaces (test/support/testbed.ts)');
  const teardown = new Teardown();
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-caps-'));
  let events: ProgressEvents | undefined;
  try {
    let bed: Testbed;
    try {
      bed = await createTestbed(5, teardown.defer);
    } catch (err) {
      return skipped(`could not make network namespaces: ${(err as Error).message.split('\n')[0]}`);
    }
    const [downloader, ...sources] = bed.hosts as [TestHost, ...TestHost[]];
    const file = join(dir, 'share', 'caps.bin');
    mkdirSync(join(dir, 'share'));
    makeFile(file, SIZE_MIB);
    await startPeers(bed, dir);
    let fileId = '';
    for (const host of sources) {
      const shared = await host.peershare(['share', file]);
      if (shared.code !== 0) throw new Error(`share on ${host.name}: ${shared.stderr}`);
      fileId = /[0-9a-f]{64}/.exec(shared.stdout)![0];
    }
    await awaitHolders(downloader, fileId, sources.length);
    events = new ProgressEvents(downloader);
    const capAll = async () => {
      for (const [i, host] of sources.entries()) await bed.cap(host, CAPS_MBIT[i]! * 1e6);
    };
    const uncapAll = async () => {
      for (const host of sources) await host.exec('tc', ['qdisc', 'del', 'dev', 'eth0', 'root']);
    };
    const outBase = join(dir, 'out');
    mkdirSync(outBase);
    const sum = CAPS_MBIT.reduce((a, b) => a + b, 0);
    const capped: Run[] = [];
    const open: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      await capAll();
      capped.push(await download(downloader, sources, events, fileId, outBase));
      await uncapAll();
      open.push(await download(downloader, sources, events, fileId, outBase));
      const r = capped.at(-1)!;
      console.log(
        `  run ${i + 1}: ${f0(r.mbps)} Mbit/s = ${f2(r.mbps / sum)} of the caps (whole ${f2(r.wholeMbps / sum)}); uncapped ${f0(open.at(-1)!.mbps)} Mbit/s`,
      );
    }

    const ratio = capped.map((r) => r.mbps / sum);
    const whole = capped.map((r) => r.wholeMbps / sum);
    const use = CAPS_MBIT.map((cap, s) => capped.map((r) => r.bySourceMbps[s]! / cap));
    console.log(
      `\ncaps: ${SIZE_MIB} MiB from 4 hosts capped at ${CAPS_MBIT.join(' / ')} Mbit/s (sum ${sum}), ${RUNS} runs\n`,
    );
    console.log(
      table(
        [
          'run',
          'Mbit/s (manifest → verified)',
          '÷ sum of caps',
          'whole (POST → done) ÷ caps',
          ...CAPS_MBIT.map((c) => `source at ${c}: ÷ its cap`),
          'uncapped Mbit/s',
          'load 1 min',
        ],
        capped.map((r, i) => [
          String(i + 1),
          f0(r.mbps),
          f2(ratio[i]!),
          f2(whole[i]!),
          ...r.bySourceMbps.map((m, s) => f2(m / CAPS_MBIT[s]!)),
          f0(open[i]!.mbps),
          f2(r.load1),
        ]),
      ),
    );
    console.log('');
    console.log(
      table(
        ['what', 'min – **median** – max', 'every run'],
        [
          ['**downloaded bytes/s ÷ sum of the caps**', spread(ratio), ratio.map(f2).join(', ')],
          ['whole download (POST → done) ÷ sum of the caps', spread(whole), whole.map(f2).join(', ')],
          [
            'downloaded Mbit/s',
            spread(
              capped.map((r) => r.mbps),
              f0,
            ),
            capped.map((r) => f0(r.mbps)).join(', '),
          ],
          ...CAPS_MBIT.map((c, s) => [
            `source capped at ${c} Mbit/s: delivered ÷ its cap`,
            spread(use[s]!),
            use[s]!.map(f2).join(', '),
          ]),
          [
            'uncapped, same peers (Mbit/s)',
            spread(
              open.map((r) => r.mbps),
              f0,
            ),
            open.map((r) => f0(r.mbps)).join(', '),
          ],
        ],
      ),
    );
    return {
      name: 'caps',
      what: WHAT,
      how:
        `Five \`peershare start\` peers, one per network namespace on one bridge (test/support/testbed.ts), rounds every 500 ms; the four sources share the file in place and their interfaces are capped with tc tbf; the downloader asks its Client API for the file by id (fresh outDir) and its progress events are followed inside its host. ` +
        `Timed from the first progress event with the verified manifest's size to finalizing (every chunk verified, written, fsync'd); the whole download (POST → done) beside it. Per source: bytes received from it (the downloader's /metrics) per second of the transfer ÷ its cap. ` +
        `After each capped run the caps are lifted and the file downloaded again (the ceiling of the same peers now). ${RUNS} runs; medians, every run listed. tbf counts frames: 1448 payload bytes per 1514-byte frame, so ≈ 0.956 is the most a download can reach.`,
      parameters: { fileMiB: SIZE_MIB, capsMbit: CAPS_MBIT.join(','), sumMbit: sum, runs: RUNS, fetchIntervalMs: 500 },
      figures: [
        figure(
          'downloaded (manifest → every chunk verified)',
          'ours',
          capped.map((r) => r.mbps),
          'Mbit/s',
        ),
        figure('sum of the caps', 'reference', sum, 'Mbit/s'),
        figure('downloaded bytes/s ÷ sum of the caps', 'ratio', ratio, '×'),
        figure('whole download (POST → done) ÷ sum of the caps', 'info', whole, '×'),
        ...CAPS_MBIT.map((c, s) => figure(`source capped at ${c} Mbit/s: delivered ÷ its cap`, 'info', use[s]!, '×')),
        figure(
          'the same peers uncapped (ceiling now)',
          'info',
          open.map((r) => r.mbps),
          'Mbit/s',
        ),
      ],
      checks: [check('downloaded bytes/s ÷ sum of the caps (median of the runs)', median(ratio), '×', '>=', TARGET)],
      notes: [
        `Every run: ${capped.map((r, i) => `#${i + 1} ${f0(r.mbps)} Mbit/s in ${r.seconds.toFixed(1)} s (${r.bySourceMbps.map(f0).join(' / ')} by source; load ${f2(r.load1)}), uncapped ${f0(open[i]!.mbps)}`).join('; ')}`,
      ],
    };
  } finally {
    await events?.close();
    await teardown.run().catch((err: unknown) => console.error('caps: clean-up:', err));
    rmSync(dir, { recursive: true, force: true });
  }
}
