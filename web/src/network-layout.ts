/**
 * Where each peer sits in the network picture: this peer in the middle, every other peer on the
 * ring of its distance in overlay links (1 link, 2 links...), so a search's hops read as rings;
 * peers no known link reaches go on an outer ring of their own. A peer is placed near the peer
 * it is reached through, which keeps lines from crossing the picture.
 */
import type { NetworkEdge } from './types.ts';

export interface PlacedPeer {
  peerId: string;
  x: number;
  y: number;
  /** Links from this peer; null when no known link reaches it. */
  distance: number | null;
}

export interface Layout {
  width: number;
  height: number;
  peers: PlacedPeer[];
  /** Radius of each ring, innermost first (the last one holds the unreached, if any). */
  rings: number[];
}

export const WIDTH = 720;
export const HEIGHT = 480;
const MARGIN = 56;

/** Links from `self` to every peer it reaches over `edges` (breadth first). */
export function distances(self: string, edges: readonly NetworkEdge[]): Map<string, number> {
  const next = new Map<string, string[]>();
  for (const { a, b } of edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    next.set(b, [...(next.get(b) ?? []), a]);
  }
  const seen = new Map([[self, 0]]);
  let frontier = [self];
  while (frontier.length > 0) {
    const following: string[] = [];
    for (const id of frontier) {
      for (const n of next.get(id) ?? []) {
        if (seen.has(n)) continue;
        seen.set(n, seen.get(id)! + 1);
        following.push(n);
      }
    }
    frontier = following;
  }
  return seen;
}

export function layout(self: string, peerIds: readonly string[], edges: readonly NetworkEdge[]): Layout {
  const cx = WIDTH / 2;
  const cy = HEIGHT / 2;
  const dist = distances(self, edges);
  const others = [...new Set(peerIds)].filter((id) => id !== self).sort();
  const reached = others.filter((id) => dist.has(id));
  const unreached = others.filter((id) => !dist.has(id));
  const deepest = Math.max(0, ...reached.map((id) => dist.get(id)!));
  const ringCount = deepest + (unreached.length > 0 ? 1 : 0);
  const step = ringCount === 0 ? 0 : (Math.min(WIDTH, HEIGHT) / 2 - MARGIN) / ringCount;
  const rings = Array.from({ length: ringCount }, (_, i) => step * (i + 1));

  const angle = new Map<string, number>([[self, -Math.PI / 2]]);
  const placed: PlacedPeer[] = [{ peerId: self, x: cx, y: cy, distance: 0 }];
  const place = (ids: string[], ring: number, distance: number | null) => {
    // Order a ring by the angle of the peer each one is reached through, so children sit near parents.
    const parentAngle = (id: string) => {
      const parents = edges
        .flatMap((e) => (e.a === id ? [e.b] : e.b === id ? [e.a] : []))
        .filter((p) => angle.has(p) && dist.get(p) === (distance ?? 0) - 1);
      return parents.length === 0 ? 0 : Math.min(...parents.map((p) => angle.get(p)!));
    };
    const ordered = [...ids].sort((x, y) => parentAngle(x) - parentAngle(y) || (x < y ? -1 : 1));
    const offset = ring % 2 === 0 ? 0 : Math.PI / Math.max(1, ordered.length);
    ordered.forEach((id, i) => {
      const a = -Math.PI / 2 + offset + (2 * Math.PI * i) / ordered.length;
      angle.set(id, a);
      const r = rings[ring] ?? 0;
      placed.push({ peerId: id, x: round(cx + r * Math.cos(a)), y: round(cy + r * Math.sin(a)), distance });
    });
  };
  for (let d = 1; d <= deepest; d++)
    place(
      reached.filter((id) => dist.get(id) === d),
      d - 1,
      d,
    );
  if (unreached.length > 0) place(unreached, ringCount - 1, null);
  return { width: WIDTH, height: HEIGHT, peers: placed, rings };
}

const round = (n: number) => Math.round(n * 10) / 10;
