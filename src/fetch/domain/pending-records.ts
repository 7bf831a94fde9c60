/**
 * Admission's pending records (those waiting for this peer's own probe), stored column-wise: a slot
 * per record, its fields in typed arrays, and a queue per origin (the fair-share key: the
 * announcing host, or the gossiping peer) threaded through the slots, oldest first. A partial view
 * keeps every peer's Admission full (maxUnverified, 1,000): 10⁸ records at 100,000 simulated
 * peers. An object per record in a Map, with its own copy of the origin's key string, cost
 * ≈ 190 bytes there; a slot costs ≈ 40 (typed arrays, the record reference and an entry of the
 * id index, slot-index.ts), the origin's key is held once. The record objects themselves are
 * shared (the simulator holds one per peer for the whole network).
 *
 * Orders, as Admission relies on them: `slotsInArrival` goes oldest first (an updated record keeps
 * its place); `origins` are in the order each first had a record here since it last had none;
 * within an origin, oldest first. `largest` is the origin holding the most, the first of them in
 * `origins` order on a tie (what eviction takes from), kept in a binary heap: a full Admission
 * evicts on every new record, and scanning hundreds of origins each time was most of a round.
 *
 * The columns start at INITIAL_CAPACITY slots, small enough that V8 keeps them inside its heap
 * (a typed array of up to 64 bytes), and past that go straight to maxSize (when bounded) instead
 * of growing by half again and again. A larger typed array lives outside the heap, and V8 counts
 * every such allocation towards a full garbage collection (one begins when ≈ 64 MB more lie outside
 * the heap than after the last): at 100,000 simulated peers, each Admission growing from ≈ 80 to
 * ≈ 550 records in one round allocated ≈ 5 GB of columns and index tables that way, some sixty full
 * marks of a 3–10 GB heap in that round (docs/SCALE.md); at 20,000 a round took 301 s, 100 s since.
 * Growing once allocates the final size, once; the counts and every order are unchanged.
 */
import { widened } from './columns.ts';
import type { PeerRecord } from './peer-record.ts';
import { SlotIndex } from './slot-index.ts';

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
    /** Its number among the origins held now (reused once it leaves). */
    readonly id: number,
  ) {}
}

/** No slot (an end of a queue). */
export const NONE = -1;
/** Slots before the first growth: 16 Int32 (64 bytes), kept inside the V8 heap (see the header). */
const INITIAL_CAPACITY = 16;
/** The columns of a store that never held a record: shared, never written (most peers' stores stay empty). */
const NO_INT32 = new Int32Array(0);
const NO_UINT8 = new Uint8Array(0);

export class PendingRecords {
  /** Peer id → slot. */
  private readonly index: SlotIndex;
  /** Origins by key; insertion order is the order each came (back). */
  readonly origins = new Map<string, OriginQueue>();
  private readonly originsById: (OriginQueue | undefined)[] = [];
  private readonly freeOriginIds: number[] = [];
  private records: (PeerRecord | undefined)[] = [];
  private originId = NO_INT32;
  /** Within the slot's origin: the older and the newer slot. */
  private older = NO_INT32;
  private newer = NO_INT32;
  /** Over all origins, in arrival order: the slot before and after, and the ends. */
  private before = NO_INT32;
  private after = NO_INT32;
  private readonly arrival = { head: NONE, tail: NONE };
  /** Index of the address set to try first at the next probe (the one after the last that failed). */
  private nextSet = NO_UINT8;
  /** Announced by its own peer (else gossiped). */
  private announcedFlag = NO_UINT8;
  private readonly free: number[] = [];
  private used = 0;
  /** Origins by size, largest first (ties: earliest arrival), as a binary heap. */
  private readonly heap: OriginQueue[] = [];
  private arrivals = 0;

  constructor(
    /** The most records held at once (Admission's maxUnverified): the columns grow no further than that. */
    private readonly maxSize = Infinity,
  ) {
    this.index = new SlotIndex((slot) => this.record(slot).peerId, undefined, maxSize);
  }

  get size(): number {
    return this.index.size;
  }

  has(peerId: string): boolean {
    return this.index.get(peerId) !== undefined;
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
    return this.originsById[this.originId[slot] as number] as OriginQueue;
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
      const id = this.freeOriginIds.pop() ?? this.originsById.length;
      origin = new OriginQueue(key, this.arrivals++, id);
      this.originsById[id] = origin;
      this.origins.set(key, origin);
      origin.heapIndex = this.heap.length;
      this.heap.push(origin);
    }
    this.records[slot] = record;
    this.originId[slot] = origin.id;
    this.nextSet[slot] = 0;
    this.announcedFlag[slot] = announced ? 1 : 0;
    this.older[slot] = origin.tail;
    this.newer[slot] = NONE;
    if (origin.tail === NONE) origin.head = slot;
    else this.newer[origin.tail] = slot;
    origin.tail = slot;
    origin.size++;
    this.siftUp(origin.heapIndex);
    this.before[slot] = this.arrival.tail;
    this.after[slot] = NONE;
    if (this.arrival.tail === NONE) this.arrival.head = slot;
    else this.after[this.arrival.tail] = slot;
    this.arrival.tail = slot;
    this.index.set(record.peerId, slot);
  }

  /** Take `peerId`'s record out; returns its former slot, or NONE when it was not held. */
  remove(peerId: string): number {
    const slot = this.index.get(peerId);
    if (slot === undefined) return NONE;
    this.index.delete(peerId);
    const origin = this.origin(slot);
    unlink(slot, this.older, this.newer, origin);
    unlink(slot, this.before, this.after, this.arrival);
    origin.size--;
    this.siftDown(origin.heapIndex);
    if (origin.size === 0) this.dropOrigin(origin);
    this.records[slot] = undefined;
    this.free.push(slot);
    return slot;
  }

  /** Every slot, oldest first (take them all before removing any). */
  *slotsInArrival(): IterableIterator<number> {
    for (let slot = this.arrival.head; slot !== NONE; slot = this.after[slot] as number) yield slot;
  }

  /** An emptied origin leaves `origins` and the heap (the heap's last origin takes its place). */
  private dropOrigin(origin: OriginQueue): void {
    this.origins.delete(origin.key);
    this.originsById[origin.id] = undefined;
    this.freeOriginIds.push(origin.id);
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
    const length = this.older.length;
    // Past the initial slots, straight to the bound (see the header); unbounded, by half again.
    const next =
      length === 0 ? INITIAL_CAPACITY : Number.isFinite(this.maxSize) ? this.maxSize : Math.ceil(length * 1.5);
    const capacity = Math.max(Math.min(next, this.maxSize), length + 1);
    this.originId = widened(this.originId, capacity);
    this.older = widened(this.older, capacity);
    this.newer = widened(this.newer, capacity);
    this.before = widened(this.before, capacity);
    this.after = widened(this.after, capacity);
    this.nextSet = widened(this.nextSet, capacity);
    this.announcedFlag = widened(this.announcedFlag, capacity);
  }
}

/** Take `slot` out of a doubly linked list: its `prev`/`next` columns, its ends in `ends`. */
function unlink(slot: number, prev: Int32Array, next: Int32Array, ends: { head: number; tail: number }): void {
  const p = prev[slot] as number;
  const n = next[slot] as number;
  if (p === NONE) ends.head = n;
  else next[p] = n;
  if (n === NONE) ends.tail = p;
  else prev[n] = p;
}
