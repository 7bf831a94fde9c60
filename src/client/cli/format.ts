/** Human-readable output of the commands: sizes, rates, durations, ids and tables (no Node APIs: the web UI uses it too). */
import type { DownloadProgress, ShareProgress } from '../ports.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

/** A peer id is 52 characters; its first 12 tell peers apart in any listing a person reads. */
export const shortId = (id: string): string => id.slice(0, 12);

/** Left-aligned columns, the last one free. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export type ProgressView = Pick<DownloadProgress, 'state' | 'bytesDone' | 'size' | 'rate' | 'etaSeconds' | 'sources'>;

export function percent(p: ProgressView): string {
  return p.size ? `${Math.floor((100 * p.bytesDone) / Math.max(1, p.size))}%` : p.state === 'done' ? '100%' : '?%';
}

/** `[#####-----]`: `fraction` (0..1) of `width` filled, rounded down: full only when all is done. */
export function bar(fraction: number, width = 20): string {
  const filled = Math.floor(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** One line: bar, percent, bytes, rate, ETA, sources. */
/**
 * Each source of a running download on a line of its own, the most bytes first: the peer (its id
 * shortened) at its address, the verified bytes it sent in this run and its rate now (a source
 * asked but with no chunk verified yet shows 0 B).
 */
export function sourceLines(d: Pick<DownloadProgress, 'sources' | 'perSource'>): string[] {
  const rows = sourceRows(d).map((s) => [s.who, s.sent, s.rate]);
  return rows.length === 0 ? [] : table(rows).trimEnd().split('\n');
}

/** The sources of a running download as sourceLines and the web UI show them: who, bytes sent, rate. */
export function sourceRows(
  d: Pick<DownloadProgress, 'sources' | 'perSource'>,
): Array<{ source: string; who: string; sent: string; rate: string }> {
  const seen = new Set((d.perSource ?? []).map((s) => s.source));
  const all = [
    ...(d.perSource ?? []),
    ...d.sources.filter((s) => !seen.has(s)).map((source) => ({ source, bytes: 0, rate: 0 })),
  ];
  return all.map((s) => {
    const at = s.source.indexOf('@');
    const who = at > 0 ? `${shortId(s.source.slice(0, at))}@${s.source.slice(at + 1)}` : s.source;
    return { source: s.source, who, sent: bytes(s.bytes), rate: `${bytes(Math.round(s.rate))}/s` };
  });
}

export function progressLine(p: ProgressView, width = 20): string {
  const fraction = p.size ? Math.min(1, p.bytesDone / Math.max(1, p.size)) : p.state === 'done' ? 1 : 0;
  const amount = p.size !== undefined ? `${bytes(p.bytesDone)}/${bytes(p.size)}` : bytes(p.bytesDone);
  const eta = p.etaSeconds !== undefined ? `ETA ${duration(p.etaSeconds * 1000)}` : '';
  const sources = `${p.sources.length} source${p.sources.length === 1 ? '' : 's'}`;
  return [bar(fraction, width), percent(p).padStart(4), amount, `${bytes(Math.round(p.rate))}/s`, eta, sources, p.state]
    .filter(Boolean)
    .join('  ');
}

/**
 * One line of a share while it hashes: bar, percent, bytes, speed and time left (from `elapsedMs`
 * since hashing began), files, and the file being hashed. 100% and a full bar only once done.
 */
export function hashLine(p: ShareProgress, elapsedMs: number, width = 20): string {
  const done = p.filesDone === p.filesTotal && p.bytesDone === p.bytesTotal;
  const fraction = done ? 1 : p.bytesTotal > 0 ? Math.min(0.999, p.bytesDone / p.bytesTotal) : 0;
  const name = p.path ? p.path.slice(p.path.lastIndexOf('/') + 1) : '';
  const files = `${p.filesDone}/${p.filesTotal} file${p.filesTotal === 1 ? '' : 's'}`;
  const rate = elapsedMs > 0 ? (p.bytesDone * 1000) / elapsedMs : 0;
  const speed = rate > 0 ? `${bytes(Math.round(rate))}/s` : '';
  const eta = done ? '' : rate > 0 ? `ETA ${duration(((p.bytesTotal - p.bytesDone) * 1000) / rate)}` : 'ETA ?';
  return [
    done ? 'hashed ' : 'hashing',
    bar(fraction, width),
    `${Math.floor(100 * fraction)}%`.padStart(4),
    `${bytes(p.bytesDone)}/${bytes(p.bytesTotal)}`,
    speed,
    eta,
    files,
    name,
  ]
    .filter(Boolean)
    .join('  ');
}

/**
 * Whether a progress line is due for a redraw: at most one every `intervalMs`, and always the
 * final one, so a fast stream of progress events does not flood the terminal.
 */
export class RedrawThrottle {
  #last = -Infinity;

  constructor(
    private readonly intervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  due(final: boolean): boolean {
    const t = this.now();
    if (!final && t - this.#last < this.intervalMs) return false;
    this.#last = t;
    return true;
  }
}

/** `text` cut into lines of at most `width` characters, at spaces (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/**
 * Two columns for help: terms on the left (at most `maxTerm` wide), their text wrapped beside
 * them with a hanging indent; a term too long for its column puts its text on the next line.
 */
export function helpColumns(rows: Array<[string, string]>, width: number, maxTerm = 26): string {
  const termWidth = Math.min(maxTerm, Math.max(0, ...rows.map(([term]) => term.length)));
  return columns(rows, width, termWidth);
}

/** helpColumns with the left column `termWidth` wide, so that several lists line up. */
export function columns(rows: Array<[string, string]>, width: number, termWidth: number): string {
  const textWidth = Math.max(20, width - 2 - termWidth - 2);
  const indent = ' '.repeat(2 + termWidth + 2);
  return (
    rows
      .map(([term, text]) => {
        const lines = wrap(text, textWidth);
        const head =
          term.length > termWidth
            ? [`  ${term}`, `${indent}${lines.shift() ?? ''}`]
            : [`  ${term.padEnd(termWidth)}  ${lines.shift() ?? ''}`];
        return [...head, ...lines.map((l) => indent + l)].map((l) => l.trimEnd()).join('\n');
      })
      .join('\n') + '\n'
  );
}
