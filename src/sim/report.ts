/**
 * Figures of one configuration from its searches' measures, and the markdown table the command
 * prints (and docs/SCALE.md shows).
 */
import type { ChartPoint, ChartSeries, ChartSpec } from './chart.ts';
import type { SearchMeasure } from './search-sim.ts';
import type { TableStats } from './route-tables.ts';

export interface SearchRow {
  readonly peers: number;
  readonly degree: number;
  readonly links: number;
  readonly ttl: number;
  readonly holdersFraction: number;
  /** Dynamic querying's target of holders (SearchRequest.want); 0: a plain flood. */
  readonly want: number;
  /** The TTLs a search with `want` tries before its own (DynamicQuerying.ttlSteps); absent in JSON written before it was reported. */
  readonly ttlSteps?: readonly number[];
  /** Levels of query routing table (0: none, a flood) and what the tables cost (null without). */
  readonly routeLevels: number;
  readonly tables: TableStats | null;
  /** Whether peers forward again a copy with more TTL than any before it (FloodRouterOptions.reforward). */
  readonly reforward: boolean;
  /** Only while the best earlier copy had fewer links left than this (FloodRouterOptions.reforwardBelow); absent: any. */
  readonly reforwardBelow?: number;
  /** Fraction of messages lost, and of peers down during each search (search-network.ts). */
  readonly loss: number;
  readonly churn: number;
  /** Levels of route table that list each search's file when it starts (route-tables.ts levelsMoved). */
  readonly levelsMoved: number;
  /** Holders per search, besides the origin (mean). */
  readonly holders: number;
  readonly searches: number;
  readonly recallMean: number;
  readonly recallMin: number;
  readonly messagesMean: number;
  readonly messagesMin: number;
  readonly messagesMedian: number;
  readonly messagesMax: number;
  /** Query frames per search that were re-forwards (mean), and the most re-forwards of one query by one peer. */
  readonly reforwardMessagesMean: number;
  readonly mostReforwardsByOnePeer: number;
  /** Query frames per search over overlay links: 2 is every link both ways. */
  readonly messagesPerLink: number;
  readonly duplicatesMean: number;
  readonly hitMessagesMean: number;
  /** Fraction of the other peers that handled the query (mean). */
  readonly coverage: number;
  readonly lastHitP50Ms: number | null;
  readonly lastHitP99Ms: number | null;
  /** Searches in which some peer within TTL hops was never reached (§8 gap), and such peers per search. */
  readonly searchesWithMiss: number;
  readonly missedWithinTtlMean: number;
  /** Holders within TTL hops never reached, summed over the searches. */
  readonly holdersMissedWithinTtl: number;
  readonly holdersWithinTtl: number;
  /** Per search, holders within TTL hops never reached over holders within TTL hops: min, median, max (null: none within reach). */
  readonly holdersMissedShare: { readonly min: number; readonly median: number; readonly max: number } | null;
  /** Peers per search whose first copy came by a longer than shortest path (mean). */
  readonly longerFirstPathMean: number;
  /** Searches that ended 'enough' (`want` other peers answered, then the grace), and the median time a search ended. */
  readonly endedEnough?: number;
  readonly endMsP50?: number;
  /** Searches by the floods their origin sent (index 0: one flood; with `want`, one per step taken). */
  readonly searchesBySteps?: readonly number[];
  readonly wallSeconds: number;
  /** Resident memory of the whole process after the run, MiB. */
  readonly rssMiB: number;
}

