/**
 * What every benchmark returns, and how the dispatcher (bench/run.ts) keeps it: one structured
 * result per benchmark (what was measured and how, figures with units and every run, reference
 * figures, ratios, checks against targets with a verdict), stamped with the machine it ran on,
 * merged into bench/results/latest.json and drawn as bench/results/latest.svg.
 */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Verdict = 'met' | 'missed' | 'skipped';
export type Op = '>=' | '>' | '<=' | '<';

export interface Figure {
  /** What the figure is, e.g. "peershare (verified, fsync'd)". */
  label: string;
  /** ours: peershare; reference: what it is compared with; ratio: ours / reference; info: context. */
  kind: 'ours' | 'reference' | 'ratio' | 'info';
  /** The median of `runs` when there are several; null when not measured (the note says why). */
  value: number | null;
  unit: string;
  /** Every run, in order, when the figure is a median. */
  runs?: number[];
  note?: string;
}

export interface Check {
  what: string;
  value: number | null;
  unit: string;
  target: { op: Op; value: number };
  verdict: Verdict;
  note?: string;
}

/** What a benchmark's run() returns. */
export interface BenchResult {
  name: string;
  /** What was measured, in one sentence. */
  what: string;
  /** How: processes, addresses, repetitions, what the median is over. */
  how: string;
  parameters: Record<string, string | number | boolean>;
  figures: Figure[];
  checks: Check[];
  notes?: string[];
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1, 5 and 15 minute load averages when the benchmark started. */
  loadAverageAtStart: [number, number, number];
  date: string;
}

/** A result as latest.json keeps it. */
export interface BenchRecord extends BenchResult {
  verdict: Verdict;
  machine: MachineInfo;
  durationS: number;
  /** Set when the benchmark threw: it then has no figures and is reported as skipped. */
  error?: string;
}

export interface ResultsFile {
  updated: string;
  benchmarks: BenchRecord[];
}

// ---------------------------------------------------------------- building results

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A figure from several runs (value = their median) or from one value. */
export function figure(
  label: string,
  kind: Figure['kind'],
  value: number | readonly number[] | null,
  unit: string,
  note?: string,
): Figure {
  const f: Figure = Array.isArray(value)
    ? { label, kind, value: median(value as number[]), unit, runs: [...(value as number[])] }
    : { label, kind, value: value as number | null, unit };
  if (note) f.note = note;
  return f;
}

export function meets(value: number, op: Op, target: number): boolean {
  switch (op) {
    case '>=':
      return value >= target;
    case '>':
      return value > target;
    case '<=':
      return value <= target;
    case '<':
      return value < target;
  }
}

/** A target check; a null (or NaN) value is "skipped" and the note says why. */
export function check(what: string, value: number | null, unit: string, op: Op, target: number, note?: string): Check {
  const measured = value !== null && Number.isFinite(value);
  const c: Check = {
    what,
    value: measured ? value : null,
    unit,
    target: { op, value: target },
    verdict: !measured ? 'skipped' : meets(value, op, target) ? 'met' : 'missed',
  };
  if (note) c.note = note;
  return c;
}

/** missed if any check missed; met if the others were met; skipped if nothing was checked. */
export function verdictOf(checks: readonly Check[]): Verdict {
  if (checks.some((c) => c.verdict === 'missed')) return 'missed';
  return checks.some((c) => c.verdict === 'met') ? 'met' : 'skipped';
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  const [a, b, c] = loadavg();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverageAtStart: [round2(a!), round2(b!), round2(c!)],
    date: new Date().toISOString(),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

// ---------------------------------------------------------------- printing

/** A number with as many decimals as its size deserves. */
export function fmt(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = abs >= 1000 || Number.isInteger(value) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: Number.isInteger(value) ? 0 : digits,
  });
  if (!unit) return text;
  return unit === '×' ? `${text}×` : `${text} ${unit}`;
}

