/**
 * swarm: one file (256 MiB by default; BENCH_FILE_MIB) from four sources each capped to the same
 * rate (25 MiB/s by default; BENCH_RATE_MIB), against the same download from one capped source.
 * Target: aggregate ≥ 0.9 × 4 × one capped source.
 *
 * - One File Management process (`peershare service files`) shares the file in place.
 * - Four rate-capped HTTP proxies in front of it, each on its own loopback address, run in one
 *   child process (this file, started with BENCH_SWARM_PROXY): a token bucket per proxy shared by
 *   all its connections, so a source's cap holds however many requests the engine sends it.
 * - The transfer engine (HttpChunkSource → SHA-256 per chunk → FsDownloadFiles, fsync at the end)
 *   runs in this process, as in bench/transfer.ts.
 * - The same four proxies without a cap give the ceiling of this path on this machine in the
 *   same run: when it is below 4 × the cap, the shortfall is CPU, not the scheduler.
 * Each side runs BENCH_RUNS times (default 3), alternating; medians are reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FsDownloadFiles } from '../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../src/download/adapters/http/http-chunk-source.ts';
import { Bitfield } from '../src/download/domain/bitfield.ts';
import { runTransfer } from '../src/download/domain/transfer.ts';
import type { ChunkSource } from '../src/download/ports.ts';
import { countedSink } from '../src/download/traffic.ts';
import type { Manifest } from '../src/shared/content.ts';
import { memorySigner } from '../src/shared/keys.ts';
import { ALPN_HTTP, PeerTls } from '../src/shared/peer-tls.ts';
import { createServer as createTlsServer } from 'node:tls';
import { check, figure, median, table, type BenchResult } from './_results.ts';
import { MiB, makeFile, waitFor } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 256);
const RATE_MIB = Number(process.env.BENCH_RATE_MIB ?? 25);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SOURCE_HOST = '127.0.97.2';
const PROXY_HOSTS = ['127.0.97.11', '127.0.97.12', '127.0.97.13', '127.0.97.14'];
/** The same proxies without a cap: what this machine can move through the same path right now. */
const OPEN_HOSTS = ['127.0.97.21', '127.0.97.22', '127.0.97.23', '127.0.97.24'];
const PROXY_PORT = 7871;

// ---------------------------------------------------------------- the rate-capped proxies (child)

/**
 * A token bucket in virtual time: every chunk of bytes reserves its slot on the source's
 * timeline (rate bytes/s); a chunk may go out at most `burst` bytes ahead of that timeline,
 * otherwise the upstream is paused until it may.
 */
class Bucket {
  private next = 0; // when the timeline is free again, ms
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}
  /** Reserve `bytes`; returns how long to wait (ms) before sending more. */
  take(bytes: number): number {
    if (this.rate === 0) return 0; // uncapped
    const now = performance.now();
    this.next = Math.max(this.next, now - (this.burst / this.rate) * 1000) + (bytes / this.rate) * 1000;
    return Math.max(0, this.next - now - (this.burst / this.rate) * 1000);
  }
}

