/**
 * The membership log: an append-only list of what happened to which peer and when. Memory holds
 * the newest `capacity` events in a ring; every event has a running number `n`, so the adapter
 * can persist everything after the last number it stored. It also counts every event by kind
 * since the process started, the ones the ring no longer holds included (GET /metrics).
 */

export const MEMBERSHIP_EVENT_KINDS = ['joined', 'suspected', 'down', 'back', 'left', 'evicted'] as const;
export type MembershipEventKind = (typeof MEMBERSHIP_EVENT_KINDS)[number];

export interface MembershipEvent {
  /** Running number, 1 for the first event of this process. */
  n: number;
  /** Local clock, ms since the epoch. */
  at: number;
  kind: MembershipEventKind;
  peerId: string;
}

export class MembershipLog {
  private readonly ring: (MembershipEvent | undefined)[];
  private next = 1;
  /** Events appended since the process started, by kind. */
  readonly counts: Record<MembershipEventKind, number> = {
    joined: 0,
    suspected: 0,
    down: 0,
    back: 0,
    left: 0,
    evicted: 0,
  };

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('log capacity must be a positive integer');
    this.ring = new Array<MembershipEvent | undefined>(capacity);
  }

  append(kind: MembershipEventKind, peerId: string, at: number): MembershipEvent {
    const event: MembershipEvent = { n: this.next++, at, kind, peerId };
    this.ring[(event.n - 1) % this.capacity] = event;
    this.counts[kind]++;
    return event;
  }

  /** Number of the newest event, 0 when empty. */
  get last(): number {
    return this.next - 1;
  }

  /** Events numbered above `after` still held in memory, oldest first. */
  since(after = 0): MembershipEvent[] {
    const first = Math.max(after + 1, this.next - this.capacity, 1);
    const out: MembershipEvent[] = [];
    for (let n = first; n < this.next; n++) {
      const event = this.ring[(n - 1) % this.capacity];
      if (event) out.push(event);
    }
    return out;
  }
}
