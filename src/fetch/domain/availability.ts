/**
 * The file availability map: which peers hold which file ids, under which name and size. Fed by
 * each remote peer's shared-file list delta; the remote's cursor is kept per peer so the next
 * request asks only for what changed. Capped in total and per peer; a delta that would break a
 * cap is refused whole (PAYLOAD_TOO_LARGE) and the cursor stays, so nothing is half-applied.
 */
import { PeershareError } from '../../shared/errors.ts';
import type { FileDelta } from './messages.ts';

export interface Holding {
  peerId: string;
  name: string;
  size: number;
}

interface PeerFiles {
  cursor: string | undefined;
  files: Map<string, { name: string; size: number }>;
}

export class AvailabilityMap {
  private readonly byPeer = new Map<string, PeerFiles>();
  private readonly byFile = new Map<string, Set<string>>();
  private total = 0;

  constructor(private readonly caps: { maxFileEntries: number; maxFilesPerPeer: number }) {}

  /** Entries across all peers. */
  get size(): number {
    return this.total;
  }

  /** The cursor to send to `peerId` next time (undefined: ask for the full list). */
  cursorOf(peerId: string): string | undefined {
    return this.byPeer.get(peerId)?.cursor;
  }

  countOf(peerId: string): number {
    return this.byPeer.get(peerId)?.files.size ?? 0;
  }

  /** Apply a validated delta from `peerId`, or throw PAYLOAD_TOO_LARGE and change nothing. */
  apply(peerId: string, delta: FileDelta): void {
    const current = this.byPeer.get(peerId);
    const before = delta.reset ? new Map<string, { name: string; size: number }>() : new Map(current?.files ?? []);
    for (const id of delta.removed) before.delete(id);
    for (const file of delta.added) before.set(file.id, { name: file.name, size: file.size });
    if (before.size > this.caps.maxFilesPerPeer) {
      throw new PeershareError(
        'PAYLOAD_TOO_LARGE',
        `peer lists ${before.size} files, more than the ${this.caps.maxFilesPerPeer} kept per peer`,
        { peerId },
      );
    }
    const total = this.total - (current?.files.size ?? 0) + before.size;
    if (total > this.caps.maxFileEntries) {
      throw new PeershareError('PAYLOAD_TOO_LARGE', `availability map is full (${this.caps.maxFileEntries} entries)`, {
        peerId,
      });
    }
    // Everything checked: swap the peer's files in one step.
    this.dropIndex(peerId, current);
    this.byPeer.set(peerId, { cursor: delta.cursor, files: before });
    for (const id of before.keys()) {
      let holders = this.byFile.get(id);
      if (!holders) this.byFile.set(id, (holders = new Set()));
      holders.add(peerId);
    }
    this.total = total;
  }

  /** Forget everything a peer holds (it left or was evicted). */
  removePeer(peerId: string): void {
    const current = this.byPeer.get(peerId);
    if (!current) return;
    this.dropIndex(peerId, current);
    this.total -= current.files.size;
    this.byPeer.delete(peerId);
  }

  /** Every peer that listed `fileId`, with the name and size it gave. */
  holders(fileId: string): Holding[] {
    const out: Holding[] = [];
    for (const peerId of this.byFile.get(fileId) ?? []) {
      const file = this.byPeer.get(peerId)?.files.get(fileId);
      if (file) out.push({ peerId, name: file.name, size: file.size });
    }
    return out;
  }

  private dropIndex(peerId: string, current: PeerFiles | undefined): void {
    for (const id of current?.files.keys() ?? []) {
      const holders = this.byFile.get(id);
      holders?.delete(peerId);
      if (holders?.size === 0) this.byFile.delete(id);
    }
  }
}
