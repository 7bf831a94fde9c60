import { describe, expect, it } from 'vitest';
import { distances, HEIGHT, layout, WIDTH } from './network-layout.ts';

const edge = (a: string, b: string) => (a < b ? { a, b } : { a: b, b: a });
const radius = (p: { x: number; y: number }) => Math.round(Math.hypot(p.x - WIDTH / 2, p.y - HEIGHT / 2));

describe('the network picture layout', () => {
  it('counts links from this peer', () => {
    expect(distances('a', [edge('a', 'b'), edge('b', 'c'), edge('x', 'y')])).toEqual(
      new Map([
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ]),
    );
  });

  it('puts this peer in the middle and every other on the ring of its distance', () => {
    const { peers, rings } = layout('a', ['b', 'c', 'd', 'lone'], [edge('a', 'b'), edge('a', 'd'), edge('b', 'c')]);
    expect(rings).toHaveLength(3);
    const at = Object.fromEntries(peers.map((p) => [p.peerId, p]));
    expect(at.a).toMatchObject({ x: WIDTH / 2, y: HEIGHT / 2, distance: 0 });
    expect(radius(at.b!)).toBe(Math.round(rings[0]!));
    expect(radius(at.d!)).toBe(Math.round(rings[0]!));
    expect(radius(at.c!)).toBe(Math.round(rings[1]!));
    expect(at.lone).toMatchObject({ distance: null });
    expect(radius(at.lone!)).toBe(Math.round(rings[2]!));
  });

  it('keeps every peer inside the picture, one place each', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const edges = ids.map((id, i) => edge(i < 8 ? 'self' : `p${i % 8}`, id));
    const { peers } = layout('self', ['self', ...ids], edges);
    expect(peers).toHaveLength(41);
    for (const p of peers) {
      expect(p.x).toBeGreaterThan(0);
      expect(p.x).toBeLessThan(WIDTH);
      expect(p.y).toBeGreaterThan(0);
      expect(p.y).toBeLessThan(HEIGHT);
    }
  });

  it('draws a lone peer alone', () => {
    expect(layout('a', [], [])).toMatchObject({ rings: [], peers: [{ peerId: 'a', distance: 0 }] });
  });
});
