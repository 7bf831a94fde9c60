/**
 * Query routing (feature "qrp", issue 17): which neighbours a copy of a query may skip because
 * their route tables say nothing behind them can match it. Pure state and decisions (no sockets,
 * no timers); the SearchEngine sends and schedules.
 *
 * Levels, as Gnutella ultrapeers aggregate their leaves' tables: with `levels` = L, a peer sends
 * each neighbour tables of level 0 … L − 1. Level 0 is its own table (LocalIndex.routeTable());
 * level d is its own table ∪ every neighbour's level d − 1 table, so it covers every peer within d
 * links of the sender. A copy of a query that may still cross r links (its ttl) reaches peers
 * within r − 1 links of the neighbour it goes to, which is what that neighbour's level r − 1
 * table covers. So a copy with ttl r ≤ L goes to a neighbour only when that table may match; a
 * neighbour that sent no such table (an earlier release, a link that did not negotiate "qrp", or
 * one whose tables have not arrived) gets it, as in a flood; a copy with r > L always goes.
 *
 * A table is a hint that costs its sender nothing to lie about: a neighbour with a full table gets
 * every query, one with an empty table only hides what is behind itself, and the hops before the
 * last L stay a flood, so no neighbour can keep a query from the rest of the network.
 *
 * Our level d cannot claim less than a neighbour we would flood to: while some link has no level
 * d − 1 table, our level d is full. Except a link just come up (`linkUp`, until `settle`): its
 * tables follow its handshake within a round trip, and counting it full meanwhile sent a wave of
 * full tables through every peer within L links, and a second wave back once its tables came,
 * at each link that churn brings. Left out, it leaves our levels what they were before the link
 * existed: they claim nothing behind it yet, as they did not a moment before. Bounded: one table
 * per link and level, levels below min(L, MAX_ROUTE_LEVELS), dropped when the link closes.
 */
import { MAX_ROUTE_LEVELS } from '../../protocol/limits.ts';
import { RouteTable } from '../../protocol/route-table.ts';
import type { LinkId } from './flood-router.ts';

/** The outcome of a table a neighbour sent. */
export type TableReceipt = 'stored' | 'unchanged' | 'level-ignored';

export class QueryRouting {
  /** Levels sent and used: the setting, within the protocol's bound. */
  readonly levels: number;
  private own: RouteTable | undefined;
  private readonly theirs = new Map<LinkId, Array<RouteTable | undefined>>();
  /** Links just come up whose missing tables are awaited, not taken as full. */
  private readonly awaited = new Set<LinkId>();
  private outgoing: RouteTable[] = [];
  /**
   * What each outgoing level above 0 was last built from: our own table, then every counted link's
   * table of the level below, in order (those before a link that made it full). A level whose parts are the same
   * objects is not rebuilt: a table is never changed once held (a new one replaces it), so the
   * union (of up to 9 tables of 2^18 bits) would come out the same (docs/SCALE.md, "What they
   * cost under churn").
   */
  private builtFrom: Array<{ full: boolean; parts: readonly RouteTable[] } | undefined> = [];

  constructor(levels: number) {
    if (!Number.isInteger(levels) || levels < 0) throw new RangeError('route levels must be an integer >= 0');
    this.levels = Math.min(levels, MAX_ROUTE_LEVELS);
  }

  get enabled(): boolean {
    return this.levels > 0;
  }

  /** Our own table (level 0); true when it differs from the one held before. */
  setOwn(table: RouteTable): boolean {
    if (!this.enabled) return false;
    if (this.own?.equals(table)) return false;
    this.own = table;
    return true;
  }

  /** A neighbour's table of `level` arrived over `link`. */
  receive(link: LinkId, level: number, table: RouteTable): TableReceipt {
    if (!Number.isInteger(level) || level < 0 || level >= this.levels) return 'level-ignored';
    let tables = this.theirs.get(link);
    if (!tables) {
      tables = new Array<RouteTable | undefined>(this.levels).fill(undefined);
      this.theirs.set(link, tables);
    }
    if (tables[level]?.equals(table)) return 'unchanged';
    tables[level] = table;
    return 'stored';
  }

  /** A link came up: until `settle`, a level it has not sent is awaited, not taken as full. */
  linkUp(link: LinkId): void {
    if (this.enabled) this.awaited.add(link);
  }

  /**
   * The wait for `link`'s tables is over: a level it has still not sent counts as full from now
   * on. True when that changes our levels (it was awaited and some level is missing).
   */
  settle(link: LinkId): boolean {
    if (!this.awaited.delete(link)) return false;
    const tables = this.theirs.get(link);
    return tables === undefined || tables.slice(0, this.levels - 1).some((t) => t === undefined);
  }

  /** A link closed: forget its tables. True when it had sent some (our aggregated levels may change). */
  drop(link: LinkId): boolean {
    this.awaited.delete(link);
    const had = this.theirs.delete(link);
    return had;
  }

  /** The table `link` sent for `level`, if any. */
  tableOf(link: LinkId, level: number): RouteTable | undefined {
    return this.theirs.get(link)?.[level];
  }

  /** Links whose tables are held. */
  get linkCount(): number {
    return this.theirs.size;
  }

  /**
   * Whether a copy of a query that may cross `ttl` more links may go to `link`: always when it
   * would go further than our levels see, or when the neighbour sent no table of that level.
   */
  allows(link: LinkId, ttl: number, terms: readonly string[], fileId: string): boolean {
    if (ttl > this.levels) return true;
    const table = this.theirs.get(link)?.[ttl - 1];
    return table === undefined || table.mayMatch(terms, fileId);
  }

  /**
   * The tables we send over links `links` (every ready link), level 0 … levels − 1; none until our
   * own table is known. Level 0 is our own table; level d our own ∪ every link's level d − 1 table,
   * full while some link has sent none (we flood to it, so it may hold anything) unless that link's
   * tables are still awaited (it is then left out). A table equal to
   * the one returned before is that same object, so a caller finds what changed by identity.
   */
  outgoingTables(links: readonly LinkId[]): readonly RouteTable[] {
    if (this.own === undefined || !this.enabled) {
      this.builtFrom = [];
      return (this.outgoing = []);
    }
    const out: RouteTable[] = [];
    for (let level = 0; level < this.levels; level += 1) out.push(this.outgoingTable(links, level)!);
    return (this.outgoing = out);
  }

  /** Our table of one level, as outgoingTables computes it (undefined: none to send). */
  outgoingTable(links: readonly LinkId[], level: number): RouteTable | undefined {
    if (this.own === undefined || level < 0 || level >= this.levels) return undefined;
    if (level === 0) return this.own;
    const parts: RouteTable[] = [this.own];
    let full = false;
    for (const link of links) {
      const below = this.theirs.get(link)?.[level - 1];
      if (below === undefined && this.awaited.has(link)) continue;
      if (below === undefined) {
        full = true; // we flood to that link: this level may hold anything
        break;
      }
      parts.push(below);
    }
    const before = this.outgoing[level];
    const built = this.builtFrom[level];
    if (before !== undefined && built?.full === full && sameObjects(built.parts, parts)) return before;
    this.builtFrom[level] = { full, parts };
    const table = full ? RouteTable.full(Math.log2(this.own.bits)) : RouteTable.unionOf(parts);
    if (before?.equals(table)) return before;
    this.outgoing[level] = table;
    return table;
  }
}

/** Whether two lists hold the same objects in the same order. */
function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
