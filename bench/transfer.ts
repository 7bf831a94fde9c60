/**
 * transfer: one file (1 GiB by default; BENCH_FILE_MIB) from one source on loopback, verified
 * and written to disk, side by side with the reference nginx → curl writing the same file.
 *
 * - peershare: a File Management process (`peershare service files`) shares the file in place;
 *   the transfer engine (HttpChunkSource → SHA-256 per chunk → FsDownloadFiles, fsync every
 *   64 chunks and at the end, link into place) runs in this process.
 * - reference: nginx (sendfile) serves the same file; `curl -o` writes it into the page cache,
 *   timed alone and followed by `sync --data` of the file (the durability peershare gives).
 * Each side runs RUNS times (default 3), alternating; medians are reported. nginx is installed
 * with apt-get when missing; if that fails the reference is reported as skipped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsDownloadFiles } from '../src/download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../src/download/adapters/http/http-chunk-source.ts';
import { Bitfield } from '../src/download/domain/bitfield.ts';
import { runTransfer } from '../src/download/domain/transfer.ts';
import type { Manifest } from '../src/shared/content.ts';
import { MiB, makeFile, waitFor } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SOURCE_HOST = '127.0.98.2';
const NGINX_HOST = '127.0.98.3';

/** BENCH_PROFILE=DIR: CPU profiles of the source process land in DIR (node --cpu-prof). */
const profileArgs = () => (process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;



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

async function peershareRun(source: string, manifest: Manifest, outDir: string): Promise<number> {
  const files = new FsDownloadFiles();
  const chunkSource = new HttpChunkSource();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const partial = await files.openPartial(outDir, manifest.name, 'b'.repeat(32), manifest.size);
  await runTransfer({
    manifest, sources: [source], chunkSource, partial, verified: new Bitfield(manifest.chunks.length),
    signal: new AbortController().signal, onEvent: () => undefined,
  });
  const path = await files.finalize(partial, outDir, manifest.name);
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

export async function run(): Promise<void> {
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

    const haveNginx = ensureNginx();
    if (haveNginx) {
      const nginx = startNginx(dir, shareDir);
      children.push(nginx);
      await waitFor(`http://${NGINX_HOST}:8080/big.bin`);
    }
    const ours: number[] = [];
    const reference: number[] = [];
    const referenceSynced: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await peershareRun(source, manifest, outDir));
      if (haveNginx) {
        const r = curlRun(outDir);
        reference.push(r.cached);
        referenceSynced.push(r.synced);
      }
    }
    console.log(`transfer: ${SIZE_MIB} MiB from one source on loopback, to disk; medians of ${RUNS} runs (GiB/s)`);
    console.log('| what | GiB/s (median) | runs | ratio to nginx → curl | ratio to nginx → curl + fsync |');
    console.log('| --- | --- | --- | --- | --- |');
    const ref = haveNginx ? median(reference) : undefined;
    const refSynced = haveNginx ? median(referenceSynced) : undefined;
    const row = (what: string, xs: number[]) =>
      `| ${what} | ${median(xs).toFixed(2)} | ${xs.map((x) => x.toFixed(2)).join(', ')} | ${ref ? (median(xs) / ref).toFixed(2) : 'n/a'} | ${refSynced ? (median(xs) / refSynced).toFixed(2) : 'n/a'} |`;
    console.log(row("peershare (verified, fsync'd)", ours));
    if (haveNginx) {
      console.log(row('nginx → curl (page cache, no fsync)', reference));
      console.log(row('nginx → curl, then fsync of the file', referenceSynced));
    } else console.log('| nginx → curl | skipped (nginx could not be installed) | | | |');
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
