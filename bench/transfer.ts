/**
 * transfer: one file (1 GiB by default; BENCH_FILE_MIB) from one source on loopback, verified
 * and written to disk, side by side with two references writing the same file to disk.
 *
 * - peershare: a File Management process (`peershare service files`) shares the file in place;
 *   the transfer engine (HttpChunkSource → SHA-256 per chunk → FsDownloadFiles, fsync every
 *   64 chunks and at the end, link into place) runs in this process.
 * - nginx → curl: nginx (sendfile) serves the same file; `curl -o` writes it into the page cache,
 *   timed alone and followed by `sync --data` of the file (the durability peershare gives).
 * - WebTorrent: bench/webtorrent-seed.mjs seeds the same file in one process (1 MiB pieces;
 *   trackers, DHT, LSD, PEX, uTP and NAT traversal off); for each run bench/webtorrent-leech.mjs,
 *   a new process, adds the torrent with a fresh directory as its store and the seeder as its
 *   only peer (addPeer to WEBTORRENT_HOST:port, TCP), downloads every piece (SHA-1 verified) to
 *   disk and fsyncs it; timed from client.add (WebTorrent loaded and listening) to 'done' and to
 *   the end of the fsync. WebTorrent is installed at benchmark time into bench/.cache/webtorrent
 *   (`npm install --prefix … --ignore-scripts`: a dependency's install script refuses npm, and
 *   `npm ci` of this package must stay clean); BENCH_WEBTORRENT=off skips it.
 * Each side runs RUNS times (default 3), alternating; medians are reported. nginx is installed
 * with apt-get when missing; a reference that cannot be installed or run is reported as skipped.
 * BENCH_VERBOSE=1 prints the downloader's CPU per MiB for each peershare run; BENCH_PROFILE=DIR
 * writes CPU profiles of the source process; BENCH_TRANSFER_OPTIONS passes transfer options (JSON).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FsDownloadFiles } from '../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../src/download/adapters/http/http-chunk-source.ts';
import { Bitfield } from '../src/download/domain/bitfield.ts';
import { runTransfer } from '../src/download/domain/transfer.ts';
import type { Manifest } from '../src/shared/content.ts';
import { memorySigner } from '../src/shared/keys.ts';
import { PeerTls } from '../src/shared/peer-tls.ts';
import { check, figure, fmt, median, table, type BenchResult, type Figure } from './_results.ts';
import { MiB, makeFile, waitFor, warmPageCache } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SOURCE_HOST = '127.0.98.2';
const NGINX_HOST = '127.0.98.3';
/** The seeder listens on every address; the downloader is given this one. */
const WEBTORRENT_HOST = '127.0.98.4';
const WEBTORRENT_DIR = join(import.meta.dirname, '.cache/webtorrent');
/** What the cache folder installs. uint8-util is held at 2.2.6: 2.3 makes webtorrent 2.8.5 throw on every torrent (its arr2hex no longer accepts the hex string parse-torrent gives). webtorrent 3 needs Node 22. */
const WEBTORRENT_PACKAGE = { private: true, description: 'peershare bench: the WebTorrent reference (installed by bench/transfer.ts)', dependencies: { webtorrent: '^2.8.5' }, overrides: { 'uint8-util': '2.2.6' } };

