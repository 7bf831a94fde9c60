/**
 * Files news (docs/PROTOCOL.md §9, docs/SCALE.md "Files news"): the peers whose newer signed
 * record said their shared-file list moved since we held them, and the round from which each may
 * be asked for it. A peer's list travels only in its own answers (only the holder answers for what
 * it holds), so SyncRounds asks such peers directly, a few a round on top of the fanout.
 *
 * Each news waits a random 0 to S − 1 rounds, S the larger of filesNewsSpreadRounds and the peers
 * held over filesNewsAsksPerSharerRound, so a sharer's peak of asks stays near the latter at any
 * network size (none wait at 100 peers). An ask, answered or not, or any answer carrying the
 * peer's files, settles its news: a version never satisfied costs one ask per record that raised
 * it, never one a round. Bounded by maxFilesNews; pure state (no timers, no sockets).
 */
import type { FetchConfig } from './config.ts';
import type { PeerRecord } from './peer-record.ts';
import { sample, type Random } from './random.ts';

type FilesNewsConfig = Pick<
  FetchConfig,
  'filesNewsPerRound' | 'filesNewsSpreadRounds' | 'filesNewsAsksPerSharerRound' | 'maxFilesNews'
>;

export class FilesNews {
  /** Peer id → the first round it may be asked. */
  private readonly due = new Map<string, number>();

  constructor(
    private readonly config: FilesNewsConfig,
    private readonly random: Random,
  ) {}

  /** News held, due or waiting. */
  get size(): number {
    return this.due.size;
  }

  /** The peer's news is settled (its files arrived, or it left the table). */
  settle(peerId: string): void {
    this.due.delete(peerId);
  }

  /**
   * Of `records` about to be merged, those that say a higher filesVersion than the record of the
   * same peer held now (`held`; a peer not held has no news: its first answer brings its list).
   */
  static moved(records: readonly PeerRecord[], held: (peerId: string) => PeerRecord | undefined): PeerRecord[] {
    const moved: PeerRecord[] = [];
    for (const record of records) {
      if (record.filesVersion === undefined || record.status !== 'alive') continue;
      const before = held(record.peerId);
      if (before !== undefined && record.filesVersion > (before.filesVersion ?? -1)) moved.push(record);
    }
    return moved;
  }

  /**
   * Note the news of `moved` records that were merged (`taken`), in round `round` with
   * `peersHeld` peers in the table; a peer with news already pending keeps its place.
   */
  note(moved: readonly PeerRecord[], taken: (record: PeerRecord) => boolean, peersHeld: number, round: number): void {
    const spread = Math.max(
      this.config.filesNewsSpreadRounds,
      Math.ceil(peersHeld / this.config.filesNewsAsksPerSharerRound),
    );
    for (const record of moved) {
      if (!taken(record)) continue;
      if (this.due.has(record.peerId) || this.due.size >= this.config.maxFilesNews) continue;
      const wait = spread > 1 ? Math.floor(this.random.next() * spread) : 0;
      this.due.set(record.peerId, round + 1 + wait);
    }
  }

  /**
   * Peers to ask in round `round` on top of the fanout: at most filesNewsPerRound, drawn at random
   * among the news due (a peer re-signing often cannot push the others' news out). Chosen ones
   * (asked anyway), asked ones and those `live` no longer holds lose their news.
   */
  pick(chosen: readonly string[], live: (peerId: string) => boolean, round: number): string[] {
    if (this.due.size === 0) return [];
    for (const peerId of chosen) this.due.delete(peerId);
    const candidates: string[] = [];
    for (const [peerId, due] of this.due) {
      if (!live(peerId)) this.due.delete(peerId);
      else if (due <= round) candidates.push(peerId);
    }
    if (candidates.length === 0) return [];
    const picked = sample(candidates, this.config.filesNewsPerRound, this.random);
    for (const peerId of picked) this.due.delete(peerId);
    return picked;
  }
}
