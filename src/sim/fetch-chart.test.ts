import { describe, expect, it } from 'vitest';
import { spreadChart, spreadsOf } from './fetch-chart.ts';

describe('the chart of a new peer spreading', () => {
  it('reads both run formats and scales each run by its converged view: N when complete, the cap when partial', () => {
    const fetchRun = { rows: [{ peers: 1000, maxPeers: 10_000, newPeerKnownBy: [0, 1, 25, 50, 1000] }] };
    const roundsRun = {
      peers: 500,
      maxPeers: 50,
      news: [{ newcomerHeldBy: 0 }, { newcomerHeldBy: 25 }, { newcomerHeldBy: 100 }],
    };
    const spec = spreadChart([...spreadsOf(fetchRun), ...spreadsOf(roundsRun)]);
    expect(spec.series.map((s) => s.name)).toEqual(['1,000, complete', '500, cap 50']);
    expect(spec.series[0]!.points.map((p) => [p.x, p.y])).toEqual([
      [1, 0],
      [2, 0.001],
      [3, 0.025],
      [4, 0.05],
      [5, 1],
    ]);
    expect(spec.series[1]!.points.map((p) => p.y)).toEqual([0, 0.5, 2]);
  });

  it('refuses JSON that is neither kind of run', () => {
    expect(() => spreadsOf({ seed: 1 })).toThrow(/neither a fetch run/);
  });
});