/** BENCH_PROFILE=DIR: CPU profiles of the source process land in DIR (node --cpu-prof). */
const profileArgs = () => (process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
function ensureNginx(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}

function startNginx(dir: string, root: string): ChildProcess {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}/nb; proxy_temp_path ${dir}/np;
  fastcgi_temp_path ${dir}/nf; uwsgi_temp_path ${dir}/nu; scgi_temp_path ${dir}/ns;
  server { listen ${NGINX_HOST}:8080; root ${root}; } }\n`,
  );
  return spawn('nginx', ['-c', conf], { stdio: 'ignore' });
}

async function peershareRun(source: string, manifest: Manifest, outDir: string, tls: PeerTls): Promise<number> {
  const files = new FsDownloadFiles();
  const chunkSource = new HttpChunkSource(tls);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { partial } = await files.openPartial(outDir, manifest.name, 'b'.repeat(32), manifest.size);
  await runTransfer({
    manifest, sources: [source], chunkSource, partial, verified: new Bitfield(manifest.chunks.length),
    signal: new AbortController().signal, onEvent: () => undefined,
    options: process.env.BENCH_TRANSFER_OPTIONS ? JSON.parse(process.env.BENCH_TRANSFER_OPTIONS) : undefined,
  });
  const path = await files.place(partial, outDir, manifest.name, undefined, () => undefined);
  await files.dropPartial(partial);
  await partial.close();
  const seconds = (performance.now() - t0) / 1000;
  if (process.env.BENCH_VERBOSE) {
    const cpu = process.cpuUsage(cpu0);
    console.log(`  peershare run: ${seconds.toFixed(2)} s, downloader CPU ${((cpu.user + cpu.system) / 1000 / SIZE_MIB).toFixed(2)} ms/MiB (user ${(cpu.user / 1000 / SIZE_MIB).toFixed(2)}, system ${(cpu.system / 1000 / SIZE_MIB).toFixed(2)})`);
  }
  chunkSource.close();
  rmSync(path);
  return SIZE_MIB / 1024 / seconds;
}

/** curl writing the file into the page cache, and the same followed by an fsync of it (what peershare guarantees). */
function curlRun(outDir: string): { cached: number; synced: number } {
  const out = join(outDir, 'curl.bin');
  const t0 = performance.now();
  execFileSync('curl', ['-sS', '-o', out, `http://${NGINX_HOST}:8080/big.bin`]);
  const t1 = performance.now();
  execFileSync('sync', ['--data', out]);
  const t2 = performance.now();
  rmSync(out);
  return { cached: SIZE_MIB / 1024 / ((t1 - t0) / 1000), synced: SIZE_MIB / 1024 / ((t2 - t0) / 1000) };
}

// ---------------------------------------------------------------- the WebTorrent reference

/** Install WebTorrent into bench/.cache/webtorrent unless it is there already; the reason when it cannot be. */
function ensureWebTorrent(): string | undefined {
  if (process.env.BENCH_WEBTORRENT === 'off') return 'turned off with BENCH_WEBTORRENT=off';
  const manifest = join(WEBTORRENT_DIR, 'package.json');
  const wanted = `${JSON.stringify(WEBTORRENT_PACKAGE, null, 2)}\n`;
  if (existsSync(join(WEBTORRENT_DIR, 'node_modules/webtorrent/package.json')) && existsSync(manifest) && readFileSync(manifest, 'utf8') === wanted) return undefined;
  console.log(`installing WebTorrent into ${WEBTORRENT_DIR} (npm install --ignore-scripts) …`);
  rmSync(WEBTORRENT_DIR, { recursive: true, force: true });
  mkdirSync(WEBTORRENT_DIR, { recursive: true });
  writeFileSync(manifest, wanted);
  try {
    execFileSync('npm', ['install', '--prefix', WEBTORRENT_DIR, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 150_000 });
    return undefined;
  } catch (err) {
    rmSync(WEBTORRENT_DIR, { recursive: true, force: true }); // try again next time
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim().split('\n').filter(Boolean).at(-1);
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
      const last = stderr.trim().split('\n').filter((l) => l.trim() && !l.startsWith('    at ')).slice(-2).join(' / ');
      reject(new Error(`${what} exited (${signal ?? code})${last ? `: ${last}` : ''}`));
    });
  });
}

interface Seeder {
  port: number;
  /** The .torrent file, base64. */
  torrent: string;
  version: string;
}

const webtorrentEnv = () => ({ ...process.env, BENCH_WEBTORRENT_DIR: WEBTORRENT_DIR });

async function startSeeder(file: string, children: ChildProcess[]): Promise<Seeder> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'webtorrent-seed.mjs'), file], { stdio: ['ignore', 'pipe', 'pipe'], env: webtorrentEnv() });
  children.push(child);
  return JSON.parse(await firstLine(child, 150_000, 'the WebTorrent seeder')) as Seeder;
}

