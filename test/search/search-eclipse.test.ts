/**
 * Eclipse of Search (issue 13, part 4) over real TLS links: an attacker with two addresses opens
 * as many idle, Hello'd links from fresh identities as the peers let it, and trickles a frame a
 * byte at a time. Peers keep slots for links they dial themselves, cap links per address and
 * subnet, evict inbound links that carry nothing useful for a newcomer, and close a frame that
 * does not complete within the frame deadline; so a newly joined honest peer still gets links and
 * finds every file.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';
import { rawNeighbour, type RawNeighbour } from '../support/raw-neighbour.ts';
import { createTestnet, type Testnet, type TestPeer } from '../support/testnet.ts';

/** Resolves once `peer` has no link in handshake and no dial in flight. */
async function settled(peer: TestPeer): Promise<void> {
  const links = peer.service.links;
  while (links.pending > 0) await once(links.events, 'change');
}

/** Resolves once `holds` is true of `peer`'s links (checked at every change). */
async function until(peer: TestPeer, holds: (links: TestPeer['service']['links']) => boolean): Promise<void> {
  const links = peer.service.links;
  while (!holds(links)) await once(links.events, 'change');
}

/**
 * From each attacker address, as many links to each target as it can get: `perAddress` fresh
 * identities each, Hello'd and then silent. Returns the links that came up and stayed up.
 */
async function attack(targets: TestPeer[], addresses: string[], perAddress: number): Promise<RawNeighbour[]> {
  const opened = await openAttack(
    targets.map((t) => t.service.searchAddress),
    addresses,
    perAddress,
  );
  await Promise.all(targets.map((t) => settled(t)));
  return opened.filter((a) => !a.socket.destroyed && !a.received.some((m) => m.case === 'close'));
}

