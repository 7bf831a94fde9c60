/**
 * Query routing tables for the simulated peers (search-network.ts): each peer shares a library of
 * names drawn from a seeded Zipf vocabulary, so its own table (protocol/route-table.ts, sized
 * with RouteTable.sizeFor as a LocalIndex sizes it) has a realistic fill, and the aggregated
 * levels are computed by each engine's own QueryRouting (search/domain/query-routing.ts) from the
 * tables its neighbours "sent": propagation is instant (level by level, every peer at once), not
 * timed. The bytes a peer sends its neighbours (each level's table, raw-deflated as on the wire,
 * once to each link) are counted.
 *
 * Each search adds its file to its holders' tables: their own table changes, and so do the levels
 * of every peer within levels − 1 links of a holder; only those are computed again (and restored
 * after the search), with the same QueryRouting code. `levelsMoved` leaves the higher levels as
 * they were, for a file shared too shortly before the search for them to have moved.
 */
import type { Random } from '../fetch/domain/random.ts';
import { encodeRouteTable, RouteTable } from '../protocol/route-table.ts';
import type { SearchNetwork, SharedFileRoutes } from './search-network.ts';

export interface LibraryConfig {
  /** Names each peer shares. */
  readonly files: number;
  /** Words a name is made of, each drawn from the vocabulary. */
  readonly wordsPerName: number;
  /** Distinct words, drawn with probability ∝ 1 / rank^zipf. */
  readonly vocabulary: number;
  readonly zipf: number;
  /** Smallest own table (log2 of bits; RouteTable.sizeFor's floor, ROUTE_TABLE_OWN_MIN_BITS_LOG2 unless given); larger when the keys need it. */
  readonly minTableLog2?: number;
}

export const DEFAULT_LIBRARY: LibraryConfig = { files: 20, wordsPerName: 4, vocabulary: 50_000, zipf: 1 };

/** What the tables of one network cost and how full they are. */
export interface TableStats {
  /** Bytes one peer sends to set up its tables with every neighbour (each level once per link, deflated): mean and max. */
  readonly bytesPerPeerMean: number;
  readonly bytesPerPeerMax: number;
  /** Mean fill (fraction of bits set) of the tables sent, by level: a single-term query's false-positive rate. */
  readonly fillByLevel: readonly number[];
  /** Mean size of the tables sent, by level, in bits. */
  readonly bitsByLevel: readonly number[];
}

export class SimRouteTables implements SharedFileRoutes {
  private readonly own: RouteTable[] = [];
  private readonly levels: number;
  /**
   * Levels of table that have moved since a search's file was shared: a file shared `ageMs`
   * before the search, with one update per link every `updateMs`, is in its holders' level 0
   * tables at their neighbours after one interval, in level d after d + 1 (a level aggregates
   * the level below as it arrives). Infinity (the default): every level, as if shared long ago.
   */
  levelsMoved = Infinity;

  constructor(
    private readonly net: SearchNetwork,
    library: LibraryConfig,
    random: Random,
  ) {
    this.levels = net.engines[0]?.routing.levels ?? 0;
    const words = vocabulary(library.vocabulary, random);
    const draw = zipfSampler(library.vocabulary, library.zipf, random);
    for (let p = 0; p < net.overlay.peers; p++) {
      const tokens: string[][] = [];
      let keys = library.files;
      for (let f = 0; f < library.files; f++) {
        const name = Array.from({ length: library.wordsPerName }, () => words[draw()]!);
        for (const w of name) keys += Math.min(w.length, 12);
        tokens.push(name);
      }
      const table = RouteTable.empty(RouteTable.sizeFor(keys, library.minTableLog2));
      tokens.forEach((name, f) => {
        table.addTokens(name);
        table.addId(`lib-${p}-${f}`);
      });
      this.own.push(table);
    }
  }

  /** Give every peer its own table and propagate every level to every neighbour. */
  propagate(): void {
    const peers = this.net.overlay.peers;
    for (let p = 0; p < peers; p++) this.net.engines[p]!.routing.setOwn(this.own[p]!);
    const all = Array.from({ length: peers }, (_, p) => p);
    for (let level = 0; level < this.levels; level++) this.sendLevel(all, level);
  }

