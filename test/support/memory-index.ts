/**
 * An in-memory LocalIndex for network tests: the same matching rules as File Management's
 * catalog (files/domain/terms.ts: every term a prefix of a word of the name), without a SQLite
 * database per peer, so a 50-peer testnet starts in well under a second; its route table is
 * built by File Management's own function.
 */
import { createHash } from 'node:crypto';
import { routeTableOf } from '../../src/files/domain/route-table-of.ts';
import { matchesAll, parseTerms } from '../../src/files/domain/terms.ts';
import { MAX_TERM_LENGTH } from '../../src/protocol/limits.ts';
import type { RouteTable } from '../../src/protocol/route-table.ts';
import type { IndexEntry, LocalIndex } from '../../src/search/ports.ts';

export class MemoryIndex implements LocalIndex {
  readonly entries: IndexEntry[] = [];

  /** `tableMinLog2`: the smallest own route table (as File Management's, ROUTE_TABLE_OWN_MIN_BITS_LOG2, unless given). */
  constructor(private readonly tableMinLog2?: number) {}

  /** Share a file by name; its id is derived from the name and `content` (default: the name). */
  add(name: string, content = name): IndexEntry {
    const entry = { id: createHash('sha256').update(content).digest('hex'), name, size: Buffer.byteLength(content) };
    this.entries.push(entry);
    return entry;
  }

  parseTerms(text: string): string[] {
    return parseTerms(text).map((t) => t.slice(0, MAX_TERM_LENGTH));
  }

  async match(terms: readonly string[], limit: number): Promise<IndexEntry[]> {
    return this.entries.filter((e) => matchesAll(e.name, terms)).slice(0, limit);
  }

  async lookup(fileId: string): Promise<IndexEntry[]> {
    return this.entries.filter((e) => e.id === fileId);
  }

  /**
   * The query routing table of every entry, built as File Management builds it, and like it
   * rebuilt only when the entries changed (entries are only ever added): the Search service reads
   * it every second, and a fresh 32 KiB table a second per peer is garbage a real peer never makes.
   */
  async routeTable(): Promise<RouteTable> {
    if (this.#routes?.count !== this.entries.length)
      this.#routes = { count: this.entries.length, table: routeTableOf(this.entries, this.tableMinLog2) };
    return this.#routes.table;
  }

  #routes: { count: number; table: RouteTable } | undefined;
}
