/**
 * `npm run sim -- chart FILE.json[,FILE.json…] --svg PREFIX [--holders-fraction F,…]`: draw the two charts of docs/SCALE.md
 * from the JSON that earlier `npm run sim -- search … --json` runs wrote (their rows together), so
 * a sweep that took minutes is charted again without being run again; --holders-fraction keeps
 * the rows of those fractions only (a chart of twelve series is unreadable).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lineChart } from './chart.ts';
import { searchCharts, type SearchRow } from './report.ts';

export const USAGE = 'usage: npm run sim -- chart FILE.json[,FILE.json…] --svg PREFIX [--holders-fraction F[,F…]]';

export function chartMain(rest: string[]): void {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { svg: { type: 'string' }, 'holders-fraction': { type: 'string' } },
  });
  if (positionals.length !== 1 || values.svg === undefined) {
    console.error(USAGE);
    process.exit(2);
  }
  const runs = positionals[0]!.split(',').map((file) => {
    const run = JSON.parse(readFileSync(file, 'utf8')) as { seed?: number; rows?: SearchRow[] };
    if (!Array.isArray(run.rows) || run.rows.length === 0) throw new Error(`${file}: no rows of a search run`);
    return { seed: run.seed, rows: run.rows };
  });
  const seeds = [...new Set(runs.map((run) => run.seed))].join(', ');
  const fractions = values['holders-fraction']?.split(',').map(Number);
  const rows = runs.flatMap((run) => run.rows).filter((r) => !fractions || fractions.includes(r.holdersFraction));
  if (rows.length === 0) throw new Error(`no rows with holders fraction ${values['holders-fraction']}`);
  writeSearchCharts(rows, values.svg, seeds);
}

/** Write PREFIX-recall-messages.svg and PREFIX-recall-time.svg for these rows. */
export function writeSearchCharts(rows: readonly SearchRow[], prefix: string, seed: number | string): void {
  const charts = searchCharts(rows);
  for (const [suffix, spec] of [
    ['recall-messages', charts.recallMessages],
    ['recall-time', charts.recallTime],
  ] as const) {
    const file = `${prefix}-${suffix}.svg`;
    writeFileSync(file, lineChart({ ...spec, title: `${spec.title} (seed ${seed})` }));
    console.log(`wrote ${file}`);
  }
}
