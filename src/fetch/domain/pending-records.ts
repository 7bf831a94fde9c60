/**
 * Admission's pending records (those waiting for this peer's own probe), stored column-wise: a slot
 * per record, its fields in typed arrays, and a queue per origin (the fair-share key: the
 * announcing host, or the gossiping peer) threaded through the slots, oldest first. A partial view
 * keeps every peer's Admission full (maxUnverified, 1,000): 10⁸ records at 100,000 simulated
 * peers. An object per record, with its own copy of the origin's key string, cost ≈ 200 bytes
 * there; a slot costs the index entry and ≈ 26 bytes, the origin's key is held once. The record
 * objects themselves are shared (the simulator holds one per peer for the whole network).
 *
 * Orders, as Admission relies on them: `slotsInArrival` goes oldest first (an updated record keeps
 * its place); `origins` are in the order each first had a record here since it last had none;
 * within an origin, oldest first. `largest` is the origin holding the most, the first of them in
 * `origins` order on a tie (what eviction takes from), kept in a binary heap: a full Admission
 * evicts on every new record, and scanning hundreds of origins each time was most of a round.
 */
import type { PeerRecord } from './peer-record.ts';

/** One origin's queue: its key, how many records it holds, its oldest and newest slot. */
export class OriginQueue {
  size = 0;
  head = NONE;
  tail = NONE;
  /** Its place in the heap of origins by size (see largest). */
  heapIndex = NONE;
  constructor(
    readonly key: string,
    /** Origins are numbered as they come (back): the order of `origins`. */
    readonly arrival: number,
  ) {}
}

/** No slot (an end of a queue). */
export const NONE = -1;
const INITIAL_CAPACITY = 16;

export class PendingRecords {
  /** Peer id → slot. Insertion order is arrival order. */
  private readonly index = new Map<string, number>();
  /** Origins by key; insertion order is the order each came (back). */
  readonly origins = new Map<string, OriginQueue>();
  private records: (PeerRecord | undefined)[] = [];
  private originOf: (OriginQueue | undefined)[] = [];
  /** Within the slot's origin: the older and the newer slot. */
  private older = new Int32Array(INITIAL_CAPACITY);
  private newer = new Int32Array(INITIAL_CAPACITY);
  /** Index of the address set to try first at the next probe (the one after the last that failed). */
  private nextSet = new Uint8Array(INITIAL_CAPACITY);
  /** Announced by its own peer (else gossiped). */
  private announcedFlag = new Uint8Array(INITIAL_CAPACITY);
  private readonly free: number[] = [];
  private used = 0;
  /** Origins by size, largest first (ties: earliest arrival), as a binary heap. */
  private readonly heap: OriginQueue[] = [];
  private arrivals = 0;

  get size(): number {
    return this.index.size;
  }

  has(peerId: string): boolean {
    return this.index.has(peerId);
  }

  /** The slot holding `peerId`'s record, or NONE. */
  slotOf(peerId: string): number {
    return this.index.get(peerId) ?? NONE;
  }

  record(slot: number): PeerRecord {
    return this.records[slot] as PeerRecord;
  }

  /** A newer record of the same peer: it keeps the slot, its place and its next address set. */
  replace(slot: number, record: PeerRecord): void {
    this.records[slot] = record;
  }

  origin(slot: number): OriginQueue {
    return this.originOf[slot] as OriginQueue;
  }

  announced(slot: number): boolean {
    return this.announcedFlag[slot] === 1;
  }

  nextAddressSet(slot: number): number {
    return this.nextSet[slot] as number;
  }

  setNextAddressSet(slot: number, index: number): void {
    this.nextSet[slot] = index;
  }

  /** The origin holding the most records, the earliest of them on a tie; undefined when empty. */
  largest(): OriginQueue | undefined {
    return this.heap[0];
  }

  /** The slot after `slot` in its origin's queue (newer), or NONE. */
  newerInOrigin(slot: number): number {
    return this.newer[slot] as number;
  }

  /** Add `record` (its peer not held) at the end of the queue of origin `key`. */
  add(record: PeerRecord, key: string, announced: boolean): void {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.older.length) this.grow();
    let origin = this.origins.get(key);
    if (!origin) {
      origin = new OriginQueue(key, this.arrivals++);
      this.origins.set(key, origin);
      origin.heapIndex = this.heap.length;
      this.heap.push(origin);
    }
    this.records[slot] = record;
    this.originOf[slot] = origin;
    this.nextSet[slot] = 0;
    this.announcedFlag[slot] = announced ? 1 : 0;
    this.older[slot] = origin.tail;
    this.newer[slot] = NONE;
    if (origin.tail === NONE) origin.head = slot;
    else this.newer[origin.tail] = slot;
    origin.tail = slot;
    origin.size++;
    this.siftUp(origin.heapIndex);
    this.index.set(record.peerId, slot);
  }

  /** Take `peerId`'s record out; returns its former slot, or NONE when it was not held. */
  remove(peerId: string): number {
    const slot = this.index.get(peerId);
    if (slot === undefined) return NONE;
    this.index.delete(peerId);
    const origin = this.origin(slot);
    const before = this.older[slot] as number;
    const after = this.newer[slot] as number;
    if (before === NONE) origin.head = after;
    else this.newer[before] = after;
    if (after === NONE) origin.tail = before;
    else this.older[after] = before;
    origin.size--;
    this.siftDown(origin.heapIndex);
    if (origin.size === 0) this.dropOrigin(origin);
    this.records[slot] = undefined;
    this.originOf[slot] = undefined;
    this.free.push(slot);
    return slot;
  }

  /** Every slot, oldest first. */
  slotsInArrival(): IterableIterator<number> {
    return this.index.values();
  }

  /** An emptied origin leaves `origins` and the heap (the heap's last origin takes its place). */
  private dropOrigin(origin: OriginQueue): void {
    this.origins.delete(origin.key);
    const last = this.heap.pop() as OriginQueue;
    if (last !== origin) {
      this.heap[origin.heapIndex] = last;
      last.heapIndex = origin.heapIndex;
      this.siftDown(last.heapIndex);
      this.siftUp(last.heapIndex);
    }
    origin.heapIndex = NONE;
  }

  /** Whether origin `a` goes before `b` in the heap: more records, or as many and came earlier. */
  private static before(a: OriginQueue, b: OriginQueue): boolean {
    return a.size > b.size || (a.size === b.size && a.arrival < b.arrival);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!PendingRecords.before(heap[i] as OriginQueue, heap[parent] as OriginQueue)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let top = i;
      if (left < heap.length && PendingRecords.before(heap[left] as OriginQueue, heap[top] as OriginQueue)) top = left;
      if (right < heap.length && PendingRecords.before(heap[right] as OriginQueue, heap[top] as OriginQueue))
        top = right;
      if (top === i) return;
      this.swap(i, top);
      i = top;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i] as OriginQueue;
    const b = this.heap[j] as OriginQueue;
    this.heap[i] = b;
    this.heap[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  private grow(): void {
    const capacity = Math.ceil(this.older.length * 1.5);
    const widen = <A extends Uint8Array | Int32Array>(old: A, make: (n: number) => A) => {
      const wider = make(capacity);
      wider.set(old);
      return wider;
    };
    this.older = widen(this.older, (n) => new Int32Array(n));
    this.newer = widen(this.newer, (n) => new Int32Array(n));
    this.nextSet = widen(this.nextSet, (n) => new Uint8Array(n));
    this.announcedFlag = widen(this.announcedFlag, (n) => new Uint8Array(n));
  }
}
