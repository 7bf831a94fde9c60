/**
 * memory: RSS growth of a downloading peer while it downloads one large file (4 GiB by default;
 * BENCH_FILE_MIB) from one source on loopback. Target (issue 5): growth ≤ 50 MB.
 *
 * - The source: a File Management process (`peershare service files`) sharing the file in place
 *   (random data, no two 8 MiB blocks alike, fully written — not sparse).
 * - The downloader: a whole peer (`peershare start`, embedded queue) as its own process. Its idle
 *   RSS is read once it is up and settled; its peak RSS (VmHWM) is reset through
 *   /proc/PID/clear_refs just before POST /downloads and read once the download is done
 *   (verified, fsync'd, renamed into place and shared).
 * Everything (both data directories, the file and its copy) is deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, makeFile, waitFor, memoryOf, resetPeak } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 4096);
const SOURCE_HOST = '127.0.96.2';
const PEER_HOST = '127.0.96.3';
const BIN = join(import.meta.dirname, '../bin/peershare.js');



const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



interface Progress {
  key: string;
  state: string;
  bytesDone: number;
  finalPath?: string;
  error?: string;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-memory-'));
  const file = join(dir, 'big.bin');
  makeFile(file, SIZE_MIB);
  const children: ChildProcess[] = [];
  let stderr = ''; // the children's banners and warnings, shown only if something fails
  const start = (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-8192)));
    children.push(child);
    return child;
  };
  try {
    start(['service', 'files', '--host', SOURCE_HOST, '--data', join(dir, 'source')]);
    const source = `http://${SOURCE_HOST}:7871`;
    const peer = start(['start', '--host', PEER_HOST, '--data', join(dir, 'peer')]);
    const api = `http://${PEER_HOST}:7875`;
    await Promise.all([waitFor(`${source}/health`), waitFor(`${api}/health`)]);
    const shared = (await (await fetch(`${source}/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: file }) })).json()) as { files: Array<{ id: string }> };
    const fileId = shared.files[0]!.id;

    await sleep(2_000); // let the idle peer settle (start-up garbage collected, rounds running)
    const pid = peer.pid!;
    const idle = memoryOf(pid).rss;
    resetPeak(pid);
    const t0 = performance.now();
    const res = await fetch(`${api}/downloads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileId, name: 'copy.bin', sources: [source] }) });
    if (res.status !== 202) throw new Error(`POST /downloads: HTTP ${res.status} ${await res.text()}`);
    const { key } = (await res.json()) as Progress;
    let maxRss = 0;
    let last: Progress;
    for (;;) {
      maxRss = Math.max(maxRss, memoryOf(pid).rss);
      last = (await (await fetch(`${api}/downloads/${key}`)).json()) as Progress;
      if (last.state === 'done' || last.state === 'failed') break;
      await sleep(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    const peak = memoryOf(pid).hwm;
    if (last.state !== 'done') throw new Error(`download failed: ${last.error}`);
    if (statSync(last.finalPath!).size !== SIZE_MIB * MiB) throw new Error('downloaded file has the wrong size');

    console.log(`memory: a whole peer (\`peershare start\`, embedded queue) downloading ${SIZE_MIB} MiB from one source on loopback`);
    console.log('| what | MiB |');
    console.log('| --- | --- |');
    console.log(`| idle RSS before the download | ${(idle / MiB).toFixed(1)} |`);
    console.log(`| peak RSS (VmHWM) during the download | ${(peak / MiB).toFixed(1)} |`);
    console.log(`| **peak growth over idle** | **${((peak - idle) / MiB).toFixed(1)}** (${((peak - idle) / 1e6).toFixed(1)} MB; target ≤ 50 MB) |`);
    console.log(`| highest sampled RSS (every 250 ms) | ${(maxRss / MiB).toFixed(1)} |`);
    console.log(`download: ${seconds.toFixed(1)} s, ${(SIZE_MIB / 1024 / seconds).toFixed(2)} GiB/s (verified, fsync'd, shared)`);
  } catch (err) {
    console.error(stderr);
    throw err;
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
