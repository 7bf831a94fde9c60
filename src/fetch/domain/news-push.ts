/**
 * News pushed by a full table (docs/PROTOCOL.md §9, docs/SCALE.md "News pushed by a full table"):
 * the peers new to this table (not a newer record of a peer held), by the round they came in. In
 * a partial view only the tables holding a newcomer can tell others of it, and by pulls only when
 * one of the ≈ fanout peers a round that pick them asks; so SyncRounds adds these records to every
 * request it sends and, while there are any, sends newsPushPerRound requests carrying only them.
 *
 * At most newsPerRequest peers (the newest), each for newsPushRounds rounds; a table with room
 * pushes nothing (a complete view spreads by pulls in O(log N) rounds). Pure state: SyncRounds says
 * what the table holds alive and whether it is full.
 */
import type { FetchConfig } from './config.ts';
import type { PeerRecord } from './peer-record.ts';
import { sample, type Random } from './random.ts';

type NewsPushConfig = Pick<FetchConfig, 'newsPerRequest' | 'newsPushRounds' | 'newsPushPerRound'>;

/** The record the table holds alive for a peer id, or undefined (not held, or down). */
export type LiveRecord = (peerId: string) => PeerRecord | undefined;

export class NewsPush {
  /** Peer id → the round it entered the table; insertion order is age order. */
  private readonly fresh = new Map<string, number>();

  constructor(
    private readonly config: NewsPushConfig,
    private readonly random: Random,
  ) {}

  /** A peer just entered the table in `round`. */
  note(peerId: string, round: number): void {
    this.fresh.delete(peerId);
    this.fresh.set(peerId, round);
    for (const oldest of this.fresh.keys()) {
      if (this.fresh.size <= this.config.newsPerRequest) break;
      this.fresh.delete(oldest);
    }
  }

  /**
   * The news for a request to `to` in `round`, newest first: the records of the peers new within
   * newsPushRounds that are still held alive, `to` itself left out; none unless the table is full.
   */
  news(round: number, to: string | undefined, live: LiveRecord, full: boolean): PeerRecord[] {
    const news: PeerRecord[] = [];
    for (const [peerId, since] of this.fresh) {
      const record = live(peerId);
      if (round - since >= this.config.newsPushRounds || record === undefined) this.fresh.delete(peerId);
      else if (peerId !== to) news.push(record);
    }
    return full ? news.reverse() : [];
  }

  /**
   * While there is news, newsPushPerRound random peers of `live` not `asked` this round and not news
   * themselves: each gets a request carrying only the news.
   */
  targets(
    round: number,
    live: readonly string[],
    asked: readonly string[],
    record: LiveRecord,
    full: boolean,
  ): string[] {
    if (this.config.newsPushPerRound === 0 || this.news(round, undefined, record, full).length === 0) return [];
    const skip = new Set(asked);
    const rest = live.filter((peerId) => !skip.has(peerId) && !this.fresh.has(peerId));
    return sample(rest, this.config.newsPushPerRound, this.random);
  }
}