/** The attack's connections to each target's link port, Hello'd (those the target lets finish). */
async function openAttack(targets: string[], addresses: string[], perAddress: number): Promise<RawNeighbour[]> {
  const attempts = targets.flatMap((t) =>
    addresses.flatMap((from) => Array.from({ length: perAddress }, () => rawNeighbour(t, from))),
  );
  const opened = (await Promise.allSettled(attempts)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  await Promise.allSettled(opened.map((a) => a.handshake()));
  return opened;
}

interface LinkList {
  links: Array<{ peerId: string; remoteIp: string; direction: string }>;
}
const linksOf = async (host: string) =>
  ((await (await fetch(`http://${host}:${DEFAULT_PORTS.searchApiPort}/links`)).json()) as LinkList).links;
const searchFrom = async (host: string) =>
  (
    (await (
      await fetch(`http://${host}:${DEFAULT_PORTS.searchApiPort}/search?q=needle&wait=1&timeout=5000&limit=6`)
    ).json()) as { hits: Array<{ holderPeerId: string }> }
  ).hits;

/** Every honest peer's file, found from `peer`: ends at the limit, one hit per holder. */
async function findsEveryFile(peer: TestPeer, net: Testnet): Promise<void> {
  const search = peer.service.engine.search({ terms: ['needle'], timeoutMs: 10_000, limit: net.peers.length });
  const summary = await search.done;
  expect(summary.ended).toBe('limit');
  expect(new Set(search.hits.map((h) => h.holderPeerId))).toEqual(new Set(net.peers.map((p) => p.peerId)));
}

const attackerLinksAt = (peer: TestPeer, addresses: string[]) =>
  peer.service.links.list().filter((l) => addresses.includes(l.remoteIp)).length;

describe('search under an eclipse attempt', () => {
  it(
    'gives a newly joined honest peer at least 4 links and full recall while idle links from 2 addresses keep coming',
    { timeout: 60_000 },
    async () => {
      const net = await createTestnet(6, 'ring');
      for (const p of net.peers) p.index.add(`needle ${p.n}.txt`);
      // Honest traffic first: each peer's ring links carry its search and the others' hits.
      for (const p of net.peers) await findsEveryFile(p, net);

      const attackers = [nextLoopback(), nextLoopback()];
      const held = await attack(net.peers, attackers, 4);
      // The attack holds inbound slots of every peer, up to its share.
      expect(net.peers.every((p) => attackerLinksAt(p, attackers) > 0)).toBe(true);
      expect(held.length).toBeGreaterThanOrEqual(net.peers.length * 2);

      // A new honest peer, whose membership lists the six (with their proven ids).
      const newcomer = (await createTestnet(1, 'line')).peers[0]!;
      newcomer.candidates = net.peers.map((p) => ({
        peerId: p.peerId,
        searchAddress: `${p.host}:${DEFAULT_PORTS.searchPort}`,
      }));
      await until(newcomer, (links) => links.list().length >= 4);
      await settled(newcomer);

      // The attack goes on: every address tries again for every slot.
      await attack(net.peers, attackers, 4);
      await settled(newcomer);
      expect(newcomer.service.links.list().length).toBeGreaterThanOrEqual(4);
      await findsEveryFile(newcomer, net);

      // The attacked peers say what happened, on their /health.
      const evictions = net.peers.reduce((sum, p) => sum + p.service.links.counters.evictions, 0);
      expect(evictions).toBeGreaterThanOrEqual(4);
      const health = (await (await fetch(`${net.peers[0]!.service.apiUrl}/health`)).json()) as {
        overlay: { evictions: number; inboundRefused: Record<string, number> };
      };
      expect(health.overlay.evictions).toBe(net.peers[0]!.service.links.counters.evictions);
      expect(Object.keys(health.overlay.inboundRefused).sort()).toEqual(['full', 'pending', 'perIp', 'perSubnet']);
    },
  );

  it(
    'holds among whole peer processes: a newcomer joining through Fetch gets at least 4 links and full recall under the attack',
    { timeout: 300_000 },
    async () => {
      const hosts = Array.from({ length: 6 }, () => nextLoopback());
      const start = (host: string, ...more: string[]) =>
        spawnPeer(['start', '--host', host, '--data', join(tempDir(), 'data'), '--fetch-interval', '100', ...more]);
      await start(hosts[0]!);
      await Promise.all(hosts.slice(1).map((h) => start(h, '--join', hosts[0]!)));
      for (const [i, h] of hosts.entries())
        expect((await upload(`http://${h}:${DEFAULT_PORTS.filesPort}`, `needle ${i}.txt`, `file ${i}`)).status).toBe(
          201,
        );
      // A mesh of six, and honest traffic on it: every peer's search finds all six files. Not
      // always a full mesh: a peer takes at most 4 inbound links (the other 4 of its 8 are for
      // peers it dials), so when the four earliest peers dial both late ones, the late two each
      // hold 4 inbound links and refuse each other. Every peer still gets at least 4 (with six
      // peers, two peers refusing a third would each need the other's inbound slot).
      // (Rounds and dials run on timers in other processes, so these ask until it holds; a dial
      // refused while the mesh forms waits out its backoff, hence the generous bound.)
      for (const h of hosts)
        await expect
          .poll(async () => (await linksOf(h)).length, { timeout: 90_000, interval: 100, message: `links of ${h}` })
          .toBeGreaterThanOrEqual(4);
      for (const h of hosts)
        await expect
          .poll(async () => new Set((await searchFrom(h)).map((x) => x.holderPeerId)).size, {
            timeout: 30_000,
            interval: 100,
            message: `recall from ${h}`,
          })
          .toBe(6);

      const attackers = [nextLoopback(), nextLoopback()];
      const targets = hosts.map((h) => `${h}:${DEFAULT_PORTS.searchPort}`);
      await openAttack(targets, attackers, 4);
      const newcomer = nextLoopback();
      await start(newcomer, '--join', hosts[0]!);
      await expect
        .poll(async () => (await linksOf(newcomer)).length, {
          timeout: 60_000,
          interval: 100,
          message: 'links of the newcomer',
        })
        .toBeGreaterThanOrEqual(4);
      // The attack goes on, and the newcomer keeps its links and finds every file.
      await openAttack(targets, attackers, 4);
      expect((await linksOf(newcomer)).length, 'links of the newcomer after the second wave').toBeGreaterThanOrEqual(4);
      // One search has a 5 s deadline, and on a busy machine (CI under stress-ng) not all six answers
      // always came within it: ask until one finds all six, as for the other peers above.
      await expect
        .poll(async () => new Set((await searchFrom(newcomer)).map((x) => x.holderPeerId)).size, {
          timeout: 30_000,
          interval: 100,
          message: 'recall from the newcomer',
        })
        .toBe(6);
    },
  );

  it(
    'closes a link that trickles a frame a byte at a time, however fresh the bytes keep the idle timer',
    { timeout: 30_000 },
    async () => {
      // The deadline is short here; the idle timeout stays at its default (40 s), far beyond it.
      const net = await createTestnet(1, 'line', { sessionTimeouts: { frameMs: 300 } });
      const peer = net.peers[0]!;
      const trickler = await rawNeighbour(peer.service.searchAddress);
      await trickler.handshake();
      await settled(peer);
      expect(peer.service.links.list().map((l) => l.peerId)).toEqual([trickler.peerId]);
      // A Ping frame's 4-byte prefix says 100 bytes follow; they come one at a time.
      await trickler.send(Uint8Array.of(0, 0, 0, 100));
      let bytes = 0;
      const trickle = setInterval(() => {
        bytes += 1;
        void trickler.send(Uint8Array.of(0));
      }, 50);
      onTestFinished(() => clearInterval(trickle));
      await trickler.closed;
      clearInterval(trickle);
      expect(bytes).toBeLessThan(100); // the frame never completed
      expect(trickler.received.at(-1)).toMatchObject({ case: 'close', value: { code: 15 } });
      expect(trickler.received.at(-1)?.case === 'close' && trickler.received.at(-1)?.value).toMatchObject({
        reason: expect.stringMatching(/frame was begun and not completed/),
      });
      await until(peer, (links) => links.list().length === 0 && links.pending === 0);
      expect(peer.service.links.counters.frameDeadlineCloses).toBe(1);
    },
  );

  it(
    'caps the inbound links of one address whatever identities it uses, and counts the refusals',
    { timeout: 30_000 },
    async () => {
      const net = await createTestnet(1, 'line', { maxLinksPerIp: 2 });
      const peer = net.peers[0]!;
      const from = nextLoopback();
      const held = await attack([peer], [from], 5);
      expect(held.length).toBe(2);
      expect(peer.service.links.list().length).toBe(2);
      expect(peer.service.links.counters.inboundRefused.perIp).toBe(3);
    },
  );
});
