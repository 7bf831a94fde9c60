/**
 * transfer: one file (1 GiB by default; BENCH_FILE_MIB) from one source on loopback, verified,
 * written to disk and fsync'd, side by side with references writing the same file to disk, all in
 * the same run.
 *
 * - peershare: two whole peers (`peershare start`, launched as `npm start` launches one), each on
 *   its own loopback address; B joined through A. A shares the file in place (Client API
 *   POST /shares); once B's Fetch knows A holds it, each run asks B's Client API for the file by
 *   id (POST /downloads with a fresh outDir) and is timed to the `done` progress event (verified,
 *   fsync'd, renamed into place and shared); then B unshares the copy and it is deleted. How the
 *   peers move the bytes (plain HTTP ranges, or TLS once peer links are encrypted) is theirs: the
 *   benchmark only asks for the file through the product.
 * - nginx → curl, plain and TLS: one nginx (sendfile on) serves the file on port 8080 (HTTP) and
 *   8443 (HTTPS: `ssl_protocols TLSv1.3`, only TLS_AES_256_GCM_SHA384 — Node's first TLS 1.3
 *   suite, what two peers negotiate — through `ssl_conf_command Ciphersuites`, an Ed25519
 *   certificate made at benchmark time with the openssl command, no kTLS); `curl -o` (for TLS:
 *   `--tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 --cacert`) writes it to disk, timed alone
 *   and then to the end of `sync FILE` (fsync of that file: the durability peershare gives).
 * - WebTorrent: bench/webtorrent-seed.mjs seeds the same file in one process (1 MiB pieces;
 *   trackers, DHT, LSD, PEX, uTP and NAT traversal off); for each run bench/webtorrent-leech.mjs,
 *   a new process, adds the torrent with a fresh directory as its store and the seeder as its
 *   only peer (addPeer to WEBTORRENT_HOST:port, TCP), downloads every piece (SHA-1 verified) to
 *   disk and fsyncs it; timed from client.add (WebTorrent loaded and listening) to 'done' and to
 *   the end of the fsync. WebTorrent is installed at benchmark time into bench/.cache/webtorrent
 *   (`npm install --prefix … --ignore-scripts`: a dependency's install script refuses npm, and
 *   `npm ci` of this package must stay clean); BENCH_WEBTORRENT=off skips it.
 *
 * RUNS rounds (BENCH_RUNS, default 5); in each, peershare, nginx and nginx-TLS run once, in an
 * order that rotates from round to round (BENCH_ORDER=fixed keeps peershare, nginx, nginx-TLS), and
 * WebTorrent's runs come after all rounds. Before every run the source file is read (page cache)
 * and memory is prepared as bench/_transfer-conditions.ts describes (BENCH_MEMORY, default warm);
 * each run first waits (at most BENCH_QUIET_WAIT_S, 20 s) until other processes use less than a
 * quarter of a core over a second, and records the load, other processes' CPU and memory the host
 * took back meanwhile; runs during which others used more are marked noisy. Every
 * run is reported, with min–median–max per side and the ratio of each round (peershare ÷ the
 * reference measured in the same round). nginx is installed with apt-get when missing; a
 * reference that cannot be installed or run is reported as skipped. BENCH_PROFILE=DIR writes CPU
 * profiles of both peers; BENCH_PEER_LAUNCH=plain starts them with plain `node` (without npm
 * start's --max-semi-space-size=1 and MALLOC_ARENA_MAX=2).
 *
 * CPU per MiB: every run records the CPU time (user + sys, /proc/PID/stat) each of its processes
 * used during the run, per MiB moved, and the benchmark prints it min–median–max per process and
 * per side. Unlike GiB/s it hardly depends on what else runs on the machine, so it compares two
 * builds on a busy one: BENCH_SIDES=peershare runs only peershare's side (also nginx, nginx-tls;
 * comma-separated), BENCH_PEERSHARE_BIN=/other/checkout/bin/peershare.js runs another built
 * checkout's peers with the same benchmark.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { check, figure, median, table, type BenchResult, type Figure } from './_results.ts';
import { MiB, makeFile, peerLaunch, waitFor } from './_support.ts';
import {
  DROP_CACHES,
  MEMORY_MODE,
  WARM_SOURCE,
  prepareRun,
  record,
  waitForQuiet,
  type Conditions,
} from './_transfer-conditions.ts';
import { SseParser } from '../src/shared/sse-parser.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ORDER = process.env.BENCH_ORDER === 'fixed' ? 'fixed' : 'rotate';
/** The source peer and the downloading peer (default ports on each). */
const PEER_A = '127.0.98.2';
const PEER_B = '127.0.98.5';
const NGINX_HOST = '127.0.98.3';
/** The seeder listens on every address; the downloader is given this one. */
const WEBTORRENT_HOST = '127.0.98.4';
const WEBTORRENT_DIR = join(import.meta.dirname, '.cache/webtorrent');
/** What the cache folder installs. uint8-util is held at 2.2.6: 2.3 makes webtorrent 2.8.5 throw on every torrent (its arr2hex no longer accepts the hex string parse-torrent gives). webtorrent 3 needs Node 22. */
const WEBTORRENT_PACKAGE = {
  private: true,
  description: 'peershare bench: the WebTorrent reference (installed by bench/transfer.ts)',
  dependencies: { webtorrent: '^2.8.5' },
  overrides: { 'uint8-util': '2.2.6' },
};
/** Node's first (preferred) TLS 1.3 suite: what two peers negotiate, pinned on nginx and curl too. */
const TLS13_SUITE = 'TLS_AES_256_GCM_SHA384';
/** BENCH_PEERSHARE_BIN: another checkout's bin/peershare.js (built), to compare two builds with the same benchmark. */
const BIN = process.env.BENCH_PEERSHARE_BIN ?? join(import.meta.dirname, '../bin/peershare.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A run during which other processes used this much CPU (cores) or more is marked noisy. */
const NOISY_CORES = 0.25;
/** Before each run, wait up to this long (BENCH_QUIET_WAIT_S, s) for other processes to use less than NOISY_CORES over a second. */
const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_S ?? 20) * 1000;

