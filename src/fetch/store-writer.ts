/**
 * Keeps the PeerStore in step with the in-memory table and log: after a round or an answer, it
 * writes the records that changed (new seq, new peer, tombstone), removes the ones that are gone,
 * and appends the membership events not yet stored. Cheap when nothing changed (one comparison).
 */
import type { PeerRecord } from './domain/peer-record.ts';
import type { SyncRounds } from './domain/sync-rounds.ts';
import type { PeerStore } from './ports.ts';

export class StoreWriter {
  /** peerId → seq of the record stored for it. */
  private readonly stored = new Map<string, number>();
  private storedChanges = -1;
  private storedEvents = 0;

  constructor(
    private readonly store: PeerStore,
    private readonly core: SyncRounds,
    loaded: readonly PeerRecord[],
  ) {
    for (const record of loaded) this.stored.set(record.peerId, record.seq);
  }

  flush(): void {
    const { table, log } = this.core;
    if (log.last > this.storedEvents) {
      this.store.appendEvents(log.since(this.storedEvents));
      this.storedEvents = log.last;
    }
    if (table.changes === this.storedChanges) return;
    const current = new Map<string, PeerRecord>();
    for (const peer of table.list()) current.set(peer.peerId, peer.record);
    for (const tomb of table.tombstoneRecords()) current.set(tomb.peerId, tomb);
    const save = [...current.values()].filter((r) => this.stored.get(r.peerId) !== r.seq);
    const remove = [...this.stored.keys()].filter((id) => !current.has(id));
    this.store.updateRecords(save, remove);
    for (const r of save) this.stored.set(r.peerId, r.seq);
    for (const id of remove) this.stored.delete(id);
    this.storedChanges = table.changes;
  }
}
