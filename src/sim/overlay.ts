/**
 * The simulated overlay: a seeded random graph in which every peer has about `degree` links (a
 * configuration model: each peer gets `degree` link ends, shuffled and paired; self-links and
 * second links between the same pair are dropped, and components are joined to the largest one),
 * stored as flat typed arrays so 100,000 peers cost a few MB. Each link has one latency, drawn
 * from a lognormal distribution, the same both ways.
 *
 * A peer's links are numbered 0..deg-1 (its slots); slot s of peer p leads to `neighbour(p, s)`,
 * where it arrives as that peer's slot `backSlot(p, s)`.
 */
import type { Random } from '../fetch/domain/random.ts';

export interface LatencyModel {
  /** Median one-way delay of a link, ms. */
  readonly medianMs: number;
  /** Standard deviation of the delay's logarithm (0: every link has the median). */
  readonly sigma: number;
}

export class Overlay {
  /** Slots of peer p are offsets[p] .. offsets[p + 1] - 1 in the arrays below. */
  readonly offsets: Int32Array;
  readonly neighbours: Int32Array;
  readonly backSlots: Int32Array;
  readonly latencyMs: Float32Array;

  private constructor(
    readonly peers: number,
    adjacency: readonly number[][],
    latencyOf: (a: number, b: number) => number,
  ) {
    this.offsets = new Int32Array(peers + 1);
    for (let p = 0; p < peers; p++) this.offsets[p + 1] = this.offsets[p]! + adjacency[p]!.length;
    const ends = this.offsets[peers]!;
    this.neighbours = new Int32Array(ends);
    this.backSlots = new Int32Array(ends);
    this.latencyMs = new Float32Array(ends);
    for (let p = 0; p < peers; p++) adjacency[p]!.forEach((q, s) => (this.neighbours[this.offsets[p]! + s] = q));
    for (let p = 0; p < peers; p++) {
      for (let s = 0; s < this.degreeOf(p); s++) {
        const q = this.neighbour(p, s);
        if (q < p) continue; // each link once, from its lower end
        const back = adjacency[q]!.indexOf(p);
        const latency = latencyOf(p, q);
        this.backSlots[this.offsets[p]! + s] = back;
        this.backSlots[this.offsets[q]! + back] = s;
        this.latencyMs[this.offsets[p]! + s] = latency;
        this.latencyMs[this.offsets[q]! + back] = latency;
      }
    }
  }

  /** A random overlay of about `degree` links per peer, connected. */
  static random(peers: number, degree: number, latency: LatencyModel, random: Random): Overlay {
    if (!Number.isInteger(peers) || peers < 2) throw new RangeError('peers must be an integer >= 2');
    if (!Number.isInteger(degree) || degree < 1 || degree >= peers)
      throw new RangeError('degree must be an integer in 1 .. peers - 1');
    const adjacency = pairEnds(peers, degree, random);
    joinComponents(adjacency, random);
    const draw = lognormalLatency(latency, random);
    return new Overlay(peers, adjacency, () => draw());
  }

  /** An overlay over given links (each [a, b] once), e.g. the graph a benchmark used; `latencyOf` gives each link's delay. */
  static fromEdges(
    peers: number,
    edges: ReadonlyArray<readonly [number, number]>,
    latencyOf: (a: number, b: number) => number,
  ): Overlay {
    const adjacency = Array.from({ length: peers }, () => [] as number[]);
    for (const [a, b] of edges) {
      adjacency[a]!.push(b);
      adjacency[b]!.push(a);
    }
    return new Overlay(peers, adjacency, latencyOf);
  }

  get links(): number {
    return this.neighbours.length / 2;
  }

  degreeOf(peer: number): number {
    return this.offsets[peer + 1]! - this.offsets[peer]!;
  }

  neighbour(peer: number, slot: number): number {
    return this.neighbours[this.offsets[peer]! + slot]!;
  }

  backSlot(peer: number, slot: number): number {
    return this.backSlots[this.offsets[peer]! + slot]!;
  }

  latency(peer: number, slot: number): number {
    return this.latencyMs[this.offsets[peer]! + slot]!;
  }

  /** Hops from `from` to every peer (255: unreachable, or farther than 254). */
  distancesFrom(from: number, into: Uint8Array = new Uint8Array(this.peers)): Uint8Array {
    into.fill(255);
    into[from] = 0;
    const queue = new Int32Array(this.peers);
    queue[0] = from;
    let tail = 1;
    for (let head = 0; head < tail; head++) {
      const p = queue[head]!;
      const next = into[p]! + 1;
      for (let e = this.offsets[p]!; e < this.offsets[p + 1]!; e++) {
        const q = this.neighbours[e]!;
        if (into[q] === 255 && next < 255) {
          into[q] = next;
          queue[tail++] = q;
        }
      }
    }
    return into;
  }

  /** The longest shortest path from `from` (255 when some peer is unreachable). */
  eccentricity(from: number): number {
    return Math.max(...this.distancesFrom(from));
  }
}

function pairEnds(peers: number, degree: number, random: Random): number[][] {
  const ends = new Int32Array(peers * degree);
  for (let i = 0; i < ends.length; i++) ends[i] = Math.floor(i / degree);
  for (let i = ends.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const t = ends[i]!;
    ends[i] = ends[j]!;
    ends[j] = t;
  }
  const adjacency = Array.from({ length: peers }, () => [] as number[]);
  const linked = new Set<number>();
  for (let i = 0; i + 1 < ends.length; i += 2) {
    const a = Math.min(ends[i]!, ends[i + 1]!);
    const b = Math.max(ends[i]!, ends[i + 1]!);
    if (a === b || linked.has(a * peers + b)) continue;
    linked.add(a * peers + b);
    adjacency[a]!.push(b);
    adjacency[b]!.push(a);
  }
  return adjacency;
}

/** Link every smaller component to a random peer of the component found first from peer 0. */
function joinComponents(adjacency: number[][], random: Random): void {
  const component = new Int32Array(adjacency.length).fill(-1);
  const firsts: number[] = [];
  for (let start = 0; start < adjacency.length; start++) {
    if (component[start] !== -1) continue;
    const id = firsts.length;
    firsts.push(start);
    component[start] = id;
    const stack = [start];
    while (stack.length > 0) {
      for (const q of adjacency[stack.pop()!]!) {
        if (component[q] === -1) {
          component[q] = id;
          stack.push(q);
        }
      }
    }
  }
  for (let id = 1; id < firsts.length; id++) {
    let target: number;
    do target = Math.floor(random.next() * adjacency.length);
    while (component[target] !== 0);
    adjacency[firsts[id]!]!.push(target);
    adjacency[target]!.push(firsts[id]!);
  }
}

/** Link delays exp(N(ln median, sigma²)), from uniform draws (Box–Muller). */
export function lognormalLatency(model: LatencyModel, random: Random): () => number {
  const mu = Math.log(model.medianMs);
  return () => {
    const u = 1 - random.next(); // (0, 1]: the logarithm stays finite
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
    return Math.exp(mu + model.sigma * z);
  };
}
