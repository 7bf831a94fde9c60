/**
 * Peers on separate hosts (network namespaces of test/support/testbed.ts, one private network):
 * what a peer advertises is an address the other hosts can dial. One peer is bound to every
 * interface and told what to advertise (--advertise); one is bound to every interface and told
 * nothing, so it learns its address from what another host saw and advertises it only once that
 * host dialled it back; one is bound to its own address. A file shared by the learning peer is
 * found and downloaded by the third, and no peer's table ever holds a loopback address of another
 * host (before --advertise and learning, a peer bound to 0.0.0.0 advertised 127.0.0.1, so every
 * other host dialled itself).
 *
 * What the scenarios count (peers alive, rounds, membership events, bytes by source, dial-backs,
 * pushes) they read from the peers' own GET /metrics (test/support/host-metrics.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostMetric, hostSamples } from '../support/host-metrics.ts';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed, type TestHost } from '../support/testbed.ts';

const FETCH_PORT = 7874;
const POLL = { timeout: 45_000, interval: 250 };
/**
 * Rounds (of the first host) from healing a partition until every peer is alive everywhere and
 * every file's holder is known again: measured 10 on a quiet machine (docs/RELIABILITY.md), an
 * upper bound since the polling itself takes rounds; the bound leaves room for a busy machine.
 */
const RECONVERGE_ROUNDS = 100;

/** The Client API of a peer bound to `::` listens on ::1 (src/peer/context.ts apiHostOf). */
const V6_API = ['--api', 'http://[::1]:7870'];
/**
 * How long the partition scenario holds the split after each half has marked the other not
 * alive, searching inside each half meanwhile: 0 in `npm test` (reconvergence is counted in
 * rounds, which the hold does not change); `npm run soak -- partition` holds it 60 s, as the issue's
 * scenario says.
 */
const PARTITION_HOLD_MS = Number(process.env.PEERSHARE_SOAK_PARTITION_MS ?? 0);

interface Peers {
  peers: Array<{ peerId: string; state: string; addresses: { files: string; search: string; fetch: string } }>;
}
interface Downloads {
  downloads: Array<{ key: string; state: string }>;
}
interface Status {
  peerId: string;
  reachability: { state: string; address?: string; advertised?: string } | null;
}

interface FetchPeers {
  items: Array<{ peerId: string }>;
  firewalled?: Array<{ peerId: string; addresses: { fetch: string } }>;
}
interface FetchSources {
  sources: Array<{ peerId: string }>;
  firewalled?: Array<{ peerId: string; firewalled: boolean }>;
}

/** A read of the Fetch API of the peer on `host` (plaintext: this host's caller). */
async function fetchApi<T>(host: TestHost, path: string): Promise<T> {
  return JSON.parse((await host.exec('curl', ['-s', `http://${host.ip}:${FETCH_PORT}${path}`])).stdout) as T;
}

/** Count, at `host`, the connections it opens to `target` (SYN without ACK): to the Fetch port, and to any other. */
async function watchSyns(host: TestHost, target: string): Promise<void> {
  await host.exec('nft', ['add', 'table', 'ip', 'watch']);
  await host.exec('nft', [
    'add',
    'chain',
    'ip',
    'watch',
    'out',
    '{ type filter hook output priority 0 ; policy accept ; }',
  ]);
  for (const port of ['==', '!=']) {
    await host.exec('nft', [
      'add',
      'rule',
      'ip',
      'watch',
      'out',
      'ip',
      'daddr',
      target,
      'tcp',
      'flags',
      '&',
      '(syn|ack)',
      '==',
      'syn',
      'tcp',
      'dport',
      port,
      String(FETCH_PORT),
      'counter',
    ]);
  }
}

