import { describe, expect, it } from 'vitest';
import { NONE, PendingRecords } from './pending-records.ts';
import { seededRandom } from './random.ts';
import type { PeerRecord } from './peer-record.ts';

/** Only the peer id matters to the store. */
const record = (peerId: string, seq = 1) => ({ peerId, seq }) as PeerRecord;

/** Each origin's records, oldest first, walked through the queue. */
function queues(pending: PendingRecords): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const origin of pending.origins.values()) {
    const ids: string[] = [];
    for (let slot = origin.head; slot !== NONE; slot = pending.newerInOrigin(slot))
      ids.push(pending.record(slot).peerId);
    expect(ids.length).toBe(origin.size);
    out[origin.key] = ids;
  }
  return out;
}

const arrival = (pending: PendingRecords) => [...pending.slotsInArrival()].map((s) => pending.record(s).peerId);

describe('pending records stored column-wise', () => {
  it('keeps arrival order overall and within each origin, origins in the order they came', () => {
    const pending = new PendingRecords();
    for (const [id, key] of [
      ['a', 'x'],
      ['b', 'y'],
      ['c', 'x'],
      ['d', 'z'],
      ['e', 'y'],
    ])
      pending.add(record(id as string), key as string, false);
    expect(pending.size).toBe(5);
    expect(arrival(pending)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(queues(pending)).toEqual({ x: ['a', 'c'], y: ['b', 'e'], z: ['d'] });
    expect([...pending.origins.keys()]).toEqual(['x', 'y', 'z']);
  });

  it('unlinks a record from the head, the middle or the tail of its queue, and drops an emptied origin', () => {
    const pending = new PendingRecords();
    for (const id of ['a', 'b', 'c', 'd']) pending.add(record(id), 'x', false);
    pending.add(record('e'), 'y', true);
    pending.remove('b');
    expect(queues(pending)).toEqual({ x: ['a', 'c', 'd'], y: ['e'] });
    pending.remove('a');
    pending.remove('d');
    expect(queues(pending)).toEqual({ x: ['c'], y: ['e'] });
    expect(pending.remove('a')).toBe(NONE);
    pending.remove('c');
    expect([...pending.origins.keys()]).toEqual(['y']);
    // An origin that comes back goes to the end of the origins' order.
    pending.add(record('f'), 'x', false);
    expect([...pending.origins.keys()]).toEqual(['y', 'x']);
    expect(pending.announced(pending.slotOf('e'))).toBe(true);
    expect(pending.announced(pending.slotOf('f'))).toBe(false);
    expect(pending.has('b')).toBe(false);
  });

  it('lets a newer record keep its slot and place; reuses freed slots past the initial capacity', () => {
    const pending = new PendingRecords();
    for (let i = 0; i < 40; i++) pending.add(record(`p${i}`), `o${i % 3}`, false);
    const slot = pending.slotOf('p4');
    pending.setNextAddressSet(slot, 2);
    pending.replace(slot, record('p4', 2));
    expect(pending.record(pending.slotOf('p4')).seq).toBe(2);
    expect(pending.nextAddressSet(slot)).toBe(2);
    expect(arrival(pending).indexOf('p4')).toBe(4);
    for (let i = 0; i < 40; i += 2) pending.remove(`p${i}`);
    for (let i = 40; i < 60; i++) pending.add(record(`p${i}`), 'o9', false);
    expect(pending.size).toBe(40);
    expect(pending.nextAddressSet(pending.slotOf('p40'))).toBe(0);
    expect(queues(pending).o9).toEqual(Array.from({ length: 20 }, (_, i) => `p${40 + i}`));
    expect(queues(pending).o1).toEqual(['p1', 'p7', 'p13', 'p19', 'p25', 'p31', 'p37']);
  });

  it('grows its columns up to the most it may hold, and keeps working at that size', () => {
    const pending = new PendingRecords(20);
    for (let i = 0; i < 200; i++) {
      if (pending.size === 20) pending.remove(pending.record(pending.largest()?.head as number).peerId);
      pending.add(record(`p${i}`), `o${i % 4}`, false);
    }
    expect(pending.size).toBe(20);
    expect(arrival(pending).slice(-4)).toEqual(['p196', 'p197', 'p198', 'p199']);
    expect(Object.values(queues(pending)).flat().sort()).toEqual(arrival(pending).sort());
  });

  it('names the origin holding the most as largest, the first of them in origins order on a tie, as records come and go', () => {
    const pending = new PendingRecords();
    const random = seededRandom(7);
    const held: string[] = [];
    // What Admission scanned for before: the first origin, in order, with strictly more than those before it.
    const scanned = () => {
      let best: { key: string; size: number } | undefined;
      for (const origin of pending.origins.values()) if (origin.size > (best?.size ?? 0)) best = origin;
      return best?.key;
    };
    for (let step = 0; step < 3_000; step++) {
      if (held.length > 0 && random.next() < 0.45) {
        const [id] = held.splice(Math.floor(random.next() * held.length), 1);
        pending.remove(id as string);
      } else {
        const id = `p${step}`;
        pending.add(record(id), `o${Math.floor(random.next() * 12)}`, false);
        held.push(id);
      }
      expect(pending.largest()?.key).toBe(scanned());
    }
    expect(pending.size).toBe(held.length);
  });

  it('grows its columns from 16 slots straight to the most it may hold (one allocation outside the V8 heap)', () => {
    const pending = new PendingRecords(1_000);
    const capacity = () => (pending as unknown as { older: Int32Array }).older.length;
    const capacities = new Set<number>([capacity()]);
    for (let i = 0; i < 3_000; i++) {
      if (pending.size === 1_000) pending.remove(pending.record(pending.largest()?.head as number).peerId);
      pending.add(record(`p${i}`), `o${i % 7}`, false);
      capacities.add(capacity());
    }
    expect([...capacities].sort((a, b) => a - b)).toEqual([0, 16, 1_000]);
    expect(Object.values(queues(pending)).flat().sort()).toEqual(arrival(pending).sort());
    // Unbounded, it grows by half again each time, as before.
    const open = new PendingRecords();
    for (let i = 0; i < 40; i++) open.add(record(`q${i}`), 'x', false);
    expect((open as unknown as { older: Int32Array }).older.length).toBe(54);
  });
});
