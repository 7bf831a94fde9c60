/**
 * The SQL side of the embedded job queue (better-sqlite3, WAL). A row of `jobs` exists while a
 * job is waiting or in flight, so the UNIQUE key makes publish idempotent; a claim is a random
 * token plus a lease expiry, and every settlement is conditional on the token, so a consumer
 * whose lease expired (and whose job was handed to another) cannot settle it any more.
 * Several processes may open the same file: SQLite serialises the writers.
 */
import Database from 'better-sqlite3';
import type { DeadLetter } from '../../queue-port.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  body BLOB NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  redelivered INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL,
  token TEXT,
  lease_until INTEGER,
  last_error TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(not_before, id);
CREATE TABLE IF NOT EXISTS dead (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  body BLOB NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  at INTEGER NOT NULL
) STRICT;
`;

export interface ClaimedJob {
  id: number;
  key: string;
  body: Buffer;
  attempt: number;
  redelivered: number;
}

export interface NewJob {
  key: string;
  body: Buffer;
}

export class JobStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string, durable: boolean) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a committed publish survives power loss, like a confirmed persistent AMQP message.
    // Publishes are group-committed by the queue, so the fsync is paid once per batch.
    this.db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmts = {
      insert: this.db.prepare<[string, Buffer, number]>(
        'INSERT INTO jobs (key, body, not_before) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING',
      ),
      // One statement, so claiming is atomic across processes. A job whose lease ran out was
      // delivered before: it comes back flagged `redelivered`.
      claim: this.db.prepare<[{ token: string; until: number; now: number; max: number }], ClaimedJob>(`
        UPDATE jobs SET token = @token, lease_until = @until, redelivered = (redelivered OR token IS NOT NULL)
        WHERE id IN (
          SELECT id FROM jobs WHERE not_before <= @now AND (token IS NULL OR lease_until < @now)
          ORDER BY not_before, id LIMIT @max)
        RETURNING id, key, body, attempt, redelivered`),
      renew: this.db.prepare<[number, string]>('UPDATE jobs SET lease_until = ? WHERE token = ?'),
      claimed: this.db.prepare<[], { id: number; token: string }>('SELECT id, token FROM jobs WHERE token IS NOT NULL'),
      ack: this.db.prepare<[number, string]>('DELETE FROM jobs WHERE id = ? AND token = ?'),
      retry: this.db.prepare<[number, string, number, string]>(`
        UPDATE jobs SET token = NULL, lease_until = NULL, redelivered = 0, attempt = attempt + 1,
          not_before = ?, last_error = ? WHERE id = ? AND token = ?`),
      release: this.db.prepare<[number, string]>(
        'UPDATE jobs SET token = NULL, lease_until = NULL, redelivered = 1 WHERE id = ? AND token = ?',
      ),
      bury: this.db.prepare<[string, number, number, string]>(`
        INSERT INTO dead (key, body, reason, attempts, at)
        SELECT key, body, ?, attempt, ? FROM jobs WHERE id = ? AND token = ?`),
      dead: this.db.prepare<[number], { body: Buffer; reason: string; attempts: number; at: number }>(
        'SELECT body, reason, attempts, at FROM dead ORDER BY id DESC LIMIT ?',
      ),
      depth: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM jobs WHERE token IS NULL'),
    };
  }

  insert(job: NewJob, now: number): void {
    this.stmts.insert.run(job.key, job.body, now);
  }

  /**
   * Runs the writes in one transaction (one commit, one fsync), each in its own savepoint so that
   * one failing write does not undo the others. Throws only if the commit itself fails.
   */
  batch(ops: Array<() => unknown>): Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
    return this.db.transaction(() =>
      ops.map((op) => {
        try {
          return { ok: true as const, value: this.db.transaction(op)() };
        } catch (error) {
          return { ok: false as const, error };
        }
      }),
    )();
  }

  claim(token: string, leaseUntil: number, now: number, max: number): ClaimedJob[] {
    return this.stmts.claim.all({ token, until: leaseUntil, now, max });
  }

  /** Jobs claimed right now, with the token of their claim. */
  claimedJobs(): Array<{ id: number; token: string }> {
    return this.stmts.claimed.all();
  }

  renew(token: string, leaseUntil: number): void {
    this.stmts.renew.run(leaseUntil, token);
  }

  /** Each settlement returns false when the claim was lost (lease expired, job taken by another). */
  ack(id: number, token: string): boolean {
    return this.stmts.ack.run(id, token).changes === 1;
  }

  retry(id: number, token: string, notBefore: number, reason: string): boolean {
    return this.stmts.retry.run(notBefore, reason, id, token).changes === 1;
  }

  release(id: number, token: string): boolean {
    return this.stmts.release.run(id, token).changes === 1;
  }

  bury(id: number, token: string, reason: string, now: number): boolean {
    return this.db.transaction(() => {
      if (this.stmts.bury.run(reason, now, id, token).changes !== 1) return false;
      return this.stmts.ack.run(id, token).changes === 1;
    })();
  }

  deadLetters(limit: number): DeadLetter[] {
    return this.stmts.dead
      .all(limit)
      .map((r) => ({ body: r.body.toString('utf8'), reason: r.reason, attempts: r.attempts, at: r.at }));
  }

  /** Jobs not currently claimed (a claim whose lease ran out still counts as claimed here). */
  depth(): number {
    return this.stmts.depth.get()!.n;
  }

  close(): void {
    this.db.close();
  }
}