/** BENCH_PROFILE=DIR: CPU profiles of both peers land in DIR (node --cpu-prof). */
const profileArgs = () =>
  process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];

type Side = 'peershare' | 'nginx' | 'nginx-tls';
/** BENCH_SIDES=peershare,nginx-tls: only those sides in the rounds (all three by default). */
const SIDES: Side[] = (['peershare', 'nginx', 'nginx-tls'] as const).filter(
  (s) => !process.env.BENCH_SIDES || process.env.BENCH_SIDES.split(',').includes(s),
);

/** One timed run of one side. */
interface Run {
  side: Side | 'webtorrent';
  round: number;
  /** 1 = ran first in its round. */
  position: number;
  /** GiB/s to the end of the fsync. */
  gibps: number;
  /** GiB/s to the end of the write into the page cache (the references only). */
  gibpsNoFsync?: number;
  conditions: Conditions;
  /** How long the run waited for a quiet machine first (s). */
  waitedS: number;
}

// ---------------------------------------------------------------- nginx, plain and TLS 1.3

function ensureNginx(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync(
        'sh',
        [
          '-c',
          'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx',
        ],
        { stdio: 'ignore' },
      );
      return true;
    } catch {
      return false;
    }
  }
}

/** A self-signed Ed25519 certificate for NGINX_HOST, made now (the peers' certificates are Ed25519 too). */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'nginx-cert.pem');
  const key = join(dir, 'nginx-key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${NGINX_HOST}`,
      '-addext',
      `subjectAltName=IP:${NGINX_HOST}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

async function startNginx(
  dir: string,
  root: string,
  tls: { cert: string; key: string },
): Promise<{ child: ChildProcess; worker: number }> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}/nb; proxy_temp_path ${dir}/np;
  fastcgi_temp_path ${dir}/nf; uwsgi_temp_path ${dir}/nu; scgi_temp_path ${dir}/ns;
  server { listen ${NGINX_HOST}:8080; root ${root}; }
  server { listen ${NGINX_HOST}:8443 ssl; root ${root};
    ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites ${TLS13_SUITE}; } }\n`,
  );
  const child = spawn('nginx', ['-c', conf], { stdio: 'ignore' });
  await waitFor(`http://${NGINX_HOST}:8080/big.bin`);
  const worker = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  return { child, worker };
}

const curlArgs = (tls: boolean, cert: string) =>
  tls
    ? [
        '--tlsv1.3',
        '--tls-max',
        '1.3',
        '--tls13-ciphers',
        TLS13_SUITE,
        '--cacert',
        cert,
        `https://${NGINX_HOST}:8443/big.bin`,
      ]
    : [`http://${NGINX_HOST}:8080/big.bin`];

/** What curl and nginx negotiated over TLS, from curl -v ("TLSv1.3 / TLS_AES_256_GCM_SHA384"). */
function negotiated(cert: string): string {
  const r = spawnSync('curl', ['-sv', '-r', '0-0', '-o', '/dev/null', ...curlArgs(true, cert)], { encoding: 'utf8' });
  return (
    /SSL connection using (.+)/.exec(r.stderr)?.[1]?.trim() ??
    `unknown (curl exited ${r.status}: ${r.stderr.trim().split('\n').at(-1)})`
  );
}

