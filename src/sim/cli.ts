/**
 * `npm run sim -- search [--peers N] [--degree D] [--ttl T] [--holders-fraction F] [--want N] [--route-levels L]
 * [--reforward 0|1|K] [--steps T,T…] [--loss P] [--churn F] [--share-age MS] [--update-ms MS] [--library N] [--words W] [--vocabulary V] [--zipf S] [--table-bits B] [--searches S]
 * [--seed X] [--latency-median MS] [--latency-sigma S] [--json FILE] [--svg PREFIX]`: searches on a
 * simulated network running the project's own Search engine. Peers, degree, TTL, holders
 * fraction, want, route levels and reforward (1: peers forward again a copy with more TTL than
 * any before it while the best before it had fewer than DEFAULT_REFORWARD_BELOW links left, the
 * default; 0: the flood before that, FloodRouterOptions.reforward; K ≥ 2: below K links, TTL + 1
 * for any higher copy, FloodRouterOptions.reforwardBelow) each take
 * a comma-separated list; every combination is one row. --steps: the TTLs a search with want tries
 * before its own (DynamicQuerying.ttlSteps; one list for the run, default the engine's). --loss P loses that fraction of Query and
 * Hit messages; --churn F has that fraction of peers down during each search, drawn afresh each
 * time (search-network.ts); both draw from a seed of their own. --share-age MS: each search's file
 * was shared that long before it, so only floor(MS / --update-ms) levels of table list it
 * (route-tables.ts levelsMoved; default: every level).
 * of the table printed (markdown) and of the JSON written. One overlay is built per (peers,
 * degree) and reused; one network of engines per (route levels, reforward) (with --route-levels above 0 each
 * peer shares --library names of --words words from a Zipf vocabulary, route-tables.ts); each row
 * replays alone with the same figures. --svg writes the two charts
 * of docs/SCALE.md (PREFIX-recall-messages.svg, PREFIX-recall-time.svg).
 *
 * `npm run sim -- fetch …`: membership and file availability on the project's own Fetch cores
 * (fetch-cli.ts); `npm run sim -- fetch-rounds …` a partial view round by round (fetch-rounds.ts).
 * `npm run sim -- chart …`: the charts again from the JSON of earlier runs (chart-cli.ts);
 * `npm run sim -- fetch-chart …`: a new peer's spread from earlier Fetch runs (fetch-chart.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { seededRandom } from '../fetch/domain/random.ts';
import { ROUTE_TABLE_OWN_MIN_BITS_LOG2 } from '../protocol/route-table.ts';
import { Overlay, type LatencyModel } from './overlay.ts';
import { chartMain, USAGE as CHART_USAGE, writeSearchCharts } from './chart-cli.ts';
import { markdownTable, summarize, type SearchRow } from './report.ts';
import { SearchNetwork } from './search-network.ts';
import { mix, runSearches } from './search-sim.ts';
import { DEFAULT_LIBRARY, SimRouteTables, type TableStats } from './route-tables.ts';
import { DEFAULT_DYNAMIC_QUERYING, DEFAULT_ROUTE_UPDATE_MS } from '../search/domain/search-engine.ts';
import { fetchMain, USAGE as FETCH_USAGE } from './fetch-cli.ts';
import { fetchRoundsMain, USAGE as FETCH_ROUNDS_USAGE } from './fetch-rounds.ts';
import { fetchChartMain, USAGE as FETCH_CHART_USAGE } from './fetch-chart.ts';

const USAGE =
  'usage: npm run sim -- search [--peers N[,N…]] [--degree D[,D…]] [--ttl T[,T…]] [--holders-fraction F[,F…]] [--want N[,N…]] [--route-levels L[,L…]] [--reforward 0|1|K[,…]] [--steps T,T…] [--loss P] [--churn F] [--share-age MS] [--update-ms MS] [--library N] [--words W] [--vocabulary V] [--zipf S] [--table-bits B] [--searches S] [--seed X] [--latency-median MS] [--latency-sigma S] [--json FILE] [--svg PREFIX]';

const [command, ...rest] = process.argv.slice(2);
if (command === 'search') await searchMain(rest);
else if (command === 'fetch') await fetchMain(rest);
else if (command === 'fetch-rounds') await fetchRoundsMain(rest);
else if (command === 'chart') chartMain(rest);
else if (command === 'fetch-chart') fetchChartMain(rest);
else {
  console.error(`${USAGE}\n${FETCH_USAGE}\n${FETCH_ROUNDS_USAGE}\n${CHART_USAGE}\n${FETCH_CHART_USAGE}`);
  process.exit(2);
}

async function searchMain(rest: string[]): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: {
      peers: { type: 'string', default: '1000' },
      degree: { type: 'string', default: '8' },
      ttl: { type: 'string', default: '7' },
      'holders-fraction': { type: 'string', default: '0.01' },
      want: { type: 'string', default: '0' },
      'route-levels': { type: 'string', default: '0' },
      reforward: { type: 'string', default: '1' },
      steps: { type: 'string', default: DEFAULT_DYNAMIC_QUERYING.ttlSteps.join(',') },
      loss: { type: 'string', default: '0' },
      'share-age': { type: 'string', default: 'Infinity' },
      'update-ms': { type: 'string', default: String(DEFAULT_ROUTE_UPDATE_MS) },
      churn: { type: 'string', default: '0' },
      library: { type: 'string', default: String(DEFAULT_LIBRARY.files) },
      words: { type: 'string', default: String(DEFAULT_LIBRARY.wordsPerName) },
      vocabulary: { type: 'string', default: String(DEFAULT_LIBRARY.vocabulary) },
      zipf: { type: 'string', default: String(DEFAULT_LIBRARY.zipf) },
      'table-bits': { type: 'string', default: String(ROUTE_TABLE_OWN_MIN_BITS_LOG2) },
      searches: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      'latency-median': { type: 'string', default: '40' },
      'latency-sigma': { type: 'string', default: '0.5' },
      json: { type: 'string' },
      svg: { type: 'string' },
    },
  });

  const list = (text: string) =>
    text.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n) || x.trim() === '') throw new Error(`not a number: ${x}\n${USAGE}`);
      return n;
    });
  const seed = Number(values.seed);
  const loss = Number(values.loss);
  const churn = Number(values.churn);
  const shareAgeMs = Number(values['share-age']);
  const updateMs = Number(values['update-ms']);
  const searches = Number(values.searches);
  const ttlSteps = list(values.steps);
  const latency: LatencyModel = { medianMs: Number(values['latency-median']), sigma: Number(values['latency-sigma']) };
  const library = {
    files: Number(values.library),
    wordsPerName: Number(values.words),
    vocabulary: Number(values.vocabulary),
    zipf: Number(values.zipf),
    minTableLog2: Number(values['table-bits']),
  };
  const rows: SearchRow[] = [];
  const commandLine = `npm run sim -- search ${rest.join(' ')}`.trim();

  for (const peers of list(values.peers)) {
    for (const degree of list(values.degree)) {
      const t0 = performance.now();
      const overlay = Overlay.random(peers, degree, latency, seededRandom(mix(seed, peers, degree)));
      console.error(
        `${peers} peers, degree ${degree}: ${overlay.links} links, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      for (const [routeLevels, reforward, reforwardBelow] of list(values['route-levels']).flatMap((levels) =>
        list(values.reforward).map((r) => [levels, r !== 0, r >= 2 ? r : undefined] as const),
      )) {
        const t1 = performance.now();
        const net = new SearchNetwork(overlay, seededRandom(mix(seed, peers, degree, 1)), {
          routeLevels,
          reforward,
          reforwardBelow,
          loss,
          churn,
          lossRandom: seededRandom(mix(seed, peers, degree, 3)),
          dynamic: { ttlSteps },
        });
        let tables: TableStats | null = null;
        if (routeLevels > 0) {
          const routes = new SimRouteTables(net, library, seededRandom(mix(seed, peers, 2)));
          routes.levelsMoved = Math.floor(shareAgeMs / updateMs);
          routes.propagate();
          tables = routes.stats();
          net.routes = routes;
        }
        console.error(
          `  route levels ${routeLevels}, re-forward ${reforward ? (reforwardBelow ? `below ${reforwardBelow}` : 'on') : 'off'}: engines${tables ? ' and tables' : ''} in ${((performance.now() - t1) / 1000).toFixed(1)} s, RSS ${mib(process.memoryUsage().rss)} MiB${tables ? `; tables ${(tables.bytesPerPeerMean / 1024).toFixed(1)} KiB per peer, fill by level ${tables.fillByLevel.map((f) => f.toFixed(3)).join(' ')}` : ''}`,
        );
        for (const ttl of list(values.ttl)) {
          for (const holdersFraction of list(values['holders-fraction'])) {
            for (const want of list(values.want)) {
              const t2 = performance.now();
              const measures = await runSearches(net, { ttl, holdersFraction, searches, seed, want });
              const row = summarize(
                { peers, degree, links: overlay.links },
                {
                  ttl,
                  holdersFraction,
                  want,
                  ttlSteps,
                  routeLevels,
                  tables,
                  reforward,
                  ...(reforwardBelow ? { reforwardBelow } : {}),
                  loss,
                  churn,
                  levelsMoved: routeLevels > 0 ? Math.min(routeLevels, Math.floor(shareAgeMs / updateMs)) : 0,
                },
                measures,
                { wallSeconds: (performance.now() - t2) / 1000, rssMiB: mib(process.memoryUsage().rss) },
              );
              rows.push(row);
              console.error(
                `    TTL ${ttl}, holders ${holdersFraction}, want ${want}: recall ${row.recallMean.toFixed(3)}, ${Math.round(row.messagesMean)} msgs, ${row.wallSeconds.toFixed(1)} s`,
              );
            }
          }
        }
      }
    }
  }

  console.log(
    `\n${commandLine}\n\nlatency per link: lognormal, median ${latency.medianMs} ms, sigma ${latency.sigma}; seed ${seed}; library (with route levels) ${library.files} names of ${library.wordsPerName} words, vocabulary ${library.vocabulary}, Zipf ${library.zipf}, own tables ≥ 2^${library.minTableLog2} bits\n`,
  );
  console.log(markdownTable(rows));
  if (values.json) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ command: commandLine, seed, latency, library, node: process.version, rows }, null, 2)}\n`,
    );
    console.log(`\nwrote ${values.json}`);
  }
  if (values.svg) writeSearchCharts(rows, values.svg, seed);
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
