/**
 * Overlay graphs for network tests and benchmarks: line, ring, star and seeded random graphs of a
 * given degree, as edge lists over peers 0..n-1, plus hop distances (BFS) to say which peers a
 * query of a given TTL must and must not reach, and which end of each edge dials it.
 */

export type Topology = 'line' | 'ring' | 'star' | { kind: 'random'; degree: number; seed: number };
export type Edge = readonly [number, number];

/** A small seeded PRNG (mulberry32): the same seed gives the same graph on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function edgesOf(n: number, topology: Topology): Edge[] {
  if (topology === 'line') return Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as const);
  if (topology === 'ring') return Array.from({ length: n }, (_, i) => [i, (i + 1) % n] as const);
  if (topology === 'star') return Array.from({ length: n - 1 }, (_, i) => [0, i + 1] as const);
  for (let attempt = 0; attempt < 100; attempt++) {
    const edges = randomGraph(n, topology.degree, seededRandom(topology.seed + attempt));
    if (distances(n, edges, 0).every((d) => d !== Infinity)) return edges;
  }
  throw new Error(`no connected random graph of degree ${topology.degree} on ${n} peers`);
}

/** Greedy: the least-connected peer links to a random peer still below the degree. */
function randomGraph(n: number, degree: number, random: () => number): Edge[] {
  const adjacent = Array.from({ length: n }, () => new Set<number>());
  const edges: Edge[] = [];
  for (;;) {
    const open = [...adjacent.keys()].filter((i) => adjacent[i]!.size < degree);
    if (open.length < 2) return edges;
    open.sort((a, b) => adjacent[a]!.size - adjacent[b]!.size);
    const from = open[0]!;
    const choices = open.filter((j) => j !== from && !adjacent[from]!.has(j));
    if (choices.length === 0) return edges;
    const to = choices[Math.floor(random() * choices.length)]!;
    adjacent[from]!.add(to);
    adjacent[to]!.add(from);
    edges.push([from, to]);
  }
}

export function neighboursOf(n: number, edges: readonly Edge[]): number[][] {
  const out = Array.from({ length: n }, () => [] as number[]);
  for (const [a, b] of edges) {
    out[a]!.push(b);
    out[b]!.push(a);
  }
  return out;
}

/**
 * Who dials whom: for each peer, the neighbours it dials, so that every peer dials about half its
 * links (out and in differ by at most one). A peer keeps outbound slots that inbound links never
 * take (link-manager.ts), so a graph whose degree is the link limit is only built whole when no
 * peer gets more inbound links than the rest: left to chance, two peers whose inbound halves are
 * full refuse each other for ever. Walks over unused edges, each edge pointed the way it was
 * walked (an Euler-style orientation): a walk leaves and enters every peer it passes through
 * alike, and starting at peers with an odd number of unused edges leaves at most one unbalanced
 * edge per peer.
 */
export function dialsOf(n: number, edges: readonly Edge[]): number[][] {
  const unused = Array.from({ length: n }, () => new Map<number, number>()); // peer → (edge index → other end)
  edges.forEach(([a, b], e) => {
    unused[a]!.set(e, b);
    unused[b]!.set(e, a);
  });
  const dials = Array.from({ length: n }, () => [] as number[]);
  const walkFrom = (start: number) => {
    for (let at = start; unused[at]!.size > 0;) {
      const [e, next] = unused[at]!.entries().next().value as [number, number];
      unused[at]!.delete(e);
      unused[next]!.delete(e);
      dials[at]!.push(next);
      at = next;
    }
  };
  for (let v = 0; v < n; v++) if (unused[v]!.size % 2 === 1) walkFrom(v);
  for (let v = 0; v < n; v++) while (unused[v]!.size > 0) walkFrom(v);
  return dials;
}

/** Hops from `from` to every peer (Infinity when unreachable). */
export function distances(n: number, edges: readonly Edge[], from: number): number[] {
  const adjacent = neighboursOf(n, edges);
  const dist = new Array<number>(n).fill(Infinity);
  dist[from] = 0;
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of adjacent[v]!) {
      if (dist[w] === Infinity) {
        dist[w] = dist[v]! + 1;
        queue.push(w);
      }
    }
  }
  return dist;
}