/** nginx → curl -o, then `sync FILE` (fsync of the file). */
async function curlRun(
  tls: boolean,
  cert: string,
  source: string,
  outDir: string,
  worker: number,
): Promise<Omit<Run, 'side' | 'round' | 'position' | 'waitedS'>> {
  const out = join(outDir, 'curl.bin');
  const prepared = await prepareRun(source, outDir, SIZE_MIB);
  const rec = record({ nginx: worker, 'curl + sync': 'children', 'memory feeder': prepared.pid }, SIZE_MIB);
  prepared.go();
  const t0 = performance.now();
  execFileSync('curl', ['-sS', '-o', out, ...curlArgs(tls, cert)]);
  const t1 = performance.now();
  execFileSync('sync', [out]);
  const t2 = performance.now();
  const conditions = rec.end();
  await prepared.done();
  const size = statSync(out).size;
  rmSync(out);
  if (size !== SIZE_MIB * MiB) throw new Error(`curl wrote ${size} bytes`);
  return {
    gibps: SIZE_MIB / 1024 / ((t2 - t0) / 1000),
    gibpsNoFsync: SIZE_MIB / 1024 / ((t1 - t0) / 1000),
    conditions,
  };
}

// ---------------------------------------------------------------- peershare: two whole peers

interface Progress {
  key: string;
  state: string;
  finalPath?: string;
  error?: string;
  sources: string[];
}

/**
 * Download progress from a peer's Client API (GET /downloads/events), awaited by key. When the
 * stream ends (it was seen to end during a long idle spell), it is opened again, and the snapshot
 * that opens it settles any download that finished meanwhile.
 */
class DownloadEvents {
  readonly #finished = new Map<string, Progress>();
  readonly #waiting = new Map<string, (p: Progress) => void>();
  readonly #abort = new AbortController();
  readonly ready: Promise<void>;
  /** How often the stream had to be opened again. */
  reconnects = 0;

  constructor(api: string) {
    let snapshot!: () => void;
    this.ready = new Promise<void>((r) => (snapshot = r));
    void (async () => {
      while (!this.#abort.signal.aborted) {
        try {
          const res = await fetch(`${api}/downloads/events`, { signal: this.#abort.signal });
          if (!res.ok || !res.body) throw new Error(`GET /downloads/events: HTTP ${res.status}`);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parser = new SseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const { event, data } of parser.push(value)) {
              if (event === 'snapshot') {
                const list = JSON.parse(data) as Progress[] | { downloads: Progress[] };
                for (const p of Array.isArray(list) ? list : list.downloads) this.#onProgress(p);
                snapshot();
              }
              if (event === 'progress') this.#onProgress(JSON.parse(data) as Progress);
            }
          }
        } catch {
          /* closed or refused: open it again below, unless we are closing */
        }
        if (this.#abort.signal.aborted) return;
        this.reconnects++;
        await sleep(50);
      }
    })();
  }

  #onProgress(p: Progress): void {
    if (p.state !== 'done' && p.state !== 'failed' && p.state !== 'cancelled') return;
    const waiter = this.#waiting.get(p.key);
    if (waiter) waiter(p);
    else this.#finished.set(p.key, p);
  }

  /** The download's first done, failed or cancelled event. */
  finished(key: string): Promise<Progress> {
    const already = this.#finished.get(key);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => this.#waiting.set(key, resolve));
  }

  close(): void {
    this.#abort.abort();
  }
}

interface Peers {
  a: ChildProcess;
  b: ChildProcess;
  apiB: string;
  fileId: string;
  events: DownloadEvents;
}

const json = async <T>(res: Response | Promise<Response>): Promise<T> => {
  const r = await res;
  if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};
const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function startPeers(
  dir: string,
  file: string,
  children: ChildProcess[],
  stderr: { text: string },
): Promise<Peers> {
  const start = (host: string, extra: string[]) => {
    // As npm start runs a peer; BENCH_PEER_LAUNCH=plain: `node bin/peershare.js` without npm start's node options and environment.
    const launch = process.env.BENCH_PEER_LAUNCH === 'plain' ? { nodeArgs: [], env: process.env } : peerLaunch();
    const child = spawn(
      process.execPath,
      [
        ...launch.nodeArgs,
        ...profileArgs(),
        BIN,
        'start',
        '--host',
        host,
        '--data',
        join(dir, `peer-${host}`),
        '--log-level',
        'warn',
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: launch.env },
    );
    child.stderr.on('data', (c: Buffer) => void (stderr.text = (stderr.text + c.toString('utf8')).slice(-8192)));
    children.push(child);
    return child;
  };
  const apiA = `http://${PEER_A}:7870`;
  const apiB = `http://${PEER_B}:7870`;
  const a = start(PEER_A, []);
  await waitFor(`${apiA}/health`, 1200);
  const b = start(PEER_B, ['--join', PEER_A]);
  await waitFor(`${apiB}/health`, 1200);
  const { peerId: idA } = await json<{ peerId: string }>(fetch(`${apiA}/status`));
  const shared = await json<{ files: Array<{ id: string }> }>(post(`${apiA}/shares`, { path: file }));
  const fileId = shared.files[0]!.id;
  // B asks for the file by id, so its Fetch must know A holds it first.
  for (let i = 0; ; i++) {
    const { peers } = await json<{ peers: Array<{ peerId: string; state: string; files: number }> }>(
      fetch(`${apiB}/peers`),
    );
    if (peers.some((p) => p.peerId === idA && p.state === 'alive' && p.files >= 1)) break;
    if (i > 600) throw new Error('peer B never learned that peer A shares the file');
    await sleep(100);
  }
  const events = new DownloadEvents(apiB);
  await events.ready;
  return { a, b, apiB, fileId, events };
}