/** One download by a new WebTorrent process: GiB/s to 'done' (page cache) and to the end of the fsync. */
async function webtorrentRun(seeder: Seeder, outDir: string): Promise<{ cached: number; synced: number }> {
  const dir = mkdtempSync(join(outDir, 'webtorrent-'));
  const child = spawn(process.execPath, [join(import.meta.dirname, 'webtorrent-leech.mjs'), dir, `${WEBTORRENT_HOST}:${seeder.port}`], { stdio: ['pipe', 'pipe', 'pipe'], env: webtorrentEnv() });
  child.stdin!.end(seeder.torrent);
  try {
    const r = JSON.parse(await firstLine(child, 120_000, 'the WebTorrent downloader')) as { seconds: number; secondsSynced: number; bytes: number };
    if (r.bytes !== SIZE_MIB * MiB) throw new Error(`WebTorrent downloaded ${r.bytes} bytes`);
    return { cached: SIZE_MIB / 1024 / r.seconds, synced: SIZE_MIB / 1024 / r.secondsSynced };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-transfer-'));
  const shareDir = join(dir, 'share');
  const outDir = join(dir, 'out');
  mkdirSync(shareDir);
  mkdirSync(outDir);
  chmodSync(dir, 0o755); // nginx's workers run as www-data and must reach the shared file
  makeFile(join(shareDir, 'big.bin'), SIZE_MIB);
  const children: ChildProcess[] = [];
  try {
    const filesProc = spawn(process.execPath, [...profileArgs(), join(import.meta.dirname, '../bin/peershare.js'), 'service', 'files', '--host', SOURCE_HOST, '--data', join(dir, 'data'), '--log-level', 'warn'], { stdio: 'ignore' });
    children.push(filesProc);
    const source = `http://${SOURCE_HOST}:7871`;
    await waitFor(`${source}/health`);
    const shared = (await (await fetch(`${source}/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: join(shareDir, 'big.bin') }) })).json()) as { files: Array<{ id: string }> };
    const manifest = (await (await fetch(`${source}/files/${shared.files[0]!.id}/manifest`)).json()) as Manifest;
    // The downloader dials the source over TLS, pinned to the id its /health tells this host.
    const tls = new PeerTls(memorySigner());
    await tls.ready();
    const { peerId } = (await (await fetch(`${source}/health`)).json()) as { peerId: string };
    const peerSource = `${peerId}@${SOURCE_HOST}:7871`;

    const haveNginx = ensureNginx();
    if (haveNginx) {
      const nginx = startNginx(dir, shareDir);
      children.push(nginx);
      await waitFor(`http://${NGINX_HOST}:8080/big.bin`);
    }
    let webtorrentSkipped = ensureWebTorrent();
    let seeder: Seeder | undefined;
    if (!webtorrentSkipped) {
      try {
        seeder = await startSeeder(join(shareDir, 'big.bin'), children);
      } catch (err) {
        webtorrentSkipped = `WebTorrent did not run: ${(err as Error).message}`;
      }
    }
    const ours: number[] = [];
    const reference: number[] = [];
    const referenceSynced: number[] = [];
    const webtorrent: number[] = [];
    const webtorrentSynced: number[] = [];
    // peershare and nginx → curl alternate; WebTorrent's runs come after them, because its
    // processes (seeder and downloader each holding much of the file in memory) left the next
    // runs on this VM paying to take memory back (see warmPageCache). Each side starts with
    // memory just used, whichever runs first.
    for (let i = 0; i < RUNS; i++) {
      warmPageCache(outDir, SIZE_MIB);
      ours.push(await peershareRun(peerSource, manifest, outDir, tls));
      if (haveNginx) {
        warmPageCache(outDir, SIZE_MIB);
        const r = curlRun(outDir);
        reference.push(r.cached);
        referenceSynced.push(r.synced);
      }
    }
    for (let i = 0; i < RUNS && seeder && !webtorrentSkipped; i++) {
      try {
        warmPageCache(outDir, SIZE_MIB);
        const r = await webtorrentRun(seeder, outDir);
        webtorrent.push(r.cached);
        webtorrentSynced.push(r.synced);
      } catch (err) {
        webtorrentSkipped = `WebTorrent run ${i + 1} failed: ${(err as Error).message}`;
      }
    }
    if (webtorrentSkipped) webtorrent.length = webtorrentSynced.length = 0; // all runs or none

    const oursMedian = median(ours);
    const nginxSkipped = haveNginx ? undefined : 'nginx could not be installed';
    const ratio = (xs: number[]) => (xs.length > 0 ? oursMedian / median(xs) : null);
    const figures: Figure[] = [
      figure("peershare (verified, fsync'd)", 'ours', ours, 'GiB/s'),
      haveNginx ? figure('nginx → curl (page cache, no fsync)', 'reference', reference, 'GiB/s') : figure('nginx → curl', 'reference', null, 'GiB/s', nginxSkipped),
      haveNginx ? figure('nginx → curl, then fsync of the file', 'reference', referenceSynced, 'GiB/s') : figure('nginx → curl + fsync', 'reference', null, 'GiB/s', nginxSkipped),
      webtorrentSkipped ? figure('WebTorrent → WebTorrent', 'reference', null, 'GiB/s', webtorrentSkipped) : figure(`WebTorrent ${seeder!.version} → WebTorrent, to 'done' (page cache)`, 'reference', webtorrent, 'GiB/s'),
      webtorrentSkipped ? figure('WebTorrent → WebTorrent + fsync', 'reference', null, 'GiB/s', webtorrentSkipped) : figure(`WebTorrent ${seeder!.version} → WebTorrent, then fsync of the file`, 'reference', webtorrentSynced, 'GiB/s'),
      figure('peershare / nginx → curl', 'ratio', ratio(reference), '×'),
      figure('peershare / nginx → curl + fsync', 'ratio', ratio(referenceSynced), '×'),
      figure("peershare / WebTorrent (to 'done')", 'ratio', ratio(webtorrent), '×'),
      figure('peershare / WebTorrent + fsync', 'ratio', ratio(webtorrentSynced), '×'),
    ];

    console.log(`transfer: ${SIZE_MIB} MiB from one source on loopback, to disk; medians of ${RUNS} runs (GiB/s)\n`);
    const rows = figures.filter((f) => f.kind !== 'ratio').map((f) => {
      const xs = f.runs ?? [];
      const r = f.kind === 'reference' && f.value ? fmt(oursMedian / f.value) : '';
      return [f.label, f.value === null ? `skipped: ${f.note}` : fmt(f.value), xs.map((x) => x.toFixed(2)).join(', '), r];
    });
    console.log(table(['what', 'GiB/s (median)', 'runs', 'peershare ÷ this'], rows));

    return {
      name: 'transfer',
      what: `${SIZE_MIB} MiB from one source on loopback, verified and written to disk (fsync'd), against nginx → curl and WebTorrent → WebTorrent writing the same file to disk`,
      how: `peershare: \`peershare service files\` shares the file in place, the transfer engine (HTTP ranges, SHA-256 per 1 MiB chunk, fsync) runs in the benchmark process. nginx (sendfile) → \`curl -o\`, timed alone and followed by \`sync --data\`. WebTorrent: one process seeds (1 MiB pieces; trackers, DHT, LSD, PEX, uTP off), a new process per run downloads from it as its only peer (addPeer ${WEBTORRENT_HOST}, TCP), SHA-1 verified, to disk, then fsync. ${RUNS} runs of each, alternating; medians.`,
      parameters: { fileMiB: SIZE_MIB, runs: RUNS, chunkMiB: 1, webtorrentPieceMiB: 1, ...(process.env.BENCH_TRANSFER_OPTIONS ? { transferOptions: process.env.BENCH_TRANSFER_OPTIONS } : {}) },
      figures,
      checks: [
        check('peershare / nginx → curl', ratio(reference), '×', '>=', 0.8, nginxSkipped),
        check('peershare / WebTorrent (both fsync\'d)', ratio(webtorrentSynced), '×', '>=', 3, webtorrentSkipped),
      ],
      notes: seeder ? ["WebTorrent runs with WebRTC stubbed out (its native addon needs an install script); the clients talk plain TCP only, so nothing on the measured path is replaced (bench/_webtorrent.mjs)."] : [],
    };
  } finally {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