  /**
   * Add a file (its one term and its id) to the holders' tables and propagate what changes;
   * returns what puts every table back as it was.
   */
  share(holders: Uint8Array, term: string, fileId: string): () => void {
    if (this.levels === 0) return () => {};
    const near = this.nearHolders(holders);
    const set = (withFile: boolean) => {
      for (let p = 0; p < holders.length; p++) {
        if (holders[p] !== 1) continue;
        let table = this.own[p]!;
        if (withFile) {
          const file = RouteTable.empty(Math.log2(table.bits));
          file.addTokens([term]);
          file.addId(fileId);
          table = table.union(file);
        }
        this.net.engines[p]!.routing.setOwn(table);
      }
      for (let level = 0; level < Math.min(this.levels, this.levelsMoved); level++) this.sendLevel(near[level]!, level);
    };
    set(true);
    return () => set(false);
  }

  /** Peers within `level` links of a holder, for each level below this.levels. */
  private nearHolders(holders: Uint8Array): number[][] {
    const { overlay } = this.net;
    const distance = new Uint8Array(overlay.peers).fill(255);
    let frontier: number[] = [];
    for (let p = 0; p < holders.length; p++)
      if (holders[p] === 1) {
        distance[p] = 0;
        frontier.push(p);
      }
    const within: number[][] = [];
    let reached = [...frontier];
    for (let level = 0; level < this.levels; level++) {
      within.push(reached);
      const next: number[] = [];
      for (const p of frontier)
        for (let s = 0; s < overlay.degreeOf(p); s++) {
          const q = overlay.neighbour(p, s);
          if (distance[q] === 255) {
            distance[q] = level + 1;
            next.push(q);
          }
        }
      reached = reached.concat(next);
      frontier = next;
    }
    return within;
  }

  /** Each of `senders` computes its levels (its engine's QueryRouting) and its neighbours receive its table of `level`. */
  private sendLevel(senders: readonly number[], level: number): void {
    const { overlay, engines } = this.net;
    const outgoing = senders.map((p) => engines[p]!.routing.outgoingTable(this.net.linkIds(p), level)!);
    senders.forEach((p, i) => {
      for (let s = 0; s < overlay.degreeOf(p); s++)
        engines[overlay.neighbour(p, s)]!.routing.receive(String(overlay.backSlot(p, s)), level, outgoing[i]!);
    });
  }

  /** What the tables propagated cost (deflating every peer's tables once) and how full they are. */
  stats(): TableStats {
    const { overlay, engines } = this.net;
    let total = 0;
    let most = 0;
    const fill = new Array<number>(this.levels).fill(0);
    const bits = new Array<number>(this.levels).fill(0);
    for (let p = 0; p < overlay.peers; p++) {
      const tables = engines[p]!.routing.outgoingTables(this.net.linkIds(p));
      let bytes = 0;
      tables.forEach((table, level) => {
        bytes += encodeRouteTable(table).data.length * overlay.degreeOf(p);
        fill[level]! += table.fill / overlay.peers;
        bits[level]! += table.bits / overlay.peers;
      });
      total += bytes;
      most = Math.max(most, bytes);
    }
    return { bytesPerPeerMean: total / overlay.peers, bytesPerPeerMax: most, fillByLevel: fill, bitsByLevel: bits };
  }
}

/** `size` distinct lower-case words of 3–10 letters. */
function vocabulary(size: number, random: Random): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const length = 3 + Math.floor(random.next() * 8);
    let word = '';
    for (let i = 0; i < length; i++) word += String.fromCharCode(97 + Math.floor(random.next() * 26));
    words.add(word);
  }
  return [...words];
}

/** Draws ranks 0 … size − 1 with probability ∝ 1 / (rank + 1)^s. */
function zipfSampler(size: number, s: number, random: Random): () => number {
  const cdf = new Float64Array(size);
  let sum = 0;
  for (let r = 0; r < size; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return () => {
    const x = random.next() * sum;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
