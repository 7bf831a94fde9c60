/**
 * Line charts as standalone SVG text, for docs/SCALE.md: the simulator's figures drawn without a
 * plotting library (none is needed for lines, points and two axes). Pure: data in, text out.
 *
 * A chart has one or more series, each a polyline through its points in the order given (a
 * series is one configuration, its points one swept setting, such as the TTL) with every point
 * marked and labelled. The x axis may be logarithmic (messages per search span four orders of
 * magnitude); the y axis is linear.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  /** Written beside the point (e.g. "TTL 4"). */
  readonly label?: string;
}

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly ChartPoint[];
}

export interface ChartSpec {
  readonly title: string;
  /** A second line under the title: what every series shares. */
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** A log10 x axis (every x must be > 0). */
  readonly xLog?: boolean;
  /** The y range drawn (default: 0 to the largest y, rounded up). */
  readonly yRange?: readonly [number, number];
}

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 64, right: 200, top: 60, bottom: 52 };
/** Roughly the width of a character of the 10 px point labels, to keep labels from overlapping. */
const LABEL_CHAR_PX = 5.6;
/** Colour-blind-safe (Okabe–Ito), in series order; repeats beyond eight. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fixed = (n: number) => (Math.round(n * 10) / 10).toString();

/** Round numbers for ticks between lo and hi: 1-2-5 steps on a linear axis, powers of ten on a log one. */
export function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) out.push(10 ** p);
    return out;
  }
  const span = hi - lo || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step / 1e6; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A linear axis's range widened to round tick values at both ends. */
function roundedOut(lo: number, hi: number): [number, number] {
  const t = ticks(lo, hi, false);
  const step = t.length > 1 ? t[1]! - t[0]! : 1;
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** Compact tick text: 1000 → 1k, 100000 → 100k, 0.25 → 0.25. */
export function tickText(v: number): string {
  if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (Math.abs(v) >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return `${Number(v.toPrecision(3))}`;
}

/** The chart as an SVG document. */
export function lineChart(spec: ChartSpec): string {
  const points = spec.series.flatMap((s) => s.points);
  if (points.length === 0) throw new Error(`chart "${spec.title}" has no points`);
  if (spec.xLog && points.some((p) => p.x <= 0))
    throw new Error(`chart "${spec.title}": a log x axis needs every x above 0`);
  const xs = points.map((p) => p.x);
  const [xLo, xHi] = spec.xLog
    ? [10 ** Math.floor(Math.log10(Math.min(...xs))), 10 ** Math.ceil(Math.log10(Math.max(...xs)))]
    : roundedOut(Math.min(0, ...xs), Math.max(...xs));
  const [yLo, yHi] = spec.yRange ?? roundedOut(0, Math.max(...points.map((p) => p.y)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const tx = (x: number) =>
    MARGIN.left +
    plotW *
      (spec.xLog
        ? (Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))
        : (x - xLo) / (xHi - xLo || 1));
  const ty = (y: number) => MARGIN.top + plotH * (1 - (y - yLo) / (yHi - yLo || 1));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${MARGIN.left}" y="42" fill="#444444">${escapeXml(spec.subtitle)}</text>`);
  // Grid and ticks.
  for (const v of ticks(xLo, xHi, spec.xLog ?? false)) {
    const x = fixed(tx(v));
    out.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${tickText(v)}</text>`);
  }
  for (const v of ticks(yLo, yHi, false)) {
    const y = fixed(ty(v));
    out.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickText(v)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#666666"/>`,
  );
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}${spec.xLog ? ' (log scale)' : ''}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  // Series, and the legend on the right. A point's label is left out where it would overlap one
  // already written (points crowd where recall reaches 1); its circle's tooltip still says it.
  const placed: Array<{ x: number; y: number; w: number }> = [];
  const free = (x: number, y: number, w: number) =>
    placed.every((b) => x + w < b.x || b.x + b.w < x || Math.abs(y - b.y) >= 11);
  spec.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const path = series.points.map((p) => `${fixed(tx(p.x))},${fixed(ty(p.y))}`).join(' ');
    out.push(`<g data-series="${escapeXml(series.name)}">`);
    out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of series.points) {
      out.push(
        `<circle cx="${fixed(tx(p.x))}" cy="${fixed(ty(p.y))}" r="3.5" fill="${colour}"><title>${escapeXml(`${series.name}${p.label ? `, ${p.label}` : ''}: ${p.x}, ${p.y}`)}</title></circle>`,
      );
      const [lx, ly, lw] = [tx(p.x) + 5, ty(p.y) - 6, (p.label?.length ?? 0) * LABEL_CHAR_PX];
      if (p.label && free(lx, ly, lw)) {
        placed.push({ x: lx, y: ly, w: lw });
        out.push(
          `<text x="${fixed(lx)}" y="${fixed(ly)}" font-size="10" fill="${colour}">${escapeXml(p.label)}</text>`,
        );
      }
    }
    out.push('</g>');
    const ly = MARGIN.top + 10 + i * 20;
    out.push(
      `<line x1="${WIDTH - MARGIN.right + 16}" y1="${ly}" x2="${WIDTH - MARGIN.right + 36}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
    );
    out.push(
      `<text x="${WIDTH - MARGIN.right + 42}" y="${ly}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