export const targetText = (c: Check) =>
  `${c.target.op.replace('>=', '≥').replace('<=', '≤')} ${fmt(c.target.value, c.unit)}`;

/** A markdown table. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The checks of a result as a markdown table (each benchmark prints it after its own figures). */
export function checksTable(result: BenchResult): string {
  return table(
    ['check', 'figure', 'target', 'verdict'],
    result.checks.map((c) => [
      c.what,
      c.value === null ? `skipped${c.note ? `: ${c.note}` : ''}` : fmt(c.value, c.unit),
      targetText(c),
      c.verdict === 'missed' ? '**missed**' : c.verdict,
    ]),
  );
}

// ---------------------------------------------------------------- bench/results

export const RESULTS_DIR = join(import.meta.dirname, 'results');
/** The order of the results file, the chart and `npm run bench` with no names. */
export const BENCH_ORDER = [
  'transfer',
  'swarm',
  'caps',
  'search',
  'routing',
  'join',
  'memory',
  'files-memory',
  'queue',
  'sybil',
];

export function readResults(dir = RESULTS_DIR): ResultsFile | undefined {
  const file = join(dir, 'latest.json');
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
    return Array.isArray(parsed.benchmarks) ? parsed : undefined;
  } catch {
    console.warn(`${file} is not valid JSON; starting a new one`);
    return undefined;
  }
}

/**
 * Merge `records` into latest.json (replacing earlier results of the same benchmarks, keeping the
 * others), ordered as `order`, and redraw latest.svg from the merged file. Both are written to a
 * .tmp file first and renamed into place.
 */
export function writeResults(
  records: readonly BenchRecord[],
  order: readonly string[] = BENCH_ORDER,
  dir = RESULTS_DIR,
): ResultsFile {
  mkdirSync(dir, { recursive: true });
  const fresh = new Map(records.map((r) => [r.name, r]));
  const kept = (readResults(dir)?.benchmarks ?? []).filter((r) => !fresh.has(r.name));
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const benchmarks = [...kept, ...fresh.values()].sort(
    (a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name),
  );
  const doc: ResultsFile = { updated: new Date().toISOString(), benchmarks };
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, `${name}.tmp`), text);
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  };
  put(
    'latest.json',
    `${JSON.stringify(doc, (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v), 2)}\n`,
  );
  put('latest.svg', renderSvg(doc));
  return doc;
}

// ---------------------------------------------------------------- the chart

const COLOURS: Record<Verdict, string> = { met: '#2e7d32', missed: '#c62828', skipped: '#9e9e9e' };

/** How far a figure is from its target, as a factor where ≥ 1 meets it (for ≤ targets, target / value). */
export function toTarget(c: Check): number | null {
  if (c.value === null) return null;
  if (c.target.op === '>=' || c.target.op === '>') return c.target.value === 0 ? null : c.value / c.target.value;
  return c.value === 0 ? Infinity : c.target.value / c.value;
}

