import { describe, expect, it } from 'vitest';
import { Admission } from './admission.ts';
import { fetchConfig } from './config.ts';
import { subnetOf } from '../../shared/address.ts';
import { memorySigner } from './keys.ts';
import { signRecord, type PeerRecord } from './peer-record.ts';
import { fields, NOW } from '../../../test/support/fetch-records.ts';

const MINUTE = 60_000;
const config = fetchConfig({
  maxUnverified: 6,
  newPerAddressPerMinute: 3,
  newPerSubnetPerMinute: 5,
  verifyPerRound: 4,
  verifyAttempts: 3,
  verifyBackoffRounds: 10,
  maxVerifyBackoffRounds: 40,
});

/** A fresh identity's record naming `host` (port 7003 for fetch unless `fetch` is given). */
function recordAt(host: string, fetch = `${host}:7003`, seq = NOW): PeerRecord {
  return signRecord(memorySigner(), {
    ...fields(1),
    addresses: { files: `${host}:7001`, search: `${host}:7002`, fetch },
    seq,
  });
}

const announce = (remote: string) => ({ kind: 'announce' as const, remote });
const gossip = (via: string, at = '127.0.0.9:7874') => ({ kind: 'gossip' as const, via, at });

describe('admission of unverified records', () => {
  it('rate-limits new identities announced per source address and per subnet, per minute', () => {
    const admission = new Admission(config);
    const from = (ip: string) => admission.offer(recordAt('10.1.1.1'), announce(ip), 1, NOW);
    expect([1, 2, 3, 4].map(() => from('10.0.0.1'))).toEqual(['pending', 'pending', 'pending', 'refused-rate']);
    // Another address of the same /24: two more fit the subnet's five.
    expect([1, 2, 3].map(() => from('10.0.0.2'))).toEqual(['pending', 'pending', 'refused-rate']);
    expect(from('10.0.1.1')).toBe('pending'); // another /24
    expect(admission.counters.refusedNew).toBe(2);
    // A minute later the source may add again.
    expect(admission.offer(recordAt('10.1.1.1'), announce('10.0.0.1'), 2, NOW + MINUTE)).toBe('pending');
  });

  it('refuses a record naming a loopback address from another host, announced or gossiped; takes it from this host', () => {
    const admission = new Admission(config);
    expect(admission.offer(recordAt('127.0.0.1'), announce('10.0.0.1'), 1, NOW)).toBe('refused-address');
    expect(admission.offer(recordAt('10.0.0.7', '127.0.0.1:7003'), announce('10.0.0.7'), 1, NOW)).toBe(
      'refused-address',
    );
    expect(admission.offer(recordAt('[::1]'), gossip('x', '10.0.0.2:7874'), 1, NOW)).toBe('refused-address');
    expect(admission.offer(recordAt('127.0.0.1'), announce('::ffff:10.0.0.1'), 1, NOW)).toBe('refused-address');
    expect(admission.counters.refusedNew).toBe(4);
    expect(admission.size).toBe(0);
    expect(admission.offer(recordAt('127.0.0.1'), announce('127.0.0.1'), 1, NOW)).toBe('pending');
    expect(admission.offer(recordAt('127.0.0.2'), gossip('y', '127.0.0.3:7874'), 1, NOW)).toBe('pending');
  });

  it('counts each 127.x host as its own; from loopback, by the loopback host the record names', () => {
    const admission = new Admission(config);
    const hosts = Array.from({ length: 6 }, (_, i) => `127.0.${i}.9`);
    expect(hosts.map((h) => admission.offer(recordAt(h), announce('127.0.0.1'), 1, NOW))).toEqual(
      Array(6).fill('pending'),
    );
    // One loopback host naming itself again and again is one host.
    expect([1, 2, 3].map(() => admission.offer(recordAt('127.0.0.9'), announce('127.0.0.1'), 1, NOW))).toEqual([
      'pending',
      'pending',
      'refused-rate',
    ]);
    expect(subnetOf('127.3.4.5', { v4: 24, v6: 64 })).toBe('127.3.4.5');
    expect(subnetOf('10.2.3.4', { v4: 24, v6: 64 })).toBe('10.2.3.0/24');
    expect(subnetOf('2001:db8::1', { v4: 24, v6: 64 })).toBe(subnetOf('2001:db8:0:0:ffff::2', { v4: 24, v6: 64 }));
    expect(subnetOf('2001:db8::1', { v4: 24, v6: 64 })).not.toBe(subnetOf('2001:db8:0:1::1', { v4: 24, v6: 64 }));
  });

  it("holds at most maxUnverified; a flooding origin displaces its own oldest records, not others'", () => {
    const admission = new Admission(config);
    const honest = [recordAt('10.2.0.1'), recordAt('10.2.0.2')];
    for (const r of honest) admission.offer(r, gossip('honest'), 1, NOW);
    const flood = Array.from({ length: 20 }, (_, i) => recordAt(`10.3.0.${i + 1}`));
    for (const r of flood) admission.offer(r, gossip('mallory'), 1, NOW);
    expect(admission.size).toBe(6);
    expect(honest.every((r) => admission.get(r.peerId))).toBe(true);
    expect(flood.slice(-4).every((r) => admission.get(r.peerId))).toBe(true); // the newest four of the flood
    expect(admission.counters.evictedUnverified).toBe(16);
  });

  it('plans at most verifyPerRound probes, one origin after another, one per host, oldest first', () => {
    const admission = new Admission({ ...config, maxUnverified: 10 });
    const mallory = Array.from({ length: 5 }, (_, i) => recordAt(`10.3.0.${i + 1}`));
    for (const r of mallory) admission.offer(r, gossip('mallory'), 1, NOW);
    const honest = recordAt('10.2.0.1');
    admission.offer(honest, gossip('honest'), 1, NOW);
    const sameHost = recordAt('10.2.0.1', '10.2.0.1:9999');
    admission.offer(sameHost, gossip('honest'), 1, NOW);
    const plan = admission.plan(1, new Set(['10.3.0.2']));
    expect(plan.map((r) => r.peerId)).toEqual([mallory[0], honest, mallory[2], mallory[3]].map((r) => r!.peerId));
  });

  it('takes origins in turn from round to round: with more origins than the budget, a newer one waits a turn, not for every older one to empty', () => {
    const admission = new Admission({ ...config, maxUnverified: 100 });
    const origins = Array.from({ length: 6 }, (_, o) =>
      Array.from({ length: 5 }, (_, i) => recordAt(`10.4.${o}.${i + 1}`)),
    );
    origins.forEach((records, o) => records.forEach((r) => admission.offer(r, gossip(`peer-${o}`), 1, NOW)));
    const newcomer = recordAt('10.5.0.1');
    admission.offer(newcomer, announce('10.5.0.1'), 1, NOW);
    const first = (o: number) => origins[o]![0]!.peerId;
    // Nothing verifies: every origin keeps records waiting, as in a partial view's backlog.
    expect(admission.plan(1).map((r) => r.peerId)).toEqual([0, 1, 2, 3].map(first));
    expect(admission.plan(2).map((r) => r.peerId)).toEqual([first(4), first(5), newcomer.peerId, first(0)]);
    expect(admission.plan(3).map((r) => r.peerId)).toEqual([1, 2, 3, 4].map(first));
  });

  it('backs a failing address off exponentially, drops its records after verifyAttempts, and remembers it', () => {
    const admission = new Admission(config);
    const bystander = '10.9.9.9:80';
    const announced = recordAt('10.9.9.9', bystander);
    const gossiped = recordAt('10.9.9.9', bystander);
    admission.offer(announced, announce('10.5.5.5'), 1, NOW);
    admission.offer(gossiped, gossip('honest'), 1, NOW);
    admission.failed(announced, 1);
    expect(admission.plan(1)).toEqual([]);
    expect(admission.plan(2)).toHaveLength(1); // the first failure is retried next round, one probe per host
    admission.failed(announced, 2);
    expect(admission.plan(11)).toEqual([]);
    expect(admission.plan(12)).toHaveLength(1); // then after verifyBackoffRounds
    admission.failed(gossiped, 12);
    expect(admission.size).toBe(0);
    expect(admission.counters).toMatchObject({ verificationsFailed: 3, droppedAfterFailures: 2 });
    // The one that proved its key on an inbound announce is kept, never dialled, as firewalled.
    expect(admission.firewalled).toBe(1);
    expect(admission.isFirewalled(announced.peerId)).toBe(true);
    // The backoff outlives the records: new ones naming the address are refused until it ends (20 rounds).
    expect(admission.offer(recordAt('10.9.9.9', bystander), gossip('other'), 31, NOW)).toBe('refused-backoff');
    expect(admission.offer(recordAt('10.9.9.9', bystander), gossip('other'), 32, NOW)).toBe('pending');
    expect(admission.plan(32)).toHaveLength(1);
  });

  it("keeps firewalled peers within the cap, a flood from one host displacing its own, not other hosts' ones", () => {
    const admission = new Admission(config); // maxUnverified 6 bounds the firewalled store too
    const blackhole = '10.8.8.8:7003';
    // Three honest hosts' peers proved their keys on inbound announces but cannot be reached.
    const honest = ['10.5.0.1', '10.6.0.1', '10.7.0.1'].map((host) => recordAt(host));
    for (const record of honest) admission.offer(record, announce(record.addresses.fetch.split(':')[0]!), 1, NOW);
    for (const round of [1, 2, 12]) for (const record of honest) admission.failed(record, round);
    expect(admission.firewalled).toBe(3);
    // One host announces identities naming an address it made fail: each lands firewalled (backed off).
    const bait = recordAt('10.9.0.1', blackhole);
    admission.offer(bait, announce('10.9.0.1'), 1, NOW);
    for (const round of [1, 2, 12]) admission.failed(bait, round);
    for (let minute = 0; minute < 10; minute++) {
      for (let i = 0; i < 3; i++)
        expect(admission.offer(recordAt('10.9.0.1', blackhole), announce('10.9.0.1'), 13, NOW + minute * MINUTE)).toBe(
          'refused-backoff',
        );
    }
    expect(admission.firewalled).toBe(6);
    for (const record of honest) expect(admission.isFirewalled(record.peerId)).toBe(true);
  });

  it('a probe that succeeds takes the record out and clears its address', () => {
    const admission = new Admission(config);
    const peer = recordAt('10.4.0.1');
    admission.offer(peer, announce('10.4.0.1'), 1, NOW);
    admission.failed(peer, 1);
    admission.succeeded(peer);
    expect(admission.size).toBe(0);
    const again = recordAt('10.4.0.1');
    admission.offer(again, gossip('x'), 2, NOW);
    expect(admission.plan(2).map((r) => r.peerId)).toEqual([again.peerId]);
    expect(admission.counters).toMatchObject({ verificationsOk: 1, verificationsFailed: 1 });
  });

  it('keeps the newest record of a pending identity', () => {
    const admission = new Admission(config);
    const signer = memorySigner();
    const at = (seq: number) => signRecord(signer, { ...fields(2), seq });
    expect(admission.offer(at(NOW + 2), gossip('x'), 1, NOW)).toBe('pending');
    expect(admission.offer(at(NOW + 1), gossip('y'), 1, NOW)).toBe('unchanged');
    expect(admission.offer(at(NOW + 3), gossip('y'), 1, NOW)).toBe('updated');
    expect(admission.get(signer.peerId)?.seq).toBe(NOW + 3);
  });

  it('keeps a firewalled peer firewalled on its later announces at the same address, without probing it again; a new address is probed', () => {
    const admission = new Admission(config);
    const natted = memorySigner();
    const at = (seq: number, host = '10.3.3.3') =>
      signRecord(natted, {
        ...fields(1),
        addresses: { files: `${host}:7871`, search: `${host}:7872`, fetch: `${host}:7874` },
        seq,
      });
    admission.offer(at(NOW), announce('10.3.3.3'), 1, NOW);
    for (const round of [1, 2, 12]) admission.failed(at(NOW), round);
    expect(admission.isFirewalled(natted.peerId)).toBe(true);
    // The same record announced again, round after round: still firewalled, no probe planned.
    expect(admission.offer(at(NOW), announce('10.3.3.3'), 13, NOW)).toBe('firewalled');
    expect(admission.offer(at(NOW), announce('10.3.3.3'), 500, NOW)).toBe('firewalled');
    expect(admission.plan(500)).toEqual([]);
    // A newer record (a refresh, or re-signed once reachable): kept firewalled while the address is
    // backed off, probed again once it is not (it may have become reachable).
    expect(admission.offer(at(NOW + 1), announce('10.3.3.3'), 13, NOW)).toBe('refused-backoff');
    expect(admission.isFirewalled(natted.peerId)).toBe(true);
    expect(admission.offer(at(NOW + 2), announce('10.3.3.3'), 500, NOW)).toBe('pending');
    expect(admission.plan(500)).toHaveLength(1);
    // Moved: the new address is probed like any other.
    expect(admission.offer(at(NOW + 3, '10.4.4.4'), announce('10.4.4.4'), 501, NOW)).toBe('updated');
    expect(admission.plan(501).map((r) => r.addresses.fetch)).toEqual(['10.4.4.4:7874']);
  });

  it('holds records gossiped as firewalled without probing them, refuses loopback ones from another host, and expires them by signing time', () => {
    const admission = new Admission(config);
    const marked = recordAt('10.6.6.6');
    expect(admission.takeFirewalled(marked, 'honest', '10.0.0.2:7874')).toBe(true);
    expect(admission.takeFirewalled(marked, 'honest', '10.0.0.2:7874')).toBe(false); // same seq: nothing new
    expect(admission.isFirewalled(marked.peerId)).toBe(true);
    expect(admission.plan(1)).toEqual([]);
    expect(admission.firewalledRecords(10)).toEqual([marked]);
    expect(admission.takeFirewalled(recordAt('127.0.0.5'), 'honest', '10.0.0.2:7874')).toBe(false);
    // Only a hint: the peer's own announce is still probed once (a replay must not keep an honest peer unverified).
    expect(admission.offer(marked, announce('10.6.6.6'), 2, NOW)).toBe('pending');
    expect(admission.isFirewalled(marked.peerId)).toBe(false);
    const old = signRecord(memorySigner(), {
      ...fields(1),
      addresses: { files: '10.7.7.7:1', search: '10.7.7.7:2', fetch: '10.7.7.7:3' },
      issuedAt: NOW - 20 * MINUTE,
    });
    admission.takeFirewalled(old, 'honest', '10.0.0.2:7874');
    expect(admission.expireFirewalled(NOW - 15 * MINUTE)).toEqual([old.peerId]);
    expect(admission.firewalled).toBe(0);
  });

  describe('a record listing several address sets', () => {
    const setAt = (host: string) => ({ files: `${host}:7001`, search: `${host}:7002`, fetch: `${host}:7003` });
    const listing = (...hosts: string[]) =>
      signRecord(memorySigner(), {
        ...fields(1),
        addresses: setAt(hosts[0] as string),
        otherAddresses: hosts.slice(1).map(setAt),
      });
    const probeOf = (admission: Admission, round: number, peerId: string) =>
      admission.planProbes(round).find((p) => p.record.peerId === peerId)?.address;

    it('is probed at one set per round, in order, the next after the one that failed; the first that answers verifies it', () => {
      const admission = new Admission(config);
      const record = listing('10.5.0.1', '10.5.0.2', '10.5.0.3');
      admission.offer(record, gossip('g'), 1, NOW);
      expect(admission.planProbes(1)).toEqual([{ record, address: '10.5.0.1:7003' }]);
      admission.failed(record, 1, '10.5.0.1:7003');
      expect(probeOf(admission, 2, record.peerId)).toBe('10.5.0.2:7003');
      admission.failed(record, 2, '10.5.0.2:7003');
      expect(probeOf(admission, 3, record.peerId)).toBe('10.5.0.3:7003');
      admission.succeeded(record, '10.5.0.3:7003');
      expect(admission.size).toBe(0);
      expect(admission.counters).toMatchObject({ verificationsOk: 1, verificationsFailed: 2, droppedAfterFailures: 0 });
    });

    it('skips a set whose address is backed off, and is dropped only once every address failed verifyAttempts times', () => {
      const admission = new Admission(config);
      const record = listing('10.5.0.1', '10.5.0.2');
      admission.offer(record, gossip('g'), 1, NOW);
      const rounds: Array<string | undefined> = [];
      for (let round = 1; round <= 40 && admission.get(record.peerId); round++) {
        const address = probeOf(admission, round, record.peerId);
        rounds.push(address);
        if (address) admission.failed(record, round, address);
      }
      const tries = rounds.filter((a): a is string => a !== undefined);
      expect(tries.filter((a) => a === '10.5.0.1:7003')).toHaveLength(config.verifyAttempts);
      expect(tries.filter((a) => a === '10.5.0.2:7003')).toHaveLength(config.verifyAttempts);
      expect(admission.get(record.peerId)).toBeUndefined();
      expect(admission.counters.droppedAfterFailures).toBe(1);
      // Refused while every one of its addresses is backed off; a record also naming a fresh address is not.
      expect(admission.offer(listing('10.5.0.1', '10.5.0.2'), gossip('g'), 20, NOW)).toBe('refused-backoff');
      expect(admission.offer(listing('10.5.0.1', '10.5.0.9'), gossip('g'), 20, NOW)).toBe('pending');
    });

    it("shares each address's backoff across records: many records naming a bystander after a dead address probe it no more than records naming it alone", () => {
      const admission = new Admission({ ...config, maxUnverified: 100, verifyPerRound: 100 });
      const bystander = '10.6.0.66';
      const records = Array.from({ length: 20 }, (_, i) => listing(`10.7.0.${i + 1}`, bystander));
      for (const r of records) admission.offer(r, gossip(`g${r.peerId}`), 1, NOW);
      let probes = 0;
      for (let round = 1; round <= 200; round++) {
        for (const { record, address } of admission.planProbes(round)) {
          if (address.startsWith(`${bystander}:`)) probes++;
          admission.failed(record, round, address);
        }
      }
      expect(probes).toBeGreaterThan(0);
      expect(probes).toBeLessThanOrEqual(config.verifyAttempts);
      expect(admission.size).toBe(0);
    });

    it('refuses one naming a loopback address in any set from another host', () => {
      const admission = new Admission(config);
      expect(admission.offer(listing('10.5.0.1', '127.0.0.1'), announce('10.5.0.1'), 1, NOW)).toBe('refused-address');
      expect(admission.offer(listing('10.5.0.1', '[::1]'), gossip('x', '10.0.0.2:7874'), 1, NOW)).toBe(
        'refused-address',
      );
      expect(admission.offer(listing('127.0.0.5', '127.0.0.6'), announce('127.0.0.6'), 1, NOW)).toBe('pending');
    });
  });
});
