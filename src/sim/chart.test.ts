import { describe, expect, it } from 'vitest';
import { lineChart, tickText, ticks } from './chart.ts';
import { searchCharts, type SearchRow } from './report.ts';

/** The centres of a series' circles, in order. */
const circles = (svg: string, series: string) =>
  [
    ...(new RegExp(`<g data-series="${series}">([\\s\\S]*?)</g>`).exec(svg)?.[1] ?? '').matchAll(
      /<circle cx="([\d.]+)" cy="([\d.]+)"/g,
    ),
  ].map((m) => [Number(m[1]), Number(m[2])]);

describe('SVG line charts', () => {
  it('places points on the axes they are given: the smallest and largest at the plot edges, a log x by decades', () => {
    const svg = lineChart({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      xLog: true,
      yRange: [0, 1],
      series: [
        {
          name: 'a',
          points: [
            { x: 10, y: 0 },
            { x: 100, y: 0.5 },
            { x: 1000, y: 1 },
          ],
        },
      ],
    });
    const [first, middle, last] = circles(svg, 'a');
    // The plot is 64..560 wide and 60..388 high (margins of chart.ts).
    expect(first).toEqual([64, 388]);
    expect(last).toEqual([560, 60]);
    expect(middle).toEqual([312, 224]); // one decade of two, half way up
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('escapes text, and refuses what it cannot draw', () => {
    const svg = lineChart({
      title: 'a < b & "c"',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 's', points: [{ x: 1, y: 1, label: '<TTL>' }] }],
    });
    expect(svg).toContain('<title>a &lt; b &amp; &quot;c&quot;</title>');
    expect(svg).toContain('&lt;TTL&gt;');
    expect(() => lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] })).toThrow(/no points/);
    expect(() =>
      lineChart({
        title: 'log0',
        xLabel: 'x',
        yLabel: 'y',
        xLog: true,
        series: [{ name: 's', points: [{ x: 0, y: 1 }] }],
      }),
    ).toThrow(/above 0/);
  });

  it('ticks at round values', () => {
    expect(ticks(0, 1, false)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(10, 10_000, true)).toEqual([10, 100, 1000, 10_000]);
    expect([1500, 100_000, 2_500_000, 0.25].map(tickText)).toEqual(['1.5k', '100k', '2.5M', '0.25']);
  });

  it('draws a series per configuration and a point per TTL, in TTL order; a row without hits has no time', () => {
    const row = (degree: number, ttl: number, recall: number, messages: number, time: number | null) =>
      ({
        peers: 1000,
        degree,
        ttl,
        holdersFraction: 0.01,
        recallMean: recall,
        messagesMean: messages,
        lastHitP50Ms: time,
      }) as SearchRow;
    const { recallMessages, recallTime } = searchCharts([
      row(8, 4, 0.9, 2000, 120),
      row(8, 2, 0.2, 80, 60),
      row(16, 2, 0.5, 300, null),
    ]);
    // Named by what varies; what every series shares is the subtitle.
    expect(recallMessages.series.map((s) => [s.name, s.points.map((p) => p.label)])).toEqual([
      ['degree 8', ['TTL 2', 'TTL 4']],
      ['degree 16', ['TTL 2']],
    ]);
    expect(recallMessages.subtitle).toBe('1,000 peers, 1% of peers hold the file');
    expect(recallTime.series[0]!.points).toEqual([
      { x: 60, y: 0.2, label: 'TTL 2' },
      { x: 120, y: 0.9, label: 'TTL 4' },
    ]);
    expect(recallTime.series[1]!.points).toEqual([]);
    // A varying fraction names the series in short, to fit the legend.
    const byFraction = searchCharts([
      row(8, 4, 0.9, 2000, 120),
      { ...row(8, 4, 0.9, 2000, 120), holdersFraction: 0.001 },
    ]);
    expect(byFraction.recallMessages.series.map((s) => s.name)).toEqual(['1% holders', '0.1% holders']);
    expect(byFraction.recallMessages.subtitle).toBe('1,000 peers, degree 8');
  });
});
