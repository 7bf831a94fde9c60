/**
 * `npm run sim -- fetch-chart FILE.json[,FILE.json…] --svg FILE.svg`: how fast a new peer spreads,
 * drawn from the JSON of earlier `fetch` and `fetch-rounds` runs (docs/SCALE.md, Fetch). One
 * series per run (per row of a `fetch` run): after each news round, the tables holding the
 * newcomer as a share of what a converged view holds — every other peer (N) in a complete view,
 * the cap in a partial one (N tables of `cap` entries drawn uniformly hold a peer `cap` times).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lineChart, type ChartSeries, type ChartSpec } from './chart.ts';

export const USAGE = 'usage: npm run sim -- fetch-chart FILE.json[,FILE.json…] --svg FILE.svg';

/** One newcomer's spread: the tables holding it after each news round. */
export interface Spread {
  peers: number;
  /** The table cap; at least `peers` is a complete view. */
  maxPeers: number;
  heldBy: readonly number[];
}

/** The spreads a run's JSON holds: a `fetch` run's rows (newPeerKnownBy), or a `fetch-rounds` run (news[].newcomerHeldBy). */
export function spreadsOf(run: unknown): Spread[] {
  const r = run as {
    rows?: { peers: number; maxPeers: number; newPeerKnownBy: number[] }[];
    peers?: number;
    maxPeers?: number;
    news?: { newcomerHeldBy?: number }[];
  };
  if (Array.isArray(r.rows))
    return r.rows.map((row) => ({ peers: row.peers, maxPeers: row.maxPeers, heldBy: row.newPeerKnownBy }));
  if (typeof r.peers === 'number' && typeof r.maxPeers === 'number' && Array.isArray(r.news))
    return [{ peers: r.peers, maxPeers: r.maxPeers, heldBy: r.news.map((n) => n.newcomerHeldBy ?? 0) }];
  throw new Error('neither a fetch run (rows) nor a fetch-rounds run (peers, maxPeers, news)');
}

const count = (n: number) => n.toLocaleString('en-US');

export function spreadChart(spreads: readonly Spread[]): ChartSpec {
  const series: ChartSeries[] = spreads
    .filter((s) => s.heldBy.length > 0)
    .map((s) => {
      const complete = s.maxPeers >= s.peers;
      const converged = complete ? s.peers : s.maxPeers;
      return {
        name: `${count(s.peers)}${complete ? ', complete' : `, cap ${count(s.maxPeers)}`}`,
        points: s.heldBy.map((held, i) => ({ x: i + 1, y: held / converged })),
      };
    });
  return {
    title: 'A new peer: the tables that hold it, round by round',
    subtitle: 'share of a converged view: N tables in a complete view, the cap in a partial one',
    xLabel: 'news rounds since it joined',
    yLabel: 'tables holding it ÷ converged',
    series,
  };
}

export function fetchChartMain(rest: string[]): void {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { svg: { type: 'string' } },
  });
  if (positionals.length !== 1 || values.svg === undefined) {
    console.error(USAGE);
    process.exit(2);
  }
  const spreads = positionals[0]!.split(',').flatMap((file) => {
    try {
      return spreadsOf(JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  });
  writeFileSync(values.svg, lineChart(spreadChart(spreads)));
  console.log(`wrote ${values.svg}`);
}