async function peershareRun(
  peers: Peers,
  source: string,
  outBase: string,
  round: number,
): Promise<Omit<Run, 'side' | 'round' | 'position' | 'waitedS'>> {
  const outDir = join(outBase, `peershare-${round}`);
  mkdirSync(outDir);
  const prepared = await prepareRun(source, outBase, SIZE_MIB);
  // prepareRun reads and writes the file's size synchronously: on a busy machine that outlasts
  // the Client API's keep-alive (5 s), and fetch would send the POST on the connection the peer
  // closed meanwhile ("other side closed") unless the event loop first polls and sees that close.
  await sleep(50);
  const rec = record(
    { 'peer A (source)': peers.a.pid!, 'peer B (downloader)': peers.b.pid!, 'memory feeder': prepared.pid },
    SIZE_MIB,
  );
  prepared.go();
  const t0 = performance.now();
  const queued = await json<{ download: { key: string } }>(
    post(`${peers.apiB}/downloads`, { fileId: peers.fileId, outDir }),
  );
  const end = await peers.events.finished(queued.download.key);
  const t1 = performance.now();
  const conditions = rec.end();
  await prepared.done();
  if (end.state !== 'done') throw new Error(`peershare download ${end.state}: ${end.error ?? ''}`);
  if (statSync(end.finalPath!).size !== SIZE_MIB * MiB) throw new Error('peershare wrote the wrong size');
  const unshare = await fetch(`${peers.apiB}/files/${peers.fileId}`, {
    method: 'DELETE',
    headers: { 'x-peershare-client': 'bench' },
  });
  if (!unshare.ok) throw new Error(`unsharing the copy: HTTP ${unshare.status} ${await unshare.text()}`);
  rmSync(outDir, { recursive: true, force: true });
  return { gibps: SIZE_MIB / 1024 / ((t1 - t0) / 1000), conditions };
}

// ---------------------------------------------------------------- the WebTorrent reference

/** Install WebTorrent into bench/.cache/webtorrent unless it is there already; the reason when it cannot be. */
function ensureWebTorrent(): string | undefined {
  if (process.env.BENCH_WEBTORRENT === 'off') return 'turned off with BENCH_WEBTORRENT=off';
  const manifest = join(WEBTORRENT_DIR, 'package.json');
  const wanted = `${JSON.stringify(WEBTORRENT_PACKAGE, null, 2)}\n`;
  if (
    existsSync(join(WEBTORRENT_DIR, 'node_modules/webtorrent/package.json')) &&
    existsSync(manifest) &&
    readFileSync(manifest, 'utf8') === wanted
  )
    return undefined;
  console.log(`installing WebTorrent into ${WEBTORRENT_DIR} (npm install --ignore-scripts) …`);
  rmSync(WEBTORRENT_DIR, { recursive: true, force: true });
  mkdirSync(WEBTORRENT_DIR, { recursive: true });
  writeFileSync(manifest, wanted);
  try {
    execFileSync(
      'npm',
      ['install', '--prefix', WEBTORRENT_DIR, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 150_000 },
    );
    return undefined;
  } catch (err) {
    rmSync(WEBTORRENT_DIR, { recursive: true, force: true }); // try again next time
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .at(-1);
    return `npm install of webtorrent failed: ${stderr ?? (err as Error).message}`;
  }
}

/** The first line `child` prints on stdout; rejects (with the end of its stderr) if it exits or times out first. */
function firstLine(child: ChildProcess, timeoutMs: number, what: string): Promise<string> {
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-2000)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const last = stderr
        .trim()
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('    at '))
        .slice(-2)
        .join(' / ');
      reject(new Error(`${what} exited (${signal ?? code})${last ? `: ${last}` : ''}`));
    });
  });
}

interface Seeder {
  pid: number;
  port: number;
  /** The .torrent file, base64. */
  torrent: string;
  version: string;
}

const webtorrentEnv = () => ({ ...process.env, BENCH_WEBTORRENT_DIR: WEBTORRENT_DIR });