async function startProxy(host: string, upstream: string, rate: number, tls: PeerTls): Promise<void> {
  const bucket = new Bucket(rate, 128 * 1024);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const out = request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { ...(req.headers.range ? { range: req.headers.range } : {}) } },
      (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.on('data', (chunk: Buffer) => {
          const wait = bucket.take(chunk.length);
          const drained = res.write(chunk);
          if (wait > 0 || !drained) {
            up.pause();
            let pending = (wait > 0 ? 1 : 0) + (drained ? 0 : 1);
            const go = () => void (--pending === 0 && up.resume());
            if (wait > 0) setTimeout(go, wait);
            if (!drained) res.once('drain', go);
          }
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 60_000;
  // Sources are dialled over TLS pinned to a peer id: every proxy speaks for the child's one identity.
  const tlsServer = createTlsServer(tls.serverOptions([ALPN_HTTP]), (socket) => server.emit('connection', socket));
  tlsServer.listen(PROXY_PORT, host);
  await once(tlsServer, 'listening');
}

if (process.env.BENCH_SWARM_PROXY) {
  const { upstream, rate } = JSON.parse(process.env.BENCH_SWARM_PROXY) as { upstream: string; rate: number };
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  await Promise.all([
    ...PROXY_HOSTS.map((h) => startProxy(h, upstream, rate, tls)),
    ...OPEN_HOSTS.map((h) => startProxy(h, upstream, 0, tls)),
  ]);
  console.log(`proxies ready ${tls.peerId}`);
}

// ---------------------------------------------------------------- the benchmark (parent)

/** One download from `sources`; MiB/s of the whole file, verified, written and fsync'd. */
async function download(sources: string[], manifest: Manifest, outDir: string): Promise<number> {
  const files = new FsDownloadFiles();
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  const http = new HttpChunkSource(tls);
  let fetched = 0; // range bytes received, duplicates (endgame) included
  const chunkSource: ChunkSource = {
    manifest: (...a) => http.manifest(...a),
    range: (source, id, start, end, signal, sink) =>
      http.range(
        source,
        id,
        start,
        end,
        signal,
        countedSink(sink, (bytes) => (fetched += bytes)),
      ),
    close: () => http.close(),
  };
  const t0 = performance.now();
  const { partial } = await files.openPartial(outDir, manifest.name, 'c'.repeat(32), manifest.size);
  const used = new Map<string, number>();
  await runTransfer({
    manifest,
    sources,
    chunkSource,
    partial,
    verified: new Bitfield(manifest.chunks.length),
    signal: new AbortController().signal,
    onEvent: (e) => {
      if (e.type === 'chunk') used.set(e.source, (used.get(e.source) ?? 0) + e.bytes);
      else if (e.type !== 'checkpoint') console.log(`  ${e.type} ${e.source}`);
    },
  });
  const path = await files.place(partial, outDir, manifest.name, undefined, () => undefined);
  await files.dropPartial(partial);
  await partial.close();
  const seconds = (performance.now() - t0) / 1000;
  chunkSource.close();
  rmSync(path);
  if (process.env.BENCH_VERBOSE)
    console.log(
      `  ${sources.length} source(s): ${(SIZE_MIB / seconds).toFixed(1)} MiB/s; MiB per source ${[...used.values()].map((b) => (b / MiB).toFixed(0)).join(' / ')}; received ${(fetched / MiB).toFixed(0)} MiB`,
    );
  if (used.size !== sources.length) throw new Error(`only ${used.size} of ${sources.length} sources were used`);
  return SIZE_MIB / seconds;
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-swarm-'));
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const file = join(dir, 'swarm.bin');
  makeFile(file, SIZE_MIB);
  const children: ChildProcess[] = [];
  try {
    const filesProc = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../bin/peershare.js'),
        'service',
        'files',
        '--host',
        SOURCE_HOST,
        '--data',
        join(dir, 'data'),
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    children.push(filesProc);
    const source = `http://${SOURCE_HOST}:7871`;
    await waitFor(`${source}/health`);
    const shared = (await (
      await fetch(`${source}/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: file }),
      })
    ).json()) as { files: Array<{ id: string }> };
    const manifest = (await (await fetch(`${source}/files/${shared.files[0]!.id}/manifest`)).json()) as Manifest;

    const proxyProc = spawn(process.execPath, ['--import', 'tsx', import.meta.filename], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_SWARM_PROXY: JSON.stringify({ upstream: source, rate: RATE_MIB * MiB }) },
    });
    children.push(proxyProc);
    let proxyId = '';
    for await (const line of createInterface({ input: proxyProc.stdout }))
      if ((proxyId = /^proxies ready (\S+)$/.exec(line)?.[1] ?? '')) break;
    const proxies = PROXY_HOSTS.map((h) => `${proxyId}@${h}:${PROXY_PORT}`);

    const open = OPEN_HOSTS.map((h) => `${proxyId}@${h}:${PROXY_PORT}`);
    const single: number[] = [];
    const swarm: number[] = [];
    const ceiling: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      single.push(await download([proxies[i % proxies.length]!], manifest, outDir));
      swarm.push(await download(proxies, manifest, outDir));
      ceiling.push(await download(open, manifest, outDir));
    }
    const ratio = median(swarm) / (4 * median(single));
    console.log(
      `swarm: ${SIZE_MIB} MiB, sources capped at ${RATE_MIB} MiB/s each, verified and fsync'd; medians of ${RUNS} runs (MiB/s)\n`,
    );
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    console.log(
      table(
        ['what', 'MiB/s (median)', 'runs'],
        [
          ['one capped source', median(single).toFixed(1), runs(single)],
          ['four capped sources', median(swarm).toFixed(1), runs(swarm)],
          [
            "four uncapped sources, same proxies (this machine's ceiling now)",
            median(ceiling).toFixed(1),
            runs(ceiling),
          ],
        ],
      ),
    );
    console.log(
      `\naggregate / (4 × single) = ${ratio.toFixed(2)} (target ≥ 0.9); aggregate / (4 × cap) = ${(median(swarm) / (4 * RATE_MIB)).toFixed(2)}`,
    );
    return {
      name: 'swarm',
      what: `${SIZE_MIB} MiB from four sources each capped at ${RATE_MIB} MiB/s, verified and fsync'd, against the same download from one capped source: aggregate / (4 × single)`,
      how:
        'One `peershare service files` process shares the file; four rate-capped HTTP proxies (a token bucket per proxy, shared by its connections) in one child process stand for four sources; the transfer engine runs in the benchmark process. The same four proxies uncapped give the ceiling of this path on this machine in the same run. ' +
        `${RUNS} runs of each, alternating; medians.`,
      parameters: { fileMiB: SIZE_MIB, capMiBps: RATE_MIB, sources: 4, runs: RUNS },
      figures: [
        figure('one capped source', 'reference', single, 'MiB/s'),
        figure('four capped sources', 'ours', swarm, 'MiB/s'),
        figure('four uncapped sources (ceiling of this path now)', 'info', ceiling, 'MiB/s'),
        figure('aggregate / (4 × single)', 'ratio', ratio, '×'),
        figure('aggregate / (4 × cap)', 'ratio', median(swarm) / (4 * RATE_MIB), '×'),
      ],
      checks: [check('aggregate / (4 × one capped source)', ratio, '×', '>=', 0.9)],
    };
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
