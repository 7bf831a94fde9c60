/**
 * routing: what keeping route tables up to date costs one peer when its links change (feature
 * "qrp"; churn moves levels 1–3 at every peer within 3 links of a restart). bench/_routing-upkeep.ts
 * runs one peer's SearchEngine, 8 links and 4 levels of 2^18-bit tables, through 40 link changes
 * on a manual clock, each with the updates it causes; CPU per change, messages and bytes. Each run is a fresh
 * process. BENCH_ROUTING_BASE=/path/to/another/checkout runs the same scenario with that
 * checkout's code in the same invocation, runs alternating (its node_modules are not needed: the
 * scenario imports only the route-table modules). BENCH_RUNS (5) runs of each.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { figure, fmt, median, table, type BenchResult, type Figure } from './_results.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BASE = process.env.BENCH_ROUTING_BASE ? resolve(process.env.BENCH_ROUTING_BASE) : undefined;
const ROOT = join(import.meta.dirname, '..');
const WORKER = join(import.meta.dirname, '_routing-upkeep.ts');

interface Upkeep {
  cpuMsPerChange: number;
  messagesPerChange: number;
  kibPerChange: number;
}

async function upkeep(root: string): Promise<Upkeep> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: ROOT,
    env: { ...process.env, ROOT: root },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Upkeep;
}

export async function run(): Promise<BenchResult> {
  const ours: Upkeep[] = [];
  const base: Upkeep[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await upkeep(ROOT));
    if (BASE) base.push(await upkeep(BASE));
  }
  const cpu = (runs: Upkeep[]) => runs.map((r) => r.cpuMsPerChange);
  const figures: Figure[] = [
    figure('route-table upkeep per link change, this checkout', 'ours', cpu(ours), 'ms CPU'),
    figure('bytes of tables sent per link change', 'info', median(ours.map((r) => r.kibPerChange)), 'KiB'),
    figure('table messages sent per link change', 'info', median(ours.map((r) => r.messagesPerChange)), 'messages'),
  ];
  if (BASE) {
    figures.push(figure(`the same with the code of ${BASE}`, 'reference', cpu(base), 'ms CPU'));
    figures.push(figure('its bytes per link change', 'info', median(base.map((r) => r.kibPerChange)), 'KiB'));
    figures.push(
      figure(
        'this checkout / the other, per run',
        'ratio',
        ours.map((r, i) => r.cpuMsPerChange / base[i]!.cpuMsPerChange),
        '×',
      ),
    );
  }
  console.log(
    table(
      ['run', 'ms CPU per change', ...(BASE ? ['other checkout', 'ratio'] : []), 'KiB per change'],
      ours.map((r, i) => [
        String(i + 1),
        fmt(r.cpuMsPerChange),
        ...(BASE ? [fmt(base[i]!.cpuMsPerChange), fmt(r.cpuMsPerChange / base[i]!.cpuMsPerChange)] : []),
        fmt(r.kibPerChange),
      ]),
    ),
  );
  return {
    name: 'routing',
    what: 'CPU one peer spends keeping its route tables up to date per link change (8 links, 4 levels of 2^18 bits)',
    how: `bench/_routing-upkeep.ts in a fresh process per run, ${RUNS} runs${BASE ? `, alternating with ${BASE}` : ''}; 40 link changes per run, each with the updates it causes`,
    parameters: { runs: RUNS, links: 8, levels: 4, tableBitsLog2: 18, changes: 40, ...(BASE ? { base: BASE } : {}) },
    figures,
    checks: [],
  };
}
