import { describe, expect, it } from 'vitest';
import { dialsOf, edgesOf, neighboursOf } from './topology.ts';

/** Links each peer is dialled on (the other ends' dials). */
function inbound(n: number, dials: number[][]): number[] {
  const count = new Array<number>(n).fill(0);
  for (const list of dials) for (const to of list) count[to]! += 1;
  return count;
}

describe('dialsOf', () => {
  it('has every peer of an even-degree graph dial exactly half its links', () => {
    const edges = edgesOf(100, { kind: 'random', degree: 8, seed: 42 });
    const dials = dialsOf(100, edges);
    expect(dials.map((d) => d.length)).toEqual(new Array(100).fill(4));
    expect(inbound(100, dials)).toEqual(new Array(100).fill(4));
  });

  it('dials every edge exactly once, from one of its ends', () => {
    const edges = edgesOf(31, { kind: 'random', degree: 5, seed: 3 });
    const dials = dialsOf(31, edges);
    const dialled = dials.flatMap((list, from) => list.map((to) => [Math.min(from, to), Math.max(from, to)].join('-')));
    const want = edges.map(([a, b]) => [Math.min(a, b), Math.max(a, b)].join('-'));
    expect(dialled.sort()).toEqual(want.sort());
  });

  it('leaves out and in differing by at most one where degrees are odd', () => {
    for (const topology of ['star', 'line', { kind: 'random', degree: 5, seed: 3 }] as const) {
      const n = 31;
      const edges = edgesOf(n, topology);
      const dials = dialsOf(n, edges);
      const inn = inbound(n, dials);
      const degree = neighboursOf(n, edges).map((a) => a.length);
      dials.forEach((list, v) => {
        expect(list.length + inn[v]!).toBe(degree[v]);
        expect(Math.abs(list.length - inn[v]!)).toBeLessThanOrEqual(1);
      });
    }
  });
});