const esc = (s: string) =>
  s
    .replaceAll('`', '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/**
 * A horizontal bar per check: the figure divided by its target (for "at most" targets, the target
 * divided by the figure), so every bar that reaches the dashed line at 1× meets its target. Bars
 * are clipped at 3× (the label says the real figure); skipped checks are grey with the reason.
 */
export function renderSvg(doc: ResultsFile): string {
  const LABEL_W = 360;
  const BAR_X = LABEL_W + 10;
  const BAR_W = 420;
  const MAX = 3;
  const ROW = 22;
  const width = BAR_X + BAR_W + 330;
  const x = (v: number) => BAR_X + (Math.min(v, MAX) / MAX) * BAR_W;
  const out: string[] = [];
  let y = 70;
  for (const b of doc.benchmarks) {
    const load = b.machine.loadAverageAtStart[0];
    out.push(
      `<text x="8" y="${y + 15}" font-weight="bold">${esc(b.name)}<tspan dx="10" fill="${COLOURS[b.verdict]}">${b.verdict}</tspan></text>`,
    );
    out.push(
      `<text x="${BAR_X + BAR_W + 10}" y="${y + 15}" fill="#666" font-size="11">${esc(`${b.machine.date.slice(0, 16).replace('T', ' ')} UTC, load ${load.toFixed(1)}, ${b.durationS.toFixed(0)} s`)}</text>`,
    );
    y += ROW;
    const checks =
      b.checks.length > 0
        ? b.checks
        : [
            {
              what: b.error ? `failed: ${b.error}` : 'no checks',
              value: null,
              unit: '',
              target: { op: '>=' as const, value: 1 },
              verdict: 'skipped' as const,
            },
          ];
    for (const c of checks) {
      const ratio = toTarget(c);
      out.push(`<text x="20" y="${y + 15}">${esc(truncate(c.what, 52))}</text>`);
      if (ratio === null) {
        out.push(`<rect x="${BAR_X}" y="${y + 4}" width="${BAR_W}" height="${ROW - 8}" fill="#eeeeee"/>`);
        out.push(
          `<text x="${BAR_X + 8}" y="${y + 15}" fill="#555" font-size="11">${esc(truncate(`skipped${c.note ? `: ${c.note}` : ''}`, 62))}</text>`,
        );
      } else {
        out.push(
          `<rect x="${BAR_X}" y="${y + 4}" width="${Math.max(1, x(ratio) - BAR_X).toFixed(1)}" height="${ROW - 8}" fill="${COLOURS[c.verdict]}"/>`,
        );
        if (ratio > MAX) out.push(`<text x="${x(MAX) - 14}" y="${y + 15}" fill="#fff" font-weight="bold">»</text>`);
        out.push(
          `<text x="${BAR_X + BAR_W + 10}" y="${y + 15}">${esc(`${fmt(c.value, c.unit)} (target ${targetText(c)})`)}</text>`,
        );
      }
      y += ROW;
    }
    y += 8;
  }
  const axisTop = 62;
  const axis: string[] = [];
  for (let t = 0; t <= MAX; t += 0.5) {
    axis.push(
      `<line x1="${x(t)}" y1="${axisTop}" x2="${x(t)}" y2="${y}" stroke="${t === 1 ? '#333' : '#e0e0e0'}" ${t === 1 ? 'stroke-dasharray="5,3"' : ''}/>`,
    );
    axis.push(
      `<text x="${x(t)}" y="${axisTop - 4}" text-anchor="middle" font-size="11" fill="#555">${t === 1 ? '1× = target' : `${t}×`}</text>`,
    );
  }
  const latest = doc.benchmarks.map((b) => b.machine).sort((a, b) => b.date.localeCompare(a.date))[0];
  const machine = latest
    ? `${latest.cpus} CPUs (${latest.cpuModel}), ${latest.memoryGiB} GiB, Node ${latest.node.replace(/^v/, '')}`
    : '';
  const height = y + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="22" font-size="16" font-weight="bold">peershare benchmarks: each figure ÷ its target (≥ 1× meets it; for “at most” targets, target ÷ figure)</text>
<text x="8" y="40" fill="#555" font-size="12">${esc(`updated ${doc.updated.slice(0, 16).replace('T', ' ')} UTC — ${machine}`)}</text>
${axis.join('\n')}
${out.join('\n')}
<g font-size="11" transform="translate(8 ${y + 14})">
<rect width="10" height="10" y="-9" fill="${COLOURS.met}"/><text x="14">met</text>
<rect x="50" width="10" height="10" y="-9" fill="${COLOURS.missed}"/><text x="64">missed</text>
<rect x="118" width="10" height="10" y="-9" fill="${COLOURS.skipped}"/><text x="132">skipped</text>
<text x="200" fill="#555">bars are clipped at ${MAX}× (»); the text on the right is the measured figure</text>
</g>
</svg>
`;
}

const truncate = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
