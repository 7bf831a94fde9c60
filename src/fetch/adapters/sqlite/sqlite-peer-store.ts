/**
 * The PeerStore in SQLite (better-sqlite3, WAL), in the data directory: the newest record of every
 * known peer (alive or left), so a restarted peer rejoins without --join, and the membership log.
 * The log is numbered by the store (a process numbers its events from 1 again after a restart)
 * and trimmed to its newest `maxEvents` rows, so the file stays bounded however long a peer runs.
 * Join pins: the peer id each join address proved on first contact (trust on first use).
 */
import Database from 'better-sqlite3';
import type { MembershipEvent, MembershipEventKind } from '../../domain/membership-log.ts';
import type { PeerRecord } from '../../domain/peer-record.ts';
import type { JoinPin, PeerStore } from '../../ports.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS peers (
  peer_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS membership_log (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  peer_id TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS join_pins (
  address TEXT PRIMARY KEY,
  peer_id TEXT NOT NULL,
  pinned_at INTEGER NOT NULL
) STRICT;
`;

/** Rows kept in the membership log; older ones are deleted as new ones arrive. */
export const DEFAULT_MAX_EVENTS = 10_000;

export class SqlitePeerStore implements PeerStore {
  readonly #db: Database.Database;
  readonly #stmts;
  readonly #maxEvents: number;

  constructor(path: string, options: { maxEvents?: number } = {}) {
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#stmts = {
      all: db.prepare(`SELECT record FROM peers`),
      // A newer seq replaces an older one; an older one never overwrites what is stored.
      save: db.prepare(
        `INSERT INTO peers (peer_id, seq, record) VALUES (?, ?, ?)
         ON CONFLICT(peer_id) DO UPDATE SET seq = excluded.seq, record = excluded.record WHERE excluded.seq > peers.seq`,
      ),
      remove: db.prepare(`DELETE FROM peers WHERE peer_id = ?`),
      append: db.prepare(`INSERT INTO membership_log (at, kind, peer_id) VALUES (?, ?, ?)`),
      trim: db.prepare(`DELETE FROM membership_log WHERE n <= (SELECT max(n) FROM membership_log) - ?`),
      recent: db.prepare(`SELECT n, at, kind, peer_id FROM membership_log ORDER BY n DESC LIMIT ?`),
      pins: db.prepare(`SELECT address, peer_id, pinned_at FROM join_pins ORDER BY address`),
      pin: db.prepare(`INSERT OR REPLACE INTO join_pins (address, peer_id, pinned_at) VALUES (?, ?, ?)`),
      forget: db.prepare(
        `DELETE FROM join_pins WHERE peer_id = ? OR address = ? RETURNING address, peer_id, pinned_at`,
      ),
    };
  }

  loadRecords(): PeerRecord[] {
    const records: PeerRecord[] = [];
    for (const row of this.#stmts.all.all() as { record: string }[]) {
      try {
        records.push(JSON.parse(row.record) as PeerRecord);
      } catch {
        // A damaged row is skipped; the domain verifies every record it is given anyway.
      }
    }
    return records;
  }

  saveRecord(record: PeerRecord): void {
    this.#stmts.save.run(record.peerId, record.seq, JSON.stringify(record));
  }

  removeRecord(peerId: string): void {
    this.#stmts.remove.run(peerId);
  }

  updateRecords(save: readonly PeerRecord[], remove: readonly string[]): void {
    if (save.length === 0 && remove.length === 0) return;
    this.#db.transaction(() => {
      for (const record of save) this.saveRecord(record);
      for (const peerId of remove) this.removeRecord(peerId);
    })();
  }

  appendEvents(events: readonly MembershipEvent[]): void {
    if (events.length === 0) return;
    this.#db.transaction(() => {
      for (const e of events) this.#stmts.append.run(e.at, e.kind, e.peerId);
      this.#stmts.trim.run(this.#maxEvents);
    })();
  }

  recentEvents(limit: number): MembershipEvent[] {
    const rows = this.#stmts.recent.all(limit) as {
      n: number;
      at: number;
      kind: MembershipEventKind;
      peer_id: string;
    }[];
    return rows.reverse().map((r) => ({ n: r.n, at: r.at, kind: r.kind, peerId: r.peer_id }));
  }

  joinPins(): JoinPin[] {
    return (this.#stmts.pins.all() as PinRow[]).map(pinOf);
  }

  pinJoin(pin: JoinPin): void {
    this.#stmts.pin.run(pin.address, pin.peerId, pin.pinnedAt);
  }

  forgetJoinPins(peerIdOrAddress: string): JoinPin[] {
    return (this.#stmts.forget.all(peerIdOrAddress, peerIdOrAddress) as PinRow[]).map(pinOf);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

interface PinRow {
  address: string;
  peer_id: string;
  pinned_at: number;
}

function pinOf(row: PinRow): JoinPin {
  return { address: row.address, peerId: row.peer_id, pinnedAt: row.pinned_at };
}
