/**
 * Peer id → slot, for a column-wise store (pending-records.ts): an open-addressing hash table in
 * one Int32Array (linear probing, deletion by shifting back), at most half full. A Map of peer ids
 * cost ≈ 57 bytes per entry once records came and went (its capacity doubles and holes stay until
 * it rehashes); this costs 8–16. The store keeps the keys (each slot's record names its peer), so
 * the table holds only slots and asks the store for a slot's key.
 *
 * The hash is FNV-1a over the id's first HASHED_CHARS characters: a peer id is the base32 of a
 * SHA-256 (shared/keys.ts), so those already carry 80 uniform bits, far more than the table's
 * index uses. A peer cannot pick its id, but it can grind keys until ids collide here (hashing
 * more of the id would not stop that: the index is a dozen bits); the store's own bound
 * (maxUnverified) then bounds a probe to that many steps, what a scan of every pending record
 * cost before.
 *
 * Given the most keys it will hold (`maxSize`), the table goes from its first INITIAL_CAPACITY
 * straight to the size that many keys need, instead of doubling on the way: a table of more than
 * 16 entries lives outside the V8 heap, and each such allocation counts towards a full garbage
 * collection (pending-records.ts says why that matters at 100,000 simulated peers).
 */

const EMPTY = -1;
const HASHED_CHARS = 16;
/** 16 Int32 (64 bytes): V8 keeps a typed array this small inside its heap. */
const INITIAL_CAPACITY = 16;
/** The table of an index that never held a key: shared, never written. */
const NO_TABLE = new Int32Array(0);

export class SlotIndex {
  private table = NO_TABLE;
  private count = 0;

  constructor(
    /** The key of an occupied slot (the peer id of its record). */
    private readonly keyOf: (slot: number) => string,
    private readonly hash: (key: string) => number = fnv1a,
    /** The most keys held at once, if bounded: past the initial table, grow once to what that many need. */
    private readonly maxSize = Infinity,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The slot of `key`, or undefined. */
  get(key: string): number | undefined {
    if (this.count === 0) return undefined;
    const mask = this.table.length - 1;
    for (let i = this.hash(key) & mask; ; i = (i + 1) & mask) {
      const slot = this.table[i] as number;
      if (slot === EMPTY) return undefined;
      if (this.keyOf(slot) === key) return slot;
    }
  }

  /** Index `slot` under `key` (not indexed yet). */
  set(key: string, slot: number): void {
    if (2 * (this.count + 1) > this.table.length) {
      const full = Number.isFinite(this.maxSize) ? 2 ** Math.ceil(Math.log2(2 * Math.max(this.maxSize, 1))) : 0;
      const doubled = Math.max(this.table.length * 2, INITIAL_CAPACITY);
      this.resize(this.table.length === 0 ? INITIAL_CAPACITY : Math.max(full, doubled));
    }
    this.place(key, slot);
    this.count++;
  }

  /** Take `key` out; returns whether it was there. */
  delete(key: string): boolean {
    if (this.count === 0) return false;
    const table = this.table;
    const mask = table.length - 1;
    let i = this.hash(key) & mask;
    for (; ; i = (i + 1) & mask) {
      const slot = table[i] as number;
      if (slot === EMPTY) return false;
      if (this.keyOf(slot) === key) break;
    }
    // Shift back every later entry of the run that may no longer be found past the hole.
    let hole = i;
    for (let j = (i + 1) & mask; table[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.hash(this.keyOf(table[j] as number)) & mask;
      // Entry j may move into the hole when its home is not cyclically within (hole, j].
      const between = hole < j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      table[hole] = table[j] as number;
      hole = j;
    }
    table[hole] = EMPTY;
    this.count--;
    return true;
  }

  private place(key: string, slot: number): void {
    const mask = this.table.length - 1;
    let i = this.hash(key) & mask;
    while (this.table[i] !== EMPTY) i = (i + 1) & mask;
    this.table[i] = slot;
  }

  private resize(capacity: number): void {
    const old = this.table;
    this.table = new Int32Array(capacity).fill(EMPTY);
    for (const slot of old) if (slot !== EMPTY) this.place(this.keyOf(slot), slot);
  }
}

/** FNV-1a, 32 bits, over the first HASHED_CHARS UTF-16 code units of `key`. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  const n = Math.min(key.length, HASHED_CHARS);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