async function startSeeder(file: string, children: ChildProcess[]): Promise<Seeder> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'webtorrent-seed.mjs'), file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: webtorrentEnv(),
  });
  children.push(child);
  return {
    ...(JSON.parse(await firstLine(child, 150_000, 'the WebTorrent seeder')) as Omit<Seeder, 'pid'>),
    pid: child.pid!,
  };
}

/** One download by a new WebTorrent process: GiB/s to 'done' (page cache) and to the end of the fsync. */
async function webtorrentRun(
  seeder: Seeder,
  source: string,
  outDir: string,
): Promise<Omit<Run, 'side' | 'round' | 'position' | 'waitedS'>> {
  const dir = mkdtempSync(join(outDir, 'webtorrent-'));
  const prepared = await prepareRun(source, outDir, SIZE_MIB);
  const rec = record({ 'WebTorrent seeder': seeder.pid, 'memory feeder': prepared.pid }, SIZE_MIB);
  prepared.go();
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'webtorrent-leech.mjs'), dir, `${WEBTORRENT_HOST}:${seeder.port}`],
    { stdio: ['pipe', 'pipe', 'pipe'], env: webtorrentEnv() },
  );
  rec.add('WebTorrent downloader', child.pid!);
  child.stdin.end(seeder.torrent);
  try {
    const r = JSON.parse(await firstLine(child, 120_000, 'the WebTorrent downloader')) as {
      seconds: number;
      secondsSynced: number;
      bytes: number;
    };
    const conditions = rec.end();
    if (r.bytes !== SIZE_MIB * MiB) throw new Error(`WebTorrent downloaded ${r.bytes} bytes`);
    return { gibps: SIZE_MIB / 1024 / r.secondsSynced, gibpsNoFsync: SIZE_MIB / 1024 / r.seconds, conditions };
  } finally {
    await prepared.done();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the benchmark

const LABELS: Record<Run['side'], string> = {
  peershare: "peershare → peershare (whole peers; verified, fsync'd)",
  'nginx-tls': 'nginx TLS 1.3 → curl, then fsync',
  nginx: 'nginx → curl (plain HTTP), then fsync',
  webtorrent: 'WebTorrent → WebTorrent, then fsync',
};
const f2 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2);
const spread = (xs: number[]) =>
  xs.length === 0 ? '–' : `${f2(Math.min(...xs))} – **${f2(median(xs))}** – ${f2(Math.max(...xs))}`;

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-transfer-'));
  const shareDir = join(dir, 'share');
  const outDir = join(dir, 'out');
  mkdirSync(shareDir);
  mkdirSync(outDir);
  chmodSync(dir, 0o755); // nginx's workers run as another user and must reach the shared file
  const file = join(shareDir, 'big.bin');
  makeFile(file, SIZE_MIB);
  const children: ChildProcess[] = [];
  const stderr = { text: '' }; // the peers' warnings, shown only if something fails
  let peers: Peers | undefined;
  try {
    peers = await startPeers(dir, file, children, stderr);

    const wantNginx = SIDES.some((s) => s !== 'peershare');
    const haveNginx = wantNginx && ensureNginx();
    const nginxSkipped = haveNginx
      ? undefined
      : wantNginx
        ? 'nginx could not be installed'
        : `not run (BENCH_SIDES=${process.env.BENCH_SIDES})`;
    let cert = '';
    let nginxWorker = 0;
    let suite = '';
    if (haveNginx) {
      const tls = makeCertificate(dir);
      cert = tls.cert;
      const nginx = await startNginx(dir, shareDir, tls);
      children.push(nginx.child);
      nginxWorker = nginx.worker;
      suite = negotiated(cert);
      if (!suite.includes(TLS13_SUITE))
        throw new Error(`nginx and curl negotiated ${suite}, not TLSv1.3 / ${TLS13_SUITE}`);
    }

    const ours = { a: peers.a.pid, b: peers.b.pid, nginx: nginxWorker || undefined };
    const runs: Run[] = [];
    const sides = SIDES.filter((s) => haveNginx || s === 'peershare');
    for (let round = 1; round <= RUNS; round++) {
      const shift = ORDER === 'rotate' ? (round - 1) % sides.length : 0;
      const order = [...sides.slice(shift), ...sides.slice(0, shift)];
      for (const [i, side] of order.entries()) {
        const waitedS = (await waitForQuiet(ours, NOISY_CORES, QUIET_WAIT_MS)) / 1000;
        const r =
          side === 'peershare'
            ? await peershareRun(peers, file, outDir, round)
            : await curlRun(side === 'nginx-tls', cert, file, outDir, nginxWorker);
        runs.push({ side, round, position: i + 1, waitedS, ...r });
        console.log(
          `  round ${round}, ${side}: ${r.gibps.toFixed(2)} GiB/s (others ${r.conditions.othersCores.toFixed(2)} cores, waited ${waitedS.toFixed(0)} s)`,
        );
      }
    }
    // WebTorrent's seeder starts, and its runs come, after the rounds, so that nothing of it is
    // running or being released beside them (its two processes hold and then release much of
    // the file's size in memory).
    let webtorrentSkipped = ensureWebTorrent();
    let seeder: Seeder | undefined;
    if (!webtorrentSkipped) {
      try {
        seeder = await startSeeder(file, children);
      } catch (err) {
        webtorrentSkipped = `WebTorrent did not run: ${(err as Error).message}`;
      }
    }
    const webtorrentRuns: Run[] = [];
    for (let round = 1; round <= RUNS && seeder && !webtorrentSkipped; round++) {
      try {
        const waitedS = (await waitForQuiet({ ...ours, seeder: seeder.pid }, NOISY_CORES, QUIET_WAIT_MS)) / 1000;
        webtorrentRuns.push({
          side: 'webtorrent',
          round,
          position: 1,
          waitedS,
          ...(await webtorrentRun(seeder, file, outDir)),
        });
      } catch (err) {
        webtorrentSkipped = `WebTorrent run ${round} failed: ${(err as Error).message}`;
      }
    }
    if (webtorrentSkipped)
      webtorrentRuns.length = 0; // all runs or none
    else runs.push(...webtorrentRuns);

    const of = (side: Run['side']) => runs.filter((r) => r.side === side);
    const gibps = (side: Run['side']) => of(side).map((r) => r.gibps);
    const noFsync = (side: Run['side']) => of(side).map((r) => r.gibpsNoFsync!);
    /** peershare ÷ the reference, round by round. */
    const paired = (side: Run['side'], pick: (r: Run) => number = (r) => r.gibps) =>
      of('peershare').flatMap((p) => {
        const ref = of(side).find((r) => r.round === p.round);
        return ref ? [p.gibps / pick(ref)] : [];
      });
    const noisy = (r: Run) => r.conditions.othersCores >= NOISY_CORES;
    const quietRounds = new Set(
      of('peershare')
        .filter((p) => !runs.some((r) => r.side !== 'webtorrent' && r.round === p.round && noisy(r)))
        .map((p) => p.round),
    );
    const quietRatio = (side: Run['side']) =>
      of('peershare')
        .filter((p) => quietRounds.has(p.round))
        .flatMap((p) => {
          const ref = of(side).find((r) => r.round === p.round);
          return ref ? [p.gibps / ref.gibps] : [];
        });
    const ratioTls = paired('nginx-tls');
    const ratioPlain = paired('nginx');
    const ratioWebTorrent = paired('webtorrent');
    const skippedFigure = (label: string, note: string | undefined) => figure(label, 'reference', null, 'GiB/s', note);

    /**
     * CPU per MiB of each side's own processes, run by run, and their sum: unlike GiB/s, it
     * hardly moves when other work shares the cores, so it compares builds on a busy machine.
     */
    const cpuOf = (side: Run['side'], name?: string) =>
      of(side).map((r) =>
        Object.entries(r.conditions.cpuMsPerMiB)
          .filter(([k]) => k !== 'memory feeder' && (name === undefined || k === name))
          .reduce((sum, [, v]) => sum + v, 0),
      );
    const cpuRows: Array<[string, number[]]> = [];
    for (const side of ['peershare', 'nginx-tls', 'nginx', 'webtorrent'] as const) {
      if (of(side).length === 0) continue;
      const names = [...new Set(of(side).flatMap((r) => Object.keys(r.conditions.cpuMsPerMiB)))].filter(
        (k) => k !== 'memory feeder',
      );
      for (const name of names) cpuRows.push([`${side}: ${name}`, cpuOf(side, name)]);
      cpuRows.push([`**${side}: all its processes**`, cpuOf(side)]);
    }

    const figures: Figure[] = [
      figure(LABELS.peershare, 'ours', gibps('peershare'), 'GiB/s'),
      haveNginx
        ? figure(LABELS['nginx-tls'], 'reference', gibps('nginx-tls'), 'GiB/s')
        : skippedFigure(LABELS['nginx-tls'], nginxSkipped),
      haveNginx
        ? figure('nginx TLS 1.3 → curl (page cache, no fsync)', 'info', noFsync('nginx-tls'), 'GiB/s')
        : skippedFigure('nginx TLS 1.3 → curl (no fsync)', nginxSkipped),
      haveNginx
        ? figure(LABELS.nginx, 'reference', gibps('nginx'), 'GiB/s')
        : skippedFigure(LABELS.nginx, nginxSkipped),
      haveNginx
        ? figure('nginx → curl (plain HTTP; page cache, no fsync)', 'info', noFsync('nginx'), 'GiB/s')
        : skippedFigure('nginx → curl (no fsync)', nginxSkipped),
      webtorrentSkipped
        ? skippedFigure(LABELS.webtorrent, webtorrentSkipped)
        : figure(`WebTorrent ${seeder!.version} → WebTorrent, then fsync`, 'reference', gibps('webtorrent'), 'GiB/s'),
      webtorrentSkipped
        ? skippedFigure("WebTorrent → WebTorrent, to 'done'", webtorrentSkipped)
        : figure(
            `WebTorrent ${seeder!.version} → WebTorrent, to 'done' (page cache)`,
            'info',
            noFsync('webtorrent'),
            'GiB/s',
          ),
      figure('peershare: CPU ms per MiB, both peers (user + sys)', 'info', cpuOf('peershare'), 'ms/MiB'),
      figure('peershare: CPU ms per MiB, source peer', 'info', cpuOf('peershare', 'peer A (source)'), 'ms/MiB'),
      figure(
        'peershare: CPU ms per MiB, downloading peer',
        'info',
        cpuOf('peershare', 'peer B (downloader)'),
        'ms/MiB',
      ),
      ...(haveNginx
        ? [figure('nginx TLS 1.3 → curl + fsync: CPU ms per MiB, both', 'info', cpuOf('nginx-tls'), 'ms/MiB')]
        : []),
      figure('peershare / nginx TLS 1.3 → curl + fsync (median of the rounds)', 'ratio', ratioTls, '×'),
      figure(
        'peershare / nginx TLS 1.3 → curl + fsync (lowest round)',
        'ratio',
        ratioTls.length ? Math.min(...ratioTls) : null,
        '×',
        nginxSkipped,
      ),
      figure(
        `peershare / nginx TLS 1.3 → curl + fsync, quiet rounds only (other processes < ${NOISY_CORES} cores in each run)`,
        'info',
        quietRatio('nginx-tls'),
        '×',
        quietRounds.size === 0 ? 'no quiet round' : undefined,
      ),
      figure('peershare / nginx → curl + fsync, plain HTTP (median of the rounds)', 'ratio', ratioPlain, '×'),
      figure(
        'peershare / nginx → curl, plain HTTP, no fsync (median of the rounds)',
        'ratio',
        paired('nginx', (r) => r.gibpsNoFsync!),
        '×',
      ),
      figure('peershare / WebTorrent + fsync (median of the rounds)', 'ratio', ratioWebTorrent, '×'),
    ];

    console.log(
      `transfer: ${SIZE_MIB} MiB from one source on loopback, to disk and fsync'd; ${RUNS} rounds (order ${ORDER}; memory ${MEMORY_MODE}${DROP_CACHES ? '; page cache dropped before each run' : ''}${WARM_SOURCE ? '' : '; source not read before'})`,
    );
    if (suite) console.log(`nginx ↔ curl over TLS negotiated ${suite}\n`);
    if (peers.events.reconnects > 0)
      console.log(
        `(peer B's progress stream ended and was opened again ${peers.events.reconnects} times: a run that ended meanwhile is timed to the reopening)\n`,
      );
    console.log(
      table(
        [
          'run',
          'round',
          'order',
          "GiB/s (fsync'd)",
          'GiB/s (no fsync)',
          'waited for quiet (s)',
          'load 1 min',
          'other processes (cores)',
          'steal (cores)',
          'host took back (MiB)',
          'CPU ms/MiB',
        ],
        runs.map((r) => [
          noisy(r) ? `${r.side} (noisy)` : r.side,
          String(r.round),
          String(r.position),
          f2(r.gibps),
          f2(r.gibpsNoFsync),
          r.waitedS.toFixed(0),
          f2(r.conditions.load1),
          f2(r.conditions.othersCores),
          f2(r.conditions.stealCores),
          r.conditions.reclaimedMiB === null ? '–' : r.conditions.reclaimedMiB.toFixed(0),
          Object.entries(r.conditions.cpuMsPerMiB)
            .map(([k, v]) => `${k} ${f2(v)}`)
            .join('; '),
        ]),
      ),
    );
    console.log('');
    console.log(
      table(
        ['what', 'min – **median** – max', 'every run'],
        [
          ...(['peershare', 'nginx-tls', 'nginx', 'webtorrent'] as const).map((s) => [
            LABELS[s],
            spread(gibps(s)),
            gibps(s).map(f2).join(', '),
          ]),
          ['nginx TLS 1.3 → curl, no fsync', spread(noFsync('nginx-tls')), noFsync('nginx-tls').map(f2).join(', ')],
          ['nginx → curl, no fsync', spread(noFsync('nginx')), noFsync('nginx').map(f2).join(', ')],
          ['**peershare / nginx TLS 1.3 + fsync**, per round', spread(ratioTls), ratioTls.map(f2).join(', ')],
          ['peershare / nginx plain + fsync, per round', spread(ratioPlain), ratioPlain.map(f2).join(', ')],
          ['peershare / WebTorrent + fsync, per round', spread(ratioWebTorrent), ratioWebTorrent.map(f2).join(', ')],
          [
            `peershare / nginx TLS 1.3 + fsync, quiet rounds only (${quietRounds.size} of ${RUNS})`,
            spread(quietRatio('nginx-tls')),
            quietRatio('nginx-tls').map(f2).join(', '),
          ],
          [
            `peershare / nginx plain + fsync, quiet rounds only`,
            spread(quietRatio('nginx')),
            quietRatio('nginx').map(f2).join(', '),
          ],
        ],
      ),
    );
    console.log('');
    console.log(
      table(
        ['CPU ms per MiB moved (user + sys, /proc/PID/stat)', 'min – **median** – max', 'every run'],
        cpuRows.map(([what, xs]) => [what, spread(xs), xs.map(f2).join(', ')]),
      ),
    );
    console.log(
      `\n(noisy: other processes used ≥ ${NOISY_CORES} cores during the run; a round is quiet when none of its runs was noisy. Each run first waited up to ${QUIET_WAIT_MS / 1000} s for other processes to use < ${NOISY_CORES} cores over a second.)`,
    );

    return {
      name: 'transfer',
      what: `${SIZE_MIB} MiB from one source on loopback, verified, written to disk and fsync'd, between two whole peers, against nginx TLS 1.3 → curl, nginx plain HTTP → curl and WebTorrent → WebTorrent writing the same file to disk and fsync'ing it, in the same run`,
      how: `peershare: two \`peershare start\` peers (as npm start runs them) on ${PEER_A} and ${PEER_B}; B asks its Client API for the file by id and is timed from POST /downloads to the done event (verified, fsync'd, placed, shared). nginx (sendfile) on ${NGINX_HOST}: port 8080 plain, 8443 TLS 1.3 only with ${TLS13_SUITE} only (ssl_conf_command Ciphersuites; Ed25519 certificate made by openssl at start; negotiated: ${suite || 'not run'}); \`curl -o\` (TLS: --tlsv1.3 --tls13-ciphers ${TLS13_SUITE}), then \`sync FILE\` (fsync). WebTorrent: one seeding process, a new downloading process per run (addPeer ${WEBTORRENT_HOST}, TCP), SHA-1 verified, to disk, then fsync. ${RUNS} rounds of peershare, nginx and nginx TLS (order ${ORDER === 'rotate' ? 'rotating from round to round' : 'fixed'}), then ${RUNS} WebTorrent runs; before each run the source file is read and memory is prepared (${MEMORY_MODE}; bench/_transfer-conditions.ts). Values are medians, every run listed; ratios are peershare ÷ the reference in the same round, median over the rounds.`,
      parameters: {
        quietRounds: quietRounds.size,
        quietWaitS: QUIET_WAIT_MS / 1000,
        peerLaunch: process.env.BENCH_PEER_LAUNCH === 'plain' ? 'plain node' : 'as npm start',
        fileMiB: SIZE_MIB,
        runs: RUNS,
        order: ORDER,
        memory: MEMORY_MODE,
        dropCaches: DROP_CACHES,
        warmSource: WARM_SOURCE,
        chunkMiB: 1,
        webtorrentPieceMiB: 1,
        tls13Suite: TLS13_SUITE,
      },
      figures,
      checks: [
        check(
          'peershare / nginx TLS 1.3 → curl + fsync (median of the rounds)',
          ratioTls.length ? median(ratioTls) : null,
          '×',
          '>=',
          0.8,
          nginxSkipped,
        ),
        check(
          "peershare / WebTorrent (both fsync'd; median of the rounds)",
          ratioWebTorrent.length ? median(ratioWebTorrent) : null,
          '×',
          '>=',
          3,
          webtorrentSkipped,
        ),
      ],
      notes: [
        `Every run: ${runs.map((r) => `${r.side} r${r.round}#${r.position} ${f2(r.gibps)} GiB/s (load ${f2(r.conditions.load1)}, others ${f2(r.conditions.othersCores)} cores, host took back ${r.conditions.reclaimedMiB?.toFixed(0) ?? '–'} MiB)`).join('; ')}`,
        ...(seeder
          ? [
              'WebTorrent runs with WebRTC stubbed out (its native addon needs an install script); the clients talk plain TCP only, so nothing on the measured path is replaced (bench/_webtorrent.mjs).',
            ]
          : []),
      ],
    };
  } catch (err) {
    if (stderr.text) console.error(stderr.text);
    throw err;
  } finally {
    peers?.events.close();
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
