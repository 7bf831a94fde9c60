/**
 * File Management with a 1 GiB file: RSS growth of the service process while it (1) shares the
 * file in place (hashing it), (2) receives it as a streamed upload, (3) serves it whole.
 * The service runs as its own process (`peershare service files`); its peak RSS (VmHWM) is
 * reset before each step through /proc/PID/clear_refs and read after it.
 * Set BENCH_FILE_MIB to change the size. Targets: growth well under 100 MB (issue 3) for each
 * step; idle RSS ≤ 80 MB (issue 7). One run.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, figure, table, type BenchResult } from './_results.ts';
import { MiB, makeFile, memoryOf, peerLaunch, resetPeak } from './_support.ts';

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 1024);
const HOST = '127.0.99.2';
const URL_BASE = `http://${HOST}:7871`;
const MB = 1e6;
const GROWTH_TARGET_MB = 100;
const IDLE_TARGET_MB = 80;

function call(
  method: string,
  path: string,
  body?: NodeJS.ReadableStream | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${URL_BASE}${path}`, { method, headers, agent: false }, (res) => {
      let bytes = 0;
      let text = '';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (text.length < 4096) text += c.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, text }));
    });
    req.on('error', reject);
    if (body === undefined || typeof body === 'string') req.end(body);
    else body.pipe(req);
  });
}

async function waitHealthy(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await call('GET', '/health')).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('service did not start');
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-'));
  const file = join(dir, 'big.bin');
  makeFile(file, SIZE_MIB);

  const launch = peerLaunch(); // as npm start runs a peer
  const child = spawn(
    process.execPath,
    [
      ...launch.nodeArgs,
      join(import.meta.dirname, '../bin/peershare.js'),
      'service',
      'files',
      '--host',
      HOST,
      '--data',
      join(dir, 'data'),
      '--log-level',
      'warn',
    ],
    { stdio: 'inherit', env: launch.env },
  );
  try {
    await waitHealthy();
    const idle = memoryOf(child.pid!).rss;
    const rows: Array<[string, number, number]> = [];
    const step = async (label: string, fn: () => Promise<{ status: number }>) => {
      resetPeak(child.pid!);
      const t0 = performance.now();
      const res = await fn();
      const seconds = (performance.now() - t0) / 1000;
      if (res.status >= 300) throw new Error(`${label}: HTTP ${res.status}`);
      rows.push([label, (memoryOf(child.pid!).hwm - idle) / MiB, SIZE_MIB / 1024 / seconds]);
    };
    let id = '';
    await step('share in place (hash)', async () => {
      const r = await call('POST', '/shares', JSON.stringify({ path: file }), { 'content-type': 'application/json' });
      id = (JSON.parse(r.text) as { files: Array<{ id: string }> }).files[0]!.id;
      return r;
    });
    await step('streamed upload', () =>
      call('POST', '/files?name=big-upload.bin', createReadStream(file, { highWaterMark: MiB }), {
        'content-type': 'application/octet-stream',
      }),
    );
    await step('full read', async () => {
      const r = await call('GET', `/files/${id}/content`);
      if (r.bytes !== SIZE_MIB * MiB) throw new Error(`read ${r.bytes} bytes`);
      return r;
    });
    console.log(`files-memory: File Management, ${SIZE_MIB} MiB file; idle RSS ${(idle / MiB).toFixed(1)} MiB\n`);
    console.log(
      table(
        ['step', 'peak RSS growth over idle (MiB)', 'throughput (GiB/s)'],
        rows.map(([label, growth, rate]) => [label, growth.toFixed(1), rate.toFixed(2)]),
      ),
    );
    return {
      name: 'files-memory',
      what: `RSS of a File Management process (\`peershare service files\`): idle, and its peak growth over idle while it hashes a ${SIZE_MIB} MiB file in place, receives it as a streamed upload and serves it whole`,
      how: 'The service runs as its own process; its peak RSS (VmHWM) is reset through /proc/PID/clear_refs before each step and read after it. One run.',
      parameters: { fileMiB: SIZE_MIB },
      figures: [
        figure('idle RSS', 'ours', idle / MiB, 'MiB'),
        ...rows.flatMap(([label, growth, rate]) => [
          figure(`${label}: peak RSS growth over idle`, 'ours', growth, 'MiB'),
          figure(`${label}: throughput`, 'info', rate, 'GiB/s'),
        ]),
      ],
      checks: [
        ...rows.map(([label, growth]) =>
          check(`${label}: peak RSS growth`, (growth * MiB) / MB, 'MB', '<=', GROWTH_TARGET_MB),
        ),
        check('idle RSS of `peershare service files`', idle / MB, 'MB', '<=', IDLE_TARGET_MB),
      ],
    };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}