export function summarize(
  topology: { peers: number; degree: number; links: number },
  config: {
    ttl: number;
    holdersFraction: number;
    want: number;
    ttlSteps?: readonly number[];
    routeLevels: number;
    tables: TableStats | null;
    reforward: boolean;
    reforwardBelow?: number;
    loss: number;
    churn: number;
    levelsMoved: number;
  },
  measures: readonly SearchMeasure[],
  run: { wallSeconds: number; rssMiB: number },
): SearchRow {
  const mean = (f: (m: SearchMeasure) => number) => measures.reduce((sum, m) => sum + f(m), 0) / measures.length;
  const sum = (f: (m: SearchMeasure) => number) => measures.reduce((s, m) => s + f(m), 0);
  const lastHits = measures.map((m) => m.lastHitMs).filter((t): t is number => t !== undefined);
  const messages = measures.map((m) => m.messages);
  const missedShares = measures
    .filter((m) => m.holdersWithinTtl > 0)
    .map((m) => m.holdersMissedWithinTtl / m.holdersWithinTtl);
  return {
    ...topology,
    ...config,
    holders: mean((m) => m.holders),
    searches: measures.length,
    recallMean: mean((m) => m.recall),
    recallMin: Math.min(...measures.map((m) => m.recall)),
    messagesMean: mean((m) => m.messages),
    messagesMin: Math.min(...messages),
    messagesMedian: percentile(messages, 50),
    messagesMax: Math.max(...messages),
    reforwardMessagesMean: mean((m) => m.reforwardMessages),
    mostReforwardsByOnePeer: Math.max(...measures.map((m) => m.mostReforwardsByOnePeer)),
    messagesPerLink: mean((m) => m.messages) / topology.links,
    duplicatesMean: mean((m) => m.duplicates),
    hitMessagesMean: mean((m) => m.hitMessages),
    coverage: mean((m) => m.reached) / (topology.peers - 1),
    lastHitP50Ms: lastHits.length > 0 ? percentile(lastHits, 50) : null,
    lastHitP99Ms: lastHits.length > 0 ? percentile(lastHits, 99) : null,
    searchesWithMiss: measures.filter((m) => m.missedWithinTtl > 0).length,
    missedWithinTtlMean: mean((m) => m.missedWithinTtl),
    holdersMissedWithinTtl: sum((m) => m.holdersMissedWithinTtl),
    holdersWithinTtl: sum((m) => m.holdersWithinTtl),
    holdersMissedShare:
      missedShares.length === 0
        ? null
        : { min: Math.min(...missedShares), median: percentile(missedShares, 50), max: Math.max(...missedShares) },
    longerFirstPathMean: mean((m) => m.longerFirstPath),
    endedEnough: measures.filter((m) => m.ended === 'enough').length,
    endMsP50: percentile(
      measures.map((m) => m.endMs),
      50,
    ),
    searchesBySteps: Array.from(
      { length: Math.max(...measures.map((m) => m.steps)) },
      (_, i) => measures.filter((m) => m.steps === i + 1).length,
    ),
    ...run,
  };
}

/** Nearest rank. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The plain flood (no routing, no want) of the same network, TTL, holders and re-forward rule, among `rows`. */
function floodOf(r: SearchRow, rows: readonly SearchRow[]): SearchRow | undefined {
  return rows.find(
    (f) =>
      f.routeLevels === 0 &&
      f.want === 0 &&
      f.reforward === r.reforward &&
      f.reforwardBelow === r.reforwardBelow &&
      f.peers === r.peers &&
      f.degree === r.degree &&
      f.ttl === r.ttl &&
      f.holdersFraction === r.holdersFraction,
  );
}

const COLUMNS: ReadonlyArray<readonly [string, (r: SearchRow, rows: readonly SearchRow[]) => string]> = [
  ['peers', (r) => String(r.peers)],
  ['degree', (r) => String(r.degree)],
  ['links', (r) => String(r.links)],
  ['TTL', (r) => String(r.ttl)],
  [
    'want',
    (r) =>
      r.want > 0 ? `${r.want} (steps ${[...(r.ttlSteps ?? []).filter((t) => t < r.ttl), r.ttl].join(', ')})` : 'flood',
  ],
  ['route levels', (r) => String(r.routeLevels)],
  ['re-forward', (r) => (r.reforward ? (r.reforwardBelow ? `below ${r.reforwardBelow}` : 'on') : 'off')],
  ['loss / churn', (r) => `${pct(r.loss ?? 0)} / ${pct(r.churn ?? 0)}`],
  ['levels listing the file', (r) => (r.routeLevels > 0 ? String(r.levelsMoved ?? r.routeLevels) : '–')],
  ['holders', (r) => `${pct(r.holdersFraction)} (${round(r.holders, 1)})`],
  ['searches', (r) => String(r.searches)],
  ['recall mean / min', (r) => `${pct(r.recallMean)} / ${pct(r.recallMin)}`],
  ['peers reached', (r) => pct(r.coverage)],
  ['Query msgs / search', (r) => String(round(r.messagesMean, 1))],
  ['per link', (r) => String(round(r.messagesPerLink, 2))],
  [
    'Query msgs min–median–max',
    (r) => `${Math.round(r.messagesMin)}–${Math.round(r.messagesMedian)}–${Math.round(r.messagesMax)}`,
  ],
  ['re-forwarded msgs / search', (r) => String(round(r.reforwardMessagesMean, 1))],
  [
    'of the same-TTL flood',
    (r, rows) => {
      const flood = floodOf(r, rows);
      return flood && flood !== r ? String(round(r.messagesMean / flood.messagesMean, 3)) : '–';
    },
  ],
  [
    'tables: KiB per peer (fill by level)',
    (r) =>
      r.tables === null
        ? '–'
        : `${round(r.tables.bytesPerPeerMean / 1024, 1)} (${r.tables.fillByLevel.map((f) => pct(f)).join(', ')})`,
  ],
  [
    'searches by steps taken; ended enough',
    (r) =>
      r.want > 0 && r.searchesBySteps
        ? `${r.searchesBySteps.map((n, i) => `${i + 1}: ${n}`).join(', ')}; ${r.endedEnough ?? 0}`
        : '–',
  ],
  ['search end p50 ms', (r) => (r.endMsP50 === undefined ? '–' : String(Math.round(r.endMsP50)))],
  ['duplicates / search', (r) => String(round(r.duplicatesMean, 1))],
  ['Hit msgs / search', (r) => String(round(r.hitMessagesMean, 1))],
  [
    'last hit p50 / p99 ms',
    (r) => (r.lastHitP50Ms === null ? '–' : `${Math.round(r.lastHitP50Ms)} / ${Math.round(r.lastHitP99Ms!)}`),
  ],
  [
    'searches missing a peer within TTL',
    (r) => `${r.searchesWithMiss} (${round(r.missedWithinTtlMean, 1)} peers each)`,
  ],
  ['holders missed within TTL', (r) => `${r.holdersMissedWithinTtl} of ${r.holdersWithinTtl}`],
  [
    'share missed per search min–median–max',
    (r) =>
      r.holdersMissedShare === null
        ? '–'
        : `${pct(r.holdersMissedShare.min)}–${pct(r.holdersMissedShare.median)}–${pct(r.holdersMissedShare.max)}`,
  ],
  ['wall s', (r) => String(round(r.wallSeconds, 1))],
  ['RSS MiB', (r) => String(Math.round(r.rssMiB))],
];

