/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks (all by default), each in this process
 * one after another. Benchmarks live beside this file as NAME.ts and export
 * `run(): Promise<BenchResult>` (bench/_results.ts); each prints its own figures as markdown
 * tables and returns them. After each benchmark its result is merged into
 * bench/results/latest.json (results of benchmarks not run this time are kept) and
 * bench/results/latest.svg is redrawn; at the end a summary table of every check is printed. A
 * benchmark that throws is recorded as skipped with its error and the others still run; the exit
 * code is then 1.
 */
import { readdirSync } from 'node:fs';
import { relative } from 'node:path';
import {
  BENCH_ORDER,
  checksTable,
  fmt,
  machineInfo,
  RESULTS_DIR,
  table,
  targetText,
  verdictOf,
  writeResults,
  type BenchRecord,
  type BenchResult,
} from './_results.ts';

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
available.sort((a, b) => (BENCH_ORDER.indexOf(a) + 1 || 99) - (BENCH_ORDER.indexOf(b) + 1 || 99));

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

const records: BenchRecord[] = [];
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`\n## ${name}\n`);
  const machine = machineInfo();
  console.log(`load average at start: ${machine.loadAverageAtStart.join(', ')} (${machine.cpus} CPUs)\n`);
  const t0 = performance.now();
  try {
    const module = (await import(`./${name}.ts`)) as { run(): Promise<BenchResult> };
    const result = await module.run();
    records.push({
      ...result,
      name,
      verdict: verdictOf(result.checks),
      machine,
      durationS: (performance.now() - t0) / 1000,
    });
    console.log(`\n${checksTable(result)}`);
  } catch (err) {
    console.error(`${name} failed:`, err);
    const error = err instanceof Error ? err.message : String(err);
    records.push({
      name,
      what: '',
      how: '',
      parameters: {},
      figures: [],
      checks: [],
      verdict: 'skipped',
      machine,
      durationS: (performance.now() - t0) / 1000,
      error,
    });
    process.exitCode = 1;
  }
  console.log(`\n(${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  writeResults([records.at(-1)!]); // after each benchmark, so an interrupted run keeps what it measured
}

console.log('\n## summary\n');
console.log(
  table(
    ['benchmark', 'check', 'figure', 'target', 'verdict'],
    records.flatMap((r) =>
      r.error
        ? [[r.name, `failed: ${r.error}`, '', '', 'skipped']]
        : r.checks.map((c) => [
            r.name,
            c.what,
            c.value === null ? `skipped${c.note ? `: ${c.note}` : ''}` : fmt(c.value, c.unit),
            targetText(c),
            c.verdict === 'missed' ? '**missed**' : c.verdict,
          ]),
    ),
  ),
);
const dir = relative(process.cwd(), RESULTS_DIR) || RESULTS_DIR;
console.log(`\nwrote ${dir}/latest.json and ${dir}/latest.svg`);