async function synCounts(host: TestHost): Promise<{ fetch: number; other: number }> {
  const { stdout } = await host.exec('nft', ['list', 'chain', 'ip', 'watch', 'out']);
  const [fetch, other] = [...stdout.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  return { fetch: fetch ?? NaN, other: other ?? NaN };
}

describe.skipIf(!canCreateHosts)('peers on separate hosts', () => {
  it('advertise what other hosts can dial: given, or learned and dialled back; never a loopback address', async () => {
    const bed = await createTestbed(3);
    const [given, learning, plain] = bed.hosts as [TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await given.startPeer(['start', '--host', '0.0.0.0', '--advertise', given.ip, '--data', tempDir(), ...interval]);
    // The two that join it start together (each waits only for the peer it joins).
    await Promise.all([
      learning.startPeer(['start', '--host', '0.0.0.0', '--data', tempDir(), '--join', given.ip, ...interval]),
      plain.startPeer(['start', '--host', plain.ip, '--data', tempDir(), '--join', given.ip, ...interval]),
    ]);

    // The learning peer: seen at its address by another host, dialled back there, advertising it.
    await expect
      .poll(async () => (await learning.peershareJson<Status>(['status'])).reachability, POLL)
      .toMatchObject({ state: 'reachable', address: learning.ip, advertised: `${learning.ip}:${FETCH_PORT}` });
    expect((await given.peershareJson<Status>(['status'])).reachability).toMatchObject({
      state: 'configured',
      advertised: `${given.ip}:${FETCH_PORT}`,
    });
    const learner = (await learning.peershareJson<Status>(['status'])).peerId;

    // Everyone knows everyone, alive, at the address of its host.
    const addressOf = new Map(bed.hosts.map((h) => [h.name, h.ip]));
    await Promise.all(
      bed.hosts.map(async (host) => {
        await expect.poll(() => hostMetric(host, 'peershare_fetch_peers', { state: 'alive' }), POLL).toBe(2);
        const { peers } = await host.peershareJson<Peers>(['peers']);
        for (const p of peers) {
          for (const address of Object.values(p.addresses)) {
            expect(address, `${host.name} lists ${p.peerId} at ${address}`).not.toMatch(/^127\.|^\[::1\]/);
            expect([...addressOf.values()]).toContain(address.replace(/:\d+$/, ''));
          }
        }
      }),
    );
    expect((await plain.peershareJson<Peers>(['peers'])).peers.find((p) => p.peerId === learner)?.addresses.fetch).toBe(
      `${learning.ip}:${FETCH_PORT}`,
    );

    // A file shared on the learning peer is found and downloaded on another host.
    const word = `yonderling${randomBytes(4).toString('hex')}`;
    const dir = tempDir();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(dir, `${word}.bin`), data);
    expect((await learning.peershare(['share', join(dir, `${word}.bin`)])).code).toBe(0);
    const out = tempDir();
    await expect
      .poll(async () => (await plain.peershare(['search', word, '--json'])).stdout, POLL)
      .toContain(`${word}.bin`);
    const got = await plain.peershare(['get', '--name', word, '--out', out, '--wait']);
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);
  }, 180_000);

  it("completes a download from the other sources when one source host's link goes down mid-transfer; that host is suspected, then down", async () => {
    const bed = await createTestbed(4);
    const [downloader, ...sources] = bed.hosts as [TestHost, TestHost, TestHost, TestHost];
    // A sync to the cut host waits out its deadline, which then sets the pace of the rounds that
    // mark it suspected and down: 1 s here, against the default 2 s, halves that wait.
    const interval = ['--fetch-interval', '200', '--fetch-sync-timeout', '1000'];
    await sources[0].startPeer(['start', '--host', sources[0].ip, '--data', tempDir(), ...interval]);
    // The others join the first, together.
    await Promise.all([
      ...sources
        .slice(1)
        .map((host) =>
          host.startPeer(['start', '--host', host.ip, '--data', tempDir(), '--join', sources[0].ip, ...interval]),
        ),
      // A capped download rate keeps the transfer running while the link is cut.
      downloader.startPeer([
        'start',
        '--host',
        downloader.ip,
        '--data',
        tempDir(),
        '--join',
        sources[0].ip,
        '--max-download-rate',
        '2MiB',
        ...interval,
      ]),
    ]);

    const dir = tempDir();
    const data = randomBytes(24 * 1024 * 1024);
    writeFileSync(join(dir, 'lecture.bin'), data);
    const fileIds = await Promise.all(
      sources.map(async (host) => {
        const shared = await host.peershare(['share', join(dir, 'lecture.bin')]);
        expect(shared.code, shared.stderr).toBe(0);
        return /[0-9a-f]{64}/.exec(shared.stdout)![0];
      }),
    );
    expect(new Set(fileIds).size).toBe(1);
    const fileId = fileIds[0]!;
    const ids = new Map(
      await Promise.all(
        sources.map(async (host) => [host.name, (await host.peershareJson<Status>(['status'])).peerId] as const),
      ),
    );
    // The downloader knows all three holders alive before it asks.
    await expect.poll(() => hostMetric(downloader, 'peershare_fetch_peers', { state: 'alive' }), POLL).toBe(3);
    await expect
      .poll(async () => (await fetchApi<{ sources: unknown[] }>(downloader, `/sources/${fileId}`)).sources.length, POLL)
      .toBe(3);

    const out = tempDir();
    const get = downloader.peershare(['get', fileId, '--out', out, '--wait']);
    await expect
      .poll(() => hostMetric(downloader, 'peershare_download_bytes_in_total'), POLL)
      .toBeGreaterThan(4 * 1024 * 1024);
    const cut = sources[1];
    const events = (kind: string) => hostMetric(downloader, 'peershare_fetch_membership_events_total', { kind });
    const before = { suspected: await events('suspected'), down: await events('down') };
    await bed.cut(cut);
    // The download completes, and meanwhile (not after it: the two are independent) the
    // downloader's membership log, counted on its /metrics, shows since the cut one peer marked
    // down (a peer is marked down only after it was suspected for downAfterRounds: peer-table.ts)
    // and at least one suspected; the one down is the cut host, the other two stay alive.
    const [done] = await Promise.all([get, expect.poll(() => events('down'), POLL).toBe(before.down + 1)]);
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(join(out, 'lecture.bin')).equals(data)).toBe(true);
    expect(await events('suspected')).toBeGreaterThan(before.suspected);
    expect(await hostMetric(downloader, 'peershare_fetch_peers', { state: 'down' })).toBe(1);
    expect(
      (await downloader.peershareJson<Peers>(['peers'])).peers.filter((p) => p.state === 'down').map((p) => p.peerId),
    ).toEqual([ids.get(cut.name)]);
    expect(
      (await downloader.peershareJson<Peers>(['peers'])).peers
        .filter((p) => p.state === 'alive')
        .map((p) => p.peerId)
        .sort(),
    ).toEqual([ids.get(sources[0].name), ids.get(sources[2].name)].sort());
  }, 180_000);

  it(
    'splits in two: searches find what their half holds; once healed, membership and files reconverge',
    async () => {
      const bed = await createTestbed(6);
      const hosts = bed.hosts as TestHost[];
      const [first] = hosts as [TestHost];
      const start = (host: TestHost) =>
        host.startPeer([
          'start',
          '--host',
          host.ip,
          '--data',
          tempDir(),
          ...(host === first ? [] : ['--join', first.ip]),
          '--fetch-interval',
          '200',
        ]);
      // The first, then the five that join it, together.
      await start(first);
      await Promise.all(hosts.slice(1).map(start));
      const ids = await Promise.all(hosts.map(async (h) => (await h.peershareJson<Status>(['status'])).peerId));
      const word = `halfling${randomBytes(4).toString('hex')}`;
      const dir = tempDir();
      const fileIds = await Promise.all(
        hosts.map(async (host, i) => {
          writeFileSync(join(dir, `${word} ${i}.txt`), `held by ${host.name} only`);
          const shared = await host.peershare(['share', join(dir, `${word} ${i}.txt`)]);
          expect(shared.code, shared.stderr).toBe(0);
          return /[0-9a-f]{64}/.exec(shared.stdout)![0];
        }),
      );
      const alive = async (host: TestHost) =>
        (await host.peershareJson<Peers>(['peers'])).peers.filter((p) => p.state === 'alive').map((p) => p.peerId);
      const sources = async (host: TestHost, fileId: string) =>
        (await fetchApi<{ sources: unknown[] }>(host, `/sources/${fileId}`)).sources.length;
      const round = (host: TestHost) => hostMetric(host, 'peershare_fetch_rounds_total');
      const aliveCount = (host: TestHost) => hostMetric(host, 'peershare_fetch_peers', { state: 'alive' });
      const holdersFound = async (host: TestHost) => {
        const result = await host.peershare(['search', word, '--timeout', '2', '--json']);
        return new Set(
          ((JSON.parse(result.stdout) as { hits?: Array<{ holderPeerId: string }> }).hits ?? []).map(
            (h) => h.holderPeerId,
          ),
        );
      };
      await Promise.all(hosts.map((host) => expect.poll(() => aliveCount(host), POLL).toBe(5)));

      const sides = [hosts.slice(0, 3), hosts.slice(3)];
      const splitAt = await round(first);
      await bed.partition(sides[1]!);
      /**
       * Every host, in its half: searches find the half's files and nothing of the other half; the
       * other half is not alive. The six hosts are checked at once (each search waits out its 2 s).
       */
      const halvesHold = async () => {
        const checks = sides.flatMap((side) => {
          const others = hosts.filter((h) => !side.includes(h)).map((h) => ids[hosts.indexOf(h)]);
          const mine = side.map((h) => ids[hosts.indexOf(h)]);
          return side.map(async (host) => {
            await expect
              .poll(
                async () =>
                  [...(await holdersFound(host))].filter((id) => mine.includes(id) && id !== ids[hosts.indexOf(host)])
                    .length,
                POLL,
              )
              .toBe(2);
            expect([...(await holdersFound(host))].some((id) => others.includes(id))).toBe(false);
            await expect.poll(async () => (await alive(host)).filter((id) => others.includes(id)).length, POLL).toBe(0);
          });
        });
        await Promise.all(checks);
      };
      await halvesHold();
      // A soak run holds the split (wall time is the point here), checking the halves throughout.
      const holdUntil = Date.now() + PARTITION_HOLD_MS;
      let checks = 1;
      while (Date.now() < holdUntil) {
        await halvesHold();
        checks += 1;
      }
      if (PARTITION_HOLD_MS > 0)
        console.log(
          `partition held ${PARTITION_HOLD_MS} ms (${(await round(first)) - splitAt} rounds of ${first.name}); both halves checked ${checks} times`,
        );

      const healedAt = await round(first);
      await bed.heal();
      await Promise.all(
        hosts.map(async (host) => {
          await expect.poll(() => aliveCount(host), POLL).toBe(5);
          for (const [i, fileId] of fileIds.entries())
            if (hosts[i] !== host) await expect.poll(() => sources(host, fileId), POLL).toBe(1);
        }),
      );
      const rounds = (await round(first)) - healedAt;
      console.log(
        `partition healed: every peer alive everywhere and every file's holder known again within ${rounds} rounds of ${first.name}`,
      );
      expect(rounds).toBeGreaterThan(0);
      expect(rounds).toBeLessThanOrEqual(RECONVERGE_ROUNDS);
    },
    240_000 + PARTITION_HOLD_MS,
  );

  it('work over IPv6 alone: a peer bound to :: learns its IPv6 address, and a file is found and crosses', async () => {
    const bed = await createTestbed(2);
    const [given, learning] = bed.hosts as [TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await given.startPeer(['start', '--host', '::', '--advertise', given.ip6, '--data', tempDir(), ...interval]);
    await learning.startPeer(['start', '--host', '::', '--data', tempDir(), '--join', `[${given.ip6}]`, ...interval]);
    await expect
      .poll(async () => (await learning.peershareJson<Status>(['status', ...V6_API])).reachability, POLL)
      .toMatchObject({ state: 'reachable', address: learning.ip6, advertised: `[${learning.ip6}]:${FETCH_PORT}` });
    await expect
      .poll(
        async () =>
          (await given.peershareJson<Peers>(['peers', ...V6_API])).peers
            .filter((p) => p.state === 'alive')
            .map((p) => p.addresses.files),
        POLL,
      )
      .toEqual([`[${learning.ip6}]:7871`]);

    const dir = tempDir();
    const data = randomBytes(1024 * 1024 + 3);
    const word = `sextant${randomBytes(4).toString('hex')}`;
    writeFileSync(join(dir, `${word}.bin`), data);
    const shared = await learning.peershare(['share', join(dir, `${word}.bin`), ...V6_API]);
    expect(shared.code, shared.stderr).toBe(0);
    // By name: the search crosses the overlay link, the ranges the files port, both over IPv6.
    const out = tempDir();
    await expect
      .poll(async () => (await given.peershare(['get', '--name', word, '--out', out, '--wait', ...V6_API])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);
  }, 120_000);

  it('draws from sources with different bandwidth caps roughly in proportion to their caps', async () => {
    const bed = await createTestbed(5);
    const [downloader, ...sources] = bed.hosts as [TestHost, TestHost, TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    const capsMbit = [4, 8, 12, 16]; // shares 10 %, 20 %, 30 %, 40 %: 5 MB/s in all, well below what one core downloads
    await sources[0].startPeer(['start', '--host', sources[0].ip, '--data', tempDir(), ...interval]);
    // The others join the first, together.
    await Promise.all(
      [...sources.slice(1), downloader].map((host) =>
        host.startPeer(['start', '--host', host.ip, '--data', tempDir(), '--join', sources[0].ip, ...interval]),
      ),
    );
    await Promise.all(sources.map((host, i) => bed.cap(host, capsMbit[i]! * 1_000_000)));

    const dir = tempDir();
    const data = randomBytes(32 * 1024 * 1024);
    writeFileSync(join(dir, 'capped.bin'), data);
    const fileIds = await Promise.all(
      sources.map(
        async (host) => /[0-9a-f]{64}/.exec((await host.peershare(['share', join(dir, 'capped.bin')])).stdout)![0],
      ),
    );
    expect(new Set(fileIds).size).toBe(1);
    const fileId = fileIds[0]!;
    await expect
      .poll(async () => (await fetchApi<{ sources: unknown[] }>(downloader, `/sources/${fileId}`)).sources.length, POLL)
      .toBe(4);

    const out = tempDir();
    const done = await downloader.peershare(['get', fileId, '--out', out, '--wait']);
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(join(out, 'capped.bin')).equals(data)).toBe(true);

    // What each source delivered, as the downloader counted it (its Download /metrics, by source).
    const bytesIn = await hostSamples(downloader, 'peershare_download_bytes_in_total');
    const byHost = sources.map((host) =>
      bytesIn.filter((s) => s.labels.source?.endsWith(`@${host.ip}:7871`)).reduce((a, s) => a + s.value, 0),
    );
    const total = byHost.reduce((a, b) => a + b, 0);
    const shares = byHost.map((b) => b / total);
    const expected = capsMbit.map((c) => c / capsMbit.reduce((a, b) => a + b, 0));
    console.log(
      `bytes by source (caps ${capsMbit.join('/')} Mbit/s): ${byHost.join(', ')}; shares ${shares.map((x) => x.toFixed(2)).join(', ')}`,
    );
    expect(total).toBeGreaterThanOrEqual(data.length); // every byte came from one of them
    for (const [i, share] of shares.entries()) {
      expect(share, `source ${i} (${capsMbit[i]} Mbit/s)`).toBeGreaterThan(expected[i]! * 0.5);
      expect(share, `source ${i} (${capsMbit[i]} Mbit/s)`).toBeLessThan(expected[i]! * 1.5);
    }
  }, 180_000);

  it('behind a NAT: the peer knows it cannot be reached, advertises where it is seen; the others hold it firewalled (its files listed, marked), never dial it, and download its files by PUSH; it still searches and downloads', async () => {
    const bed = await createTestbed(3, undefined, { behindNat: [2] });
    const [first, second, natted] = bed.hosts as [TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await first.startPeer(['start', '--host', first.ip, '--data', tempDir(), ...interval]);
    await Promise.all([
      second.startPeer(['start', '--host', second.ip, '--data', tempDir(), '--join', first.ip, ...interval]),
      natted.startPeer(['start', '--host', '0.0.0.0', '--data', tempDir(), '--join', first.ip, ...interval]),
    ]);
    // Every connection the other hosts open to the router's address, counted at them (SYNs): to its Fetch port, and to any other.
    await Promise.all([first, second].map((host) => watchSyns(host, natted.publicIp)));

    // Seen at its router's address, which drops the dial-back: not reachable from outside. It
    // advertises that address all the same (not its loopback, which others refuse).
    await expect
      .poll(async () => (await natted.peershareJson<Status>(['status'])).reachability, POLL)
      .toMatchObject({
        state: 'unreachable',
        address: natted.publicIp,
        advertised: `${natted.publicIp}:${FETCH_PORT}`,
      });
    await expect.poll(() => hostMetric(natted, 'peershare_fetch_peers', { state: 'alive' }), POLL).toBe(2);
    const hidden = (await natted.peershareJson<Status>(['status'])).peerId;

    // Its files: a file it shares is listed by the others as held by it, marked firewalled.
    const dir = tempDir();
    writeFileSync(join(dir, 'behind.txt'), 'held behind a NAT');
    const sharedThere = await natted.peershare(['share', join(dir, 'behind.txt')]);
    expect(sharedThere.code, sharedThere.stderr).toBe(0);
    const hiddenFile = /[0-9a-f]{64}/.exec(sharedThere.stdout)![0];

    // The others probed it, failed, and hold it firewalled: out of their tables, listed apart, at the router's address.
    await Promise.all(
      [first, second].map(async (host) => {
        await expect
          .poll(
            async () =>
              (await fetchApi<FetchPeers>(host, '/peers')).firewalled?.map((p) => `${p.peerId}@${p.addresses.fetch}`),
            POLL,
          )
          .toContain(`${hidden}@${natted.publicIp}:${FETCH_PORT}`);
        expect((await fetchApi<FetchPeers>(host, '/peers')).items.map((p) => p.peerId)).not.toContain(hidden);
        // `peershare peers` lists it once, as firewalled (never alive: nobody dials it).
        expect(
          (await host.peershareJson<Peers>(['peers'])).peers.filter((p) => p.peerId === hidden).map((p) => p.state),
        ).toEqual(['firewalled']);
        await expect
          .poll(
            async () => (await fetchApi<FetchSources>(host, `/sources/${hiddenFile}`)).firewalled?.map((s) => s.peerId),
            POLL,
          )
          .toEqual([hidden]);
        expect((await fetchApi<FetchSources>(host, `/sources/${hiddenFile}`)).sources).toEqual([]);
      }),
    );

    // Nobody dials it once it is firewalled: once each host's own probes failed (verifyAttempts of
    // them: a record only gossiped as firewalled is probed on the peer's own announce), then over 30
    // rounds the only connections to its address are the dial-backs it asks for itself (each one
    // connection: at most 2 SYNs in its 2 s deadline; one may be under way as the count starts).
    await Promise.all(
      [first, second].map((host) =>
        expect
          .poll(() => hostMetric(host, 'peershare_fetch_admission_total', { event: 'dropped_after_failures' }), POLL)
          .toBeGreaterThanOrEqual(1),
      ),
    );
    const rounds = () => hostMetric(first, 'peershare_fetch_rounds_total');
    const dialBacksServed = (host: TestHost) =>
      hostMetric(host, 'peershare_fetch_dial_backs_total', { outcome: 'served' });
    const settled = await rounds();
    await expect.poll(rounds, POLL).toBeGreaterThanOrEqual(settled + 10);
    const before = await Promise.all(
      [first, second].map(async (h) => ({ syns: await synCounts(h), dialBacks: await dialBacksServed(h) })),
    );
    const round0 = await rounds();
    await expect.poll(rounds, POLL).toBeGreaterThanOrEqual(round0 + 30);
    for (const [i, host] of [first, second].entries()) {
      const syns = await synCounts(host);
      const dialBacks = (await dialBacksServed(host)) - before[i]!.dialBacks;
      expect(syns.other, `${host.name}: connections to the firewalled host's other ports`).toBe(0);
      expect(
        syns.fetch - before[i]!.syns.fetch,
        `${host.name}: SYNs to its Fetch port in 30 rounds, with ${dialBacks} dial-backs asked`,
      ).toBeLessThanOrEqual(2 * (dialBacks + 1));
    }

    // PUSH: another host downloads a file only the NAT'd host holds. It cannot dial it, so it asks
    // it over the overlay to connect back; the NAT'd host dials its File Management port (TLS
    // pinned both ways) and serves the ranges on that connection; every chunk is verified.
    const pushed = randomBytes(2 * 1024 * 1024 + 9);
    writeFileSync(join(dir, 'pushed.bin'), pushed);
    const sharedPushed = await natted.peershare(['share', join(dir, 'pushed.bin')]);
    expect(sharedPushed.code, sharedPushed.stderr).toBe(0);
    const pushedId = /[0-9a-f]{64}/.exec(sharedPushed.stdout)![0];
    await expect
      .poll(
        async () => (await fetchApi<FetchSources>(second, `/sources/${pushedId}`)).firewalled?.map((s) => s.peerId),
        POLL,
      )
      .toEqual([hidden]);
    const pushedOut = tempDir();
    // No source named: the download takes its sources from Fetch, firewalled holders included.
    const body = JSON.stringify({ fileId: pushedId, name: 'pushed.bin', outDir: pushedOut });
    const queued = JSON.parse(
      (
        await second.exec('curl', [
          '-s',
          '-X',
          'POST',
          '-H',
          'content-type: application/json',
          '-d',
          body,
          'http://127.0.0.1:7875/downloads',
        ])
      ).stdout,
    ) as { key: string };
    await expect
      .poll(
        async () =>
          (await second.peershareJson<Downloads>(['downloads'])).downloads.find((d) => d.key === queued.key)?.state,
        POLL,
      )
      .toBe('done');
    expect(readFileSync(join(pushedOut, 'pushed.bin')).equals(pushed)).toBe(true);
    const pushes = (host: TestHost, event: 'sent' | 'delivered') =>
      hostMetric(host, 'peershare_search_pushes_total', { event });
    // A manifest and the range slots: each connection one push, within the per-holder limit.
    expect(await pushes(second, 'sent')).toBeGreaterThanOrEqual(1);
    expect(await pushes(natted, 'delivered')).toBe(await pushes(second, 'sent'));
    // Still nothing dialled the NAT'd host but the dial-backs: its ranges came over connections it opened.
    expect((await synCounts(second)).other).toBe(0);
    // As a user would, with the CLI: `get --name` counts the NAT'd peer as a holder (Fetch lists
    // it as one) and downloads from it by PUSH.
    const byName = tempDir();
    await expect
      .poll(async () => (await first.peershare(['get', '--name', 'pushed', '--out', byName, '--wait'])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(byName, 'pushed.bin')).equals(pushed)).toBe(true);
    expect((await synCounts(first)).other).toBe(0);

    // Its own connections go out: it finds and downloads a file shared on another host.
    const word = `lanterne${randomBytes(4).toString('hex')}`;
    const data = randomBytes(2 * 1024 * 1024 + 5);
    writeFileSync(join(dir, `${word}.bin`), data);
    expect((await second.peershare(['share', join(dir, `${word}.bin`)])).code).toBe(0);
    const out = tempDir();
    await expect
      .poll(async () => (await natted.peershare(['get', '--name', word, '--out', out, '--wait'])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);
  }, 180_000);
});