export function markdownTable(rows: readonly SearchRow[]): string {
  const lines = [
    COLUMNS.map(([h]) => h),
    COLUMNS.map(() => '---'),
    ...rows.map((r) => COLUMNS.map(([, f]) => f(r, rows))),
  ];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function pct(x: number): string {
  return `${round(100 * x, x < 0.01 ? 2 : 1)} %`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The two charts of docs/SCALE.md from the rows of one run: recall against messages per search,
 * and against the median time to the last hit; a series per (peers, degree, holders fraction),
 * a point per TTL, in TTL order. Rows without a hit have no time and no point on the second.
 */
export function searchCharts(rows: readonly SearchRow[]): { recallMessages: ChartSpec; recallTime: ChartSpec } {
  // A series is named by what varies between series; what they all share goes under the title.
  // Series names are short enough for the legend; the subtitle may say it in full.
  const parts = [
    (r: SearchRow) => `${r.peers.toLocaleString('en')} peers`,
    (r: SearchRow) => `degree ${r.degree}`,
    (r: SearchRow) => `${r.holdersFraction * 100}% holders`,
    (r: SearchRow) => (r.routeLevels > 0 ? `${r.routeLevels} route levels` : 'flood'),
    (r: SearchRow) => (r.want > 0 ? `want ${r.want}` : ''),
    // Rows of JSON written before re-forwarding existed have no `reforward`.
    (r: SearchRow) => (r.reforward === false ? 'no re-forward' : ''),
  ];
  const inFull = [
    parts[0]!,
    parts[1]!,
    (r: SearchRow) => `${r.holdersFraction * 100}% of peers hold the file`,
    parts[3]!,
    parts[4]!,
    parts[5]!,
  ];
  const varies = parts.map((part) => new Set(rows.map(part)).size > 1);
  // A plain flood is what the earlier charts show: said only when something else varies.
  const subtitle = inFull
    .filter((_, i) => !varies[i])
    .map((part) => part(rows[0]!))
    .filter((text) => text !== '' && text !== 'flood')
    .join(', ');
  const groups = new Map<string, SearchRow[]>();
  for (const r of rows) {
    const name =
      parts
        .filter((_, i) => varies[i])
        .map((part) => part(r))
        .filter((text) => text !== '')
        .join(', ') || 'all';
    groups.set(name, [...(groups.get(name) ?? []), r]);
  }
  const series = (point: (r: SearchRow) => ChartPoint | undefined): ChartSeries[] =>
    [...groups].map(([name, rs]) => ({
      name,
      points: [...rs].sort((a, b) => a.ttl - b.ttl).flatMap((r) => point(r) ?? []),
    }));
  const label = (r: SearchRow) => `TTL ${r.ttl}`;
  return {
    recallMessages: {
      title: 'Recall against the cost of a flood search',
      subtitle,
      xLabel: 'query messages per search (mean)',
      yLabel: 'recall: holders found (mean)',
      xLog: true,
      yRange: [0, 1],
      series: series((r) => ({ x: r.messagesMean, y: r.recallMean, label: label(r) })),
    },
    recallTime: {
      title: 'Recall against the time to the last hit',
      subtitle,
      xLabel: 'time to the last hit, median (ms)',
      yLabel: 'recall: holders found (mean)',
      yRange: [0, 1],
      series: series((r) =>
        r.lastHitP50Ms === null ? undefined : { x: r.lastHitP50Ms, y: r.recallMean, label: label(r) },
      ),
    },
  };
}
