/**
 * memory: RSS growth of a downloading peer while it downloads one large file (4 GiB by default;
 * BENCH_FILE_MIB) from one source on loopback. Targets: growth ≤ 50 MB (issue 5), idle RSS of the
 * peer ≤ 80 MB (issue 7). One run (4 GiB took about a minute here). A download not done within
 * DEADLINE_S is cancelled and its growth check reported as skipped, with how far it got.
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
import { check, figure, table, type BenchResult } from './_results.ts';
import { MiB, makeFile, memoryOf, peerLaunch, resetPeak, waitFor } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 4096);
const SOURCE_HOST = '127.0.96.2';
const PEER_HOST = '127.0.96.3';
const BIN = join(import.meta.dirname, '../bin/peershare.js');
const MB = 1e6;
/** The download must be done by then (s), so that the benchmark stays under 3 minutes; BENCH_MEMORY_DEADLINE_S. */
const DEADLINE_S = Number(process.env.BENCH_MEMORY_DEADLINE_S ?? 140);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Progress {
  key: string;
  state: string;
  bytesDone: number;
  finalPath?: string;
  error?: string;
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-memory-'));
  const file = join(dir, 'big.bin');
  makeFile(file, SIZE_MIB);
  const children: ChildProcess[] = [];
  let stderr = ''; // the children's banners and warnings, shown only if something fails
  const start = (args: string[]) => {
    const launch = peerLaunch(); // as npm start runs a peer
    const child = spawn(process.execPath, [...launch.nodeArgs, BIN, ...args, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: launch.env,
    });
    child.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-8192)));
    children.push(child);
    return child;
  };
  try {
    start(['service', 'files', '--host', SOURCE_HOST, '--data', join(dir, 'source')]);
    const source = `http://${SOURCE_HOST}:7871`;
    const peer = start(['start', '--host', PEER_HOST, '--data', join(dir, 'peer')]);
    const api = `http://${PEER_HOST}:7875`;
    await Promise.all([waitFor(`${source}/health`), waitFor(`${api}/health`)]);
    const shared = (await (
      await fetch(`${source}/shares`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: file }),
      })
    ).json()) as { files: Array<{ id: string }> };
    const fileId = shared.files[0]!.id;
    // A source is a peer, pinned by its id (peerId@host:port): the Files service's /health names it.
    const { peerId } = (await (await fetch(`${source}/health`)).json()) as { peerId: string };

    await sleep(15_000); // let the idle peer settle: start-up garbage collected, freed memory given back, rounds running
    const pid = peer.pid!;
    const idle = memoryOf(pid).rss;
    resetPeak(pid);
    const t0 = performance.now();
    const res = await fetch(`${api}/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileId, name: 'copy.bin', sources: [`${peerId}@${SOURCE_HOST}:7871`] }),
    });
    if (res.status !== 202) throw new Error(`POST /downloads: HTTP ${res.status} ${await res.text()}`);
    const { key } = (await res.json()) as Progress;
    let maxRss = 0;
    let last: Progress;
    for (;;) {
      maxRss = Math.max(maxRss, memoryOf(pid).rss);
      last = (await (await fetch(`${api}/downloads/${key}`)).json()) as Progress;
      if (last.state === 'done' || last.state === 'failed') break;
      if (performance.now() - t0 > DEADLINE_S * 1000) break;
      await sleep(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    const peak = memoryOf(pid).hwm;
    if (last.state === 'failed') throw new Error(`download failed: ${last.error}`);
    const late =
      last.state === 'done'
        ? undefined
        : `download not done after ${DEADLINE_S} s (${(last.bytesDone / MiB).toFixed(0)} of ${SIZE_MIB} MiB, ${(last.bytesDone / MiB / seconds).toFixed(1)} MiB/s); peak growth until then ${((peak - idle) / MB).toFixed(1)} MB`;
    if (late) console.log(`${late}: the growth check is skipped`);
    else if (statSync(last.finalPath!).size !== SIZE_MIB * MiB) throw new Error('downloaded file has the wrong size');

    console.log(
      `memory: a whole peer (\`peershare start\`, embedded queue) downloading ${SIZE_MIB} MiB from one source on loopback\n`,
    );
    console.log(
      table(
        ['what', 'MiB'],
        [
          ['idle RSS before the download', (idle / MiB).toFixed(1)],
          ['peak RSS (VmHWM) during the download', (peak / MiB).toFixed(1)],
          [
            '**peak growth over idle**',
            `**${((peak - idle) / MiB).toFixed(1)}** (${((peak - idle) / MB).toFixed(1)} MB; target ≤ 50 MB)`,
          ],
          ['highest sampled RSS (every 250 ms)', (maxRss / MiB).toFixed(1)],
        ],
      ),
    );
    if (!late)
      console.log(
        `\ndownload: ${seconds.toFixed(1)} s, ${(SIZE_MIB / 1024 / seconds).toFixed(2)} GiB/s (verified, fsync'd, shared)`,
      );
    return {
      name: 'memory',
      what: `RSS of a whole peer (\`peershare start\`, embedded queue): idle, and its peak growth over idle while it downloads ${SIZE_MIB} MiB from one source on loopback`,
      how: "Source: `peershare service files` sharing the file in place. Downloader: `peershare start` in its own process; idle RSS read 15 s after start-up, run as `npm start` runs it (its node options and environment); peak RSS (VmHWM) reset through /proc/PID/clear_refs just before POST /downloads and read once the download is done (verified, fsync'd, renamed into place, shared). One run.",
      parameters: { fileMiB: SIZE_MIB },
      figures: [
        figure('idle RSS before the download', 'ours', idle / MiB, 'MiB'),
        figure('peak RSS (VmHWM) during the download', 'ours', peak / MiB, 'MiB', late),
        figure('peak growth over idle', 'ours', (peak - idle) / MiB, 'MiB', late),
        figure('highest sampled RSS (every 250 ms)', 'info', maxRss / MiB, 'MiB'),
        figure(
          'download throughput (whole peer, under measurement)',
          'info',
          last.bytesDone / 1024 / MiB / seconds,
          'GiB/s',
          late,
        ),
      ],
      checks: [
        check(
          `RSS growth during a ${SIZE_MIB >= 1024 ? `${SIZE_MIB / 1024} GiB` : `${SIZE_MIB} MiB`} download`,
          late ? null : (peak - idle) / MB,
          'MB',
          '<=',
          50,
          late,
        ),
        check('idle RSS of a whole peer', idle / MB, 'MB', '<=', 80),
      ],
    };
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
